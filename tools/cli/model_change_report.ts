// The lines `deno task cli model-change` prints after a step: what it did and both versions as read back from the database.
import type {
  ModelChangeReadBack,
  ModelChangeStep,
  VersionReadBack,
} from "./model_change_steps.ts";
import { formatCount } from "./text_table.ts";

function versionLine(label: string, version: VersionReadBack): string {
  if (version.name === null) return `  ${label}: target ${version.targetId}, no longer registered`;
  const progress = version.totalRows === null
    ? "broken (see deno task cli status)"
    : `${formatCount(version.embedded ?? 0)} of ${formatCount(version.totalRows)} rows embedded`;
  return `  ${label}: ${version.name} (target ${version.targetId}), ${version.model}, ${progress}`;
}

function columnLine(change: ModelChangeReadBack): string {
  if (change.addedColumn === null) return "  column: the engine added none";
  const where = change.addedColumnPresent ? "in the table" : "dropped";
  return `  column: ${change.addedColumn}, added by the engine, ${where}`;
}

function headline(step: ModelChangeStep, change: ModelChangeReadBack): string {
  const name = change.targetName;
  switch (step) {
    case "start":
      return `${name}: model change ${change.changeId} started, ${change.oldModel} to ${change.newModel}; the worker fills ${name}__next while ${name} keeps answering`;
    case "switch":
      return `${name}: switched; search and status of ${name} now read ${change.newModel}`;
    case "rollback":
      return change.state === "rolled back"
        ? `${name}: model change ${change.changeId} abandoned; ${name} stays on ${change.oldModel}`
        : `${name}: rolled back; search and status of ${name} read ${change.oldModel} again (the change keeps filling)`;
    case "finish":
      return `${name}: model change ${change.changeId} finished; ${change.oldModel} is no longer kept`;
  }
}

/** The step's headline, then the change's state and both versions, as read back. */
export function describeModelChange(step: ModelChangeStep, change: ModelChangeReadBack): string {
  return [
    headline(step, change),
    `  state: ${change.state}`,
    versionLine("old version", change.oldVersion),
    versionLine("new version", change.newVersion),
    columnLine(change),
  ].join("\n");
}
