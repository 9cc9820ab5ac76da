import { afterAll, describe, expect, it } from "vitest";
import {
  CHAMPION_TAG,
  lockName,
  PromotionConflictError,
  promote,
  readChampion,
  rollback,
  withPromotionLock,
} from "../../../src/promotion/aliases.js";
import { TrackingError, type WorkbenchError } from "../../../src/shared/errors.js";
import type { MlflowClient } from "../../../src/tracking/client.js";
import { rejectionOf } from "../../helpers/expect-error.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";

const client = testClient();
afterAll(() => client.close());
const aliases = { champion: "champion", previous: "previous" };

/** A registered model with `count` versions (no training: promotion only moves aliases). */
async function modelWithVersions(count: number): Promise<string> {
  const name = uniqueName("it-promote");
  const experimentId = await client.experiments.getOrCreate(name);
  const run = await client.runs.create({ experimentId });
  await client.registry.getOrCreateModel(name);
  for (let i = 0; i < count; i++)
    await client.registry.createVersion({
      name,
      source: `runs:/${run.info.runId}/model`,
      runId: run.info.runId,
    });
  return name;
}

async function aliasesOf(name: string) {
  return (await client.registry.getModel(name)).aliases;
}

describe("promotion: champion and previous aliases against a real MLflow server", () => {
  it("given no champion, when v1 is promoted and then v2, then v2 is champion and v1 previous, and rollback swaps them back", async () => {
    const name = await modelWithVersions(2);
    expect(await readChampion(client, name, aliases)).toBeUndefined();
    expect(
      await promote(client, { modelName: name, version: "1", expectedChampion: undefined, aliases }),
    ).toEqual({
      champion: "1",
      previous: undefined,
    });
    expect(await aliasesOf(name)).toEqual({ champion: "1" });
    await promote(client, { modelName: name, version: "2", expectedChampion: "1", aliases });
    expect(await aliasesOf(name)).toEqual({ champion: "2", previous: "1" });
    expect((await client.registry.getModel(name)).tags[CHAMPION_TAG]).toBe("2");
    expect(await rollback(client, { modelName: name, aliases })).toEqual({ champion: "1", previous: "2" });
    expect(await aliasesOf(name)).toEqual({ champion: "1", previous: "2" });
    expect((await readChampion(client, name, aliases))?.version).toBe("1");
    expect(
      (await client.registry.searchModelsPage({ filter: `name = '${lockName(name)}'` })).items,
      "the lock is released",
    ).toEqual([]);
  });

  it("given two promotions racing from the same champion, then exactly one moves the alias and the other is a conflict", async () => {
    const name = await modelWithVersions(3);
    await promote(client, { modelName: name, version: "1", expectedChampion: undefined, aliases });
    const results = await Promise.allSettled(
      ["2", "3"].map((version) =>
        promote(client, { modelName: name, version, expectedChampion: "1", aliases }),
      ),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(won.length, "exactly one promotion wins").toBe(1);
    expect(lost[0]!.reason).toBeInstanceOf(PromotionConflictError);
    expect((lost[0]!.reason as WorkbenchError).code).toBe("PROMOTION_CONFLICT");
    expect((lost[0]!.reason as Error).message).toMatch(/in progress|moved from version 1/);
    const now = await aliasesOf(name);
    expect(now.previous, "the one it replaced is kept").toBe("1");
    expect(["2", "3"]).toContain(now.champion);
  });

  it("given the alias moved since the gate read it, then the promotion is refused and nothing moves", async () => {
    const name = await modelWithVersions(3);
    await promote(client, { modelName: name, version: "1", expectedChampion: undefined, aliases });
    await promote(client, { modelName: name, version: "2", expectedChampion: "1", aliases });
    const error = await rejectionOf(
      promote(client, { modelName: name, version: "3", expectedChampion: "1", aliases }),
    );
    expect(error.code).toBe("PROMOTION_CONFLICT");
    expect(error.message).toContain("moved from version 1 to version 2 since the gate read it");
    expect(await aliasesOf(name)).toEqual({ champion: "2", previous: "1" });
  });

  it("given a lock held by a live promotion, then another is refused with who holds it; an expired lock is taken over", async () => {
    const name = await modelWithVersions(1);
    let inside: Promise<WorkbenchError> | undefined;
    await withPromotionLock(client, name, async () => {
      inside = rejectionOf(
        promote(client, { modelName: name, version: "1", expectedChampion: undefined, aliases }),
      );
      await inside;
    });
    const error = await inside!;
    expect(error.code).toBe("PROMOTION_CONFLICT");
    expect(error.message).toContain(`Another promotion of '${name}' is in progress`);
    // A crashed job's lock: expired a minute ago.
    await client.registry.createModel(lockName(name), {
      tags: { "workbench.lock.holder": "dead:1", "workbench.lock.expires": String(Date.now() - 60_000) },
    });
    await promote(client, { modelName: name, version: "1", expectedChampion: undefined, aliases });
    expect(await aliasesOf(name)).toEqual({ champion: "1" });
  });

  it("given the second alias move fails, then both aliases are put back (never half-moved)", async () => {
    const name = await modelWithVersions(2);
    await promote(client, { modelName: name, version: "1", expectedChampion: undefined, aliases });
    // The server refuses the champion move (as it would mid-outage) after `previous` was already set.
    const flaky = new Proxy(client, {
      get(target, key, receiver) {
        if (key !== "registry") return Reflect.get(target, key, receiver);
        const registry = target.registry;
        return new Proxy(registry, {
          get(r, k, rr) {
            if (k === "setAlias")
              return async (model: string, alias: string, version: string) => {
                if (alias === "champion" && version === "2")
                  throw new TrackingError("TRACKING_UNREACHABLE", "simulated outage");
                return registry.setAlias(model, alias, version);
              };
            const value = Reflect.get(r, k, rr);
            return typeof value === "function" ? value.bind(registry) : value;
          },
        });
      },
    }) as MlflowClient;
    const error = await rejectionOf(
      promote(flaky, { modelName: name, version: "2", expectedChampion: "1", aliases }),
    );
    expect(error.code).toBe("PROMOTION_FAILED");
    expect(error.message).toContain("both were put back where they were");
    expect(await aliasesOf(name), "previous was restored (it did not exist)").toEqual({ champion: "1" });
  });

  it("given the champion's version was deleted, then reading the champion fails with CHAMPION_MISSING and what to do", async () => {
    const name = await modelWithVersions(2);
    await promote(client, { modelName: name, version: "1", expectedChampion: undefined, aliases });
    await promote(client, { modelName: name, version: "2", expectedChampion: "1", aliases });
    await client.registry.deleteVersion(name, "2");
    const error = await rejectionOf(readChampion(client, name, aliases));
    expect(error.code).toBe("CHAMPION_MISSING");
    expect(error.message).toMatch(/version 2/);
    expect(error.message).toContain(`npm run rollback -- --model ${name}`);
  });

  it("given no previous version, then rollback refuses with ROLLBACK_NOTHING", async () => {
    const name = await modelWithVersions(1);
    await promote(client, { modelName: name, version: "1", expectedChampion: undefined, aliases });
    const error = await rejectionOf(rollback(client, { modelName: name, aliases }));
    expect(error.code).toBe("ROLLBACK_NOTHING");
    expect(error.message).toContain("@previous does not exist");
    expect(await aliasesOf(name)).toEqual({ champion: "1" });
  });
});
