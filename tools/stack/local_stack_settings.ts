// Ports, paths, URLs and secrets of the local stand-in stack, in one place.
import { createHash } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const projectRoot = fileURLToPath(new URL("../../", import.meta.url));
export const localDir = join(projectRoot, ".local");
/**
 * The cluster's directory. As root the server runs as the postgres user, which cannot enter a
 * checkout under a private home (/root is mode 700), so the cluster lives in postgres's own
 * /var/lib/postgresql, one per checkout; otherwise in the ignored .local/.
 */
export const postgresDir = Deno.uid() === 0
  ? join(
    "/var/lib/postgresql/supabase-embedding-kit",
    createHash("sha256").update(projectRoot).digest("hex").slice(0, 16),
  )
  : join(localDir, "postgres");
export const postgresDataDir = join(postgresDir, "data");
export const postgresSocketDir = join(postgresDir, "run");
export const postgresLogFile = join(postgresDir, "postgres.log");
/** The stack's PgBouncer: its generated ini, user list, pid file and log (run as the server's user). */
export const poolerDir = join(postgresDir, "pgbouncer");
export const gatewayPidFile = join(localDir, "functions-gateway.pid");
export const gatewayLogFile = join(localDir, "functions-gateway.log");
/** The stack's ES256 signing key (a private JWK), made once: see api_keys.ts. */
export const signingKeyFile = join(localDir, "signing-key.json");
export const configTomlFile = join(projectRoot, "supabase", "config.toml");
export const functionsDir = join(projectRoot, "supabase", "functions");
export const bootstrapSqlFile = join(projectRoot, "tools", "stack", "bootstrap.sql");
export const seedSqlFile = join(projectRoot, "supabase", "seed.sql");

export const postgresBinDir = "/usr/lib/postgresql/15/bin";
/**
 * The stack's ports: Supabase's local defaults, or LOCAL_STACK_DB_PORT / LOCAL_STACK_API_PORT so
 * two checkouts can run their stacks side by side.
 */
export const databasePort = portFromEnvironment("LOCAL_STACK_DB_PORT", 54322);
export const apiPort = portFromEnvironment("LOCAL_STACK_API_PORT", 54321);
/**
 * PgBouncer's port when the stack runs its pooler: the database's port + 7 (54329, Supabase's local
 * pooler port, beside 54322), so that checkouts which moved their database do not share a pooler
 * port either; or LOCAL_STACK_POOLER_PORT.
 */
export const poolerPort = portFromEnvironment("LOCAL_STACK_POOLER_PORT", databasePort + 7);

function portFromEnvironment(name: string, fallback: number): number {
  const value = Deno.env.get(name);
  if (value === undefined || value === "") return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1024 || port > 65535) {
    throw new Error(
      `${name} must be a port number from 1024 to 65535, got ${JSON.stringify(value)}`,
    );
  }
  return port;
}
/** The local database as the postgres user, on `port` of 127.0.0.1 (the server or a pooler). */
export function loopbackDatabaseUrl(port: number): string {
  // sslmode=disable: the Supabase CLI asks a database on any port but 54322 for TLS, which the
  // local cluster does not offer.
  return `postgresql://postgres:postgres@127.0.0.1:${port}/postgres?sslmode=disable`;
}

/**
 * Whether `stack:start` puts PgBouncer in front of the database without being given --pooler:
 * LOCAL_STACK_POOLER=1 (or true).
 */
export function poolerRequestedByEnvironment(): boolean {
  const value = Deno.env.get("LOCAL_STACK_POOLER")?.trim().toLowerCase() ?? "";
  if (["", "0", "false", "no"].includes(value)) return false;
  if (["1", "true", "yes"].includes(value)) return true;
  throw new Error(
    `LOCAL_STACK_POOLER must be 1 or 0 (true or false), got ${JSON.stringify(value)}`,
  );
}
/** How psql-family programs (pg_isready, pg_prove) reach the local database. */
export const postgresConnectionArgs = [
  "-h",
  "127.0.0.1",
  "-p",
  String(databasePort),
  "-U",
  "postgres",
];
export const databaseUrl = loopbackDatabaseUrl(databasePort);
/** The database through the stack's PgBouncer (transaction mode), as Supabase's pooler on 6543. */
export const poolerUrl = loopbackDatabaseUrl(poolerPort);
export const apiUrl = `http://127.0.0.1:${apiPort}`;
export const functionsUrl = `${apiUrl}/functions/v1`;

/** Supabase's local-development JWT secret (the same one `supabase start` uses). */
export const jwtSecret = "super-secret-jwt-token-with-at-least-32-characters-long";

/**
 * The model the local stack's targets embed with: the offline model the embed function uses by
 * default off Supabase (a test checks the two names agree). The stack sets it as the database's
 * embeddings.default_model before the migrations, which register targets with it; on Supabase
 * they get gte-small.
 */
export const localStackModel = { model: "universal-sentence-encoder-lite-384", dimensions: 384 };

export const pgNetWorkerPidFile = join(localDir, "pg-net-worker.pid");
export const pgNetWorkerLogFile = join(localDir, "pg-net-worker.log");
