import { defineConfig } from "vitest/config";

// Unit tests run without any server; integration tests share one throwaway MLflow server started by
// tests/helpers/global-mlflow.ts (free port, temp SQLite store and artifact folder).
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
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // One server, modest machine: run integration files one after another.
          fileParallelism: false,
        },
      },
    ],
  },
});
