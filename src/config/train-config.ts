import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import { z } from "zod";
import { zodToJsonSchema } from "zod-to-json-schema";
import { ConfigError } from "../shared/errors.js";
import { formatIssues } from "./issues.js";
import { applyOverrides } from "./overrides.js";
import { promotionSchema } from "./promotion-config.js";

const positiveInt = z.number().int().positive();
const fraction = z.number().gt(0).lt(1);

/** A searched value: a list to choose from, or a numeric range (log-uniform when `log`). */
const rangeSchema = z
  .object({
    min: z.number(),
    max: z.number(),
    log: z.boolean().default(false),
    integer: z.boolean().default(false),
  })
  .strict();
const searchValue = z.union([z.array(z.unknown()).min(1), rangeSchema]);

const logisticParams = z
  .object({
    learningRate: z.number().positive().default(0.01),
    l2: z.number().min(0).default(0),
    epochs: positiveInt.default(50),
    batchSize: positiveInt.default(512),
  })
  .strict();

const mlpParams = z
  .object({
    hiddenUnits: z.array(positiveInt).min(1).default([64, 32]),
    activation: z.enum(["relu", "elu", "tanh", "selu", "swish"]).default("relu"),
    dropout: z.number().min(0).lt(1).default(0.1),
    l2: z.number().min(0).default(0),
    batchNorm: z.boolean().default(false),
    learningRate: z.number().positive().default(0.001),
    epochs: positiveInt.default(50),
    batchSize: positiveInt.default(256),
  })
  .strict();

export type LogisticParams = z.infer<typeof logisticParams>;
export type MlpParams = z.infer<typeof mlpParams>;

export const hyperparameterSchemas = { logistic: logisticParams, mlp: mlpParams } as const;
export type ModelKind = keyof typeof hyperparameterSchemas;

const candidateSchema = z
  .object({
    kind: z.enum(["logistic", "mlp"]),
    /** Fixed values for every trial of this candidate. */
    params: z.record(z.unknown()).default({}),
    /** Cartesian product: every combination is one trial. */
    grid: z.record(z.array(z.unknown()).min(1)).optional(),
    /** Seeded random search: `samples` draws from `space`. */
    random: z
      .object({ samples: positiveInt, space: z.record(searchValue) })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const allowed = Object.keys(hyperparameterSchemas[c.kind].shape);
    const sections = { params: c.params, grid: c.grid ?? {}, random: c.random?.space ?? {} };
    for (const [section, values] of Object.entries(sections)) {
      for (const key of Object.keys(values)) {
        if (!allowed.includes(key)) {
          ctx.addIssue({
            code: "custom",
            path: [section === "random" ? "random.space" : section, key],
            message: `unknown hyperparameter '${key}' for ${c.kind} (known: ${allowed.join(", ")})`,
          });
        }
      }
    }
    if (c.grid !== undefined && c.random !== undefined)
      ctx.addIssue({ code: "custom", message: "use grid or random, not both" });
  });
export type CandidateSpec = z.infer<typeof candidateSchema>;

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
        candidates: z.array(candidateSchema).min(1),
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

/** Validates a parsed config; every problem is reported with its path. */
export function parseTrainConfig(raw: unknown, source = "config"): TrainConfig {
  const parsed = trainConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`Invalid training config ${source}:\n${formatIssues(parsed.error.issues)}`, {
      code: "CONFIG_INVALID",
      details: { source, issues: parsed.error.issues },
    });
  }
  return parsed.data;
}

/** Reads a YAML config, applies `--set` overrides, and validates it. */
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
  return parseTrainConfig(applyOverrides(raw, overrides), file);
}

/** The JSON Schema of the training config (`npm run train -- --schema`). */
export function trainConfigJsonSchema(): object {
  return zodToJsonSchema(trainConfigSchema, { name: "TrainConfig", $refStrategy: "none" });
}
