// The targets a command works on: every registered target, or the one --target names (an unknown name is a usage error listing the registered ones).
import type { Target, TargetQueue } from "../../supabase/functions/_shared/target_queue.ts";
import { CliFailure } from "./exit_codes.ts";

export async function chooseTargets(
  queue: Pick<TargetQueue, "listTargets">,
  name: string | null | undefined,
): Promise<Target[]> {
  const registered = await queue.listTargets();
  if (name === null || name === undefined) return registered;
  const match = registered.filter((target) => target.name === name);
  if (match.length > 0) return match;
  throw new CliFailure(
    `no target is named ${JSON.stringify(name)}; registered: ${
      registered.map((target) => target.name).join(", ") || "none"
    }`,
  );
}
