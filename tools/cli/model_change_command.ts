// `deno task cli model-change start|switch|rollback|finish`: change a target's model while search keeps answering (embeddings.start_model_change and the steps after it).
import { type Command, InvalidArgumentError } from "npm:commander@14.0.3";
import { databaseCommand, type FinishWith } from "./command_declaration.ts";
import { withDatabase } from "./database_session.ts";
import { withConnection } from "./engine_session.ts";
import { exitCodes } from "./exit_codes.ts";
import { describeModelChange } from "./model_change_report.ts";
import { readRunningModelChanges, renderRunningModelChanges } from "./model_change_status.ts";
import {
  type ModelChangeStep,
  runModelChangeStep,
  type StartSettings,
} from "./model_change_steps.ts";

interface StepOptions {
  dbUrl?: string;
  target: string;
  json?: boolean;
  force?: boolean;
  model?: string;
  dimensions?: number;
  column?: string;
  halfvec?: boolean;
}

const helpAfter = `
Four steps, each one SQL call as service_role (docs/model-change.md):
  start     a second version of the target, <target>__next, with the new model in its own column
            (added with an HNSW index unless --column names one of the new size); the worker fills
            it in the background (deno task cli backfill), new and edited rows included, while
            search and status of <target> keep reading the current model.
  switch    makes the new version current for search and status at once; refused until every row
            has a vector of the new model, unless --force.
  rollback  after a switch: the old version is current again; before one: abandons the change
            (the new version, and a column the engine added, are dropped).
  finish    after a switch: the old version is unregistered; its column is dropped only if an
            earlier change added it.
  status    every running change: which model search reads, both versions' rows embedded.
Each step prints what it did, read back from the database. A refused step prints why and exits 1.
A chunked target's new version gets its own chunk table; give it no --column or --halfvec.

Exit codes: 0 done, 1 the step was refused, 2 bad usage or no database.`;

function positiveInteger(raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 16000) {
    throw new InvalidArgumentError("must be a whole number from 1 to 16000");
  }
  return value;
}

function startSettings(options: StepOptions): StartSettings | null {
  if (options.model === undefined || options.dimensions === undefined) return null;
  return {
    model: options.model,
    dimensions: options.dimensions,
    column: options.column ?? null,
    vectorType: options.halfvec ? "halfvec" : "vector",
  };
}

function registerStep(
  parent: Command,
  step: ModelChangeStep,
  summary: string,
  finish: FinishWith,
): Command {
  return databaseCommand(parent, { name: step, summary, description: summary })
    .requiredOption("--target <name>", "the target whose model changes")
    .option("--json", "print the change as JSON")
    .action(async (options: StepOptions) => {
      const change = await withDatabase(
        options.dbUrl,
        (database) =>
          withConnection(
            database.url,
            database.label,
            (sql) =>
              runModelChangeStep(
                sql,
                options.target,
                step,
                startSettings(options),
                !!options.force,
              ),
          ),
      );
      console.log(
        options.json ? JSON.stringify(change, null, 2) : describeModelChange(step, change),
      );
      finish(exitCodes.ok);
    });
}

function registerStatus(parent: Command, finish: FinishWith): Command {
  const summary = "every running change with both versions' progress";
  return databaseCommand(parent, { name: "status", summary, description: summary })
    .option("--json", "print the changes as JSON")
    .action(async (options: { dbUrl?: string; json?: boolean }) => {
      const changes = await withDatabase(
        options.dbUrl,
        (database) => withConnection(database.url, database.label, readRunningModelChanges),
      );
      console.log(
        options.json ? JSON.stringify(changes, null, 2) : renderRunningModelChanges(changes),
      );
      finish(exitCodes.ok);
    });
}

export function registerModelChangeCommand(program: Command, finish: FinishWith): Command {
  const group = program.command("model-change")
    .summary("change a target's model in four steps, search answering throughout")
    .description(
      "Changes a target's model: start a second version, switch to it, roll back, finish.",
    )
    .addHelpText("after", helpAfter);
  registerStep(group, "start", "start filling a second version with the new model", finish)
    .requiredOption("--model <name>", "the new model")
    .requiredOption("--dimensions <n>", "the new model's dimensions", positiveInteger)
    .option("--column <name>", "the vector column (default embedding_<model>, added if missing)")
    .option("--halfvec", "add the column as halfvec instead of vector");
  registerStep(group, "switch", "make the new version current for search and status", finish)
    .option("--force", "switch even before every row has a vector of the new model");
  registerStep(group, "rollback", "go back to the old version, or abandon the change", finish);
  registerStep(group, "finish", "drop the old version (and a column the engine added)", finish);
  registerStatus(group, finish);
  return group;
}
