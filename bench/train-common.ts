// What bench/train.ts (the orchestrator) and bench/train-variant.ts (one of our kinds in a fresh process)
// share: the hand-over spec, the split fingerprint both sides check, and which trials a kind runs.
import { createHash } from "node:crypto";
import type { Splits } from "../src/data/split.js";
import { type CandidatePlan, resolveTrial, type Trial } from "../src/models/candidates.js";
import { type KindName, modelKind } from "../src/models/kinds/index.js";

/** What the orchestrator writes for one variant process. */
export interface VariantSpec {
  config: string;
  set: string[];
  mirror: string | undefined;
  /** Scratch folder of the variant (quarantine files). */
  workDir: string;
  kind: string;
  /** Plain JSON: id, kind, resolved params, candidate index (-1: the kind's defaults). */
  trials: Trial[];
  repeats: number;
  predictRows: number;
  predictRepeats: number;
  /** The orchestrator's splits: the variant refuses to run on different rows. */
  fingerprint: string;
}

/** A digest of which source lines went to train, validation and test (the split's identity). */
export function splitFingerprint(splits: Pick<Splits, "train" | "validation" | "test">): string {
  const hash = createHash("sha256");
  for (const name of ["train", "validation", "test"] as const) {
    const lines = splits[name].lines;
    hash.update(`${name}:${lines.length}:`);
    hash.update(new Uint8Array(lines.buffer, lines.byteOffset, lines.byteLength));
  }
  return hash.digest("hex");
}

/**
 * The trials of `kind` in the config's candidate plans (planCandidates): every fixed, grid and random trial,
 * with the ids `npm run train` gives them. A TPE candidate's trials are suggested while a search runs, so the
 * bench trains one trial of its fixed `params` (the searched ones at the kind's defaults) under its first id;
 * `notes` says so. Without any candidate of that kind: one trial of the kind's defaults (candidate -1).
 */
export function trialsOfKind(
  kind: KindName,
  plans: readonly CandidatePlan[],
): { trials: Trial[]; notes: string[] } {
  const mine = plans.filter((p) => p.spec.kind === kind);
  if (mine.length === 0) {
    const params = modelKind(kind).params.parse({}) as Record<string, unknown>;
    return {
      trials: [{ id: `${kind}-1`, kind, params, candidate: -1 }],
      notes: ["no candidate of this kind in the config: its defaults"],
    };
  }
  const trials: Trial[] = [];
  const notes: string[] = [];
  for (const plan of mine) {
    if (plan.method !== "tpe") {
      trials.push(...plan.trials);
      continue;
    }
    trials.push(resolveTrial(plan.spec, plan.candidate, {}, 1, plan.ids[0]!));
    notes.push(
      `candidate ${plan.candidate} is a TPE search: the bench trains its fixed params once (${plan.ids[0]})`,
    );
  }
  return { trials, notes };
}

/** Parses `--kinds a,b` against the known kinds. */
export function parseKinds<K extends string>(text: string, known: readonly K[]): K[] {
  const kinds = text
    .split(",")
    .map((k) => k.trim())
    .filter((k) => k !== "");
  if (kinds.length === 0) throw new Error("--kinds lists no kind.");
  for (const k of kinds)
    if (!(known as readonly string[]).includes(k))
      throw new Error(`--kinds: unknown kind '${k}' (known: ${known.join(", ")}).`);
  return [...new Set(kinds)] as K[];
}
