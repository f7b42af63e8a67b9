// Command line for the local stack: `deno task stack:start [--pooler] | stack:stop | stack:reset [--pooler] | stack:status`.
import {
  resetStack,
  type StackStartOptions,
  type StackStartReport,
  stackStatus,
  startStack,
  stopStack,
} from "./local_stack.ts";
import { poolerRequestedByEnvironment } from "./local_stack_settings.ts";

const usage =
  "usage: deno task stack:start [--pooler] | stack:stop | stack:reset [--pooler] | stack:status (LOCAL_STACK_POOLER=1 as --pooler)";

async function printStatus(): Promise<void> {
  const status = await stackStatus();
  const state = (running: boolean) => running ? "running" : "stopped";
  console.log(`         API URL: ${status.apiUrl}  (functions gateway: local stand-in)
   Functions URL: ${status.functionsUrl}
          DB URL: ${status.databaseUrl}
      Pooler URL: ${status.poolerUrl}  (PgBouncer, transaction mode: ${state(status.poolerRunning)})
  Publishable key: ${status.publishableKey}
      Secret key: ${status.secretKey}
        JWKS URL: ${status.jwksUrl}  (ES256 signing key)
   (deprecated) JWT secret: ${status.jwtSecret}
   (deprecated) anon key: ${status.anonKey}
   (deprecated) service_role key: ${status.serviceRoleKey}
        database: ${state(status.databaseRunning)}
 functions gateway: ${state(status.gatewayRunning)}
   pg_net worker: ${state(status.pgNetWorkerRunning)}`);
}

function printStartReport(report: StackStartReport): void {
  console.log(
    `database: ${report.database}\n${report.migrations}\ndefault model (embeddings.default_model): ${report.defaultModel}\nvault secrets set: ${
      report.vaultSecrets.join(", ")
    }\npooler (PgBouncer): ${report.pooler}\nfunctions gateway: ${report.gateway}\npg_net worker (stand-in): ${report.pgNetWorker}\n`,
  );
}

/** start and reset take --pooler; nothing else takes a flag. */
function startOptions(command: string, flags: string[]): StackStartOptions {
  const takesPooler = command === "start" || command === "reset";
  const unknown = flags.filter((flag) => !(takesPooler && flag === "--pooler"));
  if (unknown.length > 0) {
    throw new Error(`unknown option ${unknown.join(" ")} for ${command}\n${usage}`);
  }
  return { pooler: takesPooler && (flags.includes("--pooler") || poolerRequestedByEnvironment()) };
}

const [command, ...flags] = Deno.args;
try {
  const options = startOptions(command ?? "", flags);
  switch (command) {
    case "start":
      printStartReport(await startStack(options));
      await printStatus();
      break;
    case "reset":
      console.log("Deleting the local database and its data, then building it again...");
      printStartReport(await resetStack(options));
      await printStatus();
      break;
    case "stop": {
      const report = await stopStack();
      console.log(
        `functions gateway: ${report.gateway}\npg_net worker: ${report.pgNetWorker}\npooler: ${report.pooler}\ndatabase: ${report.database}`,
      );
      break;
    }
    case "status":
      await printStatus();
      break;
    default:
      console.error(usage);
      Deno.exit(2);
  }
} catch (error) {
  console.error(`stack ${command}: ${(error as Error).message}`);
  Deno.exit(1);
}
