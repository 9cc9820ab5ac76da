import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TrainConfig } from "../config/train-config.js";
import { type AcquireOptions, acquireDataset, type DatasetFile } from "../data/acquire.js";
import { type DatasetManifest, loadManifest } from "../data/manifest.js";
import { profileTable, type QaReport } from "../data/qa.js";
import { applyRareClassRule, type RareClassReport } from "../data/rare-classes.js";
import { type Splits, stratifiedSplit } from "../data/split.js";
import type { Table } from "../data/table.js";
import { readValidatedCsv, type ValidationReport } from "../data/validate.js";
import {
  type FeatureMatrix,
  fitPreprocessor,
  type PreprocessorState,
  transform,
} from "../features/preprocessor.js";

export interface PreparedData {
  manifest: DatasetManifest;
  source: DatasetFile;
  validation: ValidationReport;
  qa: QaReport;
  table: Table;
  splits: Splits;
  preprocessor: PreprocessorState;
  matrices: Record<"train" | "validation" | "test" | "holdout", FeatureMatrix>;
  labels: Record<"train" | "validation" | "test" | "holdout", Int32Array>;
  /** The classes the model trains on: the manifest's, after the config's data.rareClasses rule. */
  classes: string[];
  /** What data.rareClasses did (rows per class before and after), when the config has the rule. */
  rareClasses: RareClassReport | undefined;
  /** Folder holding the quarantine file, when rows were quarantined. */
  workDir: string;
}

/**
 * Acquire → validate (quarantine) → rare classes (drop or merge) → profile → split → fit the preprocessor on
 * train → transform every split.
 */
export async function prepareData(
  config: TrainConfig,
  options: AcquireOptions & { workDir?: string; dataFile?: DatasetFile } = {},
): Promise<PreparedData> {
  const manifest = await loadManifest(config.dataset);
  // A replay on logged data brings its own, hash-verified file; everything else acquires today's.
  const source = options.dataFile ?? (await acquireDataset(manifest, options));
  const workDir = options.workDir ?? (await mkdtemp(path.join(os.tmpdir(), "workbench-train-")));
  const { table: validated, report } = await readValidatedCsv(
    source.path,
    {
      columns: manifest.columns,
      idColumns: manifest.idColumns,
      target: {
        column: manifest.target.column,
        classes: manifest.target.classes,
        recode: manifest.target.recode,
      },
    },
    {
      maxBadFraction: config.data.maxBadFraction,
      quarantineDir: path.join(workDir, "quarantine"),
      ...(config.data.limit === null ? {} : { limit: config.data.limit }),
    },
  );
  const rule = config.data.rareClasses;
  const ruled = rule === null ? undefined : applyRareClassRule(validated, manifest.target.classes, rule);
  const table = ruled?.table ?? validated;
  const classes = ruled?.classes ?? manifest.target.classes;
  const qa: QaReport = {
    ...profileTable(manifest.name, table, report, classes),
    ...(ruled === undefined ? {} : { rareClasses: ruled.report }),
  };
  const splits = stratifiedSplit(table, config.split, config.seed);
  const preprocessor = fitPreprocessor(splits.train, config.features, manifest);
  const names = ["train", "validation", "test", "holdout"] as const;
  const matrices = Object.fromEntries(
    names.map((n) => [n, transform(preprocessor, splits[n])]),
  ) as PreparedData["matrices"];
  const labels = Object.fromEntries(
    names.map((n) => [n, Int32Array.from(splits[n].target, (t) => classes.indexOf(t))]),
  ) as PreparedData["labels"];
  return {
    manifest,
    source,
    validation: report,
    qa,
    table,
    splits,
    preprocessor,
    matrices,
    labels,
    classes,
    rareClasses: ruled?.report,
    workDir,
  };
}
