import { readFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { zodToJsonSchema } from "zod-to-json-schema";
import { formatIssues } from "../config/issues.js";
import { ConfigError } from "../shared/errors.js";
import { projectRoot } from "../shared/project.js";

const scalar = z.union([z.string(), z.number()]).transform(String);

/** Keys of a strict object, listed in its "unrecognized key" message so that a guess gets the right spelling. */
function strictObject<T extends z.ZodRawShape>(shape: T) {
  return z.object(shape).strict(`allowed keys: ${Object.keys(shape).join(", ")}`);
}

const numberColumn = strictObject({
  type: z.literal("number"),
  description: z.string().optional(),
  /** Rows outside [min, max] are quarantined. */
  min: z.number().optional(),
  max: z.number().optional(),
  integer: z.boolean().default(false),
  /** Missing values (empty, NA, N/A, null, NULL, None, NaN) are allowed; the preprocessor fills them. */
  nullable: z.boolean().default(false),
});

const categoryColumn = strictObject({
  type: z.literal("category"),
  description: z.string().optional(),
  /**
   * Every value accepted in the file (before recoding); other values quarantine the row. Omitted: any value
   * is accepted, the categories are learned on the training split and unseen ones go to the unknown bucket.
   */
  values: z.array(scalar).min(1).optional(),
  /** Undocumented or rare codes mapped to a documented one at load time. */
  recode: z.record(scalar).default({}),
  nullable: z.boolean().default(false),
});

const textColumn = strictObject({
  type: z.literal("text"),
  description: z.string().optional(),
  /** Longest text kept, in characters (UTF-16 code units). */
  maxLength: z.number().int().positive().default(20_000),
  /** A longer text: `truncate` keeps its first maxLength characters (counted in the validation report); `reject` quarantines the row. */
  overLength: z.enum(["truncate", "reject"]).default("truncate"),
  /** Empty or whitespace-only texts are allowed (kept as ""); otherwise they quarantine the row. */
  nullable: z.boolean().default(false),
});

export const columnSpecSchema = z.discriminatedUnion("type", [numberColumn, categoryColumn, textColumn]);
export type ColumnSpec = z.infer<typeof columnSpecSchema>;

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "a date as YYYY-MM-DD")
  .refine(
    (d) =>
      !/^\d{4}-\d{2}-\d{2}$/.test(d) ||
      (!Number.isNaN(Date.parse(d)) && new Date(d).toISOString().startsWith(d)),
    "not a calendar date",
  );

/** A CFPB complaint search (format cfpb-api): received dates (inclusive), products and a row limit. */
export const cfpbQuerySchema = strictObject({
  /** Complaints received on or after this day (YYYY-MM-DD). */
  from: isoDate.optional(),
  /** Complaints received on or before this day (YYYY-MM-DD). */
  to: isoDate.optional(),
  /** CFPB product names to ask for; empty: every label the manifest knows (target.classes and target.recode keys). */
  products: z.array(z.string().min(1)).default([]),
  /** Rows kept (with a narrative, duplicates skipped); the download stops there. */
  limit: z.number().int().positive().default(50_000),
}).refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, {
  path: ["to"],
  message: "must not be before from",
});
export type CfpbQuery = z.infer<typeof cfpbQuerySchema>;

/** Where the canonical CSV comes from: an official download (`url`), or a local file (`path`). */
const sourceSchema = strictObject({
  /** The official download. */
  url: z.string().url().optional(),
  /** A local CSV: absolute, or relative to the manifest's folder. Read in place, never copied. */
  path: z.string().min(1).optional(),
  /**
   * How the download becomes the canonical CSV (a local `path` is always a CSV). `cfpb-api`: `url` is the CFPB
   * complaint search API, queried with `query` (src/data/cfpb.ts); its answer changes every day, so it is not
   * pinned by a sha256 (see `sha256` below).
   */
  format: z.enum(["csv", "uci-xls-zip", "r-rda-tarball", "cfpb-api"]).default("csv"),
  /** Entry inside an archive. */
  entry: z.string().optional(),
  /** sha256 of the download (archives only). */
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  /** Columns R stored as doubles (printed like R's write.csv when converting). */
  rDoubles: z.array(z.string()).default([]),
  /** The default query of a `cfpb-api` source; `npm run data -- <name> --from --to --product --limit` overrides it. */
  query: cfpbQuerySchema.optional(),
});

export const datasetManifestSchema = strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "lower-case letters, digits and dashes"),
  title: z.string(),
  description: z.string().default(""),
  license: z.string().default("unknown"),
  homepage: z.string().url().optional(),
  source: sourceSchema,
  /** The canonical CSV's file name (required with source.url: data/raw/<name>/<file>, the mirror's <name>/<file>). */
  file: z.string().optional(),
  /**
   * The canonical CSV's sha256: required with source.url; optional with source.path (when given, the file must
   * still match it; when omitted, the hash is computed and logged with every run).
   */
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  rows: z.number().int().positive().optional(),
  target: strictObject({
    column: z.string(),
    /** Class labels in a fixed order; for binary tasks the second is the positive class. */
    classes: z.array(scalar).min(2),
    positive: scalar.optional(),
    /**
     * Raw label → class, applied before the class check (a renamed or merged label); a label that is neither a
     * class nor a key here quarantines its row.
     */
    recode: z.record(scalar).default({}),
  }),
  idColumns: z.array(z.string()).default([]),
  columns: z.record(columnSpecSchema),
  notes: z.array(z.string()).default([]),
}).superRefine((m, ctx) => {
  if (m.columns[m.target.column] !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["columns", m.target.column],
      message: "the target is declared under target, not columns",
    });
  }
  if (m.target.positive !== undefined && !m.target.classes.includes(m.target.positive)) {
    ctx.addIssue({
      code: "custom",
      path: ["target", "positive"],
      message: "must be one of target.classes",
    });
  }
  const { url, path: local } = m.source;
  if ((url === undefined) === (local === undefined)) {
    ctx.addIssue({
      code: "custom",
      path: ["source"],
      message: "give exactly one of source.url (an official download) or source.path (a local CSV file)",
    });
  }
  if (url !== undefined) {
    if (!/^https?:\/\//.test(url))
      ctx.addIssue({
        code: "custom",
        path: ["source", "url"],
        message: `'${url}' is not an http(s) download; for a file on this machine use source.path`,
      });
    if (m.file === undefined)
      ctx.addIssue({ code: "custom", path: ["file"], message: "required with source.url" });
    // A query's answer changes every day: its sha256 is computed and logged; `sha256` then pins the mirror's snapshot.
    if (m.sha256 === undefined && m.source.format !== "cfpb-api")
      ctx.addIssue({ code: "custom", path: ["sha256"], message: "required with source.url" });
  }
  if (m.source.query !== undefined && m.source.format !== "cfpb-api")
    ctx.addIssue({
      code: "custom",
      path: ["source", "query"],
      message: "only for source.format: cfpb-api (a query download)",
    });
  if (m.source.format === "cfpb-api")
    for (const key of ["entry", "sha256"] as const)
      if (m.source[key] !== undefined)
        ctx.addIssue({
          code: "custom",
          path: ["source", key],
          message: "only for archives; a cfpb-api download is a CSV written by the workbench",
        });
  for (const [raw, mapped] of Object.entries(m.target.recode)) {
    if (!m.target.classes.includes(mapped))
      ctx.addIssue({
        code: "custom",
        path: ["target", "recode", raw],
        message: `'${mapped}' is not one of target.classes (${m.target.classes.join(", ")})`,
      });
    if (m.target.classes.includes(raw))
      ctx.addIssue({
        code: "custom",
        path: ["target", "recode", raw],
        message: `'${raw}' is a class itself; recode maps labels that are not classes (remove it from one of the two)`,
      });
  }
  if (local !== undefined) {
    for (const key of ["entry", "sha256"] as const)
      if (m.source[key] !== undefined)
        ctx.addIssue({
          code: "custom",
          path: ["source", key],
          message: "only for archives downloaded from source.url",
        });
    if (m.source.format !== "csv")
      ctx.addIssue({
        code: "custom",
        path: ["source", "format"],
        message: "a local source.path is read as CSV",
      });
  }
  for (const id of m.idColumns)
    if (m.columns[id] === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["idColumns"],
        message: `'${id}' is not declared under columns`,
      });
});

export type DatasetManifest = z.infer<typeof datasetManifestSchema>;

/** Folder of the committed manifests: data/<name>.yaml */
export function manifestDir(root: string = projectRoot()): string {
  return path.join(root, "data");
}

/** Words a newcomer tries for "may be missing"; the manifest's word is `nullable`. */
const NULLABLE_GUESSES = [
  "optional",
  "required",
  "missing",
  "nullable",
  "allowNull",
  "allowMissing",
  "null",
  "na",
];

/** One line per issue; an unknown key names the keys allowed at that place (and `nullable` for a missing-value guess). */
export function formatManifestIssues(issues: readonly z.ZodIssue[]): string {
  return issues
    .map((issue) => {
      if (issue.code !== "unrecognized_keys") return formatIssues([issue]);
      const where = issue.path.length === 0 ? "(root)" : issue.path.join(".");
      const guess =
        issue.keys.some((k) => NULLABLE_GUESSES.includes(k)) && issue.message.includes("nullable");
      return `  - ${where}: unrecognized key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `'${k}'`).join(", ")}; ${issue.message}${guess ? " (missing values: `nullable: true`)" : ""}`;
    })
    .join("\n");
}

/** The manifest file a dataset name (data/<name>.yaml) or a path to a manifest (*.yaml, *.yml) stands for. */
export function manifestFile(nameOrPath: string, root: string = projectRoot()): string {
  return nameOrPath.endsWith(".yaml") || nameOrPath.endsWith(".yml")
    ? path.resolve(nameOrPath)
    : path.join(manifestDir(root), `${nameOrPath}.yaml`);
}

/** Validates a parsed manifest; `file` names it in errors and anchors a relative `source.path`. */
export function parseManifest(raw: unknown, file: string): DatasetManifest {
  const parsed = datasetManifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`Invalid dataset manifest ${file}:\n${formatManifestIssues(parsed.error.issues)}`, {
      code: "MANIFEST_INVALID",
      details: { file, issues: parsed.error.issues },
    });
  }
  const manifest = parsed.data;
  if (manifest.source.path !== undefined)
    manifest.source.path = path.resolve(path.dirname(path.resolve(file)), manifest.source.path);
  return manifest;
}

/** Loads and validates data/<name>.yaml (or a path to a manifest file). */
export async function loadManifest(
  nameOrPath: string,
  root: string = projectRoot(),
): Promise<DatasetManifest> {
  const file = manifestFile(nameOrPath, root);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw new ConfigError(`No dataset manifest '${nameOrPath}' (looked for ${file}).`, {
      code: "DATASET_UNKNOWN",
      cause,
    });
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (cause) {
    throw new ConfigError(`${file} is not valid YAML: ${(cause as Error).message}`, {
      code: "MANIFEST_INVALID",
      cause,
    });
  }
  return parseManifest(raw, file);
}

/** The JSON Schema of a dataset manifest (data/<name>.yaml), for editors and `npm run train -- --manifest-schema`. */
export function manifestJsonSchema(): object {
  return zodToJsonSchema(datasetManifestSchema, {
    name: "DatasetManifest",
    $refStrategy: "none",
    effectStrategy: "input",
  });
}

/** The feature columns: every declared column except ids. */
export function featureColumns(manifest: DatasetManifest): string[] {
  return Object.keys(manifest.columns).filter((c) => !manifest.idColumns.includes(c));
}

/** The text columns, in manifest order. */
export function textColumns(manifest: Pick<DatasetManifest, "columns" | "idColumns">): string[] {
  return Object.entries(manifest.columns)
    .filter(([name, spec]) => spec.type === "text" && !manifest.idColumns.includes(name))
    .map(([name]) => name);
}

/** The positive class of a binary task (explicit, else the second class). */
export function positiveClass(manifest: DatasetManifest): string | undefined {
  if (manifest.target.classes.length !== 2) return undefined;
  return manifest.target.positive ?? manifest.target.classes[1];
}
