import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { z } from "zod";
import { WorkbenchError } from "../shared/errors.js";
import type { MlflowClient } from "../tracking/client.js";

/** Written into a cache entry after a complete download; what reuse checks the files against. */
export const MANIFEST_FILE = ".workbench-manifest.json";
const MANIFEST_FORMAT = 1;

const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  source: z.record(z.string()),
  files: z.record(z.object({ size: z.number().int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
});
export type CacheManifest = z.infer<typeof manifestSchema>;

/** What a cache entry holds, as far as the tracking server can tell: one immutable package. */
export type CachedPackage =
  | { kind: "logged-model"; modelId: string }
  | { kind: "version"; name: string; version: string; source: string; runId: string | undefined }
  | { kind: "run"; runId: string; path: string };

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * The cache folder of one package, below `root`: per tracking server (a hash of its URI), then per
 * logged model id, run artifact path, or (for versions without a logged model) name, version and a hash
 * of the version's source. A name and version alone are not enough: version 1 of "m" on another server,
 * or of a deleted and re-created "m", is another model.
 */
export function cacheEntryDir(root: string, trackingUri: string, entry: CachedPackage): string {
  const server = path.join(root, "servers", sha256(trackingUri).slice(0, 16));
  switch (entry.kind) {
    case "logged-model":
      return path.join(server, "logged-models", encodeURIComponent(entry.modelId));
    case "run":
      return path.join(server, "runs", encodeURIComponent(entry.runId), encodeURIComponent(entry.path));
    case "version": {
      const origin = sha256(`${entry.source}\n${entry.runId ?? ""}`).slice(0, 16);
      return path.join(server, "versions", encodeURIComponent(entry.name), `${entry.version}-${origin}`);
    }
  }
}

async function fileDigest(file: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  return hash.digest("hex");
}

/** Every regular file below `dir`, as posix paths relative to it, the manifest left out. */
async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join("/"))
    .filter((relative) => relative !== MANIFEST_FILE)
    .sort();
}

/** Hashes every file of `dir` and writes the manifest beside them. */
export async function writeManifest(dir: string, source: Record<string, string>): Promise<CacheManifest> {
  const files: CacheManifest["files"] = {};
  for (const relative of await filesBelow(dir)) {
    const file = path.join(dir, ...relative.split("/"));
    files[relative] = { size: (await stat(file)).size, sha256: await fileDigest(file) };
  }
  const manifest: CacheManifest = { format: MANIFEST_FORMAT, source, files };
  await writeFile(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/**
 * True when `dir` holds exactly the files of its manifest with their recorded sizes and sha256 digests;
 * false for a missing, partial, tampered or manifest-less entry.
 */
export async function verifyManifest(dir: string): Promise<boolean> {
  let manifest: CacheManifest;
  try {
    const parsed = manifestSchema.safeParse(
      JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), "utf8")),
    );
    if (!parsed.success) return false;
    manifest = parsed.data;
    const present = await filesBelow(dir);
    const listed = Object.keys(manifest.files).sort();
    if (present.length !== listed.length || present.some((f, i) => f !== listed[i])) return false;
    for (const [relative, expected] of Object.entries(manifest.files)) {
      const file = path.join(dir, ...relative.split("/"));
      if ((await stat(file)).size !== expected.size) return false;
      if ((await fileDigest(file)) !== expected.sha256) return false;
    }
  } catch {
    return false;
  }
  return Object.keys(manifest.files).length > 0;
}

/**
 * Downloads the artifact tree `<root>/<artifactPath>` into `dir` and checks every file's size against
 * the server's listing, so a truncated transfer never passes for a package.
 */
export async function downloadVerified(
  client: MlflowClient,
  root: string,
  artifactPath: string | undefined,
  dir: string,
): Promise<void> {
  const prefix = artifactPath ?? "";
  const listed = await client.artifacts.listRecursive(root, artifactPath);
  if (listed.length === 0) {
    throw new WorkbenchError(
      "MODEL_PACKAGE_INVALID",
      `No files at ${root}${prefix === "" ? "" : `/${prefix}`}: the model's artifacts are missing on the tracking server.`,
      { details: { root, artifactPath } },
    );
  }
  for (const file of listed) {
    const inside = prefix === "" ? file.path : file.path.slice(prefix.length + 1);
    const target = path.join(dir, ...inside.split("/"));
    await client.artifacts.downloadFile(root, file.path, target);
    const size = (await stat(target)).size;
    if (file.fileSize !== undefined && size !== file.fileSize) {
      throw new WorkbenchError(
        "MODEL_DOWNLOAD_INCOMPLETE",
        `Downloaded ${file.path} has ${size} bytes, the tracking server lists ${file.fileSize}: the transfer was cut short. Try again.`,
        { details: { root, path: file.path, expected: file.fileSize, actual: size } },
      );
    }
  }
}

/**
 * Returns `dir` once it holds a verified copy of the package: reused when its manifest checks out,
 * otherwise (missing, partial or tampered) fetched again through `download` into a temporary folder,
 * hashed into a manifest and moved into place.
 */
export async function ensureCachedPackage(
  dir: string,
  source: Record<string, string>,
  download: (into: string) => Promise<void>,
): Promise<{ dir: string; reused: boolean }> {
  if (await verifyManifest(dir)) return { dir, reused: true };
  // pid plus a random suffix: two loads of one entry (a hot swap racing a reload) never share a folder.
  const partial = `${dir}.partial-${process.pid}-${randomBytes(4).toString("hex")}`;
  await mkdir(path.dirname(dir), { recursive: true });
  try {
    await download(partial);
    await writeManifest(partial, source);
    await rm(dir, { recursive: true, force: true });
    await rename(partial, dir).catch(async (error: NodeJS.ErrnoException) => {
      // Another process put a copy in place between the rm and the rename: use it when it checks out.
      if ((error.code === "ENOTEMPTY" || error.code === "EEXIST") && (await verifyManifest(dir))) {
        await rm(partial, { recursive: true, force: true });
        return;
      }
      throw error;
    });
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
  return { dir, reused: false };
}
