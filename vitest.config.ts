import os from "node:os";
import path from "node:path";
import { defineConfig } from "vitest/config";

// Tests write only to temp folders: served models, fetched data snapshots and tracking journals are kept under
// folders of the test run, never in the project's .cache/ or mlruns/ (tests/helpers/global-mlflow.ts removes them).
const modelCache = path.join(os.tmpdir(), `workbench-test-models-${process.pid}`);

// Unit tests run without any server; integration tests share one throwaway MLflow server started by
// tests/helpers/global-mlflow.ts (free port, temp SQLite store and artifact folder; with
// WORKBENCH_TEST_BACKEND=postgres, as `npm run test:postgres` sets it, a throwaway PostgreSQL cluster instead).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["tests/unit/**/*.test.ts"],
          environment: "node",
          // Seeded training twice takes ~3 s alone and more on a busy 2-core machine: not a timing test.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["tests/integration/**/*.test.ts", "tests/notebooks/**/*.test.ts"],
          environment: "node",
          globalSetup: ["tests/helpers/global-mlflow.ts"],
          env: {
            WORKBENCH_MODEL_CACHE: modelCache,
            WORKBENCH_DATA_SNAPSHOTS: path.join(os.tmpdir(), `workbench-test-snapshots-${process.pid}`),
            WORKBENCH_SPOOL_DIR: path.join(os.tmpdir(), `workbench-test-spool-${process.pid}`),
          },
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // One server, modest machine: run integration files one after another.
          fileParallelism: false,
        },
      },
    ],
  },
});
