import type { EngineeredFeature, FeaturesConfig } from "../config/train-config.js";
import type { DatasetManifest } from "../data/manifest.js";
import type { Table } from "../data/table.js";
import { ConfigError } from "../shared/errors.js";
import { normalizeText, type TextNormalizeOptions } from "./text/normalize.js";

export const UNKNOWN = "__unknown__";

/** A categorical column's one-hot block in a feature list: columns [start, start + size), the last `name=__unknown__`. */
export interface OneHotGroup {
  name: string;
  start: number;
  size: number;
}

/**
 * The one-hot groups of a feature list, parsed from the names `fitPreprocessor` gives them: each group is closed
 * by its `name=__unknown__` column and holds the contiguous `name=…` columns just before it (not reaching into
 * the previous group). Groups come in column order. Throws ONE_HOT_GROUPS_INVALID for an empty group name, a
 * group closed twice, or a `name=…` column of a group that is not next to the rest of it.
 */
export function oneHotGroups(featureNames: readonly string[]): OneHotGroup[] {
  const closing = `=${UNKNOWN}`;
  const groups: OneHotGroup[] = [];
  const seen = new Set<string>();
  let previousEnd = 0;
  featureNames.forEach((feature, i) => {
    if (!feature.endsWith(closing)) return;
    const name = feature.slice(0, -closing.length);
    if (name === "")
      throw new ConfigError(`Feature ${i} ('${feature}') closes a one-hot group without a column name.`, {
        code: "ONE_HOT_GROUPS_INVALID",
      });
    if (seen.has(name))
      throw new ConfigError(`The one-hot group '${name}' is closed twice (feature ${i}, '${feature}').`, {
        code: "ONE_HOT_GROUPS_INVALID",
      });
    seen.add(name);
    const prefix = `${name}=`;
    let start = i;
    while (start > previousEnd && featureNames[start - 1]!.startsWith(prefix)) start--;
    for (let j = 0; j < start; j++) {
      const other = featureNames[j]!;
      // A column of this group before the block (categories are written next to each other, then UNKNOWN).
      if (other.startsWith(prefix) && !groups.some((g) => j >= g.start && j < g.start + g.size))
        throw new ConfigError(
          `The one-hot group '${name}' is not contiguous: feature ${j} ('${other}') is apart from its columns ${start}..${i}.`,
          { code: "ONE_HOT_GROUPS_INVALID" },
        );
    }
    groups.push({ name, start, size: i - start + 1 });
    previousEnd = i + 1;
  });
  return groups;
}

export interface NumericStep {
  name: string;
  /** Median of the (transformed) train values, used for missing values. */
  fill: number;
  signedLog: boolean;
  center: number;
  scale: number;
}

export interface CategoricalStep {
  name: string;
  /** Categories with their own column, in order; everything else goes to the unknown bucket. */
  categories: string[];
}

export interface TextStep {
  name: string;
  normalize: TextNormalizeOptions;
}

/** A fitted preprocessor, plain JSON: what training fitted is exactly what serving applies. */
export interface PreprocessorState {
  version: 1;
  engineered: EngineeredFeature[];
  numeric: NumericStep[];
  categorical: CategoricalStep[];
  /** Text columns, normalised and handed to the text kinds as `FeatureMatrix.texts` (absent in packages written before text existed). */
  text?: TextStep[];
  clip: number;
  featureNames: string[];
}

/**
 * A dense row-major feature matrix (numeric and one-hot categorical features), plus the normalised text columns
 * when the data has any: `cols` and `featureNames` describe the dense part only (0 columns for text-only data).
 */
export interface FeatureMatrix {
  rows: number;
  cols: number;
  values: Float32Array;
  featureNames: string[];
  /** Normalised text per text column (manifest order), one string per row ("" = missing); text kinds read it. */
  texts?: Record<string, string[]>;
}

/** The text column names a matrix carries (empty for tabular data). */
export function textColumnNames(x: Pick<FeatureMatrix, "texts">): string[] {
  return x.texts === undefined ? [] : Object.keys(x.texts);
}

const signedLog = (x: number) => Math.sign(x) * Math.log1p(Math.abs(x));

/** A raw column as numbers: numeric columns as they are, categorical codes parsed once. */
function sourceColumn(table: Table, column: string): Float64Array {
  const numeric = table.numeric[column];
  if (numeric !== undefined) return numeric;
  const codes = table.categorical[column];
  return codes === undefined
    ? new Float64Array(table.rowCount).fill(Number.NaN)
    : Float64Array.from(codes, Number);
}

/** An engineered feature for every row, computed column-wise (serving calls this on every request). */
function engineeredColumn(spec: EngineeredFeature, table: Table): Float64Array {
  const n = table.rowCount;
  const out = new Float64Array(n);
  switch (spec.kind) {
    case "ratio": {
      const num = sourceColumn(table, spec.numerator);
      const den = sourceColumn(table, spec.denominator);
      for (let i = 0; i < n; i++) {
        const a = num[i]!;
        const d = den[i]!;
        out[i] = Number.isNaN(a) || Number.isNaN(d) ? Number.NaN : Math.abs(d) < 1e-9 ? 0 : a / d;
      }
      return out;
    }
    case "sum":
    case "mean": {
      const columns = spec.columns.map((c) => sourceColumn(table, c));
      for (let i = 0; i < n; i++) {
        let acc = 0;
        for (const column of columns) acc += column[i]!;
        out[i] = spec.kind === "mean" ? acc / columns.length : acc;
      }
      return out;
    }
    case "code": {
      const source = sourceColumn(table, spec.column);
      for (let i = 0; i < n; i++) {
        let v = source[i]!;
        if (spec.min !== undefined) v = Math.max(spec.min, v);
        if (spec.max !== undefined) v = Math.min(spec.max, v);
        out[i] = v;
      }
      return out;
    }
  }
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function numericColumn(
  state: Pick<PreprocessorState, "engineered">,
  table: Table,
  name: string,
): Float64Array {
  const direct = table.numeric[name];
  if (direct !== undefined) return direct;
  const spec = state.engineered.find((e) => e.name === name);
  if (spec === undefined)
    throw new ConfigError(`Feature '${name}' is not in the data.`, { code: "FEATURE_UNKNOWN" });
  return engineeredColumn(spec, table);
}

/** Checks that every column the config names exists, before any fitting. */
export function checkFeatureConfig(config: FeaturesConfig, manifest: DatasetManifest): void {
  const known = new Set([...Object.keys(manifest.columns), ...config.engineered.map((e) => e.name)]);
  const problems: string[] = [];
  const need = (path: string, column: string) => {
    if (!known.has(column)) problems.push(`${path}: unknown column '${column}'`);
  };
  for (const [i, c] of config.numeric.signedLog.entries()) need(`features.numeric.signedLog.${i}`, c);
  for (const [i, c] of config.drop.entries()) need(`features.drop.${i}`, c);
  config.engineered.forEach((e, i) => {
    const base = `features.engineered.${i}`;
    if (Object.keys(manifest.columns).includes(e.name))
      problems.push(`${base}.name: '${e.name}' clashes with a dataset column`);
    if (e.kind === "ratio") for (const c of [e.numerator, e.denominator]) need(base, c);
    if (e.kind === "sum" || e.kind === "mean") for (const c of e.columns) need(base, c);
    if (e.kind === "code") need(base, e.column);
  });
  if (problems.length > 0) {
    throw new ConfigError(`Invalid features config:\n${problems.map((p) => `  - ${p}`).join("\n")}`, {
      code: "CONFIG_INVALID",
    });
  }
}

/** Fits imputation, scaling and one-hot encoding on the training table only. */
export function fitPreprocessor(
  train: Table,
  config: FeaturesConfig,
  manifest: DatasetManifest,
): PreprocessorState {
  checkFeatureConfig(config, manifest);
  const dropped = new Set([...config.drop, ...manifest.idColumns]);
  const engineered = config.engineered;
  const numericNames = [...Object.keys(train.numeric), ...engineered.map((e) => e.name)].filter(
    (n) => !dropped.has(n),
  );
  const categoricalNames = Object.keys(train.categorical).filter((n) => !dropped.has(n));
  const textNames = Object.keys(train.text).filter((n) => !dropped.has(n));
  const numeric: NumericStep[] = numericNames.map((name) => {
    const raw = numericColumn({ engineered }, train, name);
    const useLog = config.numeric.signedLog.includes(name);
    const values = Float64Array.from(
      [...raw].filter((v) => !Number.isNaN(v)).map((v) => (useLog ? signedLog(v) : v)),
    ).sort();
    const median = quantile(values, 0.5);
    let center = 0;
    let scale = 1;
    if (config.numeric.scaler === "robust") {
      center = median;
      scale = quantile(values, 0.75) - quantile(values, 0.25);
      if (!(scale > 1e-12)) {
        // Many heavy-tailed columns are mostly zero: fall back to the standard deviation.
        const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
        scale = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, values.length));
      }
    } else if (config.numeric.scaler === "standard") {
      center = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
      scale = Math.sqrt(values.reduce((a, b) => a + (b - center) ** 2, 0) / Math.max(1, values.length));
    }
    if (!(scale > 1e-12)) scale = 1;
    return { name, fill: median, signedLog: useLog, center, scale };
  });
  const categorical: CategoricalStep[] = categoricalNames.map((name) => {
    const counts = new Map<string, number>();
    for (const v of train.categorical[name]!) if (v !== "") counts.set(v, (counts.get(v) ?? 0) + 1);
    const categories = [...counts.entries()]
      .filter(([, n]) => n >= config.categorical.minFrequency)
      .map(([v]) => v)
      .sort((a, b) =>
        Number.isNaN(Number(a)) || Number.isNaN(Number(b)) ? a.localeCompare(b) : Number(a) - Number(b),
      );
    return { name, categories };
  });
  const featureNames = [
    ...numeric.map((s) => s.name),
    ...categorical.flatMap((s) => [...s.categories.map((c) => `${s.name}=${c}`), `${s.name}=${UNKNOWN}`]),
  ];
  const text: TextStep[] = textNames.map((name) => ({ name, normalize: { ...config.text } }));
  return {
    version: 1,
    engineered,
    numeric,
    categorical,
    ...(text.length > 0 ? { text } : {}),
    clip: config.numeric.clip,
    featureNames,
  };
}

/** Applies a fitted preprocessor. Unknown or missing categories go to each column's unknown bucket. */
export function transform(state: PreprocessorState, table: Table): FeatureMatrix {
  const cols = state.featureNames.length;
  const values = new Float32Array(table.rowCount * cols);
  let offset = 0;
  for (const step of state.numeric) {
    const column = numericColumn(state, table, step.name);
    for (let i = 0; i < table.rowCount; i++) {
      let v = column[i]!;
      if (Number.isNaN(v)) v = step.fill;
      else if (step.signedLog) v = signedLog(v);
      v = (v - step.center) / step.scale;
      values[i * cols + offset] = Math.max(-state.clip, Math.min(state.clip, v));
    }
    offset++;
  }
  for (const step of state.categorical) {
    const column = table.categorical[step.name];
    if (column === undefined)
      throw new ConfigError(`Column '${step.name}' is missing from the input.`, { code: "FEATURE_UNKNOWN" });
    const position = new Map(step.categories.map((c, k) => [c, k]));
    for (let i = 0; i < table.rowCount; i++) {
      const k = position.get(column[i]!) ?? step.categories.length;
      values[i * cols + offset + k] = 1;
    }
    offset += step.categories.length + 1;
  }
  const matrix: FeatureMatrix = { rows: table.rowCount, cols, values, featureNames: state.featureNames };
  if (state.text !== undefined && state.text.length > 0) {
    const texts: Record<string, string[]> = {};
    for (const step of state.text) {
      const column = table.text[step.name];
      if (column === undefined)
        throw new ConfigError(`Text column '${step.name}' is missing from the input.`, {
          code: "FEATURE_UNKNOWN",
        });
      texts[step.name] = column.map((t) => normalizeText(t, step.normalize));
    }
    matrix.texts = texts;
  }
  return matrix;
}
