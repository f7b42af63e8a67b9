// `deno task cli <command>`: the operators' command line (backfill, status, embed, requeue, verify, doctor, search), driving the embed function's engine. This entry only loads it, so a missing npm package is one sentence, not a stack trace.
import { runEntryPoint } from "./cli/missing_dependency.ts";

if (import.meta.main) {
  await runEntryPoint(
    () => import("./cli/program.ts"),
    "deno task cli",
    ({ runCli }) => runCli(Deno.args),
  );
}
