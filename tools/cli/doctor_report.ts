// Turns doctor's findings into text grouped by level, a closing line with the counts, and the exit code.
import type { Finding, FindingLevel } from "./doctor_findings.ts";
import { type ExitCode, exitCodes } from "./exit_codes.ts";
import { plural } from "./text_table.ts";
import type { Colors } from "./terminal_colors.ts";

const groups: readonly { level: FindingLevel; title: string }[] = [
  { level: "error", title: "errors" },
  { level: "warning", title: "warnings" },
  { level: "ok", title: "passed" },
];

/** Exit 1 on any error-level finding; warnings do not fail. */
export function doctorExitCode(findings: readonly Finding[]): ExitCode {
  return findings.some((finding) => finding.level === "error")
    ? exitCodes.problemsFound
    : exitCodes.ok;
}

/** "doctor: 2 errors and 1 warning from 3 of 12 checks" or "doctor: all 12 checks passed". */
export function doctorSummary(findings: readonly Finding[]): string {
  const checks = new Set(findings.map((finding) => finding.check_name));
  const failing = new Set(
    findings.filter((finding) => finding.level !== "ok").map((finding) => finding.check_name),
  );
  const errors = findings.filter((finding) => finding.level === "error").length;
  const warnings = findings.filter((finding) => finding.level === "warning").length;
  if (failing.size === 0) return `doctor: all ${checks.size} checks passed`;
  return `doctor: ${plural(errors, "error")} and ${
    plural(warnings, "warning")
  } from ${failing.size} of ${checks.size} checks${
    errors > 0 ? "; each comes with its fix above" : "; no errors"
  }`;
}

export function renderDoctorReport(findings: readonly Finding[], colors: Colors): string {
  const paint: Record<FindingLevel, (text: string) => string> = {
    error: colors.red,
    warning: colors.yellow,
    ok: colors.green,
  };
  const lines: string[] = [];
  for (const { level, title } of groups) {
    const inGroup = findings.filter((finding) => finding.level === level);
    if (inGroup.length === 0) continue;
    lines.push(colors.bold(paint[level](`${title} (${inGroup.length})`)));
    for (const finding of inGroup) {
      if (level === "ok") {
        lines.push(`  ${paint.ok("ok")} ${finding.check_name}: ${finding.finding}`);
        continue;
      }
      lines.push(
        `  ${paint[level](level)} ${colors.bold(finding.check_name)}${
          finding.subject ? ` ${finding.subject}` : ""
        }`,
      );
      lines.push(`      ${finding.finding}`);
      if (finding.fix) lines.push(`      ${colors.cyan("fix:")} ${finding.fix}`);
    }
    lines.push("");
  }
  lines.push(doctorSummary(findings));
  return lines.join("\n");
}
