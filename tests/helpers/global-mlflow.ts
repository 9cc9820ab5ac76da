import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { startLocalServer } from "../../src/tracking/local-server.js";

declare module "vitest" {
  export interface ProvidedContext {
    mlflowUri: string;
    mlflowStoreDir: string;
  }
}

/** Starts one throwaway MLflow server for the integration tests and removes it afterwards. */
export default async function setup(project: TestProject) {
  const storeDir = await mkdtemp(path.join(os.tmpdir(), "workbench-mlflow-"));
  const server = await startLocalServer({ storeDir, port: 0, workers: 1, readyTimeoutMs: 180_000 });
  project.provide("mlflowUri", server.uri);
  project.provide("mlflowStoreDir", storeDir);
  return async () => {
    await server.stop();
    await rm(storeDir, { recursive: true, force: true });
    // The served-model cache that vitest.config.ts points the test workers at.
    await rm(path.join(os.tmpdir(), `workbench-test-models-${process.pid}`), {
      recursive: true,
      force: true,
    });
  };
}
