import { readFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { zodToJsonSchema } from "zod-to-json-schema";
import { loadManifest, manifestDir } from "../data/manifest.js";
import { KIND_NAMES, KINDS, type KindName } from "../models/kinds/index.js";
import { ConfigError } from "../shared/errors.js";
import { checkClassCount } from "./class-count-checks.js";
import { formatIssues } from "./issues.js";
import { checkKindInputs } from "./kind-input-checks.js";
import { applyOverrides } from "./overrides.js";
import { promotionSchema } from "./promotion-config.js";

const positiveInt = z.number().int().positive();
const fraction = z.number().gt(0).lt(1);

/** A searched value: a list to choose from, or a numeric range (log-uniform when `log`). */
export const rangeSchema = z
  .object({
    min: z.number(),
    max: z.number(),
    log: z.boolean().default(false),
    integer: z.boolean().default(false),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (!(r.max > r.min))
      ctx.addIssue({ code: "custom", message: `max (${r.max}) must be greater than min (${r.min})` });
    if (r.log && !(r.min > 0))
      ctx.addIssue({ code: "custom", path: ["min"], message: "a log range needs min > 0" });
  });
export type SearchRange = z.infer<typeof rangeSchema>;

/** Stop a search trial whose validation metric trails the median of earlier trials at the same iteration. */
const pruneSchema = z
  .object({
    /** Iterations every trial runs before it can be pruned. */
    warmup: positiveInt.default(5),
    /** Completed trials needed before pruning starts. */
    minTrials: positiveInt.default(3),
  })
  .strict();

/** Tree-structured Parzen Estimator search (Optuna's / Hyperopt's TPE), sequential and seeded. */
const tpeSchema = z
  .object({
    /** Trial budget. */
    trials: positiveInt,
    /** Random trials before the model-based ones. */
    startup: positiveInt.default(5),
    /** Trials suggested together (run in parallel); the suggestions never depend on the worker count. */
    batch: positiveInt.default(2),
    /** Share of the best trials forming the "good" density l(x). */
    gamma: fraction.default(0.25),
    /** Candidates drawn from l(x) to maximise l(x)/g(x). */
    candidates: positiveInt.default(24),
    prune: z.union([pruneSchema, z.literal(false)]).default({}),
  })
  .strict();

/** True when a parameter's schema accepts numbers (a range can search it). */
function isNumericParam(schema: z.ZodTypeAny | undefined): boolean {
  let s: z.ZodTypeAny | undefined = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodOptional || s instanceof z.ZodNullable)
    s = s instanceof z.ZodDefault ? s._def.innerType : s.unwrap();
  return s instanceof z.ZodNumber;
}

/**
 * One candidate of a kind: fixed `params`, plus at most one of a `grid` (every combination is a trial), a seeded
 * `random` search or a `tpe` search over `space`. Every value is checked by the kind's own schema.
 */
function candidateSchemaFor(kind: KindName) {
  const shape = KINDS[kind].params.shape as Record<string, z.ZodTypeAny>;
  const keys = Object.keys(shape);
  const each = (wrap: (s: z.ZodTypeAny) => z.ZodTypeAny) =>
    z.object(Object.fromEntries(keys.map((k) => [k, wrap(shape[k]!).optional()]))).passthrough();
  const space = each((s) => z.union([z.array(s).min(1), rangeSchema]));
  return z
    .object({
      kind: z.literal(kind),
      /** Fixed values for every trial of this candidate. */
      params: each((s) => s).default({}),
      /** Cartesian product: every combination is one trial. */
      grid: each((s) => z.array(s).min(1)).optional(),
      /** Seeded random search: `samples` draws from `space`. */
      random: z.object({ samples: positiveInt, space }).strict().optional(),
      /** Model-based search: `trials` suggestions from `space`, each a child run. */
      tpe: tpeSchema.extend({ space }).optional(),
    })
    .strict();
}

/** Hyperparameters the kind does not have (naming the kinds that do), ranges over non-numeric ones, two searches. */
function checkCandidate(c: z.infer<ReturnType<typeof candidateSchemaFor>>, ctx: z.RefinementCtx): void {
  const kind = c.kind;
  const shape = KINDS[kind].params.shape as Record<string, z.ZodTypeAny>;
  const keys = Object.keys(shape);
  {
    const sections: [string[], Record<string, unknown> | undefined][] = [
      [["params"], c.params],
      [["grid"], c.grid],
      [["random", "space"], c.random?.space],
      [["tpe", "space"], c.tpe?.space],
    ];
    for (const [section, values] of sections) {
      for (const [key, value] of Object.entries(values ?? {})) {
        if (!keys.includes(key)) {
          const owners = KIND_NAMES.filter((k) => k !== kind && Object.hasOwn(KINDS[k].params.shape, key));
          ctx.addIssue({
            code: "custom",
            path: [...section, key],
            message: `unknown hyperparameter '${key}' for ${kind}${owners.length > 0 ? ` (it belongs to ${owners.join(", ")})` : ""}; known: ${keys.join(", ")}`,
          });
        } else if (
          section.length === 2 &&
          value !== null &&
          typeof value === "object" &&
          !Array.isArray(value) &&
          !isNumericParam(shape[key])
        ) {
          ctx.addIssue({
            code: "custom",
            path: [...section, key],
            message: `'${key}' is not numeric: search it with a list of values`,
          });
        }
      }
    }
    const searches = (["grid", "random", "tpe"] as const).filter((s) => c[s] !== undefined);
    if (searches.length > 1)
      ctx.addIssue({
        code: "custom",
        message: `use one of grid, random or tpe (got ${searches.join(" and ")})`,
      });
  }
}

const candidateSchema = z
  .discriminatedUnion(
    "kind",
    KIND_NAMES.map((k) => candidateSchemaFor(k)) as unknown as [
      ReturnType<typeof candidateSchemaFor>,
      ...ReturnType<typeof candidateSchemaFor>[],
    ],
  )
  .superRefine(checkCandidate);

/** A configured candidate: a kind, fixed params and an optional search. */
export interface CandidateSpec {
  kind: KindName;
  params: Record<string, unknown>;
  grid?: Record<string, unknown[]>;
  random?: { samples: number; space: Record<string, unknown[] | SearchRange> };
  tpe?: z.infer<typeof tpeSchema> & { space: Record<string, unknown[] | SearchRange> };
}

const engineeredFeature = z.discriminatedUnion("kind", [
  z
    .object({ kind: z.literal("ratio"), name: z.string(), numerator: z.string(), denominator: z.string() })
    .strict(),
  z.object({ kind: z.literal("sum"), name: z.string(), columns: z.array(z.string()).min(2) }).strict(),
  z.object({ kind: z.literal("mean"), name: z.string(), columns: z.array(z.string()).min(2) }).strict(),
  z
    .object({
      kind: z.literal("code"),
      name: z.string(),
      column: z.string(),
      min: z.number().optional(),
      max: z.number().optional(),
    })
    .strict(),
]);
export type EngineeredFeature = z.infer<typeof engineeredFeature>;

export const featuresSchema = z
  .object({
    numeric: z
      .object({
        scaler: z.enum(["robust", "standard", "none"]).default("robust"),
        /** Heavy-tailed columns: sign(x)·log1p(|x|) before scaling. */
        signedLog: z.array(z.string()).default([]),
        /** Scaled values are clipped to ±clip. */
        clip: z.number().positive().default(10),
      })
      .strict()
      .default({}),
    categorical: z
      .object({
        /** Categories seen fewer times in train go to the unknown bucket. */
        minFrequency: z.number().int().min(1).default(1),
      })
      .strict()
      .default({}),
    /** How text columns are normalised before the text kinds tokenise them (src/features/text/normalize.ts). */
    text: z
      .object({
        lowercase: z.boolean().default(true),
        /** CFPB-style masks (XXXX, XX/XX/XXXX, {$1.00}): removed, replaced by __mask__/__date__/__amount__, or kept. */
        masks: z.enum(["drop", "token", "keep"]).default("drop"),
        /** Digit runs: one __num__ token, or kept as written. */
        numbers: z.enum(["token", "keep"]).default("token"),
        punctuation: z.enum(["strip", "keep"]).default("strip"),
      })
      .strict()
      .default({}),
    engineered: z.array(engineeredFeature).default([]),
    /** Columns left out of the model. */
    drop: z.array(z.string()).default([]),
  })
  .strict();
export type FeaturesConfig = z.infer<typeof featuresSchema>;

const thresholdSchema = z.discriminatedUnion("strategy", [
  z.object({ strategy: z.literal("max_f1") }).strict(),
  z.object({ strategy: z.literal("fixed"), value: z.number().gt(0).lt(1) }).strict(),
  z
    .object({
      strategy: z.literal("cost"),
      falsePositiveCost: z.number().min(0),
      falseNegativeCost: z.number().min(0),
    })
    .strict(),
]);

export const SELECTION_METRICS = [
  "roc_auc",
  "pr_auc",
  "f1",
  "f1_macro",
  "f1_weighted",
  "balanced_accuracy",
  "accuracy",
  "log_loss",
] as const;

/** Characters MLflow refuses in a registered model's name ('/', ':') or a logged model's (also '.', '%', quotes). */
const MODEL_NAME_FORBIDDEN = ["/", ":", ".", "%", '"', "'"] as const;

/**
 * A name MLflow accepts both for the registered model and for the logged model training creates under it
 * (mlflow/utils/validation.py: _validate_model_name, _validate_logged_model_name), checked at config load
 * so that a bad name fails before training, not after. '@' is refused too: `models:/<name>@<alias>` could
 * not address it. 256 characters is the registry's column size.
 */
export const registeredModelName = z.string().superRefine((name, ctx) => {
  const problem = (message: string) => ctx.addIssue({ code: "custom", message });
  if (name.trim() === "") return problem("must not be empty");
  if (name.trim() !== name) problem(`'${name}' has leading or trailing whitespace`);
  const forbidden = [...MODEL_NAME_FORBIDDEN, "@"].filter((c) => name.includes(c));
  if (forbidden.length > 0)
    problem(
      `'${name.length > 80 ? `${name.slice(0, 80)}…` : name}' contains ${forbidden.map((c) => (c === "'" ? `"'"` : `'${c}'`)).join(", ")}; MLflow model names cannot contain ${MODEL_NAME_FORBIDDEN.join(" ")} (and models:/ URIs cannot address '@')`,
    );
  if (name.length > 256) problem(`must be at most 256 characters (got ${name.length})`);
});

/** An alias MLflow accepts: our lowercase form, minus the names MLflow reserves ("latest", "v<number>"). */
const registryAlias = z
  .string()
  .max(255)
  .regex(
    /^[a-z][a-z0-9_-]*$/,
    "must start with a lowercase letter, then lowercase letters, digits, '_' or '-'",
  )
  .superRefine((alias, ctx) => {
    if (alias === "latest" || /^v\d+$/.test(alias))
      ctx.addIssue({
        code: "custom",
        message: `'${alias}' is reserved by MLflow ('latest' and 'v<number>' always mean a version)`,
      });
  });

export const trainConfigSchema = z
  .object({
    name: z.string().min(1),
    /** Dataset manifest name (data/<dataset>.yaml). */
    dataset: z.string().min(1),
    experiment: z.string().min(1),
    description: z.string().default(""),
    seed: z.number().int().min(0).default(42),
    data: z
      .object({
        /** Fail when a larger share of rows is invalid. */
        maxBadFraction: z.number().min(0).max(1).default(0.01),
        /** Read at most this many rows (quick runs); null reads all. */
        limit: positiveInt.nullable().default(null),
        /**
         * Classes with fewer than `minCount` rows (after validation, before the split) are dropped, or merged into
         * `into` (default "Other"); the model trains on the classes that remain. null: every class is kept.
         */
        rareClasses: z
          .object({
            minCount: positiveInt,
            action: z.enum(["drop", "merge"]),
            into: z.string().min(1).optional(),
          })
          .strict()
          .refine((r) => r.action === "merge" || r.into === undefined, {
            path: ["into"],
            message: "only with action: merge (dropped rows go nowhere)",
          })
          .nullable()
          .default(null),
      })
      .strict()
      .default({}),
    split: z
      .object({
        /** Out-of-sample slice held back before model selection. */
        holdout: fraction.default(0.1),
        test: fraction.default(0.15),
        validation: fraction.default(0.15),
      })
      .strict()
      .default({})
      .refine((s) => s.holdout + s.test + s.validation < 0.9, {
        message: "holdout + test + validation must leave at least 10% for training",
      }),
    features: featuresSchema.default({}),
    training: z
      .object({
        selectionMetric: z.enum(SELECTION_METRICS).default("roc_auc"),
        classWeight: z.enum(["balanced", "none"]).default("none"),
        earlyStopping: z
          .object({ patience: positiveInt.default(6), minDelta: z.number().min(0).default(0.0001) })
          .strict()
          .default({}),
        threshold: thresholdSchema.default({ strategy: "max_f1" }),
        /**
         * Train the winner again on train + validation for the iterations it kept (src/models/refit.ts); the
         * refitted model is the one evaluated on test/holdout and registered.
         */
        refit: z.boolean().default(false),
        /** Candidates trained at once, each in its own worker thread; null = one per core. 1 trains in-process. */
        workers: positiveInt.nullable().default(null),
        candidates: z.array(candidateSchema).min(1) as unknown as z.ZodType<
          CandidateSpec[],
          z.ZodTypeDef,
          unknown
        >,
      })
      .strict(),
    registry: z
      .object({
        modelName: registeredModelName,
        alias: registryAlias.default("challenger"),
      })
      .strict(),
    promotion: promotionSchema.default({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    const aliases = c.promotion.aliases;
    if (new Set([c.registry.alias, aliases.champion, aliases.previous]).size !== 3)
      ctx.addIssue({
        code: "custom",
        path: ["promotion", "aliases"],
        message: `registry.alias '${c.registry.alias}', promotion.aliases.champion '${aliases.champion}' and promotion.aliases.previous '${aliases.previous}' must differ`,
      });
  });

export type TrainConfig = z.infer<typeof trainConfigSchema>;

/** The options every candidate's fit gets from the config (selection metric, class weights, early stopping, seed). */
export function fitOptionsFor(config: TrainConfig): {
  seed: number;
  selectionMetric: string;
  classWeight: "balanced" | "none";
  earlyStopping: { patience: number; minDelta: number };
} {
  return {
    seed: config.seed,
    selectionMetric: config.training.selectionMetric,
    classWeight: config.training.classWeight,
    earlyStopping: config.training.earlyStopping,
  };
}

/** Validates a parsed config; every problem is reported with its path. */
export function parseTrainConfig(raw: unknown, source = "config"): TrainConfig {
  const parsed = trainConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`Invalid training config ${source}:\n${formatIssues(parsed.error.issues)}`, {
      code: "CONFIG_INVALID",
      details: { source, issues: parsed.error.issues },
    });
  }
  return keepWrittenOrder(parsed.data, raw);
}

/**
 * zod returns an object's keys in its schema's order; a candidate's `params`, `grid` and search spaces keep the
 * order they were written in instead (grid trials and random draws follow the written order).
 */
function keepWrittenOrder(config: TrainConfig, raw: unknown): TrainConfig {
  const rawCandidates = (raw as { training?: { candidates?: unknown } }).training?.candidates;
  if (!Array.isArray(rawCandidates)) return config;
  const reorder = <T extends Record<string, unknown>>(
    parsed: T | undefined,
    written: unknown,
  ): T | undefined => {
    if (parsed === undefined || written === null || typeof written !== "object") return parsed;
    const keys = Object.keys(written).filter((k) => Object.hasOwn(parsed, k));
    const rest = Object.keys(parsed).filter((k) => !keys.includes(k));
    return Object.fromEntries([...keys, ...rest].map((k) => [k, parsed[k]])) as T;
  };
  config.training.candidates.forEach((candidate, i) => {
    const written = rawCandidates[i] as Record<string, Record<string, unknown> | undefined> | undefined;
    if (written === undefined || written === null || typeof written !== "object") return;
    candidate.params = reorder(candidate.params, written.params) ?? candidate.params;
    if (candidate.grid !== undefined) candidate.grid = reorder(candidate.grid, written.grid);
    if (candidate.random !== undefined)
      candidate.random = {
        ...candidate.random,
        space: reorder(candidate.random.space, written.random?.space)!,
      };
    if (candidate.tpe !== undefined)
      candidate.tpe = { ...candidate.tpe, space: reorder(candidate.tpe.space, written.tpe?.space)! };
  });
  return config;
}

/**
 * Reads a YAML config, applies `--set` overrides, and validates it, then checks it against its dataset's
 * manifest (binary-only settings on a multiclass target: CONFIG_BINARY_ONLY).
 */
export async function loadTrainConfig(file: string, overrides: readonly string[] = []): Promise<TrainConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw new ConfigError(`Cannot read the config file ${file}.`, { code: "CONFIG_NOT_FOUND", cause });
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (cause) {
    throw new ConfigError(`${file} is not valid YAML: ${(cause as Error).message}`, {
      code: "CONFIG_INVALID",
      cause,
    });
  }
  const overridden = applyOverrides(raw, overrides);
  const config = parseTrainConfig(overridden, file);
  // Checked now, not hours into training: the dataset's class count against binary-only settings.
  const manifestFile =
    config.dataset.endsWith(".yaml") || config.dataset.endsWith(".yml")
      ? config.dataset
      : path.join(manifestDir(), `${config.dataset}.yaml`);
  const manifest = await loadManifest(config.dataset);
  const sources = { config: file, manifest: manifestFile };
  checkClassCount(config, overridden, manifest, sources);
  checkKindInputs(config, manifest, sources);
  return config;
}

/** The JSON Schema of the training config (`npm run train -- --schema`). */
export function trainConfigJsonSchema(): object {
  return zodToJsonSchema(trainConfigSchema, { name: "TrainConfig", $refStrategy: "none" });
}
