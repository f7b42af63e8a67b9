// `deno task cli doctor`: embeddings.doctor() plus the provider's model check, printed grouped by level with each fix.
import type { Command } from "npm:commander@14.0.3";
import { withDatabase } from "./database_session.ts";
import { databaseUrlHelp } from "./database_url.ts";
import { readDoctorFindings, readRegisteredTargets } from "./doctor_findings.ts";
import { doctorExitCode, renderDoctorReport } from "./doctor_report.ts";
import type { ExitCode } from "./exit_codes.ts";
import { checkTargetModels, configuredProvider } from "./provider_model_check.ts";
import { providerOption } from "./provider_option.ts";
import { withServiceRole } from "./service_role_session.ts";
import { terminalColors } from "./terminal_colors.ts";

interface DoctorOptions {
  dbUrl?: string;
  json?: boolean;
  provider?: string;
}

const helpAfter = `
Runs embeddings.doctor() (the same checks from Supabase's SQL editor: select * from
embeddings.doctor();) and adds target_model_matches_provider: per target, the configured provider that
makes its model, or an error when none does (every run skips that target). The providers are the
ones this environment configures (EMBEDDING_PROVIDERS or EMBEDDING_PROVIDER, and OPENAI_*; or the
--provider list; local off Supabase). Prints the errors, then the warnings, each with its fix, then the checks that passed.

Exit codes: 0 no error (warnings allowed), 1 an error-level finding, 2 bad usage or no database.`;

export function registerDoctorCommand(
  program: Command,
  finish: (exitCode: ExitCode) => void,
): Command {
  return program.command("doctor")
    .summary("find the seed's failure modes before they bite, each with its fix")
    .description(
      "Checks RLS, client writes to vector columns, SECURITY DEFINER functions, pgvector's schema, the schedule's prerequisites, the Vault key, dispatch failures, the time budget, broken targets and each target's model.",
    )
    .option("--db-url <url>", databaseUrlHelp)
    .option("--json", "print the findings as a JSON array instead of text")
    .addOption(
      providerOption(
        "the providers whose models the targets must use, a comma-separated list (default: EMBEDDING_PROVIDERS, else EMBEDDING_PROVIDER, else local)",
      ),
    )
    .addHelpText("after", helpAfter)
    .action(async (options: DoctorOptions) => {
      const { findings, providerFindings } = await withDatabase(options.dbUrl, async (database) => {
        const { findings, targets } = await withServiceRole(database, async (sql) => ({
          findings: await readDoctorFindings(sql),
          targets: await readRegisteredTargets(sql),
        }));
        return {
          findings,
          providerFindings: checkTargetModels(
            targets,
            configuredProvider(options.provider, database.url),
          ),
        };
      });
      const all = [...findings, ...providerFindings];
      console.log(
        options.json ? JSON.stringify(all, null, 2) : renderDoctorReport(all, terminalColors()),
      );
      finish(doctorExitCode(all));
    });
}
