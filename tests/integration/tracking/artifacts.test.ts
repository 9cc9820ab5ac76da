import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { proxyPathOf } from "../../../src/tracking/artifacts.js";
import type { Run } from "../../../src/tracking/types.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";

const client = testClient();
let dir: string;
let run: Run;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "artifacts-test-"));
  const experimentId = await client.experiments.create(uniqueName("artifacts"));
  run = await client.runs.create({ experimentId });
});
afterAll(async () => {
  client.close();
  await rm(dir, { recursive: true, force: true });
});

async function sha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

describe("artifacts through the mlflow-artifacts proxy", () => {
  it("uploads a file, lists it and downloads identical bytes", async () => {
    const file = path.join(dir, "report.json");
    await writeFile(file, JSON.stringify({ auc: 0.77 }));
    const relative = await client.artifacts.uploadFile(run.info.artifactUri, file, "reports");
    expect(relative).toBe("reports/report.json");
    const listing = await client.artifacts.list(run.info.artifactUri, "reports");
    expect(listing).toEqual([{ path: "reports/report.json", isDir: false, fileSize: 12 }]);
    const root = await client.artifacts.list(run.info.artifactUri);
    expect(root).toEqual([expect.objectContaining({ path: "reports", isDir: true })]);
    const back = await client.artifacts.downloadFile(
      run.info.artifactUri,
      "reports/report.json",
      path.join(dir, "out", "r.json"),
    );
    expect(await readFile(back, "utf8")).toBe('{"auc":0.77}');
  });

  it("uploads and downloads a directory tree with nested folders and awkward names", async () => {
    const tree = path.join(dir, "model");
    await mkdir(path.join(tree, "tfjs", "shards"), { recursive: true });
    await writeFile(path.join(tree, "MLmodel"), "flavors: {}\n");
    await writeFile(path.join(tree, "tfjs", "model.json"), "{}");
    await writeFile(path.join(tree, "tfjs", "shards", "weights 1.bin"), randomBytes(4096));
    const uploaded = await client.artifacts.uploadDirectory(run.info.artifactUri, tree, "model");
    expect(uploaded).toEqual(["model/MLmodel", "model/tfjs/model.json", "model/tfjs/shards/weights 1.bin"]);
    const files = await client.artifacts.listRecursive(run.info.artifactUri, "model");
    expect(files.map((f) => f.path).sort()).toEqual(uploaded);
    const target = path.join(dir, "downloaded");
    const written = await client.artifacts.downloadDirectory(run.info.artifactUri, "model", target);
    expect(written.map((f) => path.relative(target, f)).sort()).toEqual([
      "MLmodel",
      "tfjs/model.json",
      "tfjs/shards/weights 1.bin",
    ]);
    expect(await sha256(path.join(target, "tfjs", "shards", "weights 1.bin"))).toBe(
      await sha256(path.join(tree, "tfjs", "shards", "weights 1.bin")),
    );
  });

  it("streams a 192 MB file both ways without holding it in memory", async () => {
    const big = path.join(dir, "big.bin");
    const block = randomBytes(1024 * 1024);
    await writeFile(big, Buffer.alloc(0));
    for (let i = 0; i < 192; i++) await writeFile(big, block, { flag: "a" });
    global.gc?.();
    const before = process.memoryUsage();
    let peak = 0;
    const sampler = setInterval(() => {
      const now = process.memoryUsage();
      peak = Math.max(peak, now.heapUsed + now.arrayBuffers - (before.heapUsed + before.arrayBuffers));
    }, 5);
    try {
      await client.artifacts.uploadFile(run.info.artifactUri, big, "big");
      await client.artifacts.downloadFile(
        run.info.artifactUri,
        "big/big.bin",
        path.join(dir, "big-back.bin"),
      );
    } finally {
      clearInterval(sampler);
    }
    expect(await sha256(path.join(dir, "big-back.bin"))).toBe(await sha256(big));
    // Held whole, the file would add 192 MB; streamed, growth is GC noise (~35 MB seen). Half the size is the bar.
    expect(peak, "heap + buffers grew by less than half the file size").toBeLessThan(96 * 1024 * 1024);
  });

  it("deletes an artifact", async () => {
    const file = path.join(dir, "tmp.txt");
    await writeFile(file, "x");
    await client.artifacts.uploadFile(run.info.artifactUri, file, "scratch");
    await client.artifacts.delete(run.info.artifactUri, "scratch/tmp.txt");
    expect(await client.artifacts.list(run.info.artifactUri, "scratch")).toEqual([]);
  });

  it("given a missing local file or a missing artifact, then the errors say which", async () => {
    await expect(
      client.artifacts.uploadFile(run.info.artifactUri, path.join(dir, "nope.txt")),
    ).rejects.toMatchObject({
      code: "ARTIFACT_SOURCE_MISSING",
      message: expect.stringContaining("nope.txt"),
    });
    const target = path.join(dir, "never.txt");
    await expect(
      client.artifacts.downloadFile(run.info.artifactUri, "no/such/file.txt", target),
    ).rejects.toMatchObject({
      status: 404,
    });
    await expect(readFile(target), "no partial file is left behind").rejects.toThrow();
  });

  it("given an artifact root outside the proxy, then ARTIFACT_SCHEME_UNSUPPORTED explains how to serve artifacts", () => {
    expect(proxyPathOf("mlflow-artifacts:/1/abc/artifacts")).toBe("1/abc/artifacts");
    expect(proxyPathOf("mlflow-artifacts://host:5000/1/abc/artifacts/")).toBe("1/abc/artifacts");
    expect(() => proxyPathOf("s3://bucket/1/abc")).toThrow(/--serve-artifacts/);
  });

  it("given a path that climbs out of the root, then it is refused", async () => {
    await expect(
      client.artifacts.downloadFile(run.info.artifactUri, "../../etc/passwd", path.join(dir, "p")),
    ).rejects.toMatchObject({
      code: "ARTIFACT_PATH_INVALID",
    });
  });
});
