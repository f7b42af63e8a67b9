// Command line for the local stack: `deno task stack:start | stack:stop | stack:reset | stack:status`.
import {
  resetStack,
  type StackStartReport,
  stackStatus,
  startStack,
  stopStack,
} from "./local_stack.ts";

async function printStatus(): Promise<void> {
  const status = await stackStatus();
  const state = (running: boolean) => running ? "running" : "stopped";
  console.log(`         API URL: ${status.apiUrl}  (functions gateway: local stand-in)
   Functions URL: ${status.functionsUrl}
          DB URL: ${status.databaseUrl}
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
    }\nfunctions gateway: ${report.gateway}\npg_net worker (stand-in): ${report.pgNetWorker}\n`,
  );
}

const command = Deno.args[0];
try {
  switch (command) {
    case "start":
      printStartReport(await startStack());
      await printStatus();
      break;
    case "reset":
      console.log("Deleting the local database and its data, then building it again...");
      printStartReport(await resetStack());
      await printStatus();
      break;
    case "stop": {
      const report = await stopStack();
      console.log(
        `functions gateway: ${report.gateway}\npg_net worker: ${report.pgNetWorker}\ndatabase: ${report.database}`,
      );
      break;
    }
    case "status":
      await printStatus();
      break;
    default:
      console.error("usage: deno task stack:start | stack:stop | stack:reset | stack:status");
      Deno.exit(2);
  }
} catch (error) {
  console.error(`stack ${command}: ${(error as Error).message}`);
  Deno.exit(1);
}
