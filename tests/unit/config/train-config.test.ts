import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { applyOverrides } from "../../../src/config/overrides.js";
import {
  loadTrainConfig,
  parseTrainConfig,
  trainConfigJsonSchema,
} from "../../../src/config/train-config.js";
import { expandCandidates } from "../../../src/models/candidates.js";
import { ConfigError } from "../../../src/shared/errors.js";
import { projectRoot } from "../../../src/shared/project.js";
import { rejectionOf, thrownBy } from "../../helpers/expect-error.js";
import { tempDir } from "../../helpers/temp.js";

const tmp = tempDir("config-");
const minimal = {
  name: "t",
  dataset: "credit-default",
  experiment: "e",
  training: { candidates: [{ kind: "logistic" }] },
  registry: { modelName: "m" },
};

const configError = (fn: () => unknown) => thrownBy(fn, ConfigError);

describe("training config", () => {
  it("the committed configs load and expand", async () => {
    for (const name of ["credit-default", "hpc"]) {
      const config = await loadTrainConfig(path.join(projectRoot(), "configs", `${name}.yaml`));
      expect(config.name).toBe(name);
      expect(expandCandidates(config.training.candidates, config.seed).length).toBeGreaterThan(1);
    }
  });

  it("given a minimal config, then defaults fill the rest", () => {
    const config = parseTrainConfig(minimal);
    expect(config).toMatchObject({
      seed: 42,
      split: { holdout: 0.1, test: 0.15, validation: 0.15 },
      registry: { alias: "challenger" },
    });
    expect(config.training.threshold).toEqual({ strategy: "max_f1" });
  });

  it("given an unknown key, then CONFIG_INVALID names its path", () => {
    const error = configError(() =>
      parseTrainConfig({ ...minimal, split: { holdout: 0.1, tset: 0.2 } }, "c.yaml"),
    );
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toContain("Invalid training config c.yaml");
    expect(error.message).toContain("split: Unrecognized key(s) in object: 'tset'");
  });

  it("given a wrong type, then the field path and the expected type are reported", () => {
    const error = configError(() => parseTrainConfig({ ...minimal, seed: "seven", split: { test: 2 } }));
    expect(error.message).toContain("seed: Expected number, received string");
    expect(error.message).toContain("split.test: Number must be less than 1");
  });

  it("given an unknown hyperparameter or an unknown model kind, then it is reported under the candidate", () => {
    const unknownParam = configError(() =>
      parseTrainConfig({ ...minimal, training: { candidates: [{ kind: "mlp", grid: { hiden: [[8]] } }] } }),
    );
    expect(unknownParam.message).toContain(
      "training.candidates.0.grid.hiden: unknown hyperparameter 'hiden' for mlp",
    );
    const unknownKind = configError(() =>
      parseTrainConfig({ ...minimal, training: { candidates: [{ kind: "xgboost" }] } }),
    );
    expect(unknownKind.message).toContain(
      "training.candidates.0.kind: Invalid discriminator value. Expected 'logistic' | 'mlp' | 'gbdt' | 'random-forest' | 'decision-tree' | 'knn' | 'linear-svm'",
    );
  });

  it("given a hyperparameter of another kind, then the error names the kinds it belongs to and the known ones", () => {
    const error = configError(() =>
      parseTrainConfig({
        ...minimal,
        training: { candidates: [{ kind: "logistic", params: { hiddenUnits: [8] } }] },
      }),
    );
    expect(error.message).toContain(
      "training.candidates.0.params.hiddenUnits: unknown hyperparameter 'hiddenUnits' for logistic (it belongs to mlp, text-embedding-bag, text-cnn, text-gru); known: learningRate, l2, epochs, batchSize",
    );
  });

  it("given gbdt's categorical param on tfidf-gbdt or a value it does not know, then the field is named", () => {
    const onText = configError(() =>
      parseTrainConfig({
        ...minimal,
        training: { candidates: [{ kind: "tfidf-gbdt", params: { categorical: "native" } }] },
      }),
    );
    expect(onText.message).toContain(
      "training.candidates.0.params.categorical: unknown hyperparameter 'categorical' for tfidf-gbdt (it belongs to gbdt)",
    );
    const value = configError(() =>
      parseTrainConfig({
        ...minimal,
        training: { candidates: [{ kind: "gbdt", params: { categorical: "ordinal" } }] },
      }),
    );
    expect(value.code).toBe("CONFIG_INVALID");
    expect(value.message).toContain(
      "training.candidates.0.params.categorical: Invalid enum value. Expected 'native' | 'onehot', received 'ordinal'",
    );
  });

  it("given an invalid value anywhere in params, grid or a search space, then the config names the exact field", () => {
    const grid = configError(() =>
      parseTrainConfig({
        ...minimal,
        training: { candidates: [{ kind: "mlp", grid: { dropout: [0.1, 1.5] } }] },
      }),
    );
    expect(grid.message).toContain("training.candidates.0.grid.dropout.1: Number must be less than 1");
    const fixed = configError(() =>
      parseTrainConfig({ ...minimal, training: { candidates: [{ kind: "mlp", params: { epochs: 0 } }] } }),
    );
    expect(fixed.message).toContain("training.candidates.0.params.epochs: Number must be greater than 0");
    const range = configError(() =>
      parseTrainConfig({
        ...minimal,
        training: {
          candidates: [
            {
              kind: "mlp",
              tpe: {
                trials: 4,
                space: { activation: { min: 0, max: 1 }, l2: { min: 0, max: 1, log: true } },
              },
            },
          ],
        },
      }),
    );
    expect(range.message).toContain(
      "training.candidates.0.tpe.space.activation: 'activation' is not numeric: search it with a list of values",
    );
    expect(range.message).toContain("training.candidates.0.tpe.space.l2.min: a log range needs min > 0");
    const two = configError(() =>
      parseTrainConfig({
        ...minimal,
        training: {
          candidates: [
            { kind: "mlp", grid: { dropout: [0.1] }, random: { samples: 2, space: { dropout: [0.2] } } },
          ],
        },
      }),
    );
    expect(two.message).toContain(
      "training.candidates.0: use one of grid, random or tpe (got grid and random)",
    );
  });

  it("--set overrides nested values, array items and nulls, parsed as YAML", async () => {
    const file = await tmp.file(
      "c.yaml",
      "name: t\ndataset: credit-default\nexperiment: e\ntraining:\n  candidates:\n    - kind: mlp\n      params: { epochs: 50 }\nregistry: { modelName: m }\n",
    );
    const config = await loadTrainConfig(file, [
      "seed=7",
      "training.candidates.0.params.epochs=3",
      "data.limit=500",
      "training.candidates.0.grid.hiddenUnits=[[8]]",
    ]);
    expect(config.seed).toBe(7);
    expect(config.data.limit).toBe(500);
    expect(expandCandidates(config.training.candidates, 7)[0]!.params).toMatchObject({
      epochs: 3,
      hiddenUnits: [8],
    });
  });

  it("given a malformed --set, then CONFIG_OVERRIDE_INVALID", () => {
    expect(configError(() => applyOverrides({}, ["seed"])).code).toBe("CONFIG_OVERRIDE_INVALID");
    expect(configError(() => applyOverrides({ seed: 1 }, ["seed.x=2"])).message).toContain(
      "'seed' is a value, not a section",
    );
  });

  it("given a missing file or invalid YAML, then the error says which", async () => {
    await expect(loadTrainConfig("/no/such.yaml")).rejects.toMatchObject({ code: "CONFIG_NOT_FOUND" });
    await expect(loadTrainConfig(await tmp.file("bad.yaml", "name: [unclosed\n"))).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringContaining("not valid YAML"),
    });
  });

  it("grid expands to the product; random search is seeded", () => {
    const grid = expandCandidates(
      [{ kind: "mlp", params: {}, grid: { dropout: [0.1, 0.2], hiddenUnits: [[8], [16], [32]] } }],
      1,
    );
    expect(grid.map((t) => t.id)).toEqual(["mlp-1", "mlp-2", "mlp-3", "mlp-4", "mlp-5", "mlp-6"]);
    const space = {
      samples: 3,
      space: {
        dropout: { min: 0, max: 0.5, log: false, integer: false },
        learningRate: { min: 1e-4, max: 1e-2, log: true, integer: false },
      },
    };
    const a = expandCandidates([{ kind: "mlp", params: {}, random: space }], 5);
    const b = expandCandidates([{ kind: "mlp", params: {}, random: space }], 5);
    const c = expandCandidates([{ kind: "mlp", params: {}, random: space }], 6);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    for (const t of a)
      expect(
        t.kind === "mlp" &&
          (t.params.learningRate as number) >= 1e-4 &&
          (t.params.learningRate as number) <= 1e-2,
      ).toBe(true);
  });

  it("--schema: the JSON Schema describes the config", () => {
    const schema = trainConfigJsonSchema() as {
      definitions: { TrainConfig: { properties: Record<string, unknown>; required: string[] } };
    };
    expect(Object.keys(schema.definitions.TrainConfig.properties)).toEqual(
      expect.arrayContaining(["dataset", "training", "registry", "features", "split"]),
    );
    expect(schema.definitions.TrainConfig.required).toEqual(
      expect.arrayContaining(["name", "dataset", "training", "registry"]),
    );
  });

  it("keeps the written order of grid and search-space keys (random draws and grid trials follow it)", () => {
    const config = parseTrainConfig({
      ...minimal,
      training: {
        candidates: [
          {
            kind: "logistic",
            random: { samples: 2, space: { l2: [0, 0.1], learningRate: { min: 0.001, max: 0.1 } } },
          },
          { kind: "mlp", params: { epochs: 3, dropout: 0.1 }, grid: { l2: [0, 0.1], hiddenUnits: [[8]] } },
        ],
      },
    });
    const [logistic, mlp] = config.training.candidates;
    expect(Object.keys(logistic!.random!.space)).toEqual(["l2", "learningRate"]);
    expect(Object.keys(mlp!.grid!)).toEqual(["l2", "hiddenUnits"]);
    expect(Object.keys(mlp!.params)).toEqual(["epochs", "dropout"]);
  });

  it("--schema documents every kind's hyperparameters under its own kind", () => {
    const text = JSON.stringify(trainConfigJsonSchema());
    const schema = JSON.parse(text) as {
      definitions: {
        TrainConfig: {
          properties: {
            training: {
              properties: {
                candidates: {
                  items: {
                    anyOf: {
                      properties: {
                        kind: { const: string };
                        params: { properties: Record<string, unknown> };
                      };
                    }[];
                  };
                };
              };
            };
          };
        };
      };
    };
    const variants = schema.definitions.TrainConfig.properties.training.properties.candidates.items.anyOf;
    const byKind = Object.fromEntries(
      variants.map((v) => [v.properties.kind.const, Object.keys(v.properties.params.properties)]),
    );
    expect(Object.keys(byKind)).toEqual([
      "logistic",
      "mlp",
      "gbdt",
      "random-forest",
      "decision-tree",
      "knn",
      "linear-svm",
      "tfidf-linear",
      "tfidf-gbdt",
      "text-embedding-bag",
      "text-cnn",
      "text-gru",
    ]);
    expect(byKind.mlp).toEqual(expect.arrayContaining(["hiddenUnits", "dropout", "epochs"]));
    expect(byKind.logistic).not.toContain("hiddenUnits");
    for (const [kind, params] of Object.entries(byKind)) expect(params.length, kind).toBeGreaterThan(0);
  });
});

// Defect 8 of issue 9: an invalid registry model name failed only after training, when MLflow refused to
// create the logged model or the registered model. MLflow's rules (mlflow/utils/validation.py):
// registered models reject blank names, '/' and ':' and names that are not their own normalised path;
// logged models (training logs one under the same name) also reject '.', '%', '"' and "'".
describe("registry names in the training config", () => {
  const withRegistry = (registry: Record<string, unknown>) => ({ ...minimal, registry });

  it.each([["credit-default"], ["credit_default_v2"], ["Credit Default"], ["modèle-crédit"]])(
    "given the model name %j that MLflow accepts, then the config loads",
    (modelName) => {
      expect(parseTrainConfig(withRegistry({ modelName })).registry.modelName).toBe(modelName);
    },
  );

  it.each([
    ["", "must not be empty"],
    ["   ", "must not be empty"],
    [" credit", "leading or trailing whitespace"],
    ["credit\t", "leading or trailing whitespace"],
    ["team/credit", "'/'"],
    ["credit:default", "':'"],
    ["credit.default", "'.'"],
    ["..", "'.'"],
    ["credit%20default", "'%'"],
    ['credit"default', `'"'`],
    ["o'credit", `"'"`],
    ["credit@champion", "'@'"],
    ["x".repeat(257), "at most 256 characters"],
  ])(
    "given the model name %j, then CONFIG_INVALID names registry.modelName and the rule (%s)",
    (modelName, rule) => {
      const error = configError(() => parseTrainConfig(withRegistry({ modelName }), "c.yaml"));
      expect(error.code).toBe("CONFIG_INVALID");
      expect(error.message, "the field path").toContain("registry.modelName:");
      expect(error.message, "the broken rule").toContain(rule);
    },
  );

  it.each([
    ["latest", "reserved"],
    ["v2", "reserved"],
  ])("given the alias %j that MLflow reserves, then CONFIG_INVALID names registry.alias", (alias, rule) => {
    const error = configError(() => parseTrainConfig(withRegistry({ modelName: "m", alias })));
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toContain("registry.alias:");
    expect(error.message).toContain(rule);
  });

  it("given an invalid model name in a --set override, then loading the file fails before anything runs", async () => {
    const file = await tmp.file("registry.yaml", JSON.stringify(minimal));
    const error = await loadTrainConfig(file, ["registry.modelName=team/credit"]).then(
      () => undefined,
      (e: unknown) => e as ConfigError,
    );
    expect(error, "loadTrainConfig rejects").toBeInstanceOf(ConfigError);
    expect(error?.code).toBe("CONFIG_INVALID");
    expect(error?.message).toContain("registry.modelName:");
  });
});

describe("binary-only settings against the dataset's class count (checked when the config is loaded)", () => {
  const hpc = path.join(projectRoot(), "configs", "hpc.yaml");
  const credit = path.join(projectRoot(), "configs", "credit-default.yaml");

  it("given selectionMetric f1 on the 4-class hpc dataset, then CONFIG_BINARY_ONLY names the field and the alternative", async () => {
    const error = await rejectionOf(loadTrainConfig(hpc, ["training.selectionMetric=f1"]), ConfigError);
    expect(error.code).toBe("CONFIG_BINARY_ONLY");
    expect(error.message).toContain(
      "Binary-only settings for dataset 'hpc', which has 4 classes (VF, F, M, L):",
    );
    expect(error.message).toContain(
      `${hpc}: training.selectionMetric: 'f1' is a binary metric (of the positive class); with 4 classes use f1_macro`,
    );
  });

  it("given a cost threshold, DeLong and binary gate metrics on hpc, then every field is listed by its path", async () => {
    const error = await rejectionOf(
      loadTrainConfig(hpc, [
        "training.threshold={strategy: cost, falsePositiveCost: 1, falseNegativeCost: 5}",
        "promotion.metric=recall",
        "promotion.guards=[{metric: roc_auc, tolerance: 0.01}, {metric: precision, tolerance: 0.02}]",
        "promotion.minimums={f1: 0.5}",
        "promotion.delong={enabled: true}",
      ]),
      ConfigError,
    );
    expect(error.code).toBe("CONFIG_BINARY_ONLY");
    for (const line of [
      `${hpc}: training.threshold: a decision threshold (strategy cost) applies to binary targets`,
      `${hpc}: promotion.metric: 'recall' is a binary metric`,
      `${hpc}: promotion.guards.1.metric: 'precision' is a binary metric`,
      `${hpc}: promotion.minimums.f1: 'f1' is a binary metric`,
      `${hpc}: promotion.delong.enabled: DeLong's test compares two binary ROC AUCs`,
    ])
      expect(error.message, line).toContain(line);
    expect(error.message, "roc_auc is fine for multiclass").not.toContain("guards.0");
  });

  it("given a positive class in the manifest of a 4-class dataset, then the manifest file and target.positive are named", async () => {
    // The committed hpc manifest with a positive class added under target.
    const committed = await readFile(path.join(projectRoot(), "data", "hpc.yaml"), "utf8");
    expect(committed, "the hpc manifest lists its classes").toContain("  classes: [VF, F, M, L]\n");
    const manifest = await tmp.file(
      "hpc-positive.yaml",
      committed.replace("  classes: [VF, F, M, L]\n", "  classes: [VF, F, M, L]\n  positive: L\n"),
    );
    const config = await tmp.file(
      "hpc-positive-config.yaml",
      (await readFile(hpc, "utf8")).replace(/^dataset: hpc$/m, `dataset: ${manifest}`),
    );
    const error = await rejectionOf(loadTrainConfig(config), ConfigError);
    expect(error.code).toBe("CONFIG_BINARY_ONLY");
    expect(error.message).toContain(
      `${manifest}: target.positive: 'L' names the positive class of a binary target; remove it`,
    );
    expect(error.message).toContain("which has 4 classes (VF, F, M, L)");
  });

  it("given the same settings on the binary credit-default dataset, or the defaults on hpc, then the config loads", async () => {
    const config = await loadTrainConfig(credit, [
      "training.selectionMetric=f1",
      "training.threshold={strategy: cost, falsePositiveCost: 1, falseNegativeCost: 5}",
      "promotion.metric=recall",
    ]);
    expect(config.training.selectionMetric).toBe("f1");
    const multiclass = await loadTrainConfig(hpc);
    expect(multiclass.training.threshold, "the default threshold is not reported").toEqual({
      strategy: "max_f1",
    });
  });

  it("given a dataset without a manifest, then DATASET_UNKNOWN at load time", async () => {
    const config = await tmp.file(
      "nodata.yaml",
      "name: t\ndataset: no-such-dataset\nexperiment: e\ntraining: { candidates: [{ kind: logistic }] }\nregistry: { modelName: m }\n",
    );
    const error = await rejectionOf(loadTrainConfig(config), ConfigError);
    expect(error.code).toBe("DATASET_UNKNOWN");
  });
});
