import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { startLocalServer } from "../../src/tracking/local-server.js";
import { startTestPostgres, type TestPostgres } from "./postgres.js";

export type TestBackend = "sqlite" | "postgres";

declare module "vitest" {
  export interface ProvidedContext {
    mlflowUri: string;
    mlflowStoreDir: string;
    /** The store behind the test server: WORKBENCH_TEST_BACKEND, sqlite unless set. */
    mlflowBackend: TestBackend;
    /** The PostgreSQL database's URI (no password in it) when mlflowBackend is postgres, else "". */
    mlflowBackendUri: string;
    /** Its password, which the server gets as PGPASSWORD (as in deploy/compose.yaml), else "". */
    mlflowBackendPassword: string;
  }
}

/** WORKBENCH_TEST_BACKEND: sqlite (default) or postgres (`npm run test:postgres`). */
export function testBackend(env: NodeJS.ProcessEnv = process.env): TestBackend {
  const value = env.WORKBENCH_TEST_BACKEND ?? "";
  if (value === "" || value === "sqlite") return "sqlite";
  if (value === "postgres") return "postgres";
  throw new Error(`WORKBENCH_TEST_BACKEND=${value}: use sqlite (the default) or postgres.`);
}

/**
 * Starts one throwaway MLflow server for the integration tests and removes it afterwards. Its store is SQLite
 * in the temp folder, or with WORKBENCH_TEST_BACKEND=postgres a throwaway PostgreSQL cluster; artifacts go
 * through the mlflow-artifacts proxy into the temp folder either way.
 */
export default async function setup(project: TestProject) {
  const backend = testBackend();
  const storeDir = await mkdtemp(path.join(os.tmpdir(), "workbench-mlflow-"));
  let postgres: TestPostgres | undefined;
  try {
    if (backend === "postgres") postgres = await startTestPostgres();
    const server = await startLocalServer({
      storeDir,
      port: 0,
      workers: 1,
      readyTimeoutMs: 180_000,
      // The URI carries no secret; libpq reads the password from PGPASSWORD, as deploy/compose.yaml wires it.
      ...(postgres ? { backendStoreUri: postgres.uri, env: { PGPASSWORD: postgres.password } } : {}),
    });
    project.provide("mlflowUri", server.uri);
    project.provide("mlflowStoreDir", storeDir);
    project.provide("mlflowBackend", backend);
    project.provide("mlflowBackendUri", postgres?.uri ?? "");
    project.provide("mlflowBackendPassword", postgres?.password ?? "");
    return async () => {
      await server.stop();
      await postgres?.stop();
      await rm(storeDir, { recursive: true, force: true });
      // The served-model cache that vitest.config.ts points the test workers at.
      for (const name of ["models", "snapshots", "spool"])
        await rm(path.join(os.tmpdir(), `workbench-test-${name}-${process.pid}`), {
          recursive: true,
          force: true,
        });
    };
  } catch (error) {
    await postgres?.stop();
    await rm(storeDir, { recursive: true, force: true });
    throw error;
  }
}
