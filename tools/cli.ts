// `deno task cli <command>`: the operators' command line (backfill, status, embed, requeue, verify, doctor), driving the embed function's engine. This entry only loads it, so a missing npm package is one sentence, not a stack trace.
import { importOrExplain, MissingDependencyError } from "./cli/missing_dependency.ts";

if (import.meta.main) {
  let code: number;
  try {
    const { runCli } = await importOrExplain(() => import("./cli/program.ts"), "deno task cli");
    code = await runCli(Deno.args);
  } catch (error) {
    if (!(error instanceof MissingDependencyError)) throw error;
    console.error(error.message);
    code = 2;
  }
  Deno.exit(code);
}
