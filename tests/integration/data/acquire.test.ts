import { execFile } from "node:child_process";
import { createReadStream, existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireDataset } from "../../../src/data/acquire.js";
import { loadManifest } from "../../../src/data/manifest.js";
import { projectRoot, venvExecutable } from "../../../src/shared/project.js";
import { freePort } from "../../../src/tracking/local-server.js";
import { datasetMirror } from "../../helpers/datasets.js";

const exec = promisify(execFile);
const mirror = datasetMirror();
let dir: string;
let server: http.Server;
let base: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "acquire-"));
  // A stand-in for the official hosts: serves files from dir/www, 404 otherwise.
  server = http.createServer((req, res) => {
    const file = path.join(dir, "www", decodeURIComponent(req.url ?? "/"));
    if (!existsSync(file)) {
      res.writeHead(404).end("not found");
      return;
    }
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await mkdir(path.join(dir, "www"), { recursive: true });
});
afterAll(async () => {
  server.close();
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(mirror === undefined)("dataset acquisition", () => {
  it("given the mirror, then the file is used in place after its sha256 is checked", async () => {
    const manifest = await loadManifest("credit-default");
    const file = await acquireDataset(manifest, {
      mirror: mirror!,
      dataDir: path.join(dir, "cache-1"),
      download: false,
    });
    expect(file).toMatchObject({
      origin: "mirror",
      sha256: manifest.sha256,
      path: path.join(mirror!, "credit-default", "UCI_Credit_Card.csv"),
    });
  });

  it("given a corrupt copy, then DATA_CHECKSUM_MISMATCH gives both checksums and what to do", async () => {
    const manifest = await loadManifest("hpc");
    const fake = path.join(dir, "fake-mirror", "hpc");
    await mkdir(fake, { recursive: true });
    await writeFile(path.join(fake, "hpc_data.csv"), "protocol,class\nE,VF\n");
    await expect(
      acquireDataset(manifest, {
        mirror: path.dirname(fake),
        dataDir: path.join(dir, "cache-2"),
        download: false,
      }),
    ).rejects.toMatchObject({
      code: "DATA_CHECKSUM_MISMATCH",
      message: expect.stringContaining(`does not match the manifest's ${manifest.sha256}`),
    });
  });

  it("given neither cache nor mirror and downloads off, then DATA_NOT_AVAILABLE says which command fetches it", async () => {
    const manifest = await loadManifest("hpc");
    await expect(
      acquireDataset(manifest, {
        mirror: path.join(dir, "empty"),
        dataDir: path.join(dir, "cache-3"),
        download: false,
      }),
    ).rejects.toMatchObject({
      code: "DATA_NOT_AVAILABLE",
      message: expect.stringContaining("npm run data -- hpc"),
    });
  });

  it.each([
    ["hpc", "r-rda-tarball"],
    ["credit-default", "uci-xls-zip"],
  ])(
    "given the official %s download (%s), then it is converted to the canonical CSV with the manifest's exact sha256",
    async (name, format) => {
      const manifest = await loadManifest(name);
      expect(manifest.source.format).toBe(format);
      const archive = path.join(dir, "www", `${name}-official`);
      await exec(
        venvExecutable("python"),
        [
          path.join(projectRoot(), "tests/fixtures/python/make_official.py"),
          format,
          path.join(mirror!, name, manifest.file!),
          archive,
          manifest.source.entry!,
        ],
        { maxBuffer: 1 << 24 },
      );
      const cache = path.join(dir, `cache-${name}`);
      const file = await acquireDataset(manifest, {
        dataDir: cache,
        env: {},
        sourceUrl: `${base}/${name}-official`,
      });
      expect(file).toMatchObject({
        origin: "download",
        sha256: manifest.sha256,
        path: path.join(cache, name, manifest.file!),
      });
      const again = await acquireDataset(manifest, { dataDir: cache, env: {}, download: false });
      expect(again.origin, "then it is served from the cache").toBe("cache");
    },
    180_000,
  );

  it("given a 404 or an unreachable host, then DATA_DOWNLOAD_FAILED names the URL", async () => {
    const manifest = await loadManifest("hpc");
    await expect(
      acquireDataset(manifest, {
        dataDir: path.join(dir, "cache-4"),
        env: {},
        sourceUrl: `${base}/missing.tar.gz`,
      }),
    ).rejects.toMatchObject({
      code: "DATA_DOWNLOAD_FAILED",
      message: expect.stringContaining("HTTP 404"),
    });
    const port = await freePort();
    await expect(
      acquireDataset(manifest, {
        dataDir: path.join(dir, "cache-5"),
        env: {},
        sourceUrl: `http://127.0.0.1:${port}/x.tar.gz`,
      }),
    ).rejects.toMatchObject({
      code: "DATA_DOWNLOAD_FAILED",
      message: expect.stringContaining("--mirror"),
    });
  });

  it("given a converter failure, then DATA_CONVERSION_FAILED and no partial file", async () => {
    const manifest = await loadManifest("hpc");
    await copyFile(path.join(mirror!, "hpc", "hpc_data.csv"), path.join(dir, "www", "not-a-tarball"));
    const cache = path.join(dir, "cache-6");
    await expect(
      acquireDataset(manifest, { dataDir: cache, env: {}, sourceUrl: `${base}/not-a-tarball` }),
    ).rejects.toMatchObject({ code: "DATA_CONVERSION_FAILED" });
    expect(existsSync(path.join(cache, "hpc", "hpc_data.csv"))).toBe(false);
  });
});

describe.skipIf(mirror === undefined)("data tests on the real datasets", () => {
  it("credit-default: 30,000 rows, the documented class balance, undocumented codes recoded, no nulls or duplicate ids", async () => {
    const { readValidatedCsv } = await import("../../../src/data/validate.js");
    const manifest = await loadManifest("credit-default");
    const { table, report } = await readValidatedCsv(
      path.join(mirror!, "credit-default", manifest.file!),
      {
        columns: manifest.columns,
        idColumns: manifest.idColumns,
        target: { column: manifest.target.column, classes: manifest.target.classes },
      },
      { maxBadFraction: 0 },
    );
    expect(report).toMatchObject({
      rowsRead: 30_000,
      rowsQuarantined: 0,
      recoded: { EDUCATION: 345, MARRIAGE: 54 },
    });
    expect(table.target.filter((t) => t === "1").length).toBe(6_636);
    expect(new Set(table.categorical.EDUCATION)).toEqual(new Set(["1", "2", "3", "4"]));
    expect(new Set(table.ids.ID).size).toBe(30_000);
  });
});
