import { describe, expect, it } from "vitest";
import { standardRunTags } from "../../../src/tracking/source-tags.js";
import { expectGitCommit } from "../../helpers/git.js";

describe("MLflow's standard run tags", () => {
  it("marks runs as JOB under CI and LOCAL otherwise, with user, source name and git commit", () => {
    const local = standardRunTags({ env: { USER: "ann" }, runName: "r", sourceName: "scripts/train.ts" });
    expect(local).toMatchObject({
      "mlflow.source.type": "LOCAL",
      "mlflow.user": "ann",
      "mlflow.runName": "r",
      "mlflow.source.name": "scripts/train.ts",
    });
    expectGitCommit(local["mlflow.source.git.commit"], "mlflow.source.git.commit");
    expect(standardRunTags({ env: { CI: "true", USER: "ci" } })["mlflow.source.type"]).toBe("JOB");
    expect(standardRunTags({ env: { GITHUB_ACTIONS: "true" } })["mlflow.source.type"]).toBe("JOB");
    expect(standardRunTags({ env: {}, parentRunId: "abc" })["mlflow.parentRunId"]).toBe("abc");
    expect(standardRunTags({ env: { MLFLOW_TRACKING_USERNAME: "svc" } })["mlflow.user"]).toBe("svc");
  });
});
