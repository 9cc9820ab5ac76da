import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, inject, it } from "vitest";
import { projectRoot, venvExecutable } from "../../../src/shared/project.js";
import { withRun } from "../../../src/tracking/with-run.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";

const run = promisify(execFile);
const client = testClient();
afterAll(() => client.close());

describe("interoperability: MLflow's Python client reads what this client wrote", () => {
  it("reads back a run, a metric history, an artifact and a model version by alias", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "interop-"));
    const modelName = uniqueName("interop-model");
    const points = Array.from({ length: 1_500 }, (_, step) => ({
      key: "loss",
      value: 1 / (step + 1),
      step,
      timestamp: 1_000 + step,
    }));
    try {
      const runId = await withRun(
        client,
        { experimentName: uniqueName("interop"), runName: "ts-writer" },
        async (active) => {
          await active.logBatch({ params: { lr: 0.05, layers: 2 }, tags: { team: "risk" }, metrics: points });
          await active.logInputs([
            {
              dataset: { name: "credit", digest: "d1g3st", sourceType: "local", source: "{}" },
              tags: { "mlflow.data.context": "train" },
            },
          ]);
          const file = path.join(dir, "notes.txt");
          await writeFile(file, "written by TypeScript ✓\n");
          await active.logArtifact(file, "docs");
          const logged = await client.loggedModels.create({
            experimentId: active.experimentId,
            name: "model",
            sourceRunId: active.runId,
          });
          await client.artifacts.uploadFile(logged.artifactUri, file);
          await client.loggedModels.finalize(logged.modelId);
          await client.registry.createModel(modelName);
          const version = await client.registry.createVersion({
            name: modelName,
            source: `models:/${logged.modelId}`,
            runId: active.runId,
            modelId: logged.modelId,
          });
          await client.registry.setAlias(modelName, "champion", version.version);
          return active.runId;
        },
      );

      const script = path.join(projectRoot(), "tests", "fixtures", "python", "read_back.py");
      const { stdout } = await run(
        venvExecutable("python"),
        [script, runId, "loss", "docs/notes.txt", modelName, "champion"],
        {
          env: { ...process.env, MLFLOW_TRACKING_URI: inject("mlflowUri") },
          maxBuffer: 64 * 1024 * 1024,
        },
      );
      const seen = JSON.parse(stdout);
      expect(seen.status).toBe("FINISHED");
      expect(seen.run_name).toBe("ts-writer");
      expect(seen.params).toEqual({ lr: "0.05", layers: "2" });
      expect(seen.tags).toEqual({ team: "risk" });
      expect(seen.metrics).toEqual({ loss: 1 / 1500 });
      expect(seen.datasets).toEqual([
        { name: "credit", digest: "d1g3st", context: { "mlflow.data.context": "train" } },
      ]);
      expect(seen.history.length).toBe(1_500);
      expect(seen.history.sort((a: { step: number }, b: { step: number }) => a.step - b.step)).toEqual(
        points.map((p) => ({ step: p.step, value: p.value, timestamp: p.timestamp })),
      );
      expect(seen.artifact).toBe("written by TypeScript ✓\n");
      expect(seen.model_version).toMatchObject({ version: "1", run_id: runId, aliases: ["champion"] });
      expect(seen.model_version.source).toMatch(/^models:\/m-/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
