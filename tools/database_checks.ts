// Supabase's own checks of the local database: `supabase db lint` (plpgsql_check) and `supabase db advisors`, each a suite of the test run.
import { join } from "node:path";
import { databaseUrl, projectRoot } from "./stack/local_stack_settings.ts";
import { runCommand } from "./stack/run_command.ts";

export interface SuiteResult {
  name: string;
  passed: number;
  failed: number;
}

const supabaseCli = join(projectRoot, "node_modules", ".bin", "supabase");

/** INFO findings the advisors may report here, by rule and schema, each with the reason it is accepted. */
const acceptedAdvisorFindings: Record<string, Record<string, string>> = {
  rls_enabled_no_policy: {
    embeddings:
      "the engine's tables have RLS on and no policy on purpose: only service_role and the owner read them",
    embeddings_cli:
      "the command line's deferred-index book has RLS on and no policy on purpose: only service_role and the owner read it",
    embedding_chunks:
      "chunk tables are service_role only by design: RLS on, no policy, no client grant; clients read chunks through the search, which checks the parent row's RLS",
  },
  unused_index: {
    embeddings: "a fresh database has not used its indexes yet",
    public: "a fresh database has not used its indexes yet",
    embedding_chunks:
      "a chunk table's HNSW index serves the search of its target, which a fresh database has not run yet",
  },
};

interface AdvisorFinding {
  name: string;
  level: string;
  detail: string;
  metadata?: { schema?: string };
}

interface LintedFunction {
  function: string;
  issues: { level: string; message: string; context?: string }[];
}

async function runSupabaseJson<T>(args: string[]): Promise<T> {
  const result = await runCommand(supabaseCli, [...args, "--db-url", databaseUrl], {
    cwd: projectRoot,
    allowFailure: true,
  });
  // db lint prints nothing on stdout when it finds nothing.
  if (result.stdout.trim() === "" && result.code === 0) return null as T;
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(
      `supabase ${args.join(" ")} did not answer JSON (exit ${result.code}): ${
        (result.stderr || result.stdout).trim().slice(-500)
      }`,
    );
  }
}

/** Runs one check as a suite: it passes when the check returns no problems and does not throw. */
async function checkSuite(name: string, check: () => Promise<string[]>): Promise<SuiteResult> {
  let problems: string[];
  try {
    problems = await check();
  } catch (error) {
    problems = [(error as Error).message];
  }
  for (const problem of problems) console.error(`  ${problem}`);
  console.log(`${name}: ${problems.length === 0 ? "clean" : `${problems.length} problems`}`);
  return { name, passed: problems.length === 0 ? 1 : 0, failed: problems.length === 0 ? 0 : 1 };
}

/** plpgsql_check over every PL/pgSQL function of the app's schemas: any warning or error fails. */
export function lintFunctions(): Promise<SuiteResult> {
  return checkSuite("supabase db lint", async () => {
    const linted = await runSupabaseJson<LintedFunction[] | null>(
      ["db", "lint", "--schema", "embeddings,public,embedding_search", "--level", "warning"],
    );
    return (linted ?? []).flatMap((entry) =>
      entry.issues.map((issue) => `${entry.function}: ${issue.level}: ${issue.message}`)
    );
  });
}

/** Supabase's database advisors: WARN or ERROR fails, and so does an INFO finding not accepted above. */
export function runAdvisors(): Promise<SuiteResult> {
  return checkSuite("supabase db advisors", async () => {
    const findings = await runSupabaseJson<AdvisorFinding[] | null>(
      ["db", "advisors", "--type", "all", "--level", "info"],
    ) ?? [];
    const refused: string[] = [];
    const accepted = new Map<string, number>();
    for (const finding of findings) {
      const schema = finding.metadata?.schema ?? "";
      const reason = acceptedAdvisorFindings[finding.name]?.[schema];
      if (finding.level === "INFO" && reason !== undefined) {
        const key = `${finding.name} in ${schema}`;
        accepted.set(key, (accepted.get(key) ?? 0) + 1);
      } else {
        refused.push(`${finding.level} ${finding.name}: ${finding.detail}`);
      }
    }
    for (const [key, count] of accepted) {
      const [rule, schema] = key.split(" in ");
      console.log(`  accepted INFO ${key} (${count}): ${acceptedAdvisorFindings[rule][schema]}`);
    }
    return refused;
  });
}
