import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import type { FeatureMatrix } from "../../src/features/preprocessor.js";
import { DEFAULT_TEXT_NORMALIZE, normalizeText } from "../../src/features/text/normalize.js";
import type { FitData } from "../../src/models/model.js";
import { createRng, shuffled } from "../../src/shared/random.js";
import { datasetMirror } from "./datasets.js";

export const COMPLAINTS_TEXT = "Consumer complaint narrative";

/** The complaints sample of the datasets mirror (2,085 CFPB narratives, 4 products): texts normalised with the defaults. */
export function complaintsSample(): { texts: string[]; labels: string[] } {
  const mirror = datasetMirror();
  if (mirror === undefined) throw new Error("no datasets mirror: set WORKBENCH_DATA_MIRROR");
  const rows = parse(readFileSync(path.join(mirror, "complaints", "complaints_sample.csv"), "utf8"), {
    columns: true,
    skip_empty_lines: true,
  }) as Record<string, string>[];
  return {
    texts: rows.map((r) => normalizeText(r[COMPLAINTS_TEXT] ?? "", DEFAULT_TEXT_NORMALIZE)),
    labels: rows.map((r) => r.Product ?? ""),
  };
}

function matrix(texts: string[]): FeatureMatrix {
  return {
    rows: texts.length,
    cols: 0,
    values: new Float32Array(0),
    featureNames: [],
    texts: { [COMPLAINTS_TEXT]: texts },
  };
}

/**
 * A seeded stratified split of the complaints sample into train / validation / test (fractions of each class),
 * as FitData with text-only matrices, plus the test part.
 */
export function complaintsFitData(
  fractions: { validation: number; test: number } = { validation: 0.15, test: 0.15 },
  seed = 7,
): FitData & { test: FeatureMatrix; testLabels: Int32Array } {
  const { texts, labels } = complaintsSample();
  const classes = [...new Set(labels)].sort();
  const rng = createRng(seed);
  const parts = { train: [] as number[], validation: [] as number[], test: [] as number[] };
  for (const label of classes) {
    const rows = shuffled(
      labels.flatMap((l, i) => (l === label ? [i] : [])),
      rng,
    );
    const v = Math.round(rows.length * fractions.validation);
    const t = Math.round(rows.length * fractions.test);
    parts.validation.push(...rows.slice(0, v));
    parts.test.push(...rows.slice(v, v + t));
    parts.train.push(...rows.slice(v + t));
  }
  const take = (rows: number[]) => {
    const order = shuffled(rows, rng);
    return {
      x: matrix(order.map((i) => texts[i]!)),
      y: Int32Array.from(order, (i) => classes.indexOf(labels[i]!)),
    };
  };
  const train = take(parts.train);
  const validation = take(parts.validation);
  const test = take(parts.test);
  return {
    train: train.x,
    trainLabels: train.y,
    validation: validation.x,
    validationLabels: validation.y,
    classes,
    test: test.x,
    testLabels: test.y,
  };
}
