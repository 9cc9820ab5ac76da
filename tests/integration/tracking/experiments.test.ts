import { afterAll, describe, expect, it } from "vitest";
import { collect } from "../../../src/tracking/paginate.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";

const client = testClient();
afterAll(() => client.close());

describe("experiments against a real MLflow server", () => {
  it("creates, gets by id and by name, tags, renames, deletes and restores", async () => {
    const name = uniqueName("exp");
    const id = await client.experiments.create(name, { tags: { team: "risk" } });
    const byId = await client.experiments.get(id);
    expect(byId).toMatchObject({ experimentId: id, name, lifecycleStage: "active", tags: { team: "risk" } });
    expect(byId.artifactLocation, "artifacts go through the proxy").toMatch(/^mlflow-artifacts:/);
    expect((await client.experiments.getByName(name))?.experimentId).toBe(id);
    expect(
      await client.experiments.getByName(uniqueName("absent")),
      "missing name is undefined",
    ).toBeUndefined();

    await client.experiments.setTag(id, "stage", "eda");
    await client.experiments.deleteTag(id, "team");
    expect((await client.experiments.get(id)).tags).toEqual({ stage: "eda" });

    const renamed = `${name}-renamed`;
    await client.experiments.rename(id, renamed);
    expect((await client.experiments.get(id)).name).toBe(renamed);

    await client.experiments.delete(id);
    expect((await client.experiments.get(id)).lifecycleStage).toBe("deleted");
    await expect(client.experiments.getOrCreate(renamed)).rejects.toMatchObject({
      code: "EXPERIMENT_DELETED",
    });
    await client.experiments.restore(id);
    expect((await client.experiments.get(id)).lifecycleStage).toBe("active");
  });

  it("getOrCreate returns the same id on the second call", async () => {
    const name = uniqueName("goc");
    const first = await client.experiments.getOrCreate(name);
    expect(await client.experiments.getOrCreate(name)).toBe(first);
  });

  it("search walks every page with a filter and order", async () => {
    const prefix = uniqueName("page");
    const names = Array.from({ length: 7 }, (_, i) => `${prefix}-${i}`);
    for (const name of names) await client.experiments.create(name);
    const found = await collect(
      client.experiments.search({ filter: `name LIKE '${prefix}-%'`, orderBy: ["name ASC"], pageSize: 3 }),
    );
    expect(
      found.map((e) => e.name),
      "7 experiments over 3 pages, in order",
    ).toEqual(names);
    const limited = await collect(
      client.experiments.search({ filter: `name LIKE '${prefix}-%'`, pageSize: 2, limit: 5 }),
    );
    expect(limited.length).toBe(5);
  });

  it("given an unknown id, then the server's RESOURCE_DOES_NOT_EXIST surfaces as a typed error", async () => {
    await expect(client.experiments.get("987654321")).rejects.toMatchObject({
      code: "RESOURCE_DOES_NOT_EXIST",
      status: 404,
      mlflowErrorCode: "RESOURCE_DOES_NOT_EXIST",
    });
  });

  it("given a duplicate name, then RESOURCE_ALREADY_EXISTS surfaces", async () => {
    const name = uniqueName("dup");
    await client.experiments.create(name);
    await expect(client.experiments.create(name)).rejects.toMatchObject({ code: "RESOURCE_ALREADY_EXISTS" });
  });
});
