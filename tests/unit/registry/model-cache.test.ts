import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  cacheEntryDir,
  ensureCachedPackage,
  MANIFEST_FILE,
  verifyManifest,
  writeManifest,
} from "../../../src/registry/model-cache.js";
import { tempDir } from "../../helpers/temp.js";

const tmp = tempDir("model-cache-");

/** A fake download: two files, counted. */
function fakeDownload(counter: { calls: number }, weights = "weights-v1") {
  return async (into: string) => {
    counter.calls++;
    await mkdir(path.join(into, "tfjs"), { recursive: true });
    await writeFile(path.join(into, "model-meta.json"), '{"name":"m"}\n');
    await writeFile(path.join(into, "tfjs", "weights.bin"), weights);
  };
}

async function freshEntry(name: string): Promise<string> {
  const root = path.dirname(await tmp.file(".keep", ""));
  return path.join(root, name, "entry");
}

describe("cacheEntryDir", () => {
  it("given the same name and version on two tracking servers, then their entries differ", () => {
    const version = { kind: "version", name: "m", version: "1", source: "models:/m-1", runId: "r" } as const;
    const a = cacheEntryDir("/cache", "http://a:5000", version);
    const b = cacheEntryDir("/cache", "http://b:5000", version);
    expect(a, "the tracking server is part of the key").not.toBe(b);
  });

  it("given a version re-created with another source on one server, then its entry differs", () => {
    const one = {
      kind: "version",
      name: "m",
      version: "1",
      source: "runs:/aaa/model",
      runId: "aaa",
    } as const;
    const other = { ...one, source: "runs:/bbb/model", runId: "bbb" };
    expect(cacheEntryDir("/c", "http://a", one)).not.toBe(cacheEntryDir("/c", "http://a", other));
  });

  it("given a run artifact path with '..', then the entry stays inside the cache", () => {
    const dir = cacheEntryDir("/cache", "http://a", { kind: "run", runId: "r", path: "../../etc" });
    expect(path.relative("/cache", dir).startsWith(".."), `${dir} escapes /cache`).toBe(false);
  });
});

describe("the cache manifest", () => {
  it("given a written manifest, then verification passes; a changed, missing or extra file fails it", async () => {
    const dir = await freshEntry("manifest");
    await fakeDownload({ calls: 0 })(dir);
    const manifest = await writeManifest(dir, { modelId: "m-1" });
    expect(Object.keys(manifest.files).sort()).toEqual(["model-meta.json", "tfjs/weights.bin"]);
    expect(await verifyManifest(dir), "an intact entry").toBe(true);

    await writeFile(path.join(dir, "tfjs", "weights.bin"), "weights-v2");
    expect(await verifyManifest(dir), "same size, other bytes").toBe(false);
    await writeFile(path.join(dir, "tfjs", "weights.bin"), "weights-v1");
    expect(await verifyManifest(dir), "restored").toBe(true);

    await writeFile(path.join(dir, "tfjs", "extra.bin"), "x");
    expect(await verifyManifest(dir), "a file the download did not bring").toBe(false);
    await rm(path.join(dir, "tfjs", "extra.bin"));

    await rm(path.join(dir, "tfjs", "weights.bin"));
    expect(await verifyManifest(dir), "a missing file").toBe(false);
  });

  it("given an entry without a manifest (a pre-digest cache or an interrupted copy), then it is not trusted", async () => {
    const dir = await freshEntry("no-manifest");
    await fakeDownload({ calls: 0 })(dir);
    expect(await verifyManifest(dir)).toBe(false);
    await writeFile(path.join(dir, MANIFEST_FILE), "{not json");
    expect(await verifyManifest(dir)).toBe(false);
  });
});

describe("ensureCachedPackage", () => {
  it("given a verified entry, then it is reused; given a tampered one, then it is downloaded again", async () => {
    const dir = await freshEntry("ensure");
    const counter = { calls: 0 };
    expect(await ensureCachedPackage(dir, {}, fakeDownload(counter))).toEqual({ dir, reused: false });
    expect(await ensureCachedPackage(dir, {}, fakeDownload(counter))).toEqual({ dir, reused: true });
    expect(counter.calls, "the second load used the cache").toBe(1);

    await writeFile(path.join(dir, "tfjs", "weights.bin"), "tampered!!");
    expect(await ensureCachedPackage(dir, {}, fakeDownload(counter))).toEqual({ dir, reused: false });
    expect(counter.calls).toBe(2);
    expect(await readFile(path.join(dir, "tfjs", "weights.bin"), "utf8")).toBe("weights-v1");
  });

  it("given a download that fails halfway, then no entry and no temporary folder is left", async () => {
    const dir = await freshEntry("failing");
    const failing = async (into: string) => {
      await mkdir(into, { recursive: true });
      await writeFile(path.join(into, "model-meta.json"), "{}");
      throw new Error("connection reset");
    };
    await expect(ensureCachedPackage(dir, {}, failing)).rejects.toThrow("connection reset");
    expect(await readdir(path.dirname(dir)), "nothing left behind").toEqual([]);
  });
});
