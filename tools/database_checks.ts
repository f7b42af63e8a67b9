// Supabase's own checks of the local database: `supabase db lint` (plpgsql_check) and `supabase db advisors`, each a suite of the test run.
import { join } from "node:path";
import { projectRoot, supabaseCliDatabaseUrl } from "./stack/local_stack_settings.ts";
import { runCommand } from "./stack/run_command.ts";

export interface SuiteResult {
  name: string;
  passed: number;
  failed: number;
}

const supabaseCli = join(projectRoot, "node_modules", ".bin", "supabase");

/** INFO findings the advisors may report here, each with the reason it is accepted. */
const acceptedAdvisorFindings: Record<string, { schemas: string[]; reason: string }> = {
  rls_enabled_no_policy: {
    schemas: ["embeddings", "embeddings_cli"],
    reason:
      "the engine's tables (and the command line's deferred-index book) have RLS on and no policy on purpose: only service_role and the owner read them",
  },
  unused_index: {
    schemas: ["embeddings", "public"],
    reason: "a fresh database has not used its indexes yet",
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
  const result = await runCommand(supabaseCli, [...args, "--db-url", supabaseCliDatabaseUrl], {
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
      const rule = acceptedAdvisorFindings[finding.name];
      if (finding.level === "INFO" && rule?.schemas.includes(finding.metadata?.schema ?? "")) {
        accepted.set(finding.name, (accepted.get(finding.name) ?? 0) + 1);
      } else {
        refused.push(`${finding.level} ${finding.name}: ${finding.detail}`);
      }
    }
    for (const [rule, count] of accepted) {
      console.log(`  accepted INFO ${rule} (${count}): ${acceptedAdvisorFindings[rule].reason}`);
    }
    return refused;
  });
}
