import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { projectRoot } from "../../../src/shared/project.js";
import { collect } from "../../../src/tracking/paginate.js";
import { withRun } from "../../../src/tracking/with-run.js";
import { expectGitCommit } from "../../helpers/git.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";

const client = testClient();
afterAll(() => client.close());

describe("withRun", () => {
  it("given a body that resolves, then the run is FINISHED with MLflow's standard tags", async () => {
    const experimentName = uniqueName("with-run");
    let runId = "";
    const result = await withRun(
      client,
      { experimentName, runName: "ok", tags: { team: "risk" }, description: "hello" },
      async (run) => {
        runId = run.runId;
        await run.logParams({ lr: 0.1 });
        await run.logMetric("auc", 0.8, 1);
        expect(run.url).toContain(`/#/experiments/${run.experimentId}/runs/${run.runId}`);
        return 42;
      },
    );
    expect(result).toBe(42);
    const run = await client.runs.get(runId);
    expect(run.info.status).toBe("FINISHED");
    expect(run.info.endTime).toBeTypeOf("number");
    expect(run.data.tags).toMatchObject({
      "mlflow.runName": "ok",
      // Under CI (CI=true or GitHub Actions) runs are jobs, as MLflow's own client marks them.
      "mlflow.source.type":
        process.env.CI === "true" || process.env.GITHUB_ACTIONS === "true" ? "JOB" : "LOCAL",
      "mlflow.note.content": "hello",
      team: "risk",
    });
    expect(run.data.tags["mlflow.source.name"]).toBeTruthy();
    expect(run.data.tags["mlflow.user"]).toBeTruthy();
    expectGitCommit(run.data.tags["mlflow.source.git.commit"], "mlflow.source.git.commit");
  });

  it("given a body that throws, then the run is FAILED, the error recorded, and the error re-thrown", async () => {
    let runId = "";
    await expect(
      withRun(client, { experimentName: uniqueName("with-run") }, async (run) => {
        runId = run.runId;
        throw new Error("boom: bad data");
      }),
    ).rejects.toThrow("boom: bad data");
    const run = await client.runs.get(runId);
    expect(run.info.status).toBe("FAILED");
    expect(run.data.tags["workbench.error"]).toBe("boom: bad data");
  });

  it("given child runs, then they carry mlflow.parentRunId and end on their own", async () => {
    let parentId = "";
    await withRun(client, { experimentName: uniqueName("nested"), runName: "parent" }, async (parent) => {
      parentId = parent.runId;
      for (const name of ["logreg", "mlp"])
        await parent.child({ runName: name }, (child) => child.logMetric("auc", 0.7));
    });
    const parent = await client.runs.get(parentId);
    const children = await collect(
      client.runs.search({
        experimentIds: [parent.info.experimentId],
        filter: `tags.mlflow.parentRunId = '${parentId}'`,
        orderBy: ["attributes.run_name ASC"],
      }),
    );
    expect(children.map((r) => [r.info.runName, r.info.status])).toEqual([
      ["logreg", "FINISHED"],
      ["mlp", "FINISHED"],
    ]);
  });

  it.each(["SIGTERM", "SIGINT"] as const)(
    "given %s to the process, then the run is KILLED before it exits",
    async (signal) => {
      const experimentName = uniqueName("signals");
      const root = projectRoot();
      // `node --import tsx` runs the script in this very process (the tsx CLI would wrap it in another).
      const child = spawn(
        process.execPath,
        ["--import", "tsx", path.join(root, "tests/fixtures/scripts/long-run.ts"), experimentName],
        {
          cwd: root,
          env: { ...process.env, MLFLOW_TRACKING_URI: inject("mlflowUri") },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let stderr = "";
      child.stderr.on("data", (chunk) => {
        stderr += chunk;
      });
      const runId = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (chunk) => {
          out += chunk;
          const match = /RUN ([0-9a-f]{32})/.exec(out);
          if (match) resolve(match[1]!);
        });
        child.once("exit", (code) => reject(new Error(`child exited early (${code}): ${stderr}`)));
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.once("exit", (_code, sig) => resolve(sig)),
      );
      child.kill(signal);
      const exitSignal = await exited;
      expect(exitSignal, "the process still dies by the signal").toBe(signal);
      const run = await client.runs.get(runId);
      expect(run.info.status).toBe("KILLED");
      expect(run.info.endTime).toBeTypeOf("number");
    },
  );
});
