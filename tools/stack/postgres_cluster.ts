// The local PostgreSQL 15 cluster (pgvector, pgTAP, pg_cron): install, create, start, stop, status.
import { join } from "node:path";
import {
  bootstrapSqlFile,
  databasePort,
  databaseUrl,
  postgresBinDir,
  postgresConnectionArgs,
  postgresDataDir,
  postgresDir,
  postgresLogFile,
  postgresSocketDir,
  projectRoot,
} from "./local_stack_settings.ts";
import { isRoot, runAsPostgresUser, runCommand } from "./run_command.ts";

const installScript = join(projectRoot, "tools", "stack", "install-postgres.sh");

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Installs PostgreSQL and the extensions when missing (root on Debian/Ubuntu), else explains. */
async function ensurePostgresInstalled(): Promise<void> {
  const result = await runCommand("bash", [installScript], { allowFailure: true });
  if (result.code !== 0) {
    throw new Error(
      `PostgreSQL 15 with pgvector, pgTAP, pg_cron and plpgsql_check is not available:\n${result.stderr.trim()}`,
    );
  }
}

export async function isPostgresRunning(): Promise<boolean> {
  const result = await runCommand(join(postgresBinDir, "pg_isready"), postgresConnectionArgs, {
    allowFailure: true,
  });
  return result.code === 0;
}

async function createCluster(): Promise<void> {
  await Deno.mkdir(postgresDataDir, { recursive: true });
  await Deno.mkdir(postgresSocketDir, { recursive: true });
  if (isRoot()) {
    await runCommand("chown", ["-R", "postgres:postgres", postgresDir]);
  }
  await runAsPostgresUser(join(postgresBinDir, "initdb"), [
    "-D",
    postgresDataDir,
    "-U",
    "postgres",
    "--auth=trust",
    "-E",
    "UTF8",
    "--locale=C.UTF-8",
  ]);
}

async function startServer(): Promise<void> {
  const serverOptions = [
    `-p ${databasePort}`,
    // pg_ctl hands these to a shell: quoted, a path with spaces stays one argument.
    `-k '${postgresSocketDir}'`,
    "-c listen_addresses=127.0.0.1",
    "-c shared_preload_libraries=pg_cron",
    "-c cron.database_name=postgres",
    "-c max_connections=100",
  ].join(" ");
  await runAsPostgresUser(join(postgresBinDir, "pg_ctl"), [
    "-D",
    postgresDataDir,
    "-l",
    postgresLogFile,
    "-w",
    "-t",
    "60",
    "-o",
    serverOptions,
    "start",
  ]);
}

/** Runs a SQL file with psql against the local database, stopping at the first error. */
async function runSqlFile(file: string, url = databaseUrl): Promise<void> {
  await runCommand(join(postgresBinDir, "psql"), [
    url,
    "-X",
    "-q",
    "-v",
    "ON_ERROR_STOP=1",
    "-f",
    file,
  ]);
}

/** Creates (once) and starts the cluster, then applies the local platform bootstrap. */
export async function startPostgres(): Promise<"started" | "already running"> {
  if (await isPostgresRunning()) {
    await runSqlFile(bootstrapSqlFile);
    return "already running";
  }
  await ensurePostgresInstalled();
  if (!(await exists(join(postgresDataDir, "PG_VERSION")))) {
    await createCluster();
  }
  await startServer();
  await runSqlFile(bootstrapSqlFile);
  return "started";
}

/** Deletes the stopped cluster with all its data, so the next start creates it afresh. */
export async function removeCluster(): Promise<void> {
  if (await isPostgresRunning()) throw new Error("the local database still runs: stop it first");
  await Deno.remove(postgresDir, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
}

export async function stopPostgres(): Promise<"stopped" | "not running"> {
  // A pid file left by a server that died (a killed machine) names no server to stop.
  if (!(await exists(join(postgresDataDir, "postmaster.pid"))) || !(await isPostgresRunning())) {
    return "not running";
  }
  await runAsPostgresUser(join(postgresBinDir, "pg_ctl"), [
    "-D",
    postgresDataDir,
    "-m",
    "fast",
    "-w",
    "stop",
  ]);
  return "stopped";
}
