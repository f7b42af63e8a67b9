// The local stack as one unit: PostgreSQL (+ bootstrap + migrations by the Supabase CLI) and the functions gateway.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { apiKey } from "./api_keys.ts";
import {
  apiUrl,
  databaseUrl,
  functionsUrl,
  gatewayLogFile,
  gatewayPidFile,
  hostedDefaultModel,
  jwtSecret,
  localDir,
  localStackModel,
  projectRoot,
} from "./local_stack_settings.ts";
import { isPostgresRunning, startPostgres, stopPostgres } from "./postgres_cluster.ts";
import { runCommand } from "./run_command.ts";

const supabaseCli = join(projectRoot, "node_modules", ".bin", "supabase");

/** Applies pending migrations with the real Supabase CLI, which records them as on a hosted project. */
export async function applyMigrations(url = databaseUrl): Promise<string> {
  if (!existsSync(supabaseCli)) {
    throw new Error(`the Supabase CLI is missing at ${supabaseCli}: run npm ci first`);
  }
  const result = await runCommand(supabaseCli, ["migration", "up", "--db-url", url], {
    cwd: projectRoot,
  });
  return (result.stdout + result.stderr).trim();
}

/**
 * LOCAL STAND-IN step: switches targets registered with gte-small (which runs only on Supabase)
 * to the offline model, through the same set_target_model a user would call. Returns their names.
 */
export async function adoptLocalModel(url = databaseUrl): Promise<string[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const switched = await sql<{ name: string }[]>`
      select t.name, embeddings.set_target_model(t.id, ${localStackModel.model}, ${localStackModel.dimensions})
      from embeddings.targets as t
      where t.model = ${hostedDefaultModel}
      order by t.id`;
    return switched.map((row) => row.name);
  } finally {
    await sql.end();
  }
}

async function gatewayIsHealthy(): Promise<boolean> {
  try {
    const response = await fetch(`${apiUrl}/health`, { signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

function gatewayPid(): number | null {
  if (!existsSync(gatewayPidFile)) return null;
  const pid = Number(readFileSync(gatewayPidFile, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

async function startGateway(): Promise<"started" | "already running"> {
  if (await gatewayIsHealthy()) return "already running";
  await Deno.mkdir(localDir, { recursive: true });
  // setsid detaches the gateway from this process, so it outlives `deno task stack:start`.
  await runCommand("setsid", [
    "-f",
    "sh",
    "-c",
    'exec "$0" run -A --no-prompt "$1" >>"$2" 2>&1 </dev/null',
    Deno.execPath(),
    join(projectRoot, "tools", "stack", "functions_gateway.ts"),
    gatewayLogFile,
  ]);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (await gatewayIsHealthy()) return "started";
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the functions gateway did not answer within 30 s; see ${gatewayLogFile}`);
}

async function stopGateway(): Promise<"stopped" | "not running"> {
  const pid = gatewayPid();
  if (pid === null || !(await gatewayIsHealthy())) return "not running";
  Deno.kill(pid, "SIGTERM");
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && await gatewayIsHealthy()) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return "stopped";
}

export interface StackStartReport {
  database: "started" | "already running";
  migrations: string;
  /** Targets switched from gte-small to the offline model. */
  switchedToLocalModel: string[];
  gateway: "started" | "already running";
}

/** Starts whatever is not running yet; a second call reuses what runs. */
export async function startStack(): Promise<StackStartReport> {
  const database = await startPostgres();
  const migrations = await applyMigrations();
  const switchedToLocalModel = await adoptLocalModel();
  const gateway = await startGateway();
  return { database, migrations, switchedToLocalModel, gateway };
}

export async function stopStack(): Promise<{ gateway: string; database: string }> {
  const gateway = await stopGateway();
  const database = await stopPostgres();
  return { gateway, database };
}

export interface StackStatus {
  databaseRunning: boolean;
  gatewayRunning: boolean;
  apiUrl: string;
  functionsUrl: string;
  databaseUrl: string;
  jwtSecret: string;
  anonKey: string;
  serviceRoleKey: string;
}

export async function stackStatus(): Promise<StackStatus> {
  return {
    databaseRunning: await isPostgresRunning(),
    gatewayRunning: await gatewayIsHealthy(),
    apiUrl,
    functionsUrl,
    databaseUrl,
    jwtSecret,
    anonKey: await apiKey("anon"),
    serviceRoleKey: await apiKey("service_role"),
  };
}
