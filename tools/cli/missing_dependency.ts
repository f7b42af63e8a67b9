// Turns "an npm package is not installed" into one sentence naming it and how to install it, instead of Deno's stack trace.
import { fileURLToPath } from "node:url";

const projectRoot = fileURLToPath(new URL("../../", import.meta.url));

/** An npm package the code needs is not in node_modules; its message is the whole story. */
export class MissingDependencyError extends Error {
  override name = "MissingDependencyError";
  readonly packageName: string;

  constructor(packageName: string, purpose: string) {
    super(
      `${purpose} needs the npm package ${packageName}, which is not installed: run \`npm ci\` in ${projectRoot}`,
    );
    this.packageName = packageName;
  }
}

/**
 * The package a module-not-found error names, from Deno's wordings: `Could not find "pkg" in a
 * node_modules folder`, `Could not resolve "pkg", but found it in a package.json` and `Could not
 * find a matching package for 'npm:pkg@1.2.3'`; else null.
 */
export function missingPackageOf(error: unknown): string | null {
  if (!(error instanceof Error)) return null;
  const code = (error as { code?: unknown }).code;
  if (code !== "ERR_MODULE_NOT_FOUND" && !/^Could not (find|resolve)/m.test(error.message)) {
    return null;
  }
  const quoted = error.message.match(
    /Could not (?:find "([^"]+)" in a node_modules folder|resolve "([^"]+)", but found it in a package\.json)/,
  );
  if (quoted) return quoted[1] ?? quoted[2];
  const specifier = error.message.match(/matching package for '(?:npm:)?(@?[^@'\s]+)/);
  return specifier ? specifier[1] : null;
}

/** Runs `load` (a dynamic import); a package missing from node_modules becomes a MissingDependencyError. */
export async function importOrExplain<T>(load: () => Promise<T>, purpose: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const packageName = missingPackageOf(error);
    if (packageName !== null) throw new MissingDependencyError(packageName, purpose);
    throw error;
  }
}

/**
 * An entry point's whole run: loads its module (importOrExplain), runs it and exits with its code;
 * a missing npm package ends it with one sentence and exit code 2, not a stack trace.
 */
export async function runEntryPoint<T>(
  load: () => Promise<T>,
  purpose: string,
  run: (module: T) => Promise<number>,
): Promise<never> {
  let code: number;
  try {
    code = await run(await importOrExplain(load, purpose));
  } catch (error) {
    if (!(error instanceof MissingDependencyError)) throw error;
    console.error(error.message);
    code = 2;
  }
  Deno.exit(code);
}
