import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { MLFLOW_VERSION } from "../../../src/registry/mlflow-version.js";
import { projectRoot } from "../../../src/shared/project.js";

describe("MLFLOW_VERSION (the mlflow_version of every MLmodel written)", () => {
  it("equals the MLflow pinned in requirements.txt and constraints.txt", async () => {
    for (const file of ["requirements.txt", "constraints.txt"]) {
      const text = await readFile(path.join(projectRoot(), file), "utf8");
      expect(/^mlflow==(\S+)$/m.exec(text)?.[1], file).toBe(MLFLOW_VERSION);
    }
  });
});
