// The documentation checked against the repository: README.md and every docs/*.md page. Relative
// links must reach a file (and a heading, for #anchors into a page), repository paths written in
// backticks must exist (globs expanded), every `deno task X` must be a task of deno.json, and every
// `deno task cli <command> --flag` a command and flag of the command line. Needs no database.
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const maxReadmeLines = 200;
const maxLineLength = 300;
/** Directories never walked: installed packages, git, and the ignored local state. */
const skippedDirectories = new Set([".git", "node_modules", ".local"]);

interface Page {
  /** Relative to the repository root, with forward slashes. */
  path: string;
  text: string;
}

async function readPages(): Promise<Page[]> {
  const pages: Page[] = [{
    path: "README.md",
    text: await Deno.readTextFile(join(root, "README.md")),
  }];
  for await (const entry of Deno.readDir(join(root, "docs"))) {
    if (entry.isFile && entry.name.endsWith(".md")) {
      pages.push({
        path: `docs/${entry.name}`,
        text: await Deno.readTextFile(join(root, "docs", entry.name)),
      });
    }
  }
  return pages.sort((a, b) => a.path.localeCompare(b.path));
}

/** Every file and directory of the repository (relative, forward slashes), directories ending in "/". */
async function listRepository(): Promise<string[]> {
  const found: string[] = [];
  async function walk(directory: string): Promise<void> {
    for await (const entry of Deno.readDir(join(root, directory))) {
      if (skippedDirectories.has(entry.name)) continue;
      const path = directory === "" ? entry.name : `${directory}/${entry.name}`;
      if (entry.isDirectory) {
        found.push(`${path}/`);
        await walk(path);
      } else {
        found.push(path);
      }
    }
  }
  await walk("");
  return found;
}

/** The text without fenced code blocks (their lines become empty, so line numbers hold). */
function withoutFences(text: string): string {
  let inFence = false;
  return text.split("\n").map((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      inFence = !inFence;
      return "";
    }
    return inFence ? "" : line;
  }).join("\n");
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split("\n").length;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const counts = new Map<string, number>();
  for (const match of withoutFences(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(match[1]);
    const seen = counts.get(base) ?? 0;
    counts.set(base, seen + 1);
    anchors.add(seen === 0 ? base : `${base}-${seen}`);
  }
  return anchors;
}

/** A glob (`*`, `?`, and `<placeholder>` as `*`) as a regular expression over repository paths. */
function globPattern(glob: string): RegExp {
  const source = glob.replace(/<[^<>/]+>/g, "*").split("").map((char) => {
    if (char === "*") return "[^/]*";
    if (char === "?") return "[^/]";
    return char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }).join("");
  return new RegExp(`^${source}$`);
}

function pathExists(path: string, repository: readonly string[]): boolean {
  const pattern = globPattern(path.endsWith("/") ? path : path.replace(/\/$/, ""));
  return repository.some((entry) =>
    pattern.test(entry) || (!path.endsWith("/") && pattern.test(entry.replace(/\/$/, "")))
  );
}

/** Inline code spans outside fenced blocks, with their line numbers. */
function codeSpans(page: Page): { code: string; line: number }[] {
  const text = withoutFences(page.text);
  return [...text.matchAll(/`([^`]+)`/g)].map((match) => ({
    code: match[1].replace(/\s+/g, " ").trim(),
    line: lineOf(text, match.index),
  }));
}

const pages = await readPages();
const repository = await listRepository();
const topLevel = new Set(repository.map((entry) => entry.split("/")[0]));

/** The tokens of a code span that name a repository path: they start with a top-level entry. */
function repositoryPaths(code: string): string[] {
  return code.split(" ")
    .map((token) => token.replace(/^["'(\[]+|["'),.:;\]]+$/g, ""))
    .filter((token) => {
      if (/^[a-z]+:\/\//i.test(token) || token.startsWith("/")) return false;
      const first = token.split("/")[0];
      if (token.includes("/")) return topLevel.has(first);
      // A migration named alone, without its directory.
      return /^\d{14}[\w*?-]*\.sql$/.test(token);
    })
    .map((token) => token.includes("/") ? token : `supabase/migrations/${token}`);
}

Deno.test("docs: README.md is a map of at most 200 lines, and no page has a line over 300 characters", () => {
  const readme = pages.find((page) => page.path === "README.md")!;
  const lines = readme.text.replace(/\n$/, "").split("\n");
  assert.ok(
    lines.length <= maxReadmeLines,
    `README.md has ${lines.length} lines; at most ${maxReadmeLines}: move the rest to docs/`,
  );
  const long = pages.flatMap((page) =>
    page.text.split("\n").flatMap((line, index) =>
      line.length > maxLineLength ? [`${page.path}:${index + 1} (${line.length} characters)`] : []
    )
  );
  assert.deepEqual(long, [], `lines over ${maxLineLength} characters`);
});

Deno.test("docs: README.md links to every docs page", () => {
  const readme = pages.find((page) => page.path === "README.md")!;
  const linked = new Set(
    [...readme.text.matchAll(/\]\((docs\/[^)#\s]+)/g)].map((match) => match[1]),
  );
  const unlinked = pages.filter((page) => page.path.startsWith("docs/") && !linked.has(page.path))
    .map((page) => page.path);
  assert.deepEqual(unlinked, [], "docs pages the README does not link to");
});

Deno.test("docs: every relative link reaches a file, and every #anchor a heading", async () => {
  const broken: string[] = [];
  for (const page of pages) {
    const text = withoutFences(page.text);
    for (const match of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = match[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      const where = `${page.path}:${lineOf(text, match.index)}: ${target}`;
      const [file, anchor] = target.split("#", 2);
      const resolved = file === ""
        ? page.path
        : normalize(relative(root, join(root, dirname(page.path), decodeURI(file))));
      if (resolved.startsWith("..")) {
        broken.push(`${where} (outside the repository)`);
        continue;
      }
      let stat: Deno.FileInfo;
      try {
        stat = await Deno.stat(join(root, resolved));
      } catch {
        broken.push(`${where} (no such file)`);
        continue;
      }
      if (anchor && stat.isFile && resolved.endsWith(".md")) {
        const anchors = anchorsOf(await Deno.readTextFile(join(root, resolved)));
        if (!anchors.has(anchor)) broken.push(`${where} (no heading with anchor #${anchor})`);
      }
    }
  }
  assert.deepEqual(broken, [], "broken links");
});

Deno.test("docs: every repository path written in backticks exists (globs expanded)", () => {
  const missing: string[] = [];
  for (const page of pages) {
    for (const span of codeSpans(page)) {
      for (const path of repositoryPaths(span.code)) {
        if (!pathExists(path, repository)) missing.push(`${page.path}:${span.line}: ${path}`);
      }
    }
  }
  assert.deepEqual(missing, [], "paths that do not exist");
});

const denoJson = JSON.parse(await Deno.readTextFile(join(root, "deno.json")));
const tasks = new Set(Object.keys(denoJson.tasks ?? {}));

Deno.test("docs: every `deno task X` is a task of deno.json", () => {
  const unknown: string[] = [];
  for (const page of pages) {
    for (const match of page.text.matchAll(/deno\s+task\s+([A-Za-z0-9][\w:.-]*)/g)) {
      const task = match[1].replace(/[.:]+$/, "");
      if (!tasks.has(task)) unknown.push(`${page.path}:${lineOf(page.text, match.index)}: ${task}`);
    }
  }
  assert.deepEqual(unknown, [], `tasks not in deno.json (${[...tasks].join(", ")})`);
});

// --- The command line's commands and flags, read from its commander program ---------------------

interface CommanderOption {
  long?: string;
  short?: string;
}
interface CommanderCommand {
  name(): string;
  commands: readonly CommanderCommand[];
  options: readonly CommanderOption[];
}

function isCommand(value: unknown): value is CommanderCommand {
  return typeof value === "object" && value !== null &&
    Array.isArray((value as { commands?: unknown }).commands) &&
    typeof (value as { name?: unknown }).name === "function";
}

/**
 * The program tools/cli/program.ts builds. It builds it inside runCli, so this builds the same
 * one: a fresh commander program passed to each `registerXCommand(program, ...)` program.ts calls,
 * imported from where program.ts imports it. If program.ts ever exports the program, that is used.
 */
async function cliProgram(): Promise<CommanderCommand> {
  const programFile = join(root, "tools", "cli", "program.ts");
  const module = await import(new URL(`file://${programFile}`).href);
  const exported = Object.values(module).find(isCommand);
  if (exported) return exported;

  const source = await Deno.readTextFile(programFile);
  const importedFrom = new Map<string, string>();
  for (const match of source.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
    for (const name of match[1].split(",")) {
      importedFrom.set(name.replace(/^type\s+/, "").trim(), match[2]);
    }
  }
  const commanderSpecifier = [...source.matchAll(/from\s*"(npm:commander@[^"]+)"/g)][0]?.[1];
  assert.ok(commanderSpecifier, "tools/cli/program.ts no longer imports commander");
  const { Command } = await import(commanderSpecifier);
  const program = new Command("deno task cli");
  const registrations = [
    ...source.matchAll(/^\s*(register\w*Command)\s*\(\s*program\b/gm),
  ].map((match) => match[1]);
  assert.ok(registrations.length > 0, "found no registerXCommand(program, ...) in program.ts");
  for (const name of registrations) {
    const specifier = importedFrom.get(name);
    assert.ok(specifier, `program.ts calls ${name} but imports it from nowhere this test can see`);
    const registering = await import(new URL(specifier, `file://${programFile}`).href);
    registering[name](program, () => {});
  }
  return program;
}

const cli = await cliProgram();
const cliCommands = new Map(
  cli.commands.map((command) => [
    command.name(),
    new Set(
      // A command with subcommands (model-change start, ...): the flags of any of them.
      [
        ...[command, ...command.commands].flatMap((each) => each.options)
          .flatMap((option) => [option.long, option.short]),
        "--help",
        "-h",
      ]
        .filter((flag): flag is string => flag !== undefined),
    ),
  ]),
);

Deno.test("docs: the command line has every command the docs name", () => {
  assert.ok(cliCommands.size > 0, "read no command from tools/cli/program.ts");
});

Deno.test("docs: every `deno task cli <command> --flag` is a command and flag of the command line", () => {
  const wrong: string[] = [];
  for (const page of pages) {
    // The command and what follows it on its line, up to the end of a code span or a comment.
    for (const match of page.text.matchAll(/deno\s+task\s+cli\s+([A-Za-z][\w-]*)([^`\n#|]*)/g)) {
      const [, command, rest] = match;
      const where = `${page.path}:${lineOf(page.text, match.index)}`;
      const flags = cliCommands.get(command);
      if (!flags) {
        wrong.push(
          `${where}: no command ${command} (there are ${[...cliCommands.keys()].join(", ")})`,
        );
        continue;
      }
      for (const flag of rest.match(/(?<![\w-])--?[A-Za-z][\w-]*/g) ?? []) {
        if (!flags.has(flag)) wrong.push(`${where}: ${command} has no flag ${flag}`);
      }
    }
  }
  assert.deepEqual(wrong, [], "commands or flags the command line does not have");
});
