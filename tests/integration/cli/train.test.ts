import { describe, expect, inject, it } from "vitest";
import { cli } from "../../helpers/cli.js";
import { uniqueName } from "../../helpers/mlflow.js";
import { tempDir } from "../../helpers/temp.js";

const tmp = tempDir("train-cli-");

describe("npm run train", () => {
  it("--dry-run prints the resolved plan without touching a server", async () => {
    const { code, stdout } = await cli(
      "train.ts",
      ["--config", "configs/credit-default.yaml", "--dry-run", "--set", "seed=9"],
      { MLFLOW_TRACKING_URI: "http://127.0.0.1:9" },
    );
    expect(code).toBe(0);
    expect(stdout).toContain(
      "config credit-default: dataset credit-default, experiment credit-default, seed 9",
    );
    expect(stdout).toContain("7 trials, one per core at once:");
    expect(stdout).toContain('mlp-2            {"hiddenUnits":[128,64]');
    expect(stdout).toMatch(
      /gbdt-2 {11}\{"rounds":400,"learningRate":0\.1,"maxLeaves":31,.*"earlyStoppingRounds":20,"categorical":"onehot"\}/,
    );
    expect(stdout).toContain('random-forest-1  {"trees":200');
    expect(stdout).toContain("register as credit-default with alias @challenger");
  });

  it("--schema prints the config's JSON Schema", async () => {
    const { code, stdout } = await cli("train.ts", ["--schema"]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout).definitions.TrainConfig.properties.training).toBeDefined();
  });

  it("given a config with an unknown key and a wrong type, then exit 1 with every field path", async () => {
    const file = await tmp.file(
      "bad.yaml",
      "name: x\ndataset: credit-default\nexperiment: e\nseed: many\nsplitt: {}\ntraining: { candidates: [{ kind: mlp }] }\nregistry: { modelName: m }\n",
    );
    const { code, stderr } = await cli("train.ts", ["--config", file]);
    expect(code).toBe(1);
    expect(stderr).toContain(`error [CONFIG_INVALID]: Invalid training config ${file}`);
    expect(stderr).toContain("seed: Expected number, received string");
    expect(stderr).toContain("(root): Unrecognized key(s) in object: 'splitt'");
  });

  it("given an unknown flag or no config, then exit 2 with the usage", async () => {
    const unknown = await cli("train.ts", ["--confg", "x"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("usage: npm run train");
    expect((await cli("train.ts", [])).stderr).toContain("--config is required");
  });

  it("trains a slice against the server and prints the candidate table, the metrics and the registered version", async () => {
    const model = uniqueName("cli-model");
    const { code, stdout, stderr } = await cli(
      "train.ts",
      [
        "--config",
        "configs/hpc.yaml",
        "--set",
        `registry.modelName=${model}`,
        "--set",
        `experiment=${uniqueName("cli")}`,
        "--set",
        "training.candidates=[{kind: logistic, params: {epochs: 3}}]",
      ],
      { MLFLOW_TRACKING_URI: inject("mlflowUri") },
    );
    expect(code, stderr).toBe(0);
    expect(stderr).toContain("data: 4331 rows, 0 quarantined;");
    expect(stdout).toMatch(/\*\s+logistic-1\s+logistic\s+0\.\d{4}/);
    expect(stdout).toContain("data: 4331 rows read, 0 quarantined (0.00%)");
    expect(stdout).toContain(
      `registered ${model} version 1 as @challenger: ${inject("mlflowUri")}/#/models/${model}/versions/1`,
    );
  });

  it("npm run data: given an unknown dataset, then DATASET_UNKNOWN says where it looked", async () => {
    const unknown = await cli("data.ts", ["no-such-dataset"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("error [DATASET_UNKNOWN]: No dataset manifest 'no-such-dataset'");
  });
});

describe("npm run serve / npm run predict usage errors", () => {
  it.each([
    ["serve.ts", [], "--model is required"],
    ["predict.ts", ["--model", "x"], "--input, --output are required"],
    ["serve.ts", ["--modle", "x"], "Unknown option '--modle'"],
  ])("%s %j → exit 2 with the problem and the usage", async (script, args, message) => {
    const { code, stderr } = await cli(script, args as string[]);
    expect(code).toBe(2);
    expect(stderr).toContain(`error [CLI_USAGE]: `);
    expect(stderr).toContain(message);
    expect(stderr).toContain("usage: npm run");
  });
});
