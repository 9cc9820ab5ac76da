import { describe, expect, it } from "vitest";
import { checkKindInputs } from "../../../src/config/kind-input-checks.js";
import { parseTrainConfig } from "../../../src/config/train-config.js";
import { loadManifest } from "../../../src/data/manifest.js";
import { KINDS } from "../../../src/models/kinds/index.js";
import { ConfigError } from "../../../src/shared/errors.js";
import { thrownBy } from "../../helpers/expect-error.js";

const sources = { config: "configs/x.yaml", manifest: "data/x.yaml" };
const textKind = Object.entries(KINDS).find(([, k]) => (k as { input?: string }).input === "text")?.[0];
const config = (dataset: string, kinds: string[], drop: string[] = []) =>
  parseTrainConfig({
    name: "t",
    dataset,
    experiment: "e",
    features: { drop },
    training: { candidates: kinds.map((kind) => ({ kind })) },
    registry: { modelName: "m" },
  });

describe("model kinds against the dataset's columns (at config load)", () => {
  it("given a text kind, then at least one is installed", () => {
    expect(textKind).toBeDefined();
  });

  it("given a text kind on a tabular dataset, then CONFIG_INVALID names the candidate and the tabular kinds", async () => {
    const manifest = await loadManifest("credit-default");
    const error = thrownBy(
      () => checkKindInputs(config("credit-default", ["logistic", textKind!]), manifest, sources),
      ConfigError,
    );
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toContain(
      `configs/x.yaml: training.candidates.1.kind: '${textKind}' reads text, and dataset 'credit-default' has no text column`,
    );
    expect(error.message).toContain("use a tabular kind (logistic, mlp, gbdt");
    expect(error.message).not.toContain("candidates.0");
  });

  it("given a tabular kind on a text dataset, then CONFIG_INVALID says the text would be ignored and what to do", async () => {
    const manifest = await loadManifest("complaints");
    const error = thrownBy(
      () => checkKindInputs(config("complaints", [textKind!, "gbdt"]), manifest, sources),
      ConfigError,
    );
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toContain(
      "training.candidates.1.kind: 'gbdt' reads numeric and categorical features only, and dataset 'complaints' has text column 'Consumer complaint narrative' it would ignore",
    );
    expect(error.message).toContain(`use a text kind (${textKind}`);
    expect(error.message).toContain("features.drop");
  });

  it("given matching kinds, or the text column dropped, then nothing is reported", async () => {
    const complaints = await loadManifest("complaints");
    expect(() => checkKindInputs(config("complaints", [textKind!]), complaints, sources)).not.toThrow();
    const credit = await loadManifest("credit-default");
    expect(() => checkKindInputs(config("credit-default", ["gbdt"]), credit, sources)).not.toThrow();
    // Dropping the only text column leaves a dataset with no features for a text kind.
    expect(() =>
      checkKindInputs(
        config("complaints", [textKind!], ["Consumer complaint narrative"]),
        complaints,
        sources,
      ),
    ).toThrow("has no text column");
  });
});
