// `deno task bench`: runs every benchmark of issue 14 in one run on this machine and writes BENCHMARKS.md: each figure, its ratio against the goal, the machine, and the command that reproduces it.
//
// usage: deno task bench [--quick] [--only name,name] [--out FILE] [--db-url URL]
// --quick runs CI-sized versions (minutes) and writes .local/BENCHMARKS.quick.md unless --out says
// otherwise; the full run (about half an hour on 2 cores) writes BENCHMARKS.md; --only replaces
// (or adds) its sections in the report that is already there. Benchmarks are
// not tests: nothing here asserts a timing; a goal not met is reported, and the run still succeeds.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { benchCommand, benchContext, type BenchFlags } from "./bench_flags.ts";
import type { BenchContext, BenchSection } from "./bench_section.ts";
import { cliMemory } from "./cli_memory.ts";
import { cores } from "./cores.ts";
import { deferredIndex } from "./deferred_index.ts";
import { functionMemory } from "./function_memory.ts";
import { pipeline } from "./pipeline.ts";
import { schedulerDrain } from "./scheduler_drain.ts";
import { seedPattern } from "./seed_pattern.ts";
import { writePath } from "./write_path.ts";
import { triggers } from "./triggers.ts";
import { keySets } from "./key_sets.ts";
import { contention } from "./contention.ts";
import { quotaBench } from "./quota.ts";
import { quotaScheduleBench } from "./quota_schedule.ts";

const benchmarks: Record<string, (context: BenchContext) => Promise<BenchSection>> = {
  write_path: writePath,
  seed_pattern: seedPattern,
  deferred_index: deferredIndex,
  pipeline,
  cores,
  cli_memory: cliMemory,
  function_memory: functionMemory,
  scheduler_drain: schedulerDrain,
  triggers,
  key_sets: keySets,
  contention,
  quota: quotaBench,
  quota_schedule: quotaScheduleBench,
};

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The machine and the software the figures were measured on, in one sentence. */
async function describeMachine(databaseUrl: string): Promise<string> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const cpu = cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? "unknown CPU";
  const memoryKb = Number(meminfo.match(/^MemTotal:\s+(\d+) kB$/m)?.[1] ?? 0);
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const [{ server, vector }] = await sql<{ server: string; vector: string | null }[]>`
      select current_setting('server_version') as server,
             (select extversion from pg_extension where extname = 'vector') as vector`;
    const packageJson = JSON.parse(
      await Deno.readTextFile(join(projectRoot, "package.json")),
    ) as { dependencies?: Record<string, string> };
    return `${navigator.hardwareConcurrency} cores (${cpu}), ${
      (memoryKb / 1024 / 1024).toFixed(0)
    } GiB; PostgreSQL ${server} with pgvector ${
      vector ?? "(not installed)"
    }; Deno ${Deno.version.deno}; postgres.js ${
      packageJson.dependencies?.postgres ?? "(see deno.json)"
    }.`;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell) => cell.replaceAll("|", "\\|")).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

function renderReport(
  sections: readonly BenchSection[],
  failures: readonly { name: string; error: string }[],
  machine: string,
  size: BenchContext["size"],
  command: string,
): string {
  const goals = sections.flatMap((section) =>
    section.goals.map((
      goal,
    ) => [section.title, goal.goal, goal.measured, goal.met ? "met" : "**not met**"])
  );
  const parts = [
    "# Benchmarks",
    "",
    `Written by \`${command}\` on ${
      new Date().toISOString().slice(0, 10)
    } (${size} run); every figure below comes from that one run, and each section names the command that reproduces it alone. Ratios measured side by side, not absolute speeds, are the point. Nothing here is a test: the test suite asserts behaviour, never timing.`,
    "",
    `Machine: ${machine}`,
    "",
    "## Issue 14's goals",
    "",
    markdownTable(["benchmark", "goal", "measured", ""], goals),
  ];
  if (failures.length > 0) {
    parts.push("", "Benchmarks that did not finish:", "");
    for (const failure of failures) parts.push(`- ${failure.name}: ${failure.error}`);
  }
  for (const section of sections) parts.push("", renderSection(section));
  return parts.join("\n") + "\n";
}

/** One section: its title, command, method and table; with `ownRun`, its goals and its run too. */
function renderSection(
  section: BenchSection,
  ownRun?: { machine: string; command: string },
): string {
  const parts = [
    `## ${section.title}`,
    "",
    `\`${section.command}\``,
    "",
    section.method,
    "",
    markdownTable(section.table.header, section.table.rows),
  ];
  if (section.notes) parts.push("", section.notes);
  if (ownRun) {
    parts.push(
      "",
      `Measured by \`${ownRun.command}\` on ${
        new Date().toISOString().slice(0, 10)
      }, apart from the full run above. Machine: ${ownRun.machine}`,
      "",
      markdownTable(
        ["goal", "measured", ""],
        section.goals.map((goal) => [goal.goal, goal.measured, goal.met ? "met" : "**not met**"]),
      ),
    );
  }
  return parts.join("\n");
}

/**
 * The report with these sections in place of those of the same title, or added at its end, each
 * with its own goals and run: `--only` brings figures up to date and leaves the others as they are.
 */
function mergeSections(
  existing: string,
  sections: readonly BenchSection[],
  ownRun: { machine: string; command: string },
): string {
  const parts = existing.trimEnd().split(/\n(?=## )/);
  for (const section of sections) {
    const rendered = renderSection(section, ownRun);
    const index = parts.findIndex((part) => part.startsWith(`## ${section.title}\n`));
    if (index >= 0) parts[index] = rendered;
    else parts.push(rendered);
  }
  return parts.join("\n\n") + "\n";
}

/** The flags of `deno task bench`: every benchmark's, and which to run and where to write. */
interface MainFlags extends BenchFlags {
  only?: string;
  out?: string;
}

function parseMainFlags(args: readonly string[]): MainFlags {
  return benchCommand(
    "deno task bench",
    "Runs every benchmark (or --only some) and writes BENCHMARKS.md (--quick: .local/BENCHMARKS.quick.md).",
  )
    .option(
      "--only <names>",
      "comma-separated benchmarks to run: " + Object.keys(benchmarks).join(", "),
    )
    .option("--out <file>", "where the report goes")
    .parse([...args], { from: "user" })
    .opts<MainFlags>();
}

/** The benchmarks --only names (all by default); ends the process with 2 on a name not known. */
function chooseBenchmarks(only: string | undefined): string[] {
  const chosen = only?.split(",").map((name) => name.trim()) ?? Object.keys(benchmarks);
  const unknown = chosen.filter((name) => !(name in benchmarks));
  if (unknown.length > 0) {
    console.error(
      `bench: no benchmark named ${unknown.join(", ")}; there are ${
        Object.keys(benchmarks).join(", ")
      }`,
    );
    Deno.exit(2);
  }
  return chosen;
}

/** Runs each chosen benchmark in turn; one that throws is recorded and the next one runs. */
async function runChosen(
  chosen: readonly string[],
  context: BenchContext,
): Promise<{ sections: BenchSection[]; failures: { name: string; error: string }[] }> {
  const sections: BenchSection[] = [];
  const failures: { name: string; error: string }[] = [];
  for (const name of chosen) {
    const started = performance.now();
    console.error(`bench: ${name} (${context.size}) ...`);
    try {
      const section = await benchmarks[name](context);
      sections.push(section);
      const goals = section.goals.map((goal) =>
        `${goal.goal}: ${goal.measured}${goal.met ? "" : " (not met)"}`
      );
      console.error(
        `bench: ${name} took ${((performance.now() - started) / 1000).toFixed(0)} s; ${
          goals.join("; ")
        }`,
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failures.push({ name, error: message });
      console.error(`bench: ${name} failed: ${message}`);
    }
  }
  return { sections, failures };
}

/** Writes the report in the project's own style, so that `deno fmt --check` (CI) stays clean. */
async function writeReport(out: string, report: string): Promise<void> {
  await Deno.mkdir(dirname(out), { recursive: true });
  await Deno.writeTextFile(out, report);
  const formatted = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", out],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!formatted.success && !out.includes(".local")) {
    console.error(`bench: deno fmt ${out} failed: ${new TextDecoder().decode(formatted.stderr)}`);
  }
}

if (import.meta.main) {
  const flags = parseMainFlags(Deno.args);
  const chosen = chooseBenchmarks(flags.only);
  const context = benchContext(flags);
  const out = flags.out ??
    join(projectRoot, flags.quick ? ".local/BENCHMARKS.quick.md" : "BENCHMARKS.md");
  const { sections, failures } = await runChosen(chosen, context);
  const command = `deno task bench${flags.quick ? " --quick" : ""}${
    flags.only ? ` --only ${flags.only}` : ""
  }`;
  const machine = await describeMachine(context.databaseUrl);
  // --only into an existing report: its sections are brought up to date, the rest stays.
  const existing = flags.only ? await Deno.readTextFile(out).catch(() => null) : null;
  const report = existing
    ? mergeSections(existing, sections, { machine, command })
    : renderReport(sections, failures, machine, context.size, command);
  await writeReport(out, report);
  console.error(`bench: wrote ${out}: ${sections.length} benchmarks, ${failures.length} failed`);
  // A benchmark that failed is an error; a goal not met is a finding, written down above.
  if (failures.length > 0) Deno.exit(1);
}
