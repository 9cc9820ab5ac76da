import path from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../../src/shared/project.js";
import { freePort } from "../../../src/tracking/local-server.js";
import { cli } from "../../helpers/cli.js";

// Defect 8 (config part) of issue 9: `npm run train` with a model name MLflow refuses trained every
// candidate and failed only when registering. The name is now checked with the config, before anything runs.

describe("npm run train with an invalid registry model name", () => {
  it("given registry.modelName=credit.default, then it exits 1 with CONFIG_INVALID naming the field, before contacting MLflow", async () => {
    // Nothing listens here: reaching for the tracking server would fail with a tracking error instead.
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const result = await cli(
      "train.ts",
      [
        "--config",
        path.join(projectRoot(), "configs", "credit-default.yaml"),
        "--set",
        "registry.modelName=credit.default",
      ],
      { MLFLOW_TRACKING_URI: nowhere, MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0" },
    );
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain("error [CONFIG_INVALID]");
    expect(result.stderr).toContain("registry.modelName: 'credit.default' contains '.'");
    expect(result.stderr, "no training, no tracking call").not.toMatch(/TRACKING|trial|epoch/);
    expect(result.stdout, "nothing trained").toBe("");
    expect(Date.now() - started, "fails at config load, in seconds").toBeLessThan(30_000);
  });
});
