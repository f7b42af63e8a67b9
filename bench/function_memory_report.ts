// The function-memory benchmark's section of BENCHMARKS.md: each configuration's rounds summed up, the growth from the smaller drain to the larger, and the goals.
import type { BenchSection } from "./bench_section.ts";
import { median } from "./bench_figures.ts";

/** The goal's tolerance: 10% of the smaller run's peak, or this much, whichever is larger. */
const toleranceFraction = 0.1;
const toleranceMb = 20;
/** The memory a Supabase Edge Function may use. */
const platformLimitMb = 256;

const megabytes = (kb: number) => kb / 1024;
const formatMb = (kb: number) => `${Math.round(megabytes(kb))} MB`;
export const formatRows = (rows: number) => rows.toLocaleString("en-US");

/** How the function's process is started: as the gateway does, or with its V8 heap capped. */
export interface Configuration {
  label: string;
  heapCap: number | null;
  rounds: number;
}

/** One drain of one size: the calls it took, the process's memory and its wall clock. */
export interface SizeResult {
  rows: number;
  invocations: number;
  /** VmRSS once the function listens, before its first call. */
  idleKb: number;
  peakKb: number;
  seconds: number;
}

/** The rounds of one size in one configuration, summed up: medians, and the peaks' range. */
export interface Summary {
  rows: number;
  configuration: Configuration;
  invocations: number;
  idleKb: number;
  peakKb: number;
  lowestPeakKb: number;
  highestPeakKb: number;
  seconds: number;
}

export function summarize(configuration: Configuration, results: readonly SizeResult[]): Summary {
  const peaks = results.map((result) => result.peakKb);
  return {
    rows: results[0].rows,
    configuration,
    invocations: Math.max(...results.map((result) => result.invocations)),
    idleKb: median(results.map((result) => result.idleKb)),
    peakKb: median(peaks),
    lowestPeakKb: Math.min(...peaks),
    highestPeakKb: Math.max(...peaks),
    seconds: median(results.map((result) => result.seconds)),
  };
}

/** "+30.7 MB (+12.2%)": how far the larger size's peak is from the smaller's. */
function growth(small: Summary, large: Summary): { mb: number; text: string } {
  const mb = megabytes(large.peakKb - small.peakKb);
  const sign = mb >= 0 ? "+" : "-";
  const percent = (100 * (large.peakKb - small.peakKb)) / small.peakKb;
  return {
    mb,
    text: `${sign}${Math.abs(mb).toFixed(1)} MB (${sign}${Math.abs(percent).toFixed(1)}%)`,
  };
}

/** What the section reports on: both configurations' summaries, [small, large] each. */
export interface MemoryMeasurements {
  smallRows: number;
  largeRows: number;
  summaries: [Summary, Summary][];
  command: string;
  /** What every invocation asked for, the rounds and the heap cap of the capped configuration. */
  runOptions: Record<string, unknown>;
  rounds: number;
  heapCapMb: number;
}

function memoryMethod(
  { smallRows, largeRows, runOptions, rounds, heapCapMb }: MemoryMeasurements,
): string {
  return [
    "`supabase/functions/embed/index.ts`, unchanged, in one long-lived Deno process",
    "(`deno run -A --no-prompt`, as the local gateway starts it, with the same environment),",
    "a fresh process for each drain; the edge runtime likewise keeps a worker warm across calls.",
    `It drains a registered table of ${formatRows(smallRows)}, then ${formatRows(largeRows)}`,
    "rows (no vector index, every row queued up front), called over HTTP with the secret key and",
    `\`${JSON.stringify(runOptions)}\` until the queue is empty; every row's vector is then`,
    "counted in the table. Peak RSS is the process's `VmHWM` (/proc/<pid>/status) after the",
    "drain, in MB of 1,024 kB; idle RSS is its `VmRSS` once listening, before the first call.",
    `As the gateway starts it: the median of ${rounds} rounds (lowest-highest peak in brackets).`,
    `Then once more with \`--v8-flags=--max-old-space-size=${heapCapMb}\`, which makes V8`,
    "collect early: what is left is what the function keeps alive. The provider is the",
    "OpenAI-compatible one pointed at a **stand-in server** started by the benchmark (the",
    "command line's stand-in hash vectors, 384 dims, no model), so only the function and the",
    "engine are measured.",
  ].join(" ");
}

function memoryTableRow(summary: Summary): string[] {
  return [
    formatRows(summary.rows),
    summary.configuration.label,
    String(summary.invocations),
    formatMb(summary.idleKb),
    summary.configuration.rounds > 1
      ? `${formatMb(summary.peakKb)} (${Math.round(megabytes(summary.lowestPeakKb))}-${
        Math.round(megabytes(summary.highestPeakKb))
      })`
      : formatMb(summary.peakKb),
    `${summary.seconds.toFixed(1)} s`,
    formatRows(Math.round(summary.rows / summary.seconds)),
  ];
}

/** Whether the capped configuration's peak stayed within the goal's tolerance. */
function cappedIsFlat(cappedSmall: Summary, cappedLarge: Summary): boolean {
  return Math.abs(growth(cappedSmall, cappedLarge).mb) <=
    Math.max(toleranceFraction * megabytes(cappedSmall.peakKb), toleranceMb);
}

function memoryGoals({ summaries, heapCapMb }: MemoryMeasurements): BenchSection["goals"] {
  const [[small, large], [cappedSmall, cappedLarge]] = summaries;
  const measuredGrowth = growth(small, large);
  const allowedMb = Math.max(toleranceFraction * megabytes(small.peakKb), toleranceMb);
  return [{
    goal: "the function's peak RSS at N rows within 10% (or 20 MB) of that at N/10 rows",
    measured: `${formatMb(large.peakKb)} at ${formatRows(large.rows)} rows vs ${
      formatMb(small.peakKb)
    } at ${formatRows(small.rows)}: ${measuredGrowth.text} (as the gateway starts it, medians)`,
    met: Math.abs(measuredGrowth.mb) <= allowedMb,
  }, {
    goal: `the same with the V8 heap capped at ${heapCapMb} MB (what the function keeps alive)`,
    measured: `${formatMb(cappedLarge.peakKb)} at ${formatRows(cappedLarge.rows)} rows vs ${
      formatMb(cappedSmall.peakKb)
    } at ${formatRows(cappedSmall.rows)}: ${growth(cappedSmall, cappedLarge).text}`,
    met: cappedIsFlat(cappedSmall, cappedLarge),
  }];
}

function memoryNotes({ summaries, heapCapMb }: MemoryMeasurements): string {
  const [[, large], [cappedSmall, cappedLarge]] = summaries;
  const highestPeakMb = Math.round(megabytes(large.highestPeakKb));
  return [
    `With the V8 heap capped at ${heapCapMb} MB the peak is ${formatMb(cappedLarge.peakKb)}`,
    `at ${formatRows(cappedLarge.rows)} rows vs ${formatMb(cappedSmall.peakKb)} at`,
    `${formatRows(cappedSmall.rows)}: ${growth(cappedSmall, cappedLarge).text}.`,
    // What the capped figures say depends on them: stated only when they show it.
    cappedIsFlat(cappedSmall, cappedLarge)
      ? "Flat: what the function keeps alive does not grow with the rows; the rest of the uncapped peak is garbage V8 lets pile up on a machine with memory to spare, and a longer drain reaches a higher top of that sawtooth."
      : "Not flat even with the heap capped: the function keeps memory alive as rows go by.",
    "The function is called on its own port, not through the gateway: the gateway's process",
    "for `embed` takes the developer's provider settings and its pid is not handed out.",
    "RSS is the whole Deno CLI process (the runtime itself included), an upper bound on what",
    `the edge runtime counts against its ${platformLimitMb} MB limit; the highest uncapped`,
    `peak here is ${highestPeakMb} MB${
      highestPeakMb < platformLimitMb ? ", under it" : ", at or over it"
    }.`,
  ].join(" ");
}

export function memorySection(measurements: MemoryMeasurements): BenchSection {
  const { smallRows, largeRows, summaries, command } = measurements;
  return {
    title: `Peak memory of the embed function, ${formatRows(smallRows)} against ${
      formatRows(largeRows)
    } rows`,
    method: memoryMethod(measurements),
    command,
    table: {
      header: ["rows", "V8 heap", "invocations", "idle RSS", "peak RSS", "wall clock", "rows/s"],
      rows: summaries.flat().map(memoryTableRow),
    },
    goals: memoryGoals(measurements),
    notes: memoryNotes(measurements),
  };
}
