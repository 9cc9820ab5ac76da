import { existsSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { parseTrainConfig, type TrainConfig } from "../config/train-config.js";
import { WorkbenchError } from "../shared/errors.js";
import { sha256File } from "../shared/hash.js";
import { projectRoot } from "../shared/project.js";
import { readGitState } from "../tracking/source-tags.js";

/** The recipe format this code writes; it reads this one and every older one. */
export const RECIPE_VERSION = 2;

/** A training started from a notebook: replaying it re-executes the notebook with these parameters. */
export interface NotebookSource {
  /** Path relative to the project root, e.g. notebooks/02-credit-default-training.ipynb. */
  path: string;
  /** Values of the parameters cell, as JSON (injected after that cell on replay). */
  parameters: Record<string, unknown>;
  /** Artifact path of the notebook file logged with the run. */
  artifact?: string;
}

/** Everything needed to run a training again: continuous training replays champions from this record. */
export interface Recipe {
  recipeVersion: number;
  entryPoint: string;
  argv: string[];
  config: TrainConfig;
  configFile: string | undefined;
  git: { commit: string | undefined; branch: string | undefined; dirty: boolean | undefined };
  data: {
    dataset: string;
    uri: string;
    sha256: string;
    fingerprints: Record<string, string>;
    /** Content-addressed copy of the exact file (recipe version 2). */
    snapshot?: string;
    file?: string;
  };
  notebook?: NotebookSource;
  /** Set when this run replays another. */
  replayOf?: { runId: string; data: "logged" | "current" };
  lockfileSha256: string | undefined;
  seed: number;
  backend: string;
  /**
   * With the wasm backend, the kernels networks trained on (absent in recipes written before they existed, which
   * trained on tfjs' own).
   */
  wasmKernels?: "workbench" | "tfjs";
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
  wasmKernels?: "workbench" | "tfjs" | undefined;
  now: Date;
  notebook?: NotebookSource;
  replayOf?: Recipe["replayOf"];
}): Promise<Recipe> {
  const root = projectRoot();
  const lockfile = path.join(root, "package-lock.json");
  const git = readGitState(root);
  return {
    recipeVersion: RECIPE_VERSION,
    entryPoint: input.entryPoint,
    argv: process.argv.slice(2),
    config: input.config,
    configFile:
      input.configFile === undefined ? undefined : path.relative(root, path.resolve(input.configFile)),
    git: { commit: git.commit, branch: git.branch, dirty: git.dirty },
    data: input.data,
    ...(input.notebook === undefined ? {} : { notebook: input.notebook }),
    ...(input.replayOf === undefined ? {} : { replayOf: input.replayOf }),
    lockfileSha256: existsSync(lockfile) ? await sha256File(lockfile) : undefined,
    seed: input.config.seed,
    backend: input.backend,
    ...(input.wasmKernels === undefined ? {} : { wasmKernels: input.wasmKernels }),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    createdAt: input.now.toISOString(),
  };
}

const recipeSchema = z.object({
  recipeVersion: z.number().int().min(1),
  entryPoint: z.string(),
  argv: z.array(z.string()).default([]),
  config: z.unknown(),
  configFile: z.string().optional(),
  git: z
    .object({ commit: z.string().optional(), branch: z.string().optional(), dirty: z.boolean().optional() })
    .default({}),
  data: z.object({
    dataset: z.string(),
    uri: z.string(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    fingerprints: z.record(z.string()).default({}),
    snapshot: z.string().optional(),
    file: z.string().optional(),
  }),
  notebook: z
    .object({ path: z.string(), parameters: z.record(z.unknown()), artifact: z.string().optional() })
    .optional(),
  replayOf: z.object({ runId: z.string(), data: z.enum(["logged", "current"]) }).optional(),
  lockfileSha256: z.string().optional(),
  seed: z.number().int(),
  backend: z.string(),
  wasmKernels: z.enum(["workbench", "tfjs"]).optional(),
  node: z.string(),
  platform: z.string(),
  createdAt: z.string(),
});

/**
 * Validates a recipe read back from a run. A recipe written by a newer version of the workbench is refused
 * (its meaning may have changed); older ones are read with today's defaults for fields they lack.
 */
export function parseRecipe(raw: unknown, where: string): Recipe {
  const version = (raw as { recipeVersion?: unknown } | null)?.recipeVersion;
  if (typeof version === "number" && version > RECIPE_VERSION) {
    throw new WorkbenchError(
      "RECIPE_VERSION_UNSUPPORTED",
      `${where} is recipe format ${version}; this workbench reads formats 1 to ${RECIPE_VERSION}. Update the workbench (git pull && npm run setup) to replay it.`,
      { details: { where, recipeVersion: version, supported: RECIPE_VERSION } },
    );
  }
  const parsed = recipeSchema.safeParse(raw);
  if (!parsed.success) {
    throw new WorkbenchError(
      "RECIPE_INVALID",
      `${where} is not a valid recipe: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`,
      { details: { where } },
    );
  }
  const r = parsed.data;
  const git = {
    commit: r.git.commit,
    branch: r.git.branch,
    dirty: r.git.dirty,
  };
  return {
    ...r,
    configFile: r.configFile,
    git,
    lockfileSha256: r.lockfileSha256,
    config: parseTrainConfig(r.config, `${where} (config)`),
  } as Recipe;
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
