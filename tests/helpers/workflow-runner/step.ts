// One step that its `if:` let through: a `run:` script in bash, or a `uses:` action from the table, with
// fresh file-command files ($GITHUB_OUTPUT, $GITHUB_ENV, $GITHUB_PATH, $GITHUB_STEP_SUMMARY) read back after.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { actionSpec, type RunnerHost, StepFailure } from "./actions.js";
import { type ExprContext, interpolateText } from "./expressions.js";
import { parseFileCommands } from "./file-commands.js";
import { runScript } from "./run-script.js";
import type { StepSpec } from "./workflow-file.js";

export type Outcome = "success" | "failure" | "skipped";

/** What happened to one step. */
export interface StepRecord {
  index: number;
  name: string;
  id?: string;
  uses?: string;
  skipped: boolean;
  outcome: Outcome;
  exitCode: number | null;
  stdoutTail: string;
  stderrTail: string;
  durationMs: number;
  outputs: Record<string, string>;
  /** The evaluated `with:` of a `uses:` step (docker/* steps are only recorded: this is what they got). */
  with: Record<string, string>;
  warnings: string[];
  /** Why the step failed, when it did not fail by exit code (an action's error, a timeout). */
  error?: string;
}

export interface StepRun {
  step: StepSpec;
  record: StepRecord;
  ctx: ExprContext;
  /** The process environment: machine, runner variables and the merged workflow/job/step env. */
  env: Record<string, string>;
  host: RunnerHost;
  runId: string;
  job: string;
  workspace: string;
  /** Folder for this step's file-command files and script. */
  dir: string;
  deadline: number;
  echo: boolean;
}

/** What a step hands on to the job: $GITHUB_ENV assignments, $GITHUB_PATH entries, its summary. */
export interface StepEffects {
  env: Record<string, string>;
  path: string[];
  summary: string;
}

async function runStep(run: StepRun): Promise<void> {
  const { step, record } = run;
  const file = (n: string) => path.join(run.dir, n);
  if (step.run !== undefined) {
    const ran = await runScript({
      script: interpolateText(step.run, run.ctx),
      scriptFile: file("script.sh"),
      logFile: path.join(run.host.logsDir, `${run.runId}-${run.job}-${record.index + 1}.log`),
      cwd: path.resolve(run.workspace, step["working-directory"] ?? "."),
      env: run.env,
      timeoutMs: Math.max(1, Math.min(run.deadline - Date.now(), (step["timeout-minutes"] ?? 360) * 60_000)),
      ...(run.echo
        ? { echo: (chunk: string) => process.stderr.write(`[${run.job}#${record.index + 1}] ${chunk}`) }
        : {}),
    });
    Object.assign(record, { exitCode: ran.exitCode, stdoutTail: ran.stdoutTail, stderrTail: ran.stderrTail });
    if (ran.orphans.length > 0) {
      record.warnings.push(
        `the step left processes running; the runner ended them: ${ran.orphans.join("; ")}`,
      );
    }
    if (ran.timedOut) throw new StepFailure("The step timed out (timeout-minutes)");
    if (ran.exitCode !== 0) throw new StepFailure(`Process completed with exit code ${ran.exitCode}.`);
    return;
  }
  record.with = Object.fromEntries(
    Object.entries(step.with ?? {}).map(([k, v]) => [k, interpolateText(v, run.ctx)]),
  );
  const action = actionSpec(step.uses!, Object.keys(record.with));
  const result = await action.run({
    uses: step.uses!,
    with: record.with,
    workspace: run.workspace,
    host: run.host,
    runId: run.runId,
    env: run.env,
  });
  record.outputs = result.outputs;
  record.warnings.push(...result.warnings);
}

/**
 * Runs the step, filling `run.record`; a StepFailure marks it failed (the job decides what runs next),
 * anything else (unknown action, bad file command) propagates and fails the test.
 */
export async function executeStep(run: StepRun): Promise<StepEffects> {
  const started = Date.now();
  const file = (n: string) => path.join(run.dir, n);
  await mkdir(run.dir, { recursive: true });
  for (const n of ["output", "env", "path", "summary"]) await writeFile(file(n), "");
  Object.assign(run.env, {
    GITHUB_OUTPUT: file("output"),
    GITHUB_ENV: file("env"),
    GITHUB_PATH: file("path"),
    GITHUB_STEP_SUMMARY: file("summary"),
  });
  try {
    await runStep(run);
  } catch (error) {
    if (!(error instanceof StepFailure)) throw error;
    run.record.outcome = "failure";
    run.record.error = error.message;
  }
  if (run.step.run !== undefined) {
    run.record.outputs = parseFileCommands(await readFile(file("output"), "utf8"), "GITHUB_OUTPUT");
  }
  run.record.durationMs = Date.now() - started;
  return {
    env: parseFileCommands(await readFile(file("env"), "utf8"), "GITHUB_ENV"),
    path: (await readFile(file("path"), "utf8")).split("\n").filter((l) => l.trim() !== ""),
    summary: await readFile(file("summary"), "utf8"),
  };
}
