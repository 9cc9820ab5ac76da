import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import type { DatasetFile } from "../data/acquire.js";
import { WorkbenchError } from "../shared/errors.js";
import { projectRoot, venvExecutable } from "../shared/project.js";
import type { TrainOptions } from "./train.js";

const exec = promisify(execFile);

/** Environment a replay hands to a re-executed notebook (read by notebookRun inside the kernel). */
export const REPLAY_ENV = {
  of: "WORKBENCH_REPLAY_OF",
  data: "WORKBENCH_REPLAY_DATA",
  dataFile: "WORKBENCH_REPLAY_DATA_FILE",
  dataSha256: "WORKBENCH_REPLAY_DATA_SHA256",
  token: "WORKBENCH_REPLAY_TOKEN",
} as const;

/**
 * Training options for a run started from a notebook: records the notebook and its parameter values so
 * that the run can be replayed (re-executed headless) later. Inside a replay it also carries the replay's
 * data file and tags, which the replay passes through the kernel's environment.
 * @example await trainPipeline(ctx, config, notebookRun("notebooks/02-credit-default-training.ipynb", { epochs: epochs }))
 */
export function notebookRun(
  notebookPath: string,
  parameters: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): TrainOptions {
  const options: TrainOptions = {
    entryPoint: notebookPath,
    notebook: { path: notebookPath, parameters },
  };
  const of = env[REPLAY_ENV.of];
  if (of === undefined || of === "") return options;
  const data = env[REPLAY_ENV.data] === "logged" ? "logged" : "current";
  options.replayOf = { runId: of, data };
  const token = env[REPLAY_ENV.token];
  if (token !== undefined && token !== "") options.tags = { "workbench.replay.token": token };
  const file = env[REPLAY_ENV.dataFile];
  const sha256 = env[REPLAY_ENV.dataSha256];
  if (data === "logged") {
    // A replay on logged data must never quietly train on today's data.
    if (!file || !sha256 || !/^[0-9a-f]{64}$/.test(sha256)) {
      throw new WorkbenchError(
        "REPLAY_DATA_UNAVAILABLE",
        `This notebook is being replayed on logged data but ${REPLAY_ENV.dataFile} / ${REPLAY_ENV.dataSha256} are not set (or invalid). Replay it with \`npm run replay\`, which sets them.`,
      );
    }
    const dataFile: DatasetFile = { path: file, sha256, origin: "cache", source: file };
    options.dataFile = dataFile;
  }
  return options;
}

export interface NotebookReport {
  notebook: string;
  executed: string;
  ok: boolean;
  cells: number;
  displays: number;
  failures: { cell: number | null; kind: string; text: string }[];
  seconds?: number;
}

/**
 * Executes a notebook headless with the project's tslab kernel (scripts/execute-notebook.py), injecting
 * `parameters` after its parameters cell; fails with the first failing cell's error.
 */
export async function executeNotebook(input: {
  notebook: string;
  out: string;
  parameters: Record<string, unknown>;
  env?: Readonly<Record<string, string | undefined>>;
  timeoutSeconds?: number;
}): Promise<NotebookReport> {
  const root = projectRoot();
  const args = [
    path.join(root, "scripts", "execute-notebook.py"),
    root,
    input.notebook,
    input.out,
    ...Object.entries(input.parameters).flatMap(([k, v]) => ["--param", `${k}=${JSON.stringify(v)}`]),
    "--timeout",
    String(input.timeoutSeconds ?? 1800),
  ];
  const stdout = await exec(venvExecutable("python"), args, {
    cwd: root,
    env: { ...process.env, ...input.env },
    maxBuffer: 1 << 26,
  }).then(
    (r) => r.stdout,
    (e: { stdout?: string; stderr?: string; message: string }) => e.stdout || e.stderr || e.message,
  );
  let report: NotebookReport;
  try {
    report = JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as NotebookReport;
  } catch {
    throw new WorkbenchError(
      "NOTEBOOK_FAILED",
      `${input.notebook}: the notebook runner printed no report:\n${stdout}`,
    );
  }
  if (!report.ok) {
    const first = report.failures[0];
    throw new WorkbenchError(
      "NOTEBOOK_FAILED",
      `${input.notebook} failed at cell ${first?.cell ?? "?"}: [${first?.kind ?? "?"}] ${first?.text ?? ""} (executed copy: ${report.executed})`,
      { details: { failures: report.failures } },
    );
  }
  return report;
}
