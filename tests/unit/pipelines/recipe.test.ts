import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { promotionSchema } from "../../../src/config/promotion-config.js";
import { loadTrainConfig, type TrainConfig } from "../../../src/config/train-config.js";
import { notebookRun, REPLAY_ENV } from "../../../src/pipelines/notebook-run.js";
import { parseRecipe, RECIPE_VERSION } from "../../../src/pipelines/recipe.js";
import { ConfigError } from "../../../src/shared/errors.js";
import { projectRoot } from "../../../src/shared/project.js";
import { thrownBy } from "../../helpers/expect-error.js";

const SHA = "a".repeat(64);
const WHERE = "recipe.json of run r1";

let config: TrainConfig;
/** The config as a version-1 recipe logged it: JSON, and no `promotion` section (it did not exist yet). */
let v1Config: Record<string, unknown>;

beforeAll(async () => {
  config = await loadTrainConfig(path.join(projectRoot(), "configs", "credit-default.yaml"));
  const { promotion: _promotion, ...rest } = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
  v1Config = rest;
});

/** A recipe as written by version 1 (no snapshot, no notebook, no replayOf), as read back from JSON. */
const v1Recipe = (): Record<string, unknown> => ({
  recipeVersion: 1,
  entryPoint: "scripts/train.ts",
  argv: ["--config", "configs/credit-default.yaml"],
  config: v1Config,
  configFile: "configs/credit-default.yaml",
  git: { commit: "0123456789abcdef0123456789abcdef01234567", branch: "main", dirty: false },
  data: {
    dataset: "credit-default",
    uri: "https://archive.ics.uci.edu/static/public/350/default.zip",
    sha256: SHA,
    fingerprints: { train: "f1" },
  },
  lockfileSha256: "b".repeat(64),
  seed: 42,
  backend: "cpu",
  node: "v20.11.0",
  platform: "linux-x64",
  createdAt: "2026-11-01T10:00:00.000Z",
});

describe("parseRecipe", () => {
  it("given a version-1 recipe without a promotion section, then it parses and gets the promotion defaults", () => {
    const recipe = parseRecipe(v1Recipe(), WHERE);
    expect(recipe.recipeVersion, "version kept").toBe(1);
    expect(recipe.config.promotion, "today's promotion defaults").toEqual(promotionSchema.parse({}));
    expect(recipe.config.promotion.minImprovement, "default minImprovement").toBe(0.002);
    expect(recipe.config.promotion.aliases, "default aliases").toEqual({
      champion: "champion",
      previous: "previous",
    });
    const { promotion: _p, ...rest } = recipe.config;
    const { promotion: _q, ...expected } = config;
    expect(rest, "the rest of the config as logged").toEqual(expected);
    expect(recipe.data, "no snapshot, no file").toEqual({
      dataset: "credit-default",
      uri: "https://archive.ics.uci.edu/static/public/350/default.zip",
      sha256: SHA,
      fingerprints: { train: "f1" },
    });
    expect(recipe.notebook, "no notebook").toBeUndefined();
    expect(recipe.replayOf, "not a replay").toBeUndefined();
    expect(recipe.wasmKernels, "written before the workbench's wasm kernels").toBeUndefined();
  });

  it("given a recipe that records its wasm kernels, then they are kept; an unknown value is refused", () => {
    const raw = { ...v1Recipe(), recipeVersion: RECIPE_VERSION, backend: "wasm" };
    expect(parseRecipe({ ...raw, wasmKernels: "workbench" }, WHERE).wasmKernels).toBe("workbench");
    expect(parseRecipe({ ...raw, wasmKernels: "tfjs" }, WHERE).wasmKernels).toBe("tfjs");
    const error = thrownBy(() => parseRecipe({ ...raw, wasmKernels: "fast" }, WHERE));
    expect(error.code, "code").toBe("RECIPE_INVALID");
    expect(error.message, "message").toMatch(
      /^recipe\.json of run r1 is not a valid recipe: wasmKernels: Invalid enum value/,
    );
  });

  it("given a version-1 recipe without the optional fields, then defaults fill argv, git and fingerprints", () => {
    const { argv: _a, git: _g, configFile: _c, lockfileSha256: _l, ...raw } = v1Recipe();
    const recipe = parseRecipe({ ...raw, data: { dataset: "credit-default", uri: "u", sha256: SHA } }, WHERE);
    expect(recipe.argv, "argv").toEqual([]);
    expect(recipe.git, "git unknown").toEqual({ commit: undefined, branch: undefined, dirty: undefined });
    expect(recipe.configFile, "configFile").toBeUndefined();
    expect(recipe.lockfileSha256, "lockfile").toBeUndefined();
    expect(recipe.data.fingerprints, "fingerprints").toEqual({});
  });

  it("given a current-version recipe with snapshot, notebook and replayOf, then they are kept", () => {
    const recipe = parseRecipe(
      {
        ...v1Recipe(),
        recipeVersion: RECIPE_VERSION,
        config: JSON.parse(JSON.stringify(config)),
        data: { ...(v1Recipe().data as object), snapshot: `snapshots/${SHA}.csv`, file: "default.csv" },
        notebook: {
          path: "notebooks/02-credit-default-training.ipynb",
          parameters: { epochs: 3 },
          artifact: "notebook/02-credit-default-training.ipynb",
        },
        replayOf: { runId: "r0", data: "logged" },
      },
      WHERE,
    );
    expect(recipe.data.snapshot, "snapshot").toBe(`snapshots/${SHA}.csv`);
    expect(recipe.notebook, "notebook").toEqual({
      path: "notebooks/02-credit-default-training.ipynb",
      parameters: { epochs: 3 },
      artifact: "notebook/02-credit-default-training.ipynb",
    });
    expect(recipe.replayOf, "replayOf").toEqual({ runId: "r0", data: "logged" });
    expect(recipe.config, "config round-trips").toEqual(config);
  });

  it("given recipeVersion 99, then RECIPE_VERSION_UNSUPPORTED says which formats are read and to update", () => {
    const error = thrownBy(() => parseRecipe({ ...v1Recipe(), recipeVersion: 99 }, WHERE));
    expect(error.code, "code").toBe("RECIPE_VERSION_UNSUPPORTED");
    expect(error.message, "message").toBe(
      `${WHERE} is recipe format 99; this workbench reads formats 1 to ${RECIPE_VERSION}. Update the workbench (git pull && npm run setup) to replay it.`,
    );
    expect(error.details, "details").toEqual({ where: WHERE, recipeVersion: 99, supported: RECIPE_VERSION });
  });

  it("given a recipe without data.sha256, then RECIPE_INVALID names the path", () => {
    const raw = v1Recipe();
    const { sha256: _s, ...data } = raw.data as Record<string, unknown>;
    const error = thrownBy(() => parseRecipe({ ...raw, data }, WHERE));
    expect(error.code, "code").toBe("RECIPE_INVALID");
    expect(error.message, "message").toBe(`${WHERE} is not a valid recipe: data.sha256: Required`);
    expect(error.details, "details").toEqual({ where: WHERE });
  });

  it("given a malformed data.sha256 and a non-integer seed, then RECIPE_INVALID lists both paths", () => {
    const raw = v1Recipe();
    const error = thrownBy(() =>
      parseRecipe({ ...raw, seed: 1.5, data: { ...(raw.data as object), sha256: "ABC" } }, WHERE),
    );
    expect(error.code, "code").toBe("RECIPE_INVALID");
    expect(error.message, "message").toMatch(
      new RegExp(
        `^${WHERE} is not a valid recipe: data\\.sha256: Invalid; seed: Expected integer, received float$`,
      ),
    );
  });

  it("given something that is not an object, then RECIPE_INVALID names the root", () => {
    const error = thrownBy(() => parseRecipe(null, WHERE));
    expect(error.code, "code").toBe("RECIPE_INVALID");
    expect(error.message, "message").toBe(
      `${WHERE} is not a valid recipe: (root): Expected object, received null`,
    );
  });

  it("given an invalid config inside the recipe, then CONFIG_INVALID names the config path", () => {
    const raw = v1Recipe();
    const training = { ...(v1Config.training as Record<string, unknown>), candidates: [] };
    const error = thrownBy(() => parseRecipe({ ...raw, config: { ...v1Config, training } }, WHERE));
    expect(error, "a ConfigError").toBeInstanceOf(ConfigError);
    expect(error.code, "code").toBe("CONFIG_INVALID");
    expect(error.message, "message").toBe(
      `Invalid training config ${WHERE} (config):\n  - training.candidates: Array must contain at least 1 element(s)`,
    );
  });
});

describe("notebookRun", () => {
  const notebook = "notebooks/02-credit-default-training.ipynb";
  const parameters = { epochs: 3, limit: null };

  it("given no replay environment, then it returns the entry point and the notebook with its parameters", () => {
    expect(notebookRun(notebook, parameters, {}), "plain notebook run").toEqual({
      entryPoint: notebook,
      notebook: { path: notebook, parameters },
    });
    expect(
      notebookRun(notebook, parameters, { [REPLAY_ENV.of]: "" }),
      "empty replay id is no replay",
    ).toEqual({
      entryPoint: notebook,
      notebook: { path: notebook, parameters },
    });
  });

  it("given a replay on logged data, then it sets replayOf, the data file and the token tag", () => {
    const options = notebookRun(notebook, parameters, {
      WORKBENCH_REPLAY_OF: "run-1",
      WORKBENCH_REPLAY_DATA: "logged",
      WORKBENCH_REPLAY_DATA_FILE: "/tmp/snapshot/default.csv",
      WORKBENCH_REPLAY_DATA_SHA256: SHA,
      WORKBENCH_REPLAY_TOKEN: "token-1",
    });
    expect(options, "replay options").toEqual({
      entryPoint: notebook,
      notebook: { path: notebook, parameters },
      replayOf: { runId: "run-1", data: "logged" },
      tags: { "workbench.replay.token": "token-1" },
      dataFile: {
        path: "/tmp/snapshot/default.csv",
        sha256: SHA,
        origin: "cache",
        source: "/tmp/snapshot/default.csv",
      },
    });
  });

  it("given a replay on current data, then there is no data file even when one is in the environment", () => {
    const options = notebookRun(notebook, parameters, {
      WORKBENCH_REPLAY_OF: "run-1",
      WORKBENCH_REPLAY_DATA: "current",
      WORKBENCH_REPLAY_DATA_FILE: "/tmp/snapshot/default.csv",
      WORKBENCH_REPLAY_DATA_SHA256: SHA,
      WORKBENCH_REPLAY_TOKEN: "token-2",
    });
    expect(options.replayOf, "replayOf on current data").toEqual({ runId: "run-1", data: "current" });
    expect(options.dataFile, "no data file").toBeUndefined();
    expect(options.tags, "token tag").toEqual({ "workbench.replay.token": "token-2" });
  });

  it("given a replay with an unknown data mode and no token, then it falls back to current data without a tag", () => {
    const options = notebookRun(notebook, parameters, {
      WORKBENCH_REPLAY_OF: "run-1",
      WORKBENCH_REPLAY_DATA: "yesterday",
      WORKBENCH_REPLAY_TOKEN: "",
    });
    expect(options.replayOf, "current data").toEqual({ runId: "run-1", data: "current" });
    expect(options.tags, "no token tag").toBeUndefined();
    expect(options.dataFile, "no data file").toBeUndefined();
  });
});
