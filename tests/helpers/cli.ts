import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { projectRoot } from "../../src/shared/project.js";
import { datasetMirror } from "./datasets.js";

const exec = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `scripts/<script>` the way its npm task does (tsx), with the dataset mirror and quiet logs. */
export function cli(script: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const root = projectRoot();
  const mirror = datasetMirror();
  return exec(process.execPath, ["--import", "tsx", path.join(root, "scripts", script), ...args], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: "warn", ...(mirror ? { WORKBENCH_DATA_MIRROR: mirror } : {}), ...env },
    maxBuffer: 1 << 26,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      stdout: error.stdout,
      stderr: error.stderr,
    }),
  );
}
