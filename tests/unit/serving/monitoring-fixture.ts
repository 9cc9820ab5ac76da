// Real model packages with reference profiles for the service-signal, drift-gauge and shadow tests: copies of the
// format-1 fixture packages (tests/fixtures/packages: x1, x2 numeric, c categorical), each given a reference
// profile built by monitoring/profile.ts from seeded rows scored by the package itself, as training writes one.
// Not a test file.
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { buildReferenceProfile, writeReferenceProfile } from "../../../src/monitoring/profile.js";
import type { ReferenceProfile } from "../../../src/monitoring/types.js";
import { loadModelPackage } from "../../../src/registry/model-package.js";
import { rowsToTable } from "../../../src/serving/input.js";
import { Predictor } from "../../../src/serving/predictor.js";
import { createRng } from "../../../src/shared/random.js";

const FIXTURES = path.resolve("tests/fixtures/packages");

export type Row = { x1: number; x2: number; c: string };

/** Rows as the reference was drawn: x1 uniform in [-5, 5] (2 decimals), x2 an integer in [0, 100], c in a, b, c. */
export function referenceRows(n: number, seed: number): Row[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => ({
    x1: Math.round((rng() * 10 - 5) * 100) / 100,
    x2: Math.floor(rng() * 101),
    c: ["a", "b", "c"][Math.floor(rng() * 3)]!,
  }));
}

/** The same population shifted: x1 moved by +4, x2 halved, c only "a". */
export function shiftedRows(n: number, seed: number): Row[] {
  return referenceRows(n, seed).map((r) => ({ x1: r.x1 + 4, x2: Math.floor(r.x2 / 2), c: "a" }));
}

export interface ProfiledPackage {
  dir: string;
  predictor: Predictor;
  profile: ReferenceProfile | undefined;
}

const scratch: string[] = [];

/** Removes every package directory made so far. */
export async function removePackages(): Promise<void> {
  for (const dir of scratch.splice(0)) await rm(dir, { recursive: true, force: true });
}

/**
 * A copy of a fixture package (`v1-logistic`: classes no/yes, threshold 0.4; `v1-mlp`: classes A/B/C), loaded as a
 * registry version `version` of `name`; with a reference profile of `referenceRows` rows (seed 1) unless
 * `profile: false`. `meta` overrides fields of its model-meta.json (a challenger with other inputs).
 */
export async function profiledPackage(
  options: {
    fixture?: "v1-logistic" | "v1-mlp";
    name?: string;
    version?: string;
    alias?: string;
    profile?: boolean;
    referenceRows?: number;
    meta?: Record<string, unknown>;
  } = {},
): Promise<ProfiledPackage> {
  const fixture = options.fixture ?? "v1-logistic";
  const dir = await mkdtemp(path.join(os.tmpdir(), "served-"));
  scratch.push(dir);
  await cp(path.join(FIXTURES, fixture), dir, { recursive: true });
  if (options.meta !== undefined) {
    const file = path.join(dir, "model-meta.json");
    const meta = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    await writeFile(file, JSON.stringify({ ...meta, ...options.meta }));
  }
  const packaged = await loadModelPackage(dir);
  let profile: ReferenceProfile | undefined;
  if (options.profile !== false) {
    const rows = referenceRows(options.referenceRows ?? 2000, 1);
    const { table } = rowsToTable(rows, packaged.meta.inputs, packaged.preprocessor, "json");
    const scorer = new Predictor(packaged, origin(dir, options));
    const predictions = scorer.predict(rows);
    const classes = packaged.meta.classes;
    const probabilities = Float32Array.from(
      predictions.flatMap((p) => classes.map((c) => p.probabilities[c]!)),
    );
    profile = buildReferenceProfile({
      table,
      predictions: {
        probabilities,
        classes,
        ...(packaged.meta.threshold === undefined ? {} : { threshold: packaged.meta.threshold }),
      },
    });
    await writeReferenceProfile(dir, profile);
  }
  return { dir, predictor: new Predictor(packaged, origin(dir, options)), profile };
}

function origin(dir: string, options: { name?: string; version?: string; alias?: string }) {
  const name = options.name ?? "credit";
  return {
    uri: options.alias ? `models:/${name}@${options.alias}` : dir,
    name,
    version: options.version,
    alias: options.alias,
    runId: undefined,
    modelId: undefined,
  };
}
