import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MlflowClient } from "../../../src/tracking/client.js";
import { freePort } from "../../../src/tracking/local-server.js";
import { TrackingSession } from "../../../src/tracking/session.js";
import { cli } from "../../helpers/cli.js";

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function temp(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "sync-cli-"));
  dirs.push(dir);
  return dir;
}

describe("npm run sync and npm run train --offline: bad input", () => {
  it("given --stale-after that is not a positive number, then exit 2 with the problem and the usage", async () => {
    const { code, stderr } = await cli("sync.ts", ["--stale-after", "soon"]);
    expect(code).toBe(2);
    expect(stderr).toContain("error [CLI_USAGE]: --stale-after must be a number of minutes > 0, not 'soon'.");
    expect(stderr).toContain("usage: npm run sync");
  });

  it("given MLFLOW_OFFLINE that is not a boolean, then training refuses before anything runs (exit 1)", async () => {
    const { code, stderr } = await cli("train.ts", ["--config", "configs/credit-default.yaml"], {
      MLFLOW_OFFLINE: "maybe",
    });
    expect(code).toBe(1);
    expect(stderr).toContain("error [CONFIG_ENV_INVALID]: MLFLOW_OFFLINE='maybe' must be true or false.");
  });

  it("given an unreachable server, then sync exits 9, says so and keeps the journal", async () => {
    const spool = path.join(await temp(), "spool");
    const uri = `http://127.0.0.1:${await freePort()}`;
    const client = new MlflowClient({ trackingUri: uri, env: {} });
    await new TrackingSession({ client, spoolDir: spool, offline: true }).withRun(
      { experimentName: "e", runName: "kept" },
      (run) => run.logParam("p", 1),
    );
    client.close();
    const { code, stdout } = await cli("sync.ts", [], {
      MLFLOW_TRACKING_URI: uri,
      WORKBENCH_SPOOL_DIR: spool,
      MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0",
    });
    expect(code).toBe(9);
    expect(stdout).toMatch(
      /^ {2}failed +[0-9a-f]{32} +kept; .*Could not reach the MLflow tracking server at/m,
    );
    expect(stdout).toContain(
      "the tracking server could not be reached: the journals left are kept for the next sync",
    );
    expect((await readdir(spool)).filter((f) => f.endsWith(".jsonl")).length).toBe(1);
  });
});
