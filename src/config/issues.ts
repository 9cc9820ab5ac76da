import type { ZodIssue } from "zod";

/** One line per issue: `path.to.field: message`, the way config errors are shown to users. */
export function formatIssues(issues: readonly ZodIssue[]): string {
  return issues
    .map((issue) => {
      const where = issue.path.length === 0 ? "(root)" : issue.path.join(".");
      const keys = issue.code === "unrecognized_keys" ? ` (${issue.keys.join(", ")})` : "";
      return `  - ${where}: ${issue.message}${keys}`;
    })
    .join("\n");
}
