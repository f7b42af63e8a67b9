// The local stack as one unit: PostgreSQL (+ bootstrap + migrations by the Supabase CLI), PgBouncer on request, and the functions gateway.
import { existsSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { apiKey, publishableKey, secretKey } from "./api_keys.ts";
import {
  apiUrl,
  databaseUrl,
  functionsUrl,
  gatewayLogFile,
  gatewayPidFile,
  jwtSecret,
  localDir,
  localStackModel,
  pgNetWorkerLogFile,
  pgNetWorkerPidFile,
  poolerUrl,
  projectRoot,
} from "./local_stack_settings.ts";
import { isPoolerRunning, stackPooler, startPooler, stopPooler } from "./pgbouncer.ts";
import {
  isPostgresRunning,
  removeCluster,
  startPostgres,
  stopPostgres,
} from "./postgres_cluster.ts";
import { runningPid, startDetached, waitUntil } from "./detached_process.ts";
import { runCommand } from "./run_command.ts";
import { checkAppliedMigrationsUnchanged } from "./applied_migrations.ts";

const supabaseCli = join(projectRoot, "node_modules", ".bin", "supabase");

/** Applies pending migrations with the real Supabase CLI, which records them as on a hosted project. */
async function applyMigrations(): Promise<string> {
  if (!existsSync(supabaseCli)) {
    throw new Error(`the Supabase CLI is missing at ${supabaseCli}: run npm ci first`);
  }
  const result = await runCommand(supabaseCli, [
    "migration",
    "up",
    "--db-url",
    databaseUrl,
  ], {
    cwd: projectRoot,
  });
  return (result.stdout + result.stderr).trim();
}

/**
 * LOCAL STAND-IN step: gte-small runs only on Supabase, so the local database names the offline
 * model as its default (the setting embeddings.default_model(), which the app migrations register
 * targets with, reads). Set before the migrations, it costs no model switch at any start.
 */
async function setLocalDefaultModel(sql: postgres.Sql): Promise<void> {
  await sql.unsafe(
    `alter database postgres set embeddings.default_model = '${localStackModel.model}'`,
  );
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

async function startGateway(): Promise<"started" | "already running"> {
  if (await gatewayIsHealthy()) return "already running";
  await Deno.mkdir(localDir, { recursive: true });
  await startDetached(join(projectRoot, "tools", "stack", "functions_gateway.ts"), gatewayLogFile);
  if (await waitUntil(gatewayIsHealthy, 30_000)) return "started";
  throw new Error(`the functions gateway did not answer within 30 s; see ${gatewayLogFile}`);
}

async function stopGateway(): Promise<"stopped" | "not running"> {
  const pid = runningPid(gatewayPidFile);
  if (pid === null || !(await gatewayIsHealthy())) return "not running";
  Deno.kill(pid, "SIGTERM");
  await waitUntil(async () => !(await gatewayIsHealthy()), 10_000);
  return "stopped";
}

/** LOCAL STAND-IN for pg_net's background worker (tools/stack/pg_net_worker.ts). */
async function startPgNetWorker(): Promise<"started" | "already running"> {
  if (runningPid(pgNetWorkerPidFile) !== null) return "already running";
  await Deno.mkdir(localDir, { recursive: true });
  await startDetached(join(projectRoot, "tools", "stack", "pg_net_worker.ts"), pgNetWorkerLogFile);
  if (await waitUntil(() => Promise.resolve(runningPid(pgNetWorkerPidFile) !== null), 30_000)) {
    return "started";
  }
  throw new Error(`the pg_net worker did not start within 30 s; see ${pgNetWorkerLogFile}`);
}

async function stopPgNetWorker(): Promise<"stopped" | "not running"> {
  const pid = runningPid(pgNetWorkerPidFile);
  if (pid === null) return "not running";
  Deno.kill(pid, "SIGTERM");
  await waitUntil(() => Promise.resolve(runningPid(pgNetWorkerPidFile) === null), 10_000);
  return "stopped";
}

/**
 * The Vault secrets the scheduled dispatch reads, set as a user sets them on a hosted project
 * (vault.create_secret, or update_secret when they exist): this stack's URL and service key.
 */
async function setLocalVaultSecrets(sql: postgres.Sql): Promise<string[]> {
  const secrets: [string, string][] = [
    ["project_url", apiUrl],
    ["secret_key", secretKey],
  ];
  for (const [name, value] of secrets) {
    const [existing] = await sql<{ id: string }[]>`
      select id from vault.decrypted_secrets where name = ${name}`;
    if (existing) await sql`select vault.update_secret(${existing.id}::uuid, ${value})`;
    else await sql`select vault.create_secret(${value}, ${name})`;
  }
  return secrets.map(([name]) => name);
}

export interface StackStartReport {
  database: "started" | "already running";
  migrations: string;
  /** The model the app migrations register targets with here. */
  defaultModel: string;
  /** Vault secrets set for the scheduled dispatch. */
  vaultSecrets: string[];
  gateway: "started" | "already running";
  pgNetWorker: "started" | "already running";
  /** PgBouncer in transaction mode at poolerUrl: only when asked for (--pooler). */
  pooler: "started" | "already running" | "not requested";
}

export interface StackStartOptions {
  /** Put PgBouncer (transaction mode) in front of the database, as Supabase's pooler. */
  pooler?: boolean;
}

/** Starts whatever is not running yet; a second call reuses what runs. */
export async function startStack(options: StackStartOptions = {}): Promise<StackStartReport> {
  const database = await startPostgres();
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  let migrations: string;
  let vaultSecrets: string[];
  try {
    await setLocalDefaultModel(sql);
    migrations = await applyMigrations();
    await checkAppliedMigrationsUnchanged(sql);
    vaultSecrets = await setLocalVaultSecrets(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
  const pooler = options.pooler
    ? await startPooler(stackPooler)
    : isPoolerRunning(stackPooler)
    ? "already running"
    : "not requested";
  const gateway = await startGateway();
  const pgNetWorker = await startPgNetWorker();
  return {
    database,
    migrations,
    defaultModel: localStackModel.model,
    vaultSecrets,
    gateway,
    pgNetWorker,
    pooler,
  };
}

export async function stopStack(): Promise<
  { gateway: string; pgNetWorker: string; pooler: string; database: string }
> {
  const gateway = await stopGateway();
  const pgNetWorker = await stopPgNetWorker();
  // Before the database: its clients go first.
  const pooler = await stopPooler(stackPooler);
  const database = await stopPostgres();
  return { gateway, pgNetWorker, pooler, database };
}

/**
 * As `supabase db reset`: stops the stack, deletes the local database with its data, and starts
 * it again from the bootstrap and every migration in supabase/migrations.
 */
export async function resetStack(options: StackStartOptions = {}): Promise<StackStartReport> {
  await stopStack();
  await removeCluster();
  return await startStack(options);
}

export interface StackStatus {
  databaseRunning: boolean;
  gatewayRunning: boolean;
  pgNetWorkerRunning: boolean;
  poolerRunning: boolean;
  apiUrl: string;
  functionsUrl: string;
  databaseUrl: string;
  /** The database through PgBouncer in transaction mode, when the stack runs it (--pooler). */
  poolerUrl: string;
  jwtSecret: string;
  publishableKey: string;
  secretKey: string;
  jwksUrl: string;
  anonKey: string;
  serviceRoleKey: string;
}

export async function stackStatus(): Promise<StackStatus> {
  return {
    databaseRunning: await isPostgresRunning(),
    gatewayRunning: await gatewayIsHealthy(),
    pgNetWorkerRunning: runningPid(pgNetWorkerPidFile) !== null,
    poolerRunning: isPoolerRunning(stackPooler),
    apiUrl,
    functionsUrl,
    databaseUrl,
    poolerUrl,
    jwtSecret,
    publishableKey,
    secretKey,
    jwksUrl: `${apiUrl}/auth/v1/.well-known/jwks.json`,
    anonKey: await apiKey("anon"),
    serviceRoleKey: await apiKey("service_role"),
  };
}
