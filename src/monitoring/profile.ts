/**
 * The reference profile: what monitoring compares current data with, computed once at training time from the
 * train split (and the winner's validation predictions) and stored in the model package as
 * reference_profile.json. Monitoring never needs the raw training data.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import type { Table } from "../data/table.js";
import { predictClasses } from "../evaluation/metrics.js";
import { WorkbenchError } from "../shared/errors.js";
import { type AccumulatorColumn, CurrentAccumulator } from "./current.js";
import type { ProfileOptions } from "./options.js";
import { profileText } from "./text.js";
import type { ColumnProfile, ReferenceProfile } from "./types.js";

/** The profile's file name in a model package directory. */
export const PROFILE_FILE = "reference_profile.json";

/** The profile format this code writes and reads. */
export const PROFILE_FORMAT_VERSION = 1;

/** Points a numeric column keeps in a profile by default (distinct values beyond it are compressed). */
export const DEFAULT_PROFILE_POINTS = 65_536;

export interface BuildProfileInput {
  table: Table;
  /** The model's class probabilities (rows × classes, row-major) on the profiled rows or another split. */
  predictions?: { probabilities: Float32Array | Float64Array; classes: string[]; threshold?: number };
  options?: Partial<ProfileOptions> & { points?: number };
  /** What was profiled (default: `{ split: "train", rows: table.rowCount }`). */
  source?: ReferenceProfile["source"];
}

/** The columns of a table a profile watches: numeric, categorical and text features (no ids, no target). */
export function tableColumns(table: Table): AccumulatorColumn[] {
  return [
    ...Object.keys(table.numeric).map((name) => ({ name, type: "numeric" as const })),
    ...Object.keys(table.categorical).map((name) => ({ name, type: "categorical" as const })),
    ...Object.keys(table.text).map((name) => ({ name, type: "text" as const })),
  ];
}

/** The reference profile of a table's feature columns, and of the model's predictions when given. */
export function buildReferenceProfile(input: BuildProfileInput): ReferenceProfile {
  const { table, predictions } = input;
  const { points, ...options } = input.options ?? {};
  const columns = tableColumns(table);
  const tabular = columns.filter((c) => c.type !== "text");
  const accumulator = CurrentAccumulator.forColumns(tabular, {
    ...options,
    ...(predictions === undefined ? {} : { classes: predictions.classes }),
  });
  accumulator.addColumns({ numeric: table.numeric, strings: table.categorical });
  if (predictions !== undefined) {
    const k = predictions.classes.length;
    if (k < 2 || predictions.probabilities.length % k !== 0)
      throw new WorkbenchError(
        "PROFILE_INVALID",
        `Predictions for the profile: ${predictions.probabilities.length} probabilities do not fill rows of ${k} classes.`,
        { details: { probabilities: predictions.probabilities.length, classes: k } },
      );
    const labels = predictClasses(predictions.probabilities, k, predictions.threshold);
    for (let i = 0; i < labels.length; i++)
      accumulator.addPrediction(
        predictions.probabilities.subarray(i * k, (i + 1) * k),
        predictions.classes[labels[i]!]!,
      );
  }
  const source = input.source ?? { split: "train", rows: table.rowCount };
  const built = accumulator.toProfile(source, points ?? DEFAULT_PROFILE_POINTS);
  const text = Object.entries(table.text).map(([name, values]) =>
    profileText(name, values, {
      ...(options.text?.sampleSize === undefined ? {} : { sampleSize: options.text.sampleSize }),
      ...(options.text?.seed === undefined ? {} : { seed: options.text.seed }),
      ...(options.vocabularySize === undefined ? {} : { vocabularySize: options.vocabularySize }),
    }),
  );
  const byName = new Map<string, ColumnProfile>([...built.columns, ...text].map((c) => [c.name, c]));
  return { ...built, columns: columns.map((c) => byName.get(c.name)!) };
}

const finite = z.number().finite();
const count = z.number().finite().min(0);
const weighted = z
  .object({ values: z.array(finite), counts: z.array(count) })
  .strict()
  .superRefine((w, ctx) => {
    if (w.values.length !== w.counts.length)
      ctx.addIssue({
        code: "custom",
        message: `values (${w.values.length}) and counts (${w.counts.length}) differ in length`,
      });
    for (let i = 1; i < w.values.length; i++)
      if (!(w.values[i]! > w.values[i - 1]!)) {
        ctx.addIssue({ code: "custom", path: ["values", i], message: "values must be strictly ascending" });
        return;
      }
  });

const numericColumn = z
  .object({
    name: z.string().min(1),
    type: z.literal("numeric"),
    rows: count,
    missing: count,
    min: finite,
    max: finite,
    mean: finite,
    std: count,
    distinct: count,
    exact: z.boolean(),
    distribution: weighted,
  })
  .strict();

const categoricalColumn = z
  .object({
    name: z.string().min(1),
    type: z.literal("categorical"),
    rows: count,
    missing: count,
    counts: z.record(z.string(), count),
  })
  .strict();

const textColumn = z
  .object({
    name: z.string().min(1),
    type: z.literal("text"),
    rows: count,
    missing: count,
    length: weighted,
    tokens: weighted,
    vocabulary: z.array(z.object({ word: z.string(), df: count }).strict()),
    sample: z.array(z.string()),
    oov: z.number().min(0).max(1).optional(),
  })
  .strict();

const profileSchema = z
  .object({
    formatVersion: z.literal(PROFILE_FORMAT_VERSION),
    createdAt: z.string(),
    source: z.object({ split: z.string(), rows: count, dataFingerprint: z.string().optional() }).strict(),
    columns: z.array(z.discriminatedUnion("type", [numericColumn, categoricalColumn, textColumn])),
    predictions: z
      .object({
        classes: z.array(z.string()).min(2),
        rows: count,
        labels: z.record(z.string(), count),
        score: z
          .object({ name: z.string(), distribution: weighted, exact: z.boolean(), std: count })
          .strict(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    p.columns.forEach((c, i) => {
      if (seen.has(c.name))
        ctx.addIssue({
          code: "custom",
          path: ["columns", i, "name"],
          message: `column "${c.name}" appears twice`,
        });
      seen.add(c.name);
    });
  });

/**
 * A reference profile read from JSON, validated. PROFILE_VERSION_UNSUPPORTED for a format newer than this code
 * reads; PROFILE_INVALID (naming the first bad fields) otherwise.
 */
export function parseReferenceProfile(json: unknown, where = "the reference profile"): ReferenceProfile {
  const version =
    typeof json === "object" && json !== null
      ? (json as { formatVersion?: unknown }).formatVersion
      : undefined;
  if (typeof version === "number" && Number.isInteger(version) && version > PROFILE_FORMAT_VERSION)
    throw new WorkbenchError(
      "PROFILE_VERSION_UNSUPPORTED",
      `${where} is format ${version}; this version of the workbench reads format ${PROFILE_FORMAT_VERSION}. Update the workbench, or rebuild the profile with this version (npm run monitor:profile).`,
      { details: { formatVersion: version, supported: PROFILE_FORMAT_VERSION } },
    );
  const parsed = profileSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.length === 0 ? "(root)" : i.path.join(".")}: ${i.message}`);
    const more = parsed.error.issues.length > 5 ? ` (and ${parsed.error.issues.length - 5} more)` : "";
    throw new WorkbenchError(
      "PROFILE_INVALID",
      `${where} is invalid: ${issues.join("; ")}${more}. Rebuild it.`,
      {
        details: { issues: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })) },
      },
    );
  }
  return parsed.data as ReferenceProfile;
}

/** The profile in a model package directory; undefined when it has none (models trained before profiles). */
export async function readReferenceProfile(packageDir: string): Promise<ReferenceProfile | undefined> {
  const file = path.join(packageDir, PROFILE_FILE);
  try {
    return await readReferenceProfileFile(file);
  } catch (error) {
    if (
      error instanceof WorkbenchError &&
      (error.cause as NodeJS.ErrnoException | undefined)?.code === "ENOENT"
    )
      return undefined;
    throw error;
  }
}

/** Reads a profile file written by `writeReferenceProfile` or `npm run monitor:profile` (PROFILE_INVALID if unreadable). */
export async function readReferenceProfileFile(file: string): Promise<ReferenceProfile> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw new WorkbenchError("PROFILE_INVALID", `${file} could not be read: ${(cause as Error).message}`, {
      cause,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new WorkbenchError(
      "PROFILE_INVALID",
      `${file} is not JSON (${(cause as Error).message}); rebuild it.`,
      {
        cause,
      },
    );
  }
  return parseReferenceProfile(json, file);
}

/** Writes the profile as `dir/reference_profile.json` (compact JSON: profiles of wide data are large). */
export async function writeReferenceProfile(dir: string, profile: ReferenceProfile): Promise<string> {
  const file = path.join(dir, PROFILE_FILE);
  await writeFile(file, `${JSON.stringify(profile)}\n`);
  return file;
}
