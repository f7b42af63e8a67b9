// A missing npm package is one sentence naming it and how to install it, never Deno's stack trace.
import assert from "node:assert/strict";
import {
  importOrExplain,
  MissingDependencyError,
  missingPackageOf,
} from "../tools/cli/missing_dependency.ts";

Deno.test("missing dependency: an npm package not in node_modules becomes one sentence naming it", async () => {
  // Computed, so type-checking does not try to resolve it.
  const specifier = ["npm:", "no-such-package-for-this-kit", "@1.0.0"].join("");
  const error = await importOrExplain(() => import(specifier), "The embedded database").then(
    () => null,
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof MissingDependencyError, `got ${error}`);
  assert.equal(error.packageName, "no-such-package-for-this-kit");
  assert.match(
    error.message,
    /^The embedded database needs the npm package no-such-package-for-this-kit, which is not installed: run `npm ci` in \/.+\/$/,
  );
  assert.doesNotMatch(error.message, /\n/, "one line");
});

Deno.test("missing dependency: Deno's three wordings name the package; other errors pass through", async () => {
  assert.equal(
    missingPackageOf(
      Object.assign(
        new TypeError(
          'Could not find "picocolors" in a node_modules folder. Deno expects the node_modules/ directory to be up to date.',
        ),
        { code: "ERR_MODULE_NOT_FOUND" },
      ),
    ),
    "picocolors",
  );
  assert.equal(
    missingPackageOf(
      new TypeError(
        "Could not find a matching package for 'npm:@electric-sql/pglite@0.5.14' in the node_modules directory.",
      ),
    ),
    "@electric-sql/pglite",
  );
  assert.equal(
    missingPackageOf(
      new TypeError(
        'Could not resolve "cli-progress", but found it in a package.json. Deno expects the node_modules/ directory to be up to date.',
      ),
    ),
    "cli-progress",
  );
  assert.equal(missingPackageOf(new Error("connection refused")), null);
  const other = new Error("not about packages");
  await assert.rejects(
    importOrExplain(() => Promise.reject(other), "x"),
    (error) => error === other,
  );
});
