// The run options contract: one table gives the JSON body fields, SQL names, CLI flags, defaults and limits, and the SQL engine agrees with it.
import assert from "node:assert/strict";
import { parseEmbedRequest } from "../supabase/functions/_shared/embed_request.ts";
import {
  defaultRunOptions,
  numericRunOptionFields,
  numericRunOptions,
  parseRunOptions,
  runOptionFields,
  targetOption,
} from "../supabase/functions/_shared/run_options.ts";
import { Command, CommanderError } from "npm:commander@14.0.3";
import { registerEmbedCommand } from "../tools/cli/embed_command.ts";
import {
  type ParsedRunOptionFlags,
  type RunOptionFlagValues,
  runOptionsFromFlags,
} from "../tools/cli/run_option_flags.ts";
import { withDatabase } from "./test_support.ts";

const snakeCase = (field: string) =>
  field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
const kebabCase = (field: string) =>
  field.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

/** `deno task cli embed`, as the CLI registers it, with its action swapped for one that keeps the flags. */
function embedCommand(): { program: Command; embed: Command; given: () => RunOptionFlagValues } {
  const program = new Command("deno task cli")
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {} });
  const embed = registerEmbedCommand(program, () => {});
  let flags: RunOptionFlagValues = {};
  embed.action((given: RunOptionFlagValues) => {
    flags = given;
  });
  return { program, embed, given: () => flags };
}

/** The run options the CLI's embed command reads from `args`, or the error it exits 2 with. */
async function parseEmbedFlags(args: readonly string[]): Promise<ParsedRunOptionFlags> {
  const { program, given } = embedCommand();
  try {
    await program.parseAsync(["embed", ...args], { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return { ok: false, error: error.message };
    throw error;
  }
  return runOptionsFromFlags(given());
}

Deno.test("run options: each option's SQL name and CLI flag spell its body field", () => {
  assert.deepEqual(runOptionFields, [
    "target",
    "batchSize",
    "maxRows",
    "timeBudgetMs",
    "leaseSeconds",
  ]);
  assert.equal(targetOption.flag, "--target");
  for (const field of numericRunOptionFields) {
    const { sqlName, flag, min, max, defaultValue } = numericRunOptions[field];
    assert.equal(sqlName, snakeCase(field), field);
    assert.equal(flag, `--${kebabCase(field)}`, field);
    assert.ok(
      min <= defaultValue && defaultValue <= max,
      `${field}'s default is within its limits`,
    );
    assert.equal(defaultRunOptions[field], defaultValue, field);
  }
  assert.equal(defaultRunOptions.target, null);
});

Deno.test("run options: the CLI flags and the body fields come from the same table", async () => {
  const { embed } = embedCommand();
  for (const field of numericRunOptionFields) {
    const { flag, min, max, defaultValue } = numericRunOptions[field];
    const option = embed.options.find((candidate) => candidate.long === flag);
    assert.ok(
      option?.description.includes(`${min}-${max}, default ${defaultValue}`),
      `the help lists ${flag} with its limits`,
    );

    const fromBody = parseEmbedRequest(JSON.stringify({ [field]: max }));
    const fromFlags = await parseEmbedFlags([flag, String(max)]);
    assert.ok(fromBody.ok && fromFlags.ok, field);
    assert.deepEqual(fromFlags.options, fromBody.options, `${flag} sets ${field}`);
    assert.equal(fromFlags.options[field], max);

    const refusedBody = parseEmbedRequest(JSON.stringify({ [field]: max + 1 }));
    const refusedFlags = await parseEmbedFlags([flag, String(max + 1)]);
    assert.ok(!refusedBody.ok && !refusedFlags.ok, `${max + 1} is refused for ${field}`);
    assert.equal(refusedFlags.error, `${flag}: ${refusedBody.error}`, "the same reason, named");
  }
  const fromTargetFlag = await parseEmbedFlags([targetOption.flag, "stories"]);
  const fromTargetField = parseRunOptions({ target: "stories" });
  assert.ok(fromTargetFlag.ok && fromTargetField.ok);
  assert.deepEqual(fromTargetFlag.options, fromTargetField.options);
  assert.equal(fromTargetFlag.options.target, "stories");
  const noFlags = await parseEmbedFlags([]);
  assert.ok(noFlags.ok);
  assert.deepEqual(noFlags.options, defaultRunOptions);
});

Deno.test("run options: a flag's value that is not a number is refused, showing what was typed", async () => {
  const parsed = await parseEmbedFlags(["--batch-size", "ten"]);
  assert.deepEqual(parsed, {
    ok: false,
    error: '--batch-size: batchSize must be an integer from 1 to 1000, got "ten"',
  });
  const unknown = await parseEmbedFlags(["--batch_size", "10"]);
  assert.equal(unknown.ok, false);
});

Deno.test("run options: the SQL engine's limits (embeddings.run_option_limits) are run_options.ts's", () =>
  withDatabase(async (sql) => {
    const rows = await sql<{ name: string; min_value: number; max_value: number }[]>`
      select name, min_value, max_value from embeddings.run_option_limits() order by name`;
    const expected = numericRunOptionFields
      .map((field) => ({
        name: numericRunOptions[field].sqlName,
        min_value: numericRunOptions[field].min,
        max_value: numericRunOptions[field].max,
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
    assert.deepEqual(rows.map((row) => ({ ...row })), expected);
  }));

Deno.test("run options: only a body's own fields are read, never inherited ones", () => {
  const inherited = Object.create({ batchSize: 7, target: "stories" }) as Record<string, unknown>;
  assert.deepEqual(parseRunOptions(inherited), { ok: true, options: { ...defaultRunOptions } });
  const own = Object.assign(Object.create({ maxRows: 3 }), { batchSize: 9 });
  assert.deepEqual(parseRunOptions(own), {
    ok: true,
    options: { ...defaultRunOptions, batchSize: 9 },
  });
  const parsed = parseRunOptions(JSON.parse('{"__proto__": {"batchSize": 7}}'));
  assert.equal(parsed.ok, false);
  if (!parsed.ok) assert.equal(parsed.field, "__proto__");
});
