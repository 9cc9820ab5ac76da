import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, inject, it } from "vitest";
import { projectRoot } from "../../../src/shared/project.js";
import { freePort } from "../../../src/tracking/local-server.js";
import { collect } from "../../../src/tracking/paginate.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";

const exec = promisify(execFile);
const client = testClient();
afterAll(() => client.close());

function main(args: string[], env: Record<string, string>) {
  const root = projectRoot();
  return exec(process.execPath, ["--import", "tsx", path.join(root, "scripts", "smoke.ts"), ...args], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: "warn", ...env },
  });
}

describe("the smoke job (npm run smoke)", () => {
  it("given MLFLOW_TRACKING_URI, then it logs a run with params, metrics and an artifact and prints its UI URL", async () => {
    const experiment = uniqueName("main-job");
    const { stdout } = await main(["--experiment", experiment], { MLFLOW_TRACKING_URI: inject("mlflowUri") });
    const url = /Open it in the MLflow UI: (\S+)/.exec(stdout)?.[1];
    expect(url, stdout).toMatch(new RegExp(`^${inject("mlflowUri")}/#/experiments/\\d+/runs/[0-9a-f]{32}$`));
    const runId = url!.split("/").at(-1)!;
    const run = await client.runs.get(runId);
    expect(run.info.status).toBe("FINISHED");
    expect(Object.keys(run.data.params).sort()).toEqual(["node", "platform", "purpose"]);
    expect((await collect(client.runs.metricHistory(runId, "loss"))).length).toBe(20);
    expect((await client.artifacts.listRecursive(run.info.artifactUri)).map((f) => f.path)).toEqual([
      "smoke/summary.json",
    ]);
  });

  it("given an unreachable MLFLOW_TRACKING_URI, then it exits 1 with one line naming the URI and the attempts", async () => {
    const uri = `http://127.0.0.1:${await freePort()}`;
    const failure = await main([], {
      MLFLOW_TRACKING_URI: uri,
      MLFLOW_HTTP_REQUEST_MAX_RETRIES: "1",
      MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: "0.01",
    }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain(
      `error [TRACKING_UNREACHABLE]: Could not reach the MLflow tracking server at ${uri} after 2 attempts`,
    );
  });

  it("given a malformed MLFLOW_TRACKING_URI, then it fails before any request with a clear message", async () => {
    const failure = await main([], { MLFLOW_TRACKING_URI: "localhost:5000" }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain("error [TRACKING_URI_INVALID]: MLFLOW_TRACKING_URI='localhost:5000'");
  });
});
