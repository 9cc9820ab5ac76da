import { existsSync } from "node:fs";
import path from "node:path";
import {
  type CachedPackage,
  cacheEntryDir,
  downloadVerified,
  ensureCachedPackage,
} from "../registry/model-cache.js";
import { loadModelPackage } from "../registry/model-package.js";
import { ConfigError } from "../shared/errors.js";
import { projectRoot } from "../shared/project.js";
import type { MlflowClient } from "../tracking/client.js";
import { type ModelOrigin, Predictor } from "./predictor.js";

export type ModelRef =
  | { kind: "alias"; name: string; alias: string }
  | { kind: "version"; name: string; version: string }
  | { kind: "run"; runId: string; path: string }
  | { kind: "local"; dir: string };

/** Parses `models:/name@alias`, `models:/name/version`, `runs:/<run id>/<path>` or a local directory. */
export function parseModelUri(uri: string): ModelRef {
  const alias = /^models:\/([^/@]+)@([A-Za-z0-9_-]+)$/.exec(uri);
  if (alias) return { kind: "alias", name: decodeURIComponent(alias[1]!), alias: alias[2]! };
  const version = /^models:\/([^/@]+)\/(\d+)$/.exec(uri);
  if (version) return { kind: "version", name: decodeURIComponent(version[1]!), version: version[2]! };
  const run = /^runs:\/([0-9a-f]{32})\/(.+)$/.exec(uri);
  if (run) return { kind: "run", runId: run[1]!, path: run[2]!.replace(/\/+$/, "") };
  if (/^[a-z][a-z0-9+.-]*:\//i.test(uri)) {
    throw new ConfigError(
      `Unsupported model URI '${uri}': use models:/<name>@<alias>, models:/<name>/<version>, runs:/<run id>/<path> or a local directory.`,
      {
        code: "MODEL_URI_INVALID",
      },
    );
  }
  return { kind: "local", dir: path.resolve(uri) };
}

/** Where downloaded models are cached: <project>/.cache/models (or WORKBENCH_MODEL_CACHE). */
export function modelCacheDir(): string {
  return process.env.WORKBENCH_MODEL_CACHE ?? path.join(projectRoot(), ".cache", "models");
}

/** The registry version a reference points at right now (what hot swap polls). */
export async function currentVersion(client: MlflowClient, ref: ModelRef): Promise<string | undefined> {
  if (ref.kind === "alias") return (await client.registry.getVersionByAlias(ref.name, ref.alias)).version;
  if (ref.kind === "version") return ref.version;
  return undefined;
}

/**
 * Resolves a model URI, downloads the package through the tracking client into the cache (once per
 * tracking server and logged model; files land atomically and are checked against a sha256 manifest
 * on every reuse) and loads it.
 */
export async function loadPredictor(uri: string, client: MlflowClient | undefined): Promise<Predictor> {
  const ref = parseModelUri(uri);
  if (ref.kind === "local") {
    if (!existsSync(path.join(ref.dir, "model-meta.json"))) {
      throw new ConfigError(`${ref.dir} is not a model package (no model-meta.json).`, {
        code: "MODEL_URI_INVALID",
      });
    }
    const model = await loadModelPackage(ref.dir);
    return new Predictor(model, {
      uri,
      name: model.meta.name,
      version: undefined,
      alias: undefined,
      runId: undefined,
      modelId: undefined,
    });
  }
  if (client === undefined)
    throw new ConfigError(`Loading ${uri} needs a tracking server: set MLFLOW_TRACKING_URI.`, {
      code: "TRACKING_URI_MISSING",
    });
  let origin: ModelOrigin;
  let artifactRoot: string;
  let artifactPath: string | undefined;
  let entry: CachedPackage;
  if (ref.kind === "run") {
    const run = await client.runs.get(ref.runId);
    origin = {
      uri,
      name: ref.path,
      version: undefined,
      alias: undefined,
      runId: ref.runId,
      modelId: undefined,
    };
    artifactRoot = run.info.artifactUri;
    artifactPath = ref.path;
    entry = { kind: "run", runId: ref.runId, path: ref.path };
  } else {
    const version =
      ref.kind === "alias"
        ? await client.registry.getVersionByAlias(ref.name, ref.alias)
        : await client.registry.getVersion(ref.name, ref.version);
    origin = {
      uri,
      name: version.name,
      version: version.version,
      alias: ref.kind === "alias" ? ref.alias : undefined,
      runId: version.runId,
      modelId: version.modelId,
    };
    if (version.modelId !== undefined) {
      artifactRoot = (await client.loggedModels.get(version.modelId)).artifactUri;
      entry = { kind: "logged-model", modelId: version.modelId };
    } else {
      artifactRoot = await client.registry.getVersionDownloadUri(version.name, version.version);
      entry = {
        kind: "version",
        name: version.name,
        version: version.version,
        source: version.source,
        runId: version.runId,
      };
    }
  }
  const { dir } = await ensureCachedPackage(
    cacheEntryDir(modelCacheDir(), client.trackingUri, entry),
    {
      trackingUri: client.trackingUri,
      uri,
      artifactRoot,
      ...(origin.modelId ? { modelId: origin.modelId } : {}),
    },
    (into) => downloadVerified(client, artifactRoot, artifactPath, into),
  );
  return new Predictor(await loadModelPackage(dir), origin);
}
