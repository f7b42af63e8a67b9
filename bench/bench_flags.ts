// The benchmarks' command line, parsed by commander as the operators' CLI is: --quick and --db-url, which every benchmark takes, alone or all together in bench/main.ts.
import { Command } from "npm:commander@14.0.3";
import { databaseUrl as localDatabaseUrl } from "../tools/stack/local_stack_settings.ts";
import type { BenchContext } from "./bench_section.ts";

/** The flags every benchmark takes, as commander hands them over. */
export interface BenchFlags {
  quick: boolean;
  dbUrl?: string;
}

/** A command with the flags every benchmark takes; callers add their own and parse. */
export function benchCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .option("--quick", "CI-sized runs (minutes) instead of the full figures", false)
    .option(
      "--db-url <url>",
      "the PostgreSQL measured on (default: SUPABASE_DB_URL, then the local stack's)",
    );
}

/** What a benchmark runs against: the size asked for, and --db-url, SUPABASE_DB_URL or the local stack. */
export function benchContext(flags: BenchFlags): BenchContext {
  return {
    size: flags.quick ? "quick" : "full",
    databaseUrl: flags.dbUrl ?? Deno.env.get("SUPABASE_DB_URL") ?? localDatabaseUrl,
  };
}
