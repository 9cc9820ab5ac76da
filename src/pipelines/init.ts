/**
 * `npm run init`: a local CSV → data/<name>.yaml (what the file holds) and configs/<name>.yaml (how to train on
 * it), both inferred, commented and ready for `npm run train`. Nothing is trained and nothing is copied: the
 * manifest reads the CSV in place (source.path).
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parse, stringify } from "yaml";
import { parseTrainConfig } from "../config/train-config.js";
import { type InferredColumn, type InferredDataset, inferDataset } from "../data/infer.js";
import { parseManifest } from "../data/manifest.js";
import { ConfigError } from "../shared/errors.js";
import { projectRoot } from "../shared/project.js";

export interface InitOptions {
  /** The CSV to train on. */
  csv: string;
  /** The column to predict. */
  target: string;
  /** Dataset, config, experiment and model name; default: the CSV's base name, sanitised. */
  name?: string;
  /** Folder holding data/ and configs/ (default: the project). */
  dir?: string;
  /** Replace existing files. */
  force?: boolean;
  /** Written into the header comments (tests pin it). */
  now?: Date;
}

export interface InitResult {
  name: string;
  manifestFile: string;
  configFile: string;
  inferred: InferredDataset;
  /** Columns left out of the model because they hold no value at all. */
  dropped: string[];
  /** Things the user should know (missing labels, many categories). */
  warnings: string[];
}

const NAME = /^[a-z0-9][a-z0-9-]*$/;

/** A dataset name from a file name: lower-case letters, digits and dashes ("My Loans 2024.csv" → "my-loans-2024"). */
export function datasetNameFor(file: string): string {
  return path
    .basename(file, path.extname(file))
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/** A YAML scalar as it must be written to read back as the same string (yes, 1e3, true, "a: b" quoted as needed). */
function scalar(value: string | number | boolean): string {
  return stringify(value, { lineWidth: 0 }).trimEnd();
}

/**
 * A YAML flow list. Inside `[…]` a comma, bracket or brace ends the item, so a string holding one (a CFPB product
 * "Credit reporting, repair, or other") is written double-quoted (a JSON string is a YAML double-quoted scalar).
 */
function list(values: readonly (string | number)[]): string {
  const item = (v: string | number) =>
    typeof v === "number" ? String(v) : /[,[\]{}]/.test(v) ? JSON.stringify(v) : scalar(v);
  return `[${values.map(item).join(", ")}]`;
}

function columnYaml(name: string, column: InferredColumn): string[] {
  const key = `  ${scalar(name)}:`;
  switch (column.kind) {
    case "id":
      return [
        key,
        `    type: ${column.integer ? "number" : "category"}`,
        `    description: ${scalar(`row id, not a feature (${column.reason})`)}`,
      ];
    case "empty":
      return [
        key,
        "    type: category",
        "    nullable: true",
        `    description: every value is missing (left out of the model by the config)`,
      ];
    case "number":
      return [
        key,
        "    type: number",
        ...(column.integer ? ["    integer: true"] : []),
        ...(column.missing > 0 ? [`    nullable: true   # ${column.missing} missing`] : []),
        `    min: ${column.min}`,
        `    max: ${column.max}`,
      ];
    case "text":
      return [
        key,
        "    type: text",
        ...(column.missing > 0 ? [`    nullable: true   # ${column.missing} empty`] : []),
        `    # free text: ${column.meanLength} characters (${column.meanWords} words) on average, the longest ${column.maxLength}`,
        `    maxLength: ${Math.max(20_000, column.maxLength)}`,
      ];
    case "category":
      return [
        key,
        "    type: category",
        ...(column.missing > 0 ? [`    nullable: true   # ${column.missing} missing`] : []),
        column.values === undefined
          ? `    # ${Number.isFinite(column.distinct) ? column.distinct : "over a million"} distinct values, not listed: learned on the training split (unseen ones go to the unknown bucket)`
          : `    values: ${list(column.values.map((v) => v.value))}`,
      ];
  }
}

/** The manifest's YAML text, commented. `csv` is written as given (absolute, or relative to the manifest). */
export function manifestYaml(name: string, inferred: InferredDataset, csv: string, now: Date): string {
  const { target } = inferred;
  const counts = target.classes.map((c) => `${c} ${target.counts[c]}`).join(", ");
  return [
    `# ${name}: inferred by \`npm run init\` from ${path.basename(inferred.file)} on ${now.toISOString().slice(0, 10)}. Edit freely:`,
    "# number columns: min/max (rows outside are quarantined), integer, nullable (missing values allowed:",
    "# empty, NA, N/A, null, NULL, None, NaN); category columns: values (other values are quarantined; omit the",
    "# list to learn the categories on the training split). Schema: npm run -s train -- --manifest-schema",
    `name: ${name}`,
    `title: ${scalar(`${target.column} from ${path.basename(inferred.file)}`)}`,
    `description: ${scalar(`${inferred.rows} rows, ${Object.keys(inferred.columns).length} columns besides the target '${target.column}' (classes: ${counts}).`)}`,
    "license: unknown",
    "source:",
    "  # Read in place, never copied; a relative path is relative to this file's folder.",
    `  path: ${scalar(csv)}`,
    "# The file's sha256 is computed and logged with every run. Uncomment to refuse any other version of the file:",
    `# sha256: ${inferred.sha256}`,
    "target:",
    `  column: ${scalar(target.column)}`,
    ...(target.positive === undefined
      ? [`  classes: ${list(target.classes)}`]
      : [
          `  classes: ${list(target.classes)}   # ${counts}`,
          `  positive: ${scalar(target.positive.value)}   # inferred: ${target.positive.reason}; change it if the other class is the one to detect`,
        ]),
    `idColumns: ${list(inferred.idColumns)}`,
    "columns:",
    ...Object.entries(inferred.columns).flatMap(([column, spec]) => columnYaml(column, spec)),
    "",
  ].join("\n");
}

/** The training config's YAML text: quick candidates, the metric that fits the class count. */
export function configYaml(
  name: string,
  dataset: string,
  inferred: InferredDataset,
  options: { dropped: readonly string[]; maxBadFraction: number; now: Date; configRef: string },
): string {
  const binary = inferred.target.classes.length === 2;
  const positive = inferred.target.positive;
  const text = Object.entries(inferred.columns)
    .filter(([, c]) => c.kind === "text")
    .map(([n]) => n);
  return [
    `# ${name}: predict '${inferred.target.column}' (${inferred.target.classes.length} classes). Written by \`npm run init\` on ${options.now.toISOString().slice(0, 10)}; edit freely.`,
    `# Train: npm run train -- --config ${options.configRef}   (check first: add --dry-run; schema: npm run -s train -- --schema)`,
    ...(positive === undefined
      ? []
      : [
          `# Positive class: ${scalar(positive.value)} (inferred: ${positive.reason}; set target.positive in the dataset manifest to change it).`,
        ]),
    `name: ${name}`,
    `dataset: ${scalar(dataset)}`,
    `experiment: ${name}`,
    `description: ${scalar(`${inferred.target.column} from ${path.basename(inferred.file)}; candidates compared on validation ${binary ? "ROC AUC" : "macro F1"}.`)}`,
    "seed: 42",
    "data:",
    `  maxBadFraction: ${options.maxBadFraction}${options.maxBadFraction > 0.01 ? "   # raised above 0.01: rows without a label and duplicate rows are quarantined" : ""}`,
    "split: { holdout: 0.10, test: 0.15, validation: 0.15 }",
    "features:",
    "  numeric: { scaler: robust }",
    ...(options.dropped.length > 0 ? [`  drop: ${list(options.dropped)}   # every value missing`] : []),
    "training:",
    binary
      ? "  selectionMetric: roc_auc   # two classes: ROC AUC"
      : "  selectionMetric: f1_macro  # more than two classes: macro F1 (each class counts the same)",
    ...(binary ? ["  threshold: { strategy: max_f1 }   # decision threshold chosen on validation"] : []),
    "  candidates:",
    ...(text.length > 0
      ? [
          `    # Text (${text.join(", ")}): text kinds only. Add text-embedding-bag, text-cnn, text-gru or a grid once this works.`,
          "    - kind: tfidf-linear",
          "      params: {}",
          "    - kind: tfidf-linear",
          "      params: { loss: hinge }",
        ]
      : [
          "    # Quick to train; add mlp, random-forest, knn, ... or a grid/tpe search once this works.",
          "    - kind: logistic",
          "      params: { epochs: 30, batchSize: 256, learningRate: 0.01 }",
          "    - kind: gbdt",
          "      params: { rounds: 200, learningRate: 0.1, maxLeaves: 15, minSamplesLeaf: 20, earlyStoppingRounds: 20 }",
        ]),
    "registry:",
    `  modelName: ${name}`,
    "  alias: challenger",
    "",
  ].join("\n");
}

/** Infers, renders, checks (both files must load as they will in training) and writes the two files. */
export async function initDataset(options: InitOptions): Promise<InitResult> {
  const csv = path.resolve(options.csv);
  const name = options.name ?? datasetNameFor(csv);
  if (!NAME.test(name))
    throw new ConfigError(
      options.name === undefined
        ? `Cannot make a dataset name from '${path.basename(csv)}': give one with --name (lower-case letters, digits and dashes).`
        : `--name '${name}' must be lower-case letters, digits and dashes${datasetNameFor(name) === "" ? "" : ` (e.g. '${datasetNameFor(name)}')`}.`,
      { code: "INIT_NAME_INVALID", details: { name } },
    );
  const root = path.resolve(options.dir ?? projectRoot());
  const manifestFile = path.join(root, "data", `${name}.yaml`);
  const configFile = path.join(root, "configs", `${name}.yaml`);
  if (!options.force) {
    const existing = [manifestFile, configFile].filter((f) => existsSync(f));
    if (existing.length > 0)
      throw new ConfigError(
        `${existing.join(" and ")} already exist${existing.length === 1 ? "s" : ""}: choose another --name, or pass --force to replace ${existing.length === 1 ? "it" : "them"}.`,
        { code: "INIT_EXISTS", details: { existing } },
      );
  }
  const inferred = await inferDataset(csv, { target: options.target });
  const now = options.now ?? new Date();
  const dropped = Object.entries(inferred.columns)
    .filter(([, c]) => c.kind === "empty")
    .map(([n]) => n);
  const warnings: string[] = [];
  // Rows training will quarantine: no label, or a repeat of an earlier row (template texts repeat).
  const quarantined = (inferred.target.missing + inferred.duplicateRows) / inferred.rows;
  if (inferred.target.missing > 0)
    warnings.push(
      `${inferred.target.missing} rows have no '${inferred.target.column}' label: training quarantines them.`,
    );
  if (inferred.duplicateRows > 0)
    warnings.push(
      `${inferred.duplicateRows} rows repeat an earlier row field for field: training quarantines them as duplicates.`,
    );
  for (const [column, spec] of Object.entries(inferred.columns))
    if (spec.kind === "category" && spec.values === undefined)
      warnings.push(
        `${column}: ${Number.isFinite(spec.distinct) ? spec.distinct : "over a million"} distinct values (free text?): not listed, learned on train; consider dropping it (features.drop).`,
      );
  const maxBadFraction = quarantined > 0.01 ? Math.ceil(quarantined * 100 + 1) / 100 : 0.01;
  // The CSV is named relative to the manifest when it sits below it (a project that carries its data).
  const relative = path.relative(path.dirname(manifestFile), csv);
  const source = relative.startsWith("..") || path.isAbsolute(relative) ? csv : relative;
  // A name in the project's data/ is found by name; elsewhere the config names the manifest file.
  const dataset = root === projectRoot() ? name : manifestFile;
  const manifestText = manifestYaml(name, inferred, source, now);
  const configRef = root === projectRoot() ? `configs/${name}.yaml` : configFile;
  const configText = configYaml(name, dataset, inferred, { dropped, maxBadFraction, now, configRef });
  // Both files go through the same validation training applies: a broken inference fails here, not later.
  parseManifest(parse(manifestText), manifestFile);
  parseTrainConfig(parse(configText), configFile);
  await mkdir(path.dirname(manifestFile), { recursive: true });
  await mkdir(path.dirname(configFile), { recursive: true });
  await writeFile(manifestFile, manifestText);
  await writeFile(configFile, configText);
  return { name, manifestFile, configFile, inferred, dropped, warnings };
}
