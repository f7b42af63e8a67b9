// `deno task demo`: loads the 20 sample music_knowledge rows (queued by the target's trigger), embeds them with the embed function's engine, and prints what the database holds, read back.
//
// Where: the embedded database (PGlite in .local/pglite, the worker in this process) unless
// SUPABASE_DB_URL names a database (the worker in this process too); with --stack, the local
// stack, through the functions gateway as a user invokes the function.
import { runEntryPoint } from "./cli/missing_dependency.ts";

if (import.meta.main) {
  await runEntryPoint(
    () => import("./embedded/demo_run.ts"),
    "deno task demo",
    ({ runDemo }) => runDemo(Deno.args),
  );
}
