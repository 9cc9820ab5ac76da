import { readFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { formatIssues } from "../config/issues.js";
import { ConfigError } from "../shared/errors.js";
import { projectRoot } from "../shared/project.js";

const scalar = z.union([z.string(), z.number()]).transform(String);

const numberColumn = z
  .object({
    type: z.literal("number"),
    description: z.string().optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    integer: z.boolean().default(false),
    nullable: z.boolean().default(false),
  })
  .strict();

const categoryColumn = z
  .object({
    type: z.literal("category"),
    description: z.string().optional(),
    /** Every value accepted in the file (before recoding). */
    values: z.array(scalar).min(1),
    /** Undocumented or rare codes mapped to a documented one at load time. */
    recode: z.record(scalar).default({}),
    nullable: z.boolean().default(false),
  })
  .strict();

export const columnSpecSchema = z.discriminatedUnion("type", [numberColumn, categoryColumn]);
export type ColumnSpec = z.infer<typeof columnSpecSchema>;

export const datasetManifestSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "lower-case letters, digits and dashes"),
    title: z.string(),
    description: z.string().default(""),
    license: z.string(),
    homepage: z.string().url().optional(),
    source: z
      .object({
        /** The official download. */
        url: z.string().url(),
        /** How the download becomes the canonical CSV. */
        format: z.enum(["csv", "uci-xls-zip", "r-rda-tarball"]),
        /** Entry inside an archive. */
        entry: z.string().optional(),
        sha256: z
          .string()
          .regex(/^[0-9a-f]{64}$/)
          .optional(),
        /** Columns R stored as doubles (printed like R's write.csv when converting). */
        rDoubles: z.array(z.string()).default([]),
      })
      .strict(),
    /** The canonical CSV's file name and checksum. */
    file: z.string(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    rows: z.number().int().positive().optional(),
    target: z
      .object({
        column: z.string(),
        /** Class labels in a fixed order; for binary tasks the second is the positive class. */
        classes: z.array(scalar).min(2),
        positive: scalar.optional(),
      })
      .strict(),
    idColumns: z.array(z.string()).default([]),
    columns: z.record(columnSpecSchema),
    notes: z.array(z.string()).default([]),
  })
  .strict()
  .superRefine((m, ctx) => {
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
  });

export type DatasetManifest = z.infer<typeof datasetManifestSchema>;

/** Folder of the committed manifests: data/<name>.yaml */
export function manifestDir(root: string = projectRoot()): string {
  return path.join(root, "data");
}

/** Loads and validates data/<name>.yaml (or a path to a manifest file). */
export async function loadManifest(
  nameOrPath: string,
  root: string = projectRoot(),
): Promise<DatasetManifest> {
  const file =
    nameOrPath.endsWith(".yaml") || nameOrPath.endsWith(".yml")
      ? nameOrPath
      : path.join(manifestDir(root), `${nameOrPath}.yaml`);
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
  const parsed = datasetManifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`Invalid dataset manifest ${file}:\n${formatIssues(parsed.error.issues)}`, {
      code: "MANIFEST_INVALID",
      details: { file, issues: parsed.error.issues },
    });
  }
  return parsed.data;
}

/** The feature columns: every declared column except ids. */
export function featureColumns(manifest: DatasetManifest): string[] {
  return Object.keys(manifest.columns).filter((c) => !manifest.idColumns.includes(c));
}

/** The positive class of a binary task (explicit, else the second class). */
export function positiveClass(manifest: DatasetManifest): string | undefined {
  if (manifest.target.classes.length !== 2) return undefined;
  return manifest.target.positive ?? manifest.target.classes[1];
}
