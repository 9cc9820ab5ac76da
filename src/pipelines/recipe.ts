import { existsSync } from "node:fs";
import path from "node:path";
import type { TrainConfig } from "../config/train-config.js";
import { sha256File } from "../shared/hash.js";
import { projectRoot } from "../shared/project.js";
import { readGitState } from "../tracking/source-tags.js";

/** Everything needed to run a training again: continuous training replays champions from this record. */
export interface Recipe {
  recipeVersion: 1;
  entryPoint: string;
  argv: string[];
  config: TrainConfig;
  configFile: string | undefined;
  git: { commit: string | undefined; branch: string | undefined; dirty: boolean | undefined };
  data: { dataset: string; uri: string; sha256: string; fingerprints: Record<string, string> };
  lockfileSha256: string | undefined;
  seed: number;
  backend: string;
  node: string;
  platform: string;
  createdAt: string;
}

export async function captureRecipe(input: {
  entryPoint: string;
  config: TrainConfig;
  configFile: string | undefined;
  data: Recipe["data"];
  backend: string;
  now: Date;
}): Promise<Recipe> {
  const root = projectRoot();
  const lockfile = path.join(root, "package-lock.json");
  const git = readGitState(root);
  return {
    recipeVersion: 1,
    entryPoint: input.entryPoint,
    argv: process.argv.slice(2),
    config: input.config,
    configFile:
      input.configFile === undefined ? undefined : path.relative(root, path.resolve(input.configFile)),
    git: { commit: git.commit, branch: git.branch, dirty: git.dirty },
    data: input.data,
    lockfileSha256: existsSync(lockfile) ? await sha256File(lockfile) : undefined,
    seed: input.config.seed,
    backend: input.backend,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    createdAt: input.now.toISOString(),
  };
}

/** Flattens a nested config into `a.b.c` params (arrays as JSON), the way it is logged to MLflow. */
export function flattenParams(value: unknown, prefix = ""): Record<string, string> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { [prefix]: typeof value === "string" ? value : JSON.stringify(value) };
  }
  const out: Record<string, string> = {};
  for (const [key, child] of Object.entries(value))
    Object.assign(out, flattenParams(child, prefix === "" ? key : `${prefix}.${key}`));
  return out;
}
