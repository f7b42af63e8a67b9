// What every benchmark hands back to bench/main.ts: one section of BENCHMARKS.md, with its figures, its ratio against the goal, and the command that reproduces it.
import { benchCommand, benchContext, type BenchFlags } from "./bench_flags.ts";

/** How big a run is: `quick` for CI-sized runs, `full` for the figures in BENCHMARKS.md. */
export type BenchSize = "quick" | "full";

export interface BenchContext {
  size: BenchSize;
  /** The PostgreSQL the database figures are measured on (the local stack's, unless --db-url). */
  databaseUrl: string;
}

/** One goal of issue 14, checked against a figure measured in this run. */
export interface BenchGoal {
  /** What was asked, in words: "engine at least 0.7 of raw, no index". */
  goal: string;
  /** What this run measured, in words: "0.74". */
  measured: string;
  met: boolean;
}

export interface BenchSection {
  title: string;
  /** What was measured and how, in a few sentences of Markdown. */
  method: string;
  /** The command that reproduces this section alone, at this run's size. */
  command: string;
  /** A Markdown table: the header cells, then rows of cells. */
  table: { header: string[]; rows: string[][] };
  goals: BenchGoal[];
  /** Anything the reader must know to trust the figures (Markdown, optional). */
  notes?: string;
}

/**
 * Runs one benchmark on its own (`deno run -A bench/<name>.ts [--quick] [--db-url URL]`) and
 * prints its section as JSON. `onInterrupt` runs on Ctrl-C, before the process ends with 130.
 */
export async function runStandalone(
  measure: (context: BenchContext) => Promise<BenchSection>,
  onInterrupt?: () => void,
): Promise<void> {
  const name = new URL(Deno.mainModule).pathname.split("/").slice(-2).join("/");
  const flags = benchCommand(
    `deno run -A ${name}`,
    "Runs this benchmark alone and prints its section as JSON.",
  )
    .parse(Deno.args, { from: "user" })
    .opts<BenchFlags>();
  const interrupted = () => {
    onInterrupt?.();
    Deno.exit(130);
  };
  if (onInterrupt) Deno.addSignalListener("SIGINT", interrupted);
  try {
    const section = await measure(benchContext(flags));
    console.log(JSON.stringify(section, null, 2));
  } finally {
    if (onInterrupt) Deno.removeSignalListener("SIGINT", interrupted);
  }
}
