import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { TrackingError } from "../shared/errors.js";
import type { HttpTransport } from "./http.js";
import type { FileInfo } from "./types.js";
import { fileInfoSchema } from "./wire.js";

const PROXY = "/api/2.0/mlflow-artifacts/artifacts";

const CONTENT_TYPES: Record<string, string> = {
  ".json": "application/json",
  ".html": "text/html",
  ".txt": "text/plain",
  ".csv": "text/csv",
  ".yaml": "application/x-yaml",
  ".yml": "application/x-yaml",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".bin": "application/octet-stream",
};

/**
 * Turns an artifact root (a run's or logged model's artifact_uri) into a path under the server's
 * mlflow-artifacts proxy. Other schemes (s3:, file:, …) would need the storage's own credentials.
 */
export function proxyPathOf(artifactUri: string): string {
  const match = /^mlflow-artifacts:(?:\/\/[^/]*)?\/?(.*)$/.exec(artifactUri);
  if (match === null) {
    throw new TrackingError(
      "ARTIFACT_SCHEME_UNSUPPORTED",
      `Artifact location '${artifactUri}' is not served through the tracking server. ` +
        "Start the server with --serve-artifacts (the default of `npm run mlflow`) so that artifacts go through its mlflow-artifacts proxy.",
      { details: { artifactUri } },
    );
  }
  return match[1]!.replace(/\/+$/, "");
}

function joinArtifactPath(...parts: (string | undefined)[]): string {
  return parts
    .filter((p): p is string => p !== undefined && p !== "")
    .flatMap((p) => p.split("/"))
    .filter((segment) => segment !== "" && segment !== ".")
    .join("/");
}

function assertSafeRelative(relative: string): void {
  if (relative.split("/").some((segment) => segment === "..") || path.isAbsolute(relative)) {
    throw new TrackingError("ARTIFACT_PATH_INVALID", `Artifact path '${relative}' escapes its root.`, {
      details: { path: relative },
    });
  }
}

function encodePath(p: string): string {
  return p.split("/").map(encodeURIComponent).join("/");
}

async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, Math.max(1, items.length)) }, worker));
}

/**
 * Artifacts through the server's mlflow-artifacts proxy: files are streamed both ways, never held whole.
 * `root` is an artifact URI such as a run's `info.artifactUri` or a logged model's `artifactUri`.
 */
export class ArtifactsApi {
  constructor(
    private readonly http: HttpTransport,
    private readonly concurrency = 4,
  ) {}

  /** Uploads one file to `<root>/<artifactPath>/<file name>`; returns the artifact's relative path. */
  async uploadFile(root: string, localFile: string, artifactPath?: string): Promise<string> {
    const info = await stat(localFile).catch((cause: unknown) => {
      throw new TrackingError("ARTIFACT_SOURCE_MISSING", `Cannot upload '${localFile}': it does not exist.`, {
        cause,
      });
    });
    if (!info.isFile()) {
      throw new TrackingError(
        "ARTIFACT_SOURCE_MISSING",
        `Cannot upload '${localFile}': it is not a file.`,
        {},
      );
    }
    const relative = joinArtifactPath(artifactPath, path.basename(localFile));
    assertSafeRelative(relative);
    const target = `${PROXY}/${encodePath(joinArtifactPath(proxyPathOf(root), relative))}`;
    const type = CONTENT_TYPES[path.extname(localFile).toLowerCase()] ?? "application/octet-stream";
    await this.http.upload(target, () => createReadStream(localFile), info.size, type);
    return relative;
  }

  /** Uploads every file below `localDir`, keeping the tree, under `<root>/<artifactPath>`. */
  async uploadDirectory(root: string, localDir: string, artifactPath?: string): Promise<string[]> {
    const entries = await readdir(localDir, { recursive: true, withFileTypes: true }).catch(
      (cause: unknown) => {
        throw new TrackingError(
          "ARTIFACT_SOURCE_MISSING",
          `Cannot upload '${localDir}': no such directory.`,
          { cause },
        );
      },
    );
    const files = entries
      .filter((e) => e.isFile())
      .map((e) => path.join(e.parentPath, e.name))
      .sort();
    const uploaded: string[] = [];
    await mapLimit(files, this.concurrency, async (file) => {
      const subdir = path.relative(localDir, path.dirname(file)).split(path.sep).join("/");
      uploaded.push(await this.uploadFile(root, file, joinArtifactPath(artifactPath, subdir)));
    });
    return uploaded.sort();
  }

  /** Lists the direct children of `<root>/<artifactPath>`; paths come back relative to `root`. */
  async list(root: string, artifactPath?: string): Promise<FileInfo[]> {
    const prefix = joinArtifactPath(artifactPath);
    const res = await this.http.json({
      method: "GET",
      path: PROXY,
      query: { path: joinArtifactPath(proxyPathOf(root), prefix) },
      schema: z.object({ files: z.array(fileInfoSchema).default([]) }),
    });
    return res.files.map((f) => ({ ...f, path: joinArtifactPath(prefix, path.posix.basename(f.path)) }));
  }

  /** Lists every file below `<root>/<artifactPath>`, depth first. */
  async listRecursive(root: string, artifactPath?: string): Promise<FileInfo[]> {
    const out: FileInfo[] = [];
    for (const entry of await this.list(root, artifactPath)) {
      if (entry.isDir) out.push(...(await this.listRecursive(root, entry.path)));
      else out.push(entry);
    }
    return out;
  }

  /** Streams one artifact to `localFile` (written to a temporary name, then renamed: no partial files). */
  async downloadFile(root: string, artifactPath: string, localFile: string): Promise<string> {
    const relative = joinArtifactPath(artifactPath);
    assertSafeRelative(relative);
    await mkdir(path.dirname(localFile), { recursive: true });
    const partial = `${localFile}.partial-${process.pid}`;
    try {
      await this.http.download(
        `${PROXY}/${encodePath(joinArtifactPath(proxyPathOf(root), relative))}`,
        {},
        () => createWriteStream(partial),
      );
      await rename(partial, localFile);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
    return localFile;
  }

  /** Downloads the tree below `<root>/<artifactPath>` into `localDir`; returns the local files. */
  async downloadDirectory(
    root: string,
    artifactPath: string | undefined,
    localDir: string,
  ): Promise<string[]> {
    const prefix = joinArtifactPath(artifactPath);
    const files = await this.listRecursive(root, prefix);
    const written: string[] = [];
    await mapLimit(files, this.concurrency, async (file) => {
      const inside = prefix === "" ? file.path : file.path.slice(prefix.length + 1);
      assertSafeRelative(inside);
      const target = path.join(localDir, ...inside.split("/"));
      written.push(await this.downloadFile(root, file.path, target));
    });
    return written.sort();
  }

  /** Deletes one artifact file or directory. */
  async delete(root: string, artifactPath: string): Promise<void> {
    const relative = joinArtifactPath(artifactPath);
    assertSafeRelative(relative);
    await this.http.json({
      method: "DELETE",
      path: `${PROXY}/${encodePath(joinArtifactPath(proxyPathOf(root), relative))}`,
      schema: z.unknown(),
    });
  }
}
