import os from "node:os";
import path from "node:path";
import { defineConfig } from "vitest/config";

// Served models are cached under a temp folder during tests, never in the project's .cache/.
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
        },
      },
      {
        test: {
          name: "integration",
          include: ["tests/integration/**/*.test.ts", "tests/notebooks/**/*.test.ts"],
          environment: "node",
          globalSetup: ["tests/helpers/global-mlflow.ts"],
          env: { WORKBENCH_MODEL_CACHE: modelCache },
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // One server, modest machine: run integration files one after another.
          fileParallelism: false,
        },
      },
    ],
  },
});
