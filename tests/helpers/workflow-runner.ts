// Runs a GitHub Actions job locally the way a runner would: `if:` conditions, env merged workflow → job →
// step, `run:` steps in bash with the runner's file commands, `uses:` steps through a table of simulated
// actions (workflow-runner/actions.ts), job outputs evaluated at the end. GitHub Actions cannot run on
// these machines; this is how the test suite exercises the committed workflows end to end. Whatever it
// cannot simulate faithfully throws.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { projectRoot } from "../../src/shared/project.js";
import { type RunnerHost, UnsupportedError } from "./workflow-runner/actions.js";
import {
  type ExprContext,
  type ExprValue,
  evaluateCondition,
  interpolate,
  interpolateText,
  Scope,
  toText,
} from "./workflow-runner/expressions.js";
import { executeStep, type Outcome, type StepRecord } from "./workflow-runner/step.js";
import {
  checkJobShape,
  type Event,
  loadWorkflow,
  resolveInputs,
  type WorkflowDoc,
} from "./workflow-runner/workflow-file.js";

export { cacheEntries, KNOWN_ACTIONS, type RunnerHost } from "./workflow-runner/actions.js";
export {
  ExpressionError,
  evaluate,
  evaluateCondition,
  interpolate,
  Scope,
} from "./workflow-runner/expressions.js";
export { parseFileCommands } from "./workflow-runner/file-commands.js";
export type { StepRecord } from "./workflow-runner/step.js";
export { loadWorkflow, type WorkflowDoc } from "./workflow-runner/workflow-file.js";
export { prepareWorkspace } from "./workflow-runner/workspace.js";

export interface JobResult {
  job: string;
  result: Outcome;
  outputs: Record<string, string>;
  steps: StepRecord[];
  /** Every step's $GITHUB_STEP_SUMMARY, in order. */
  summary: string;
  durationMs: number;
}

export interface WorkflowRunOptions {
  event: Event;
  /** workflow_dispatch inputs; declared defaults fill the rest, as on GitHub. */
  inputs?: Record<string, string | boolean | number>;
  /** The cron of the schedule that fired (`github.event.schedule`); default: the workflow's first. */
  schedule?: string;
  secrets?: Record<string, string>;
  vars?: Record<string, string>;
  /** The runner machine's own environment beyond PATH/HOME/locale (e.g. WORKBENCH_DATA_MIRROR). */
  machineEnv?: Record<string, string>;
  github?: { repository?: string; sha?: string; ref?: string; actor?: string };
  /** Streams step output to stderr (or set WORKFLOW_RUNNER_ECHO=1). */
  echo?: boolean;
}

/** What a runner machine inherits from this one: nothing of the developer's MLflow or npm settings. */
const MACHINE_ENV = [
  "PATH",
  "HOME",
  "USER",
  "LANG",
  "LC_ALL",
  "TZ",
  "TMPDIR",
  "WORKBENCH_PYTHON",
  "WORKBENCH_VENV",
];
const TOKEN = "ghs_local-runner-token";

/** A temp folder standing for the runner machine: the repository's Actions cache, run artifacts, logs. */
export async function createRunnerHost(): Promise<RunnerHost & { dispose(): Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), "wf-host-"));
  let seq = 0;
  const host = {
    root,
    cacheDir: path.join(root, "cache"),
    artifactsDir: path.join(root, "artifacts"),
    logsDir: path.join(root, "logs"),
    nextSeq: () => ++seq,
    dispose: () => rm(root, { recursive: true, force: true }),
  };
  for (const dir of [host.cacheDir, host.artifactsDir, host.logsDir]) await mkdir(dir, { recursive: true });
  return host;
}

function gitHead(): string {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { cwd: projectRoot(), encoding: "utf8" }).trim();
  } catch {
    return "0".repeat(40);
  }
}

function evaluateEnv(env: Record<string, unknown> | undefined, ctx: ExprContext): Record<string, string> {
  return Object.fromEntries(Object.entries(env ?? {}).map(([k, v]) => [k, interpolateText(v, ctx)]));
}

/**
 * One workflow run (one run id): its jobs share artifacts and see each other's results through `needs`.
 * @example
 *   const run = startWorkflowRun(host, ".github/workflows/ct.yml", { event: "schedule" });
 *   const ct = await run.runJob("ct", await prepareWorkspace());
 */
export class WorkflowRun {
  readonly runId: string;
  readonly results: Record<string, JobResult> = {};
  private readonly doc: WorkflowDoc;
  private readonly inputs: Record<string, ExprValue>;

  constructor(
    private readonly host: RunnerHost,
    private readonly file: string,
    private readonly options: WorkflowRunOptions,
  ) {
    this.doc = loadWorkflow(file);
    this.inputs = resolveInputs(this.doc, options.event, options.inputs);
    this.runId = String(1000 + host.nextSeq());
  }

  private github(job: string, workspace: string): Record<string, string> {
    const repository = this.options.github?.repository ?? "acme/tfjs-mlops-workbench";
    const ref = this.options.github?.ref ?? "refs/heads/main";
    return {
      event_name: this.options.event,
      repository,
      repository_owner: repository.split("/")[0]!,
      sha: this.options.github?.sha ?? gitHead(),
      ref,
      ref_name: ref.replace(/^refs\/(heads|tags)\//, ""),
      run_id: this.runId,
      run_number: this.runId,
      run_attempt: "1",
      actor: this.options.github?.actor ?? "octocat",
      workflow: path.basename(this.file),
      job,
      workspace,
      server_url: "https://github.com",
    };
  }

  /** The runner's own variables for a step (GITHUB_*, RUNNER_*, CI) over the machine's environment. */
  private processEnv(github: Record<string, string>, runnerTemp: string): Record<string, string> {
    const machine = MACHINE_ENV.flatMap((k) => (process.env[k] ? [[k, process.env[k]!]] : []));
    return {
      ...Object.fromEntries(machine),
      ...this.options.machineEnv,
      ...Object.fromEntries(Object.entries(github).map(([k, v]) => [`GITHUB_${k.toUpperCase()}`, v])),
      CI: "true",
      GITHUB_ACTIONS: "true",
      RUNNER_OS: "Linux",
      RUNNER_ARCH: "X64",
      RUNNER_TEMP: runnerTemp,
    };
  }

  /** Runs one job in `workspace` (a prepared checkout); jobs it `needs` must have run in this run first. */
  async runJob(job: string, workspace: string): Promise<JobResult> {
    const started = Date.now();
    const spec = this.doc.jobs[job];
    if (!spec) throw new UnsupportedError(`${this.file} has no job '${job}'`);
    checkJobShape(job, spec);
    const needs = [spec.needs ?? []].flat();
    const missing = needs.filter((n) => !this.results[n]);
    if (missing.length > 0)
      throw new UnsupportedError(`job '${job}' needs ${missing.join(", ")}: run it first`);

    const github = this.github(job, workspace);
    const event: Record<string, ExprValue> =
      this.options.event === "workflow_dispatch"
        ? { inputs: Object.fromEntries(Object.entries(this.inputs).map(([k, v]) => [k, toText(v)])) }
        : this.options.event === "schedule"
          ? { schedule: this.options.schedule ?? this.doc.on.schedule?.[0]?.cron ?? "" }
          : {};
    const status = { failed: needs.some((n) => this.results[n]!.result !== "success") };
    const contexts: Record<string, Scope> = {
      github: new Scope("github", { ...github, event, token: TOKEN }, "throw"),
      inputs: new Scope("inputs", this.inputs, "throw"),
      vars: new Scope("vars", { ...this.options.vars }, "empty"),
      secrets: new Scope("secrets", { GITHUB_TOKEN: TOKEN, ...this.options.secrets }, "empty"),
      needs: new Scope(
        "needs",
        Object.fromEntries(
          needs.map((n) => [n, { result: this.results[n]!.result, outputs: this.results[n]!.outputs }]),
        ),
        "throw",
      ),
    };
    const result: JobResult = { job, result: "skipped", outputs: {}, steps: [], summary: "", durationMs: 0 };
    this.results[job] = result;
    if (!evaluateCondition(spec.if, { contexts, status })) return result;

    const workflowEnv = evaluateEnv(this.doc.env, { contexts, status });
    contexts.env = new Scope("env", workflowEnv);
    const jobEnv = { ...workflowEnv, ...evaluateEnv(spec.env, { contexts, status }) };
    const runnerTemp = path.join(this.host.root, "runs", this.runId, job);
    contexts.runner = new Scope("runner", { os: "Linux", arch: "X64", temp: runnerTemp }, "throw");
    const stepsSeen: Record<string, ExprValue> = Object.fromEntries(
      spec.steps.flatMap((s) => (s.id ? [[s.id, null]] : [])),
    );
    contexts.steps = new Scope("steps", stepsSeen, "throw");
    const fileEnv: Record<string, string> = {};
    const extraPath: string[] = [];
    const summaries: string[] = [];

    for (const [index, step] of spec.steps.entries()) {
      contexts.env = new Scope("env", { ...jobEnv, ...fileEnv });
      contexts.job = new Scope("job", { status: status.failed ? "failure" : "success" }, "throw");
      const ctx: ExprContext = { contexts, status };
      const stepEnv = { ...jobEnv, ...fileEnv, ...evaluateEnv(step.env, ctx) };
      contexts.env = new Scope("env", stepEnv);
      const record: StepRecord = {
        index,
        name: interpolateText(step.name ?? (step.uses ? `Run ${step.uses}` : `Run ${step.run}`), ctx),
        ...(step.id ? { id: step.id } : {}),
        ...(step.uses ? { uses: step.uses } : {}),
        skipped: false,
        outcome: "success",
        exitCode: null,
        stdoutTail: "",
        stderrTail: "",
        durationMs: 0,
        outputs: {},
        with: {},
        warnings: [],
      };
      result.steps.push(record);
      if (!evaluateCondition(step.if, ctx)) {
        Object.assign(record, { skipped: true, outcome: "skipped" });
      } else {
        const env = { ...this.processEnv(github, runnerTemp), ...stepEnv };
        if (extraPath.length > 0) env.PATH = [...extraPath, env.PATH ?? ""].join(path.delimiter);
        const effects = await executeStep({
          step,
          record,
          ctx,
          env,
          host: this.host,
          runId: this.runId,
          job,
          workspace,
          dir: path.join(runnerTemp, `step-${index + 1}`),
          deadline: started + (spec["timeout-minutes"] ?? 360) * 60_000,
          echo: this.options.echo === true || process.env.WORKFLOW_RUNNER_ECHO === "1",
        });
        if (record.outcome === "failure") status.failed = true;
        Object.assign(fileEnv, effects.env);
        extraPath.unshift(...effects.path);
        if (effects.summary !== "") summaries.push(effects.summary);
      }
      if (step.id)
        stepsSeen[step.id] = { outputs: record.outputs, outcome: record.outcome, conclusion: record.outcome };
    }

    contexts.env = new Scope("env", { ...jobEnv, ...fileEnv });
    const ctx = { contexts, status };
    result.outputs = Object.fromEntries(
      Object.entries(spec.outputs ?? {}).map(([k, v]) => [k, toText(interpolate(v, ctx))]),
    );
    Object.assign(result, {
      result: status.failed ? "failure" : "success",
      summary: summaries.join("\n"),
      durationMs: Date.now() - started,
    });
    return result;
  }
}

/** Starts a run of `file` (relative to the project) for `options.event` on `host`. */
export function startWorkflowRun(host: RunnerHost, file: string, options: WorkflowRunOptions): WorkflowRun {
  if (!existsSync(path.resolve(projectRoot(), file))) throw new UnsupportedError(`No workflow file ${file}`);
  return new WorkflowRun(host, file, options);
}

/** The step with this id, or whose name contains `name` (throws if none: a renamed step fails loudly). */
export function findStep(job: JobResult, idOrName: string): StepRecord {
  const step = job.steps.find((s) => s.id === idOrName) ?? job.steps.find((s) => s.name.includes(idOrName));
  if (!step) {
    throw new Error(
      `job '${job.job}' has no step '${idOrName}' (${job.steps.map((s) => s.name).join(" | ")})`,
    );
  }
  return step;
}

/** Where an artifact uploaded in `run` lives on the host. */
export function artifactDir(host: RunnerHost, run: WorkflowRun, name: string): string {
  return path.join(host.artifactsDir, run.runId, name);
}

/** One line per step (and the failed step's stderr tail), for assertion messages. */
export function describeJob(job: JobResult): string {
  return job.steps
    .map((s) => {
      const line = `${s.outcome.padEnd(7)} ${s.name} (${s.durationMs} ms)${s.error ? `: ${s.error}` : ""}`;
      return s.outcome === "failure" ? `${line}\n--- stderr tail ---\n${s.stderrTail.slice(-3000)}` : line;
    })
    .join("\n");
}
