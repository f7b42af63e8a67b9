// LOCAL STAND-IN for Supabase's API gateway and edge runtime (`supabase functions serve` needs Docker).
//
// Serves http://127.0.0.1:54321/functions/v1/<name>: checks the JWT as Supabase's gateway does
// (legacy HS256 with the local secret, or ES256 against the stack's JWKS; expiry), unless the
// function has `verify_jwt = false` in supabase/config.toml, then forwards the request to the
// function, which runs unchanged in its own Deno process with the environment a hosted function
// gets (SUPABASE_PUBLISHABLE_KEYS, SUPABASE_SECRET_KEYS, SUPABASE_JWKS, the legacy keys...). It
// also serves the JWKS at /auth/v1/.well-known/jwks.json, as Supabase Auth does. A function's
// process is restarted when a file under supabase/functions changes.
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createLocalJWKSet, errors as joseErrors, jwtVerify } from "jose";
import { parse as parseToml } from "npm:smol-toml@1.3.1";
import { localJwks } from "./api_keys.ts";
import { exitOnStopSignals } from "./detached_process.ts";
import { platformEnvironment } from "./function_platform_environment.ts";
import {
  apiPort,
  apiUrl,
  configTomlFile,
  functionsDir,
  gatewayPidFile,
  jwtSecret,
  projectRoot,
} from "./local_stack_settings.ts";

interface FunctionProcess {
  child: Deno.ChildProcess;
  port: number;
  ready: Promise<void>;
  sourceVersion: number;
}

const running = new Map<string, FunctionProcess>();
const functionTimeoutMs = 400_000;

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** The newest modification time under supabase/functions: a change means new code to load. */
function sourceVersion(dir = functionsDir): number {
  let newest = 0;
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    newest = Math.max(
      newest,
      entry.isDirectory ? sourceVersion(path) : statSync(path).mtimeMs,
    );
  }
  return newest;
}

/** KEY=VALUE lines of supabase/functions/.env, as `supabase functions serve` reads them. */
function functionsEnvFile(): Record<string, string> {
  const file = join(functionsDir, ".env");
  if (!existsSync(file)) return {};
  const values: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const match = line.match(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/);
    if (match) values[match[1]] = match[2].replace(/^(['"])(.*)\1$/, "$2");
  }
  return values;
}

/**
 * LOCAL ONLY: the test suites and the demo search from one address far more often than a visitor
 * would, so the search's per-caller limits are loose here unless the shell or .env sets them.
 */
const localSearchLimits = {
  SEARCH_RATE_LIMIT_ANON: "100000/60",
  SEARCH_RATE_LIMIT_USER: "100000/60",
};

async function functionEnvironment(port: number): Promise<Record<string, string>> {
  const developer: Record<string, string> = {};
  for (const [key, value] of Object.entries(Deno.env.toObject())) {
    // The provider, search and key settings a developer exports in the shell.
    if (/^(EMBEDDING_|EMBEDDINGS_|OPENAI_|SEARCH_)/.test(key)) developer[key] = value;
  }
  // The platform's own variables last: neither the shell nor .env may replace them.
  return {
    ...localSearchLimits,
    ...developer,
    ...functionsEnvFile(),
    ...await platformEnvironment(port),
  };
}

export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

export async function waitForPort(
  port: number,
  child: Deno.ChildProcess,
  name: string,
): Promise<void> {
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`function ${name} exited while starting (see the gateway log)`);
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`function ${name} did not start listening within 60 s`);
}

function stopFunction(name: string): void {
  const process = running.get(name);
  running.delete(name);
  try {
    process?.child.kill("SIGTERM");
  } catch {
    // Already gone.
  }
}

/**
 * Runs supabase/functions/<name>/index.ts as the platform runs a function: its own Deno process
 * with `environment` alone (DENO_SERVE_ADDRESS names its port). Also for tests that give a
 * function another environment than the gateway's (another SUPABASE_DB_URL, say).
 */
export function spawnFunction(
  name: string,
  port: number,
  environment: Record<string, string>,
): { child: Deno.ChildProcess; ready: Promise<void> } {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", join(functionsDir, name, "index.ts")],
    cwd: projectRoot,
    clearEnv: true,
    env: environment,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  return { child, ready: waitForPort(port, child, name) };
}

async function startFunction(name: string, version: number): Promise<FunctionProcess> {
  const port = freePort();
  const { child, ready } = spawnFunction(name, port, await functionEnvironment(port));
  const process = { child, port, ready, sourceVersion: version };
  running.set(name, process);
  child.status.then(() => {
    if (running.get(name) === process) running.delete(name);
  });
  return process;
}

/** Functions being started: their environment is read before their process is registered. */
const starting = new Map<string, Promise<FunctionProcess>>();

async function functionProcess(name: string): Promise<FunctionProcess> {
  const version = sourceVersion();
  let process = running.get(name);
  if (process && process.sourceVersion !== version) {
    stopFunction(name);
    process = undefined;
  }
  if (process === undefined) {
    // Requests that arrive together while the function starts share one process: a second
    // start would leave the first running with no one to stop it.
    let pending = starting.get(name);
    if (pending === undefined) {
      pending = startFunction(name, version).finally(() => starting.delete(name));
      starting.set(name, pending);
    }
    process = await pending;
  }
  try {
    await process.ready;
  } catch (error) {
    stopFunction(name);
    throw error;
  }
  return process;
}

/** `verify_jwt` of each function in supabase/config.toml (true unless set false, as on Supabase). */
function verifiesJwt(name: string): boolean {
  if (!existsSync(configTomlFile)) return true;
  const config = parseToml(readFileSync(configTomlFile, "utf8")) as {
    functions?: Record<string, { verify_jwt?: boolean }>;
  };
  return config.functions?.[name]?.verify_jwt !== false;
}

/**
 * The gateway's JWT check, as the platform's `verify_jwt`: a legacy HS256 JWT signed with the
 * project's secret, or a JWT signed with a key of its JWKS. A 401 answer, or null when valid.
 */
export async function rejectInvalidJwt(authorization: string | null): Promise<Response | null> {
  const token = authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  if (!token) return json(401, { code: 401, message: "Missing authorization header" });
  try {
    try {
      await jwtVerify(token, new TextEncoder().encode(jwtSecret), { algorithms: ["HS256"] });
    } catch (error) {
      if (!(error instanceof joseErrors.JOSEAlgNotAllowed)) throw error;
      await jwtVerify(token, createLocalJWKSet(await localJwks()), { algorithms: ["ES256"] });
    }
    return null;
  } catch (error) {
    const message = error instanceof joseErrors.JWTExpired ? "JWT has expired" : "Invalid JWT";
    return json(401, { code: 401, message });
  }
}

async function handle(request: Request, info: Deno.ServeHandlerInfo): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/health") return json(200, { status: "ok", pid: Deno.pid });
  if (url.pathname === "/auth/v1/.well-known/jwks.json") return json(200, await localJwks());
  const match = url.pathname.match(/^\/functions\/v1\/([A-Za-z0-9][A-Za-z0-9_-]*)(\/.*)?$/);
  if (!match || !existsSync(join(functionsDir, match[1], "index.ts"))) {
    return json(404, { code: 404, message: "Function not found" });
  }
  const [, name, rest] = match;
  if (verifiesJwt(name)) {
    const rejection = await rejectInvalidJwt(request.headers.get("authorization"));
    if (rejection) return rejection;
  }

  let process: FunctionProcess;
  try {
    process = await functionProcess(name);
  } catch (error) {
    return json(503, { code: 503, message: (error as Error).message });
  }
  const headers = new Headers(request.headers);
  headers.delete("host");
  // As a proxy does (Supabase's edge among them): the client's address appended to the chain.
  const client = (info.remoteAddr as Deno.NetAddr).hostname;
  const forwarded = headers.get("x-forwarded-for");
  headers.set("x-forwarded-for", forwarded ? `${forwarded}, ${client}` : client);
  try {
    const response = await fetch(`http://127.0.0.1:${process.port}${rest ?? "/"}${url.search}`, {
      method: request.method,
      headers,
      // Streamed, never buffered: a huge body costs the gateway nothing, and the function can
      // refuse it (413) after reading only its limit.
      body: request.body,
      signal: AbortSignal.timeout(functionTimeoutMs),
    });
    return new Response(response.body, { status: response.status, headers: response.headers });
  } catch (error) {
    return json(502, {
      code: 502,
      message: `function ${name} failed: ${(error as Error).message}`,
    });
  }
}

if (import.meta.main) {
  exitOnStopSignals(gatewayPidFile, () => {
    for (const name of [...running.keys()]) stopFunction(name);
  });
  Deno.serve({
    hostname: "127.0.0.1",
    port: apiPort,
    onListen: () => {
      writeFileSync(gatewayPidFile, String(Deno.pid));
      console.log(`functions gateway (local stand-in) listening on ${apiUrl}/functions/v1`);
    },
  }, handle);
}
