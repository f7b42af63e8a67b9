// Each Edge Function's module graph, as `deno info` sees it, stays under Supabase's 20 MB bundle limit and holds nothing that only works locally.
import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../tools/stack/local_stack_settings.ts";

/** Supabase's limit on a function's bundle: every module its entry can reach, npm packages included. */
const bundleLimitBytes = 20 * 1024 * 1024;

interface ModuleGraph {
  modules: { specifier: string; kind?: string; size?: number; npmPackage?: string }[];
  npmPackages: Record<string, { name: string; dependencies: string[]; localPath?: string }>;
}

function directoryBytes(path: string): number {
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) total += directoryBytes(child);
    else if (entry.isFile()) total += statSync(child).size;
  }
  return total;
}

async function moduleGraph(functionName: string): Promise<ModuleGraph> {
  // "./" keeps deno from reading "supabase/..." as the npm package of that name.
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", `./supabase/functions/${functionName}/index.ts`],
    cwd: projectRoot,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return JSON.parse(new TextDecoder().decode(output.stdout)) as ModuleGraph;
}

/** The graph's npm packages, the ones its modules import and everything they depend on. */
function reachedPackages(graph: ModuleGraph): Set<string> {
  const reached = new Set<string>();
  const visit = (id: string) => {
    if (reached.has(id)) return;
    reached.add(id);
    for (const dependency of graph.npmPackages[id]?.dependencies ?? []) visit(dependency);
  };
  for (const module of graph.modules) if (module.npmPackage) visit(module.npmPackage);
  return reached;
}

const functionNames = readdirSync(join(projectRoot, "supabase", "functions"), {
  withFileTypes: true,
})
  .filter((entry) => entry.isDirectory() && !entry.name.startsWith("_"))
  .map((entry) => entry.name);

for (const name of functionNames) {
  Deno.test(`bundle: ${name}'s module graph is under 20 MB and holds nothing only local`, async () => {
    const graph = await moduleGraph(name);
    const packages = reachedPackages(graph);
    const moduleBytes = graph.modules.reduce((sum, module) => sum + (module.size ?? 0), 0);
    const packageBytes = [...packages].reduce((sum, id) => {
      const localPath = graph.npmPackages[id]?.localPath;
      return sum + (localPath ? directoryBytes(localPath) : 0);
    }, 0);
    const total = moduleBytes + packageBytes;
    assert.ok(
      total < bundleLimitBytes,
      `${name} reaches ${(total / 1024 / 1024).toFixed(1)} MB: ${[...packages].join(", ")}`,
    );
    const local = [...packages].filter((id) => id.startsWith("@energetic-ai/"));
    assert.deepEqual(local, [], "the offline model's packages are not in the deployed graph");
    assert.ok(
      graph.modules.every((module) => !module.specifier.includes("local_sentence_encoder")),
      "the offline provider's module is not in the deployed graph",
    );
  });
}
