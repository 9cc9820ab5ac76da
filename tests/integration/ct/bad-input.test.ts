import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { loadTrainConfig } from "../../../src/config/train-config.js";
import { replayPipeline } from "../../../src/pipelines/replay.js";
import { promote } from "../../../src/promotion/aliases.js";
import { sha256 } from "../../../src/shared/hash.js";
import { silentLogger } from "../../../src/shared/logger.js";
import { projectRoot } from "../../../src/shared/project.js";
import { cli } from "../../helpers/cli.js";
import { rejectionOf } from "../../helpers/expect-error.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";

const client = testClient();
let scratch: string;
let experimentId: string;
const env = () => ({
  MLFLOW_TRACKING_URI: inject("mlflowUri"),
  WORKBENCH_DATA_SNAPSHOTS: path.join(scratch, "snapshots"),
});

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), "it-ct-bad-"));
  experimentId = await client.experiments.getOrCreate(uniqueName("it-ct-bad"));
});
afterAll(async () => {
  client.close();
  await rm(scratch, { recursive: true, force: true });
});

/** A run holding `recipe` as its recipe.json (or no recipe at all). */
async function runWithRecipe(recipe: unknown | undefined): Promise<string> {
  const run = await client.runs.create({ experimentId });
  if (recipe !== undefined) {
    const file = path.join(scratch, run.info.runId, "recipe.json");
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(recipe));
    await client.artifacts.uploadFile(run.info.artifactUri, file);
  }
  return run.info.runId;
}

async function validRecipe(overrides: { git?: object; data?: object } = {}) {
  const config = await loadTrainConfig(path.join(projectRoot(), "configs", "credit-default.yaml"));
  return {
    recipeVersion: 2,
    entryPoint: "npm run train",
    argv: [],
    config,
    git: { commit: "0".repeat(40), dirty: false },
    data: {
      dataset: "credit-default",
      uri: "test",
      sha256: "a".repeat(64),
      fingerprints: {},
      ...overrides.data,
    },
    seed: 42,
    backend: "wasm",
    node: process.version,
    platform: "linux-x64",
    createdAt: new Date().toISOString(),
    ...(overrides.git === undefined ? {} : { git: overrides.git }),
  };
}

describe("replay and CT refuse bad input with a clear message and a distinct exit code", () => {
  it("given a run with no recipe, replay exits 5 with RECIPE_MISSING", async () => {
    const runId = await runWithRecipe(undefined);
    const { code, stderr } = await cli("replay.ts", ["--run-id", runId], env());
    expect(code).toBe(5);
    expect(stderr).toContain("error [RECIPE_MISSING]");
    expect(stderr).toContain(`Run ${runId} has no recipe.json`);
  });

  it("given a recipe of a newer format, replay exits 5 with RECIPE_VERSION_UNSUPPORTED", async () => {
    const runId = await runWithRecipe({ ...(await validRecipe()), recipeVersion: 99 });
    const { code, stderr } = await cli("replay.ts", ["--from", `runs:/${runId}`], env());
    expect(code).toBe(5);
    expect(stderr).toContain("error [RECIPE_VERSION_UNSUPPORTED]");
    expect(stderr).toContain("is recipe format 99; this workbench reads formats 1 to 2");
  });

  it("given logged data whose content no longer matches its hash, replay exits 6 and trains nothing", async () => {
    const claimed = sha256("the rows the run trained on");
    const tampered = path.join(scratch, "tampered.csv");
    await writeFile(tampered, "other rows\n");
    await client.artifacts.uploadFile("mlflow-artifacts:/workbench-data", tampered, `sha256/${claimed}`);
    const runId = await runWithRecipe(
      await validRecipe({
        data: {
          sha256: claimed,
          snapshot: `mlflow-artifacts:/workbench-data/sha256/${claimed}/tampered.csv`,
          file: "tampered.csv",
        },
      }),
    );
    const { code, stderr } = await cli("replay.ts", ["--run-id", runId, "--data", "logged"], env());
    expect(code).toBe(6);
    expect(stderr).toContain("error [REPLAY_DATA_CHANGED]");
    expect(stderr).toContain(`not the ${claimed} the run recorded`);
    const runs = await client.runs.searchPage({
      experimentIds: [experimentId],
      filter: `tags.\`workbench.replay_of\` = '${runId}'`,
    });
    expect(runs.items, "nothing was replayed").toEqual([]);
  });

  it("given --strict, a dirty tree or other code is refused before anything trains", async () => {
    const repo = path.join(scratch, "checkout");
    const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, encoding: "utf8" }).trim();
    await mkdir(repo, { recursive: true });
    git("init", "-q");
    await writeFile(path.join(repo, "a.txt"), "1\n");
    git("add", "a.txt");
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "one");
    const commit = git("rev-parse", "HEAD");
    const context = { client, logger: silentLogger() };
    const same = await runWithRecipe(await validRecipe({ git: { commit, dirty: false } }));
    await writeFile(path.join(repo, "a.txt"), "2\n");
    const dirty = await rejectionOf(
      replayPipeline(context, { from: same, data: "current", strict: true, codeDir: repo }),
    );
    expect(dirty.code).toBe("REPLAY_TREE_DIRTY");
    expect(dirty.message).toContain("Commit or stash them first");
    const other = await runWithRecipe(await validRecipe({ git: { commit: "f".repeat(40), dirty: false } }));
    const mismatch = await rejectionOf(
      replayPipeline(context, { from: other, data: "current", strict: true, codeDir: repo }),
    );
    expect(mismatch.code).toBe("REPLAY_CODE_MISMATCH");
    expect(mismatch.message).toContain(`git checkout ${"f".repeat(40)}`);
  });

  it("given a model with no champion and no config, ct exits 8 with CT_NO_CHAMPION_NO_CONFIG", async () => {
    const { code, stderr } = await cli("ct.ts", ["--model", uniqueName("it-nothing")], env());
    expect(code).toBe(8);
    expect(stderr).toContain("error [CT_NO_CHAMPION_NO_CONFIG]");
    expect(stderr).toContain("npm run ct -- --config configs/<name>.yaml");
  });

  it("given @champion on a version that was deleted, ct exits 8 with CHAMPION_MISSING and leaves the aliases alone", async () => {
    const name = uniqueName("it-deleted");
    const run = await client.runs.create({ experimentId });
    await client.registry.getOrCreateModel(name);
    for (let i = 0; i < 2; i++)
      await client.registry.createVersion({
        name,
        source: `runs:/${run.info.runId}/model`,
        runId: run.info.runId,
      });
    const aliases = { champion: "champion", previous: "previous" };
    await promote(client, { modelName: name, version: "1", expectedChampion: undefined, aliases });
    await promote(client, { modelName: name, version: "2", expectedChampion: "1", aliases });
    await client.registry.deleteVersion(name, "2");
    const { code, stderr } = await cli("ct.ts", ["--model", name], env());
    expect(code).toBe(8);
    expect(stderr).toContain("error [CHAMPION_MISSING]");
    expect(stderr).toContain(`npm run rollback -- --model ${name}`);
    expect((await client.registry.getModel(name)).aliases.previous).toBe("1");
  });

  it("given an unreachable tracking server, ct exits 9 naming the URI", async () => {
    const { code, stderr } = await cli("ct.ts", ["--model", "anything"], {
      MLFLOW_TRACKING_URI: "http://127.0.0.1:9",
      MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0",
    });
    expect(code).toBe(9);
    expect(stderr).toContain("error [TRACKING_UNREACHABLE]");
    expect(stderr).toContain("http://127.0.0.1:9");
  });

  it("given bad flags, ct and replay exit 2 with the usage", async () => {
    const none = await cli("ct.ts", [], env());
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("error [CLI_USAGE]: --config or --model is required.");
    const data = await cli("ct.ts", ["--model", "x", "--data", "yesterday"], env());
    expect(data.code).toBe(2);
    expect(data.stderr).toContain("--data must be current or logged, not 'yesterday'");
    const replay = await cli(
      "replay.ts",
      ["--from", "models:/x@champion", "--run-id", "a".repeat(32)],
      env(),
    );
    expect(replay.code).toBe(2);
    expect(replay.stderr).toContain("give exactly one of --from and --run-id");
  });
});
