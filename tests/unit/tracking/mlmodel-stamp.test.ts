import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { stampMlmodel } from "../../../src/tracking/mlmodel-stamp.js";
import { thrownBy } from "../../helpers/expect-error.js";

const identity = {
  runId: "0123456789abcdef0123456789abcdef",
  modelId: "m-4b1d",
  artifactUri: "mlflow-artifacts:/1/models/m-4b1d/artifacts",
};

describe("stampMlmodel", () => {
  it("given an MLmodel, then run_id, model_id, model_uuid and artifact_path are set and the rest kept", () => {
    const text = "artifact_path: model\nflavors:\n  f: {a: 1}\nmodel_uuid: 00aa\nmlflow_version: 3.17.2\n";
    const stamped = parse(stampMlmodel(text, identity));
    expect(stamped).toEqual({
      artifact_path: identity.artifactUri,
      flavors: { f: { a: 1 } },
      model_uuid: "m-4b1d",
      mlflow_version: "3.17.2",
      run_id: identity.runId,
      model_id: "m-4b1d",
    });
  });

  it("given a timestamp-like string, then it is written quoted (PyYAML would read a bare one as a datetime)", () => {
    const text = "utc_time_created: '2026-01-02 03:04:05.678'\n";
    expect(stampMlmodel(text, identity)).toContain('utc_time_created: "2026-01-02 03:04:05.678"');
  });

  it("given text that is not YAML, then MODEL_PACKAGE_INVALID names the file", () => {
    const error = thrownBy(() => stampMlmodel("a: [1, 2\n", identity, "/pkg/MLmodel"));
    expect(error.code).toBe("MODEL_PACKAGE_INVALID");
    expect(error.message).toMatch(/^\/pkg\/MLmodel is not valid YAML/);
  });

  it("given YAML that is not a mapping, then MODEL_PACKAGE_INVALID says what MLmodel must be", () => {
    for (const text of ["- a\n- b\n", "just text\n"]) {
      const error = thrownBy(() => stampMlmodel(text, identity));
      expect(error.code, text).toBe("MODEL_PACKAGE_INVALID");
      expect(error.message, text).toMatch(
        /^MLmodel must be a YAML mapping \(MLflow's MLmodel format\), not /,
      );
    }
  });
});
