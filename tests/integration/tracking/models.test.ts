import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelNotFoundError } from "../../../src/shared/errors.js";
import { collect } from "../../../src/tracking/paginate.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";

const client = testClient();
let dir: string;
let experimentId: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "models-test-"));
  experimentId = await client.experiments.create(uniqueName("models"));
});
afterAll(async () => {
  client.close();
  await rm(dir, { recursive: true, force: true });
});

async function modelDir(): Promise<string> {
  const tree = path.join(dir, uniqueName("pkg"));
  await mkdir(tree, { recursive: true });
  await writeFile(path.join(tree, "MLmodel"), "artifact_path: model\nflavors: {}\n");
  await writeFile(path.join(tree, "weights.bin"), Buffer.from([1, 2, 3]));
  return tree;
}

describe("MLflow 3 logged models", () => {
  it("creates, uploads, finalizes, gets, tags, logs params, links to the run, searches and deletes", async () => {
    const run = await client.runs.create({ experimentId });
    const created = await client.loggedModels.create({
      experimentId,
      name: "credit-mlp",
      modelType: "tfjs-mlp",
      sourceRunId: run.info.runId,
      params: { units: "32" },
      tags: { framework: "tfjs" },
    });
    expect(created).toMatchObject({ status: "PENDING", name: "credit-mlp", sourceRunId: run.info.runId });
    expect(created.artifactUri).toMatch(/^mlflow-artifacts:/);

    await client.artifacts.uploadDirectory(created.artifactUri, await modelDir());
    const ready = await client.loggedModels.finalize(created.modelId);
    expect(ready.status).toBe("READY");

    await client.loggedModels.logParams(created.modelId, { layers: "2" });
    await client.loggedModels.setTags(created.modelId, { stage: "candidate", tmp: "x" });
    await client.loggedModels.deleteTag(created.modelId, "tmp");
    const got = await client.loggedModels.get(created.modelId);
    expect(got.params).toEqual({ units: "32", layers: "2" });
    expect(got.tags).toMatchObject({ framework: "tfjs", stage: "candidate" });
    expect(got.tags.tmp).toBeUndefined();
    expect((await client.artifacts.list(got.artifactUri)).map((f) => f.path).sort()).toEqual([
      "MLmodel",
      "weights.bin",
    ]);

    await client.runs.logOutputs(run.info.runId, [{ modelId: created.modelId, step: 3 }]);
    expect((await client.runs.get(run.info.runId)).outputs.modelOutputs).toEqual([
      { modelId: created.modelId, step: 3 },
    ]);

    const found = await collect(
      client.loggedModels.search({
        experimentIds: [experimentId],
        filter: "name = 'credit-mlp'",
        orderBy: [{ fieldName: "creation_timestamp", ascending: false }],
      }),
    );
    expect(found.map((m) => m.modelId)).toContain(created.modelId);

    await client.loggedModels.delete(created.modelId);
    await expect(client.loggedModels.get(created.modelId)).rejects.toMatchObject({
      code: "RESOURCE_DOES_NOT_EXIST",
    });
  });

  it("finalizes a failed upload as FAILED", async () => {
    const model = await client.loggedModels.create({ experimentId, name: "broken" });
    expect((await client.loggedModels.finalize(model.modelId, "FAILED")).status).toBe("FAILED");
  });
});

describe("model registry", () => {
  it("manages registered models: create, get, tags, description, rename, search, delete", async () => {
    const name = uniqueName("reg");
    const created = await client.registry.createModel(name, { tags: { owner: "risk" }, description: "v0" });
    expect(created).toMatchObject({ name, description: "v0", tags: { owner: "risk" } });
    await client.registry.setModelTag(name, "tier", "gold");
    await client.registry.deleteModelTag(name, "owner");
    await client.registry.updateModel(name, { description: "credit default" });
    const got = await client.registry.getModel(name);
    expect(got).toMatchObject({ description: "credit default", tags: { tier: "gold" } });
    const renamed = await client.registry.renameModel(name, `${name}-2`);
    expect(renamed.name).toBe(`${name}-2`);
    const found = await collect(client.registry.searchModels({ filter: `name LIKE '${name}%'` }));
    expect(found.map((m) => m.name)).toEqual([`${name}-2`]);
    await client.registry.deleteModel(`${name}-2`);
    await expect(client.registry.getModel(`${name}-2`)).rejects.toBeInstanceOf(ModelNotFoundError);
  });

  it("creates versions from a logged model and from a run, moves aliases, updates, tags and deletes", async () => {
    const name = uniqueName("versions");
    await client.registry.getOrCreateModel(name);
    expect((await client.registry.getOrCreateModel(name)).name, "idempotent").toBe(name);

    const run = await client.runs.create({ experimentId });
    const logged = await client.loggedModels.create({ experimentId, name: "m", sourceRunId: run.info.runId });
    await client.artifacts.uploadDirectory(logged.artifactUri, await modelDir());
    await client.loggedModels.finalize(logged.modelId);
    const v1 = await client.registry.createVersion({
      name,
      source: `models:/${logged.modelId}`,
      runId: run.info.runId,
      modelId: logged.modelId,
      tags: { origin: "logged-model" },
    });
    expect(v1).toMatchObject({
      version: "1",
      status: "READY",
      modelId: logged.modelId,
      runId: run.info.runId,
      tags: { origin: "logged-model" },
    });

    await client.artifacts.uploadDirectory(run.info.artifactUri, await modelDir(), "model");
    const v2 = await client.registry.createVersion({
      name,
      source: `${run.info.artifactUri}/model`,
      runId: run.info.runId,
      description: "from run",
    });
    expect(v2).toMatchObject({ version: "2", description: "from run" });

    await client.registry.setAlias(name, "champion", "1");
    await client.registry.setAlias(name, "challenger", "2");
    expect((await client.registry.getVersionByAlias(name, "champion")).version).toBe("1");
    await client.registry.setAlias(name, "champion", "2");
    const champion = await client.registry.getVersionByAlias(name, "champion");
    expect(champion.version, "the alias moved").toBe("2");
    expect(champion.aliases.sort()).toEqual(["challenger", "champion"]);
    expect((await client.registry.getModel(name)).aliases).toEqual({ champion: "2", challenger: "2" });

    await client.registry.deleteAlias(name, "challenger");
    await expect(client.registry.getVersionByAlias(name, "challenger")).rejects.toMatchObject({
      code: "MODEL_NOT_FOUND",
      message: `models:/${name}@challenger does not exist in the model registry.`,
    });

    await client.registry.updateVersion(name, "1", { description: "first" });
    await client.registry.setVersionTag(name, "1", "validated", "true");
    await client.registry.deleteVersionTag(name, "1", "origin");
    const first = await client.registry.getVersion(name, "1");
    expect(first).toMatchObject({ description: "first", tags: { validated: "true" } });
    expect(await client.registry.getVersionDownloadUri(name, "2")).toContain("model");

    const versions = await collect(
      client.registry.searchVersions({ filter: `name = '${name}'`, orderBy: ["version_number DESC"] }),
    );
    expect(versions.map((v) => v.version)).toEqual(["2", "1"]);

    await client.registry.deleteVersion(name, "1");
    await expect(client.registry.getVersion(name, "1")).rejects.toBeInstanceOf(ModelNotFoundError);
  });

  it("downloads a version's files by alias through its logged model", async () => {
    const name = uniqueName("download");
    await client.registry.createModel(name);
    const logged = await client.loggedModels.create({ experimentId, name: "m" });
    await client.artifacts.uploadDirectory(logged.artifactUri, await modelDir());
    await client.loggedModels.finalize(logged.modelId);
    await client.registry.createVersion({
      name,
      source: `models:/${logged.modelId}`,
      modelId: logged.modelId,
    });
    await client.registry.setAlias(name, "champion", "1");
    const version = await client.registry.getVersionByAlias(name, "champion");
    const model = await client.loggedModels.get(version.modelId ?? "");
    const target = path.join(dir, "champion");
    await client.artifacts.downloadDirectory(model.artifactUri, undefined, target);
    expect(await readFile(path.join(target, "MLmodel"), "utf8")).toContain("flavors");
  });
});
