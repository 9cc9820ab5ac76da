/**
 * The streaming side of monitoring: a CurrentAccumulator takes rows one value at a time in constant memory (a
 * value sketch per numeric column, category counts per categorical column, a text accumulator per text column,
 * the predictions' labels and score) and counts what the reference does not know: values the schema refuses
 * (invalid), numbers outside the reference's [min, max] and categories the reference never saw. Nothing is
 * dropped silently. The same accumulator without a reference (`forColumns`) builds a reference profile.
 */
import { categoryKey, isMissingField, parseNumberField } from "../data/csv-value.js";
import { WorkbenchError } from "../shared/errors.js";
import { deriveSeed } from "../shared/random.js";
import { type ProfileOptions, resolveProfileOptions } from "./options.js";
import { type SketchSummary, ValueSketch } from "./sketch.js";
import { TextAccumulator, TextProfiler } from "./text.js";
import type {
  ColumnProfile,
  PredictionProfile,
  ReferenceProfile,
  SerializedWeightedValues,
} from "./types.js";

/** The key rows of a categorical column's further new categories are counted under, past `maxCategories`. */
export const OVERFLOW_CATEGORY = "(other categories)";

/** The profile's name of the watched score when the model is multiclass. */
export const TOP_CLASS_SCORE = "top_class_probability";

export type WatchedType = "numeric" | "categorical" | "text";

/** A column the accumulator watches. */
export interface AccumulatorColumn {
  name: string;
  type: WatchedType;
}

/** The profile's name of the watched score: the positive class's probability (binary) or the top one. */
export function scoreName(classes: readonly string[]): string {
  return classes.length === 2 ? `probability_${classes[1]}` : TOP_CLASS_SCORE;
}

/** The watched score of one prediction (NaN when the probabilities are not numbers). */
export function scoreOf(probabilities: ArrayLike<number>): number {
  if (probabilities.length === 2) return probabilities[1]!;
  let best = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < probabilities.length; i++) if (probabilities[i]! > best) best = probabilities[i]!;
  return probabilities.length === 0 ? Number.NaN : best;
}

/** Distinct values a current column counts exactly when its reference column was compressed. */
const COMPRESSED_REFERENCE_POINTS = 8192;

const NUMERIC = 0;
const CATEGORICAL = 1;
const TEXT = 2;

interface TextSlot {
  add(text: string): void;
  addMissing(): void;
  reset(): void;
}

/** One column's counts on the current side, as `detectDrift` and the service read them. */
export interface CurrentColumn {
  name: string;
  type: WatchedType;
  /** Values in the distribution (not missing, not invalid). */
  present: number;
  invalid: number;
  outOfRange: number;
  unseen: number;
}

/**
 * Current data, streaming (column order = the profile's columns). Values go in with `addNumber`, `addString`,
 * `addText`, `addMissing` (or a whole JSON record with `addRecord`), each row closed by `endRow`.
 */
export class CurrentAccumulator {
  readonly options: ProfileOptions;
  private watched: readonly AccumulatorColumn[] = [];
  private reference: ReferenceProfile | undefined;
  private readonly index = new Map<string, number>();
  private kinds = new Uint8Array(0);
  private sketches: (ValueSketch | undefined)[] = [];
  private categories: (Map<string, number> | undefined)[] = [];
  private known: (ReadonlySet<string> | undefined)[] = [];
  private recodes: (Readonly<Record<string, string>> | undefined)[] = [];
  private texts: (TextSlot | undefined)[] = [];
  private lo = new Float64Array(0);
  private hi = new Float64Array(0);
  private present = new Float64Array(0);
  private invalid = new Float64Array(0);
  private outOfRange = new Float64Array(0);
  private unseen = new Float64Array(0);
  private rowCount = 0;
  private readonly labels = new Map<string, number>();
  private readonly scores: ValueSketch;
  private predictionRows = 0;
  private invalidPredictions = 0;

  /** An accumulator of current data checked against `profile` (its columns, in its order). */
  constructor(profile: ReferenceProfile, options: Partial<ProfileOptions> = {}) {
    this.options = resolveProfileOptions(options, "accumulator options");
    this.scores = new ValueSketch({ maxPoints: this.options.maxPoints });
    this.reference = profile;
    this.watch(profile.columns);
  }

  /** An accumulator without a reference: what `toProfile` turns into a reference profile. */
  static forColumns(
    columns: readonly AccumulatorColumn[],
    options: Partial<ProfileOptions> = {},
  ): CurrentAccumulator {
    const accumulator = new CurrentAccumulator(
      { formatVersion: 1, createdAt: "", source: { split: "", rows: 0 }, columns: [] },
      options,
    );
    accumulator.reference = undefined;
    accumulator.watch(columns);
    return accumulator;
  }

  /** The watched columns, in order. */
  get columns(): readonly AccumulatorColumn[] {
    return this.watched;
  }

  /** The reference the counts are taken against (undefined: a profile being built). */
  get profile(): ReferenceProfile | undefined {
    return this.reference;
  }

  private watch(columns: readonly (AccumulatorColumn | ColumnProfile)[]): void {
    const n = columns.length;
    this.watched = columns.map((c) => ({ name: c.name, type: c.type }));
    this.index.clear();
    this.kinds = new Uint8Array(n);
    this.sketches = new Array(n).fill(undefined);
    this.categories = new Array(n).fill(undefined);
    this.known = new Array(n).fill(undefined);
    this.texts = new Array(n).fill(undefined);
    this.lo = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
    this.hi = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
    this.present = new Float64Array(n);
    this.invalid = new Float64Array(n);
    this.outOfRange = new Float64Array(n);
    this.unseen = new Float64Array(n);
    columns.forEach((column, i) => {
      if (this.index.has(column.name))
        throw new WorkbenchError(
          "PROFILE_INVALID",
          `Column "${column.name}" is listed twice; name each column once.`,
          { details: { column: column.name } },
        );
      this.index.set(column.name, i);
      const reference = "rows" in column ? column : undefined;
      if (column.type === "numeric") {
        this.kinds[i] = NUMERIC;
        // Against a compressed reference, exact current counts buy nothing: bin from the first 8,192 values on.
        const compressed = reference?.type === "numeric" && !reference.exact;
        this.sketches[i] = new ValueSketch({
          maxPoints: compressed
            ? Math.min(this.options.maxPoints, COMPRESSED_REFERENCE_POINTS)
            : this.options.maxPoints,
        });
        if (reference?.type === "numeric" && reference.rows > reference.missing) {
          this.lo[i] = reference.min;
          this.hi[i] = reference.max;
        }
      } else if (column.type === "categorical") {
        this.kinds[i] = CATEGORICAL;
        this.categories[i] = new Map();
        if (reference?.type === "categorical") this.known[i] = new Set(Object.keys(reference.counts));
      } else {
        this.kinds[i] = TEXT;
        this.texts[i] =
          reference?.type === "text"
            ? new TextAccumulator(reference, {
                sampleSize: this.options.text.sampleSize,
                // Not the reference reservoir's own draws.
                seed: deriveSeed(this.options.text.seed, "text-current"),
              })
            : new TextProfiler({
                sampleSize: this.options.text.sampleSize,
                seed: this.options.text.seed,
                vocabularySize: this.options.vocabularySize,
              });
      }
    });
  }

  /** The column's position, or undefined when the accumulator does not watch it. */
  columnIndex(name: string): number | undefined {
    return this.index.get(name);
  }

  /** Rows closed with `endRow` (or `addRecord`). */
  get rows(): number {
    return this.rowCount;
  }

  /** Predictions added (`addPrediction`), invalid ones included. */
  get predictions(): number {
    return this.predictionRows;
  }

  /** A number (NaN = missing; ±Infinity is invalid). Categorical columns take it as its category key. */
  addNumber(column: number, value: number): void {
    const sketch = this.sketches[column];
    if (sketch !== undefined) {
      if (Number.isNaN(value)) return;
      if (value === Number.POSITIVE_INFINITY || value === Number.NEGATIVE_INFINITY) {
        this.invalid[column]!++;
        return;
      }
      if (value < this.lo[column]! || value > this.hi[column]!) this.outOfRange[column]!++;
      this.present[column]!++;
      sketch.add(value);
      return;
    }
    if (Number.isNaN(value)) return;
    if (this.kinds[column] === CATEGORICAL) {
      if (!Number.isFinite(value)) this.invalid[column]!++;
      else this.addCategory(column, categoryKey(String(value)));
    } else this.check(column).invalid[column]!++;
  }

  /** A raw field: missing tokens are missing, numeric columns parse it (unparsable = invalid). */
  addString(column: number, raw: string): void {
    const kind = this.kinds[column];
    if (kind === TEXT) {
      this.check(column).texts[column]!.add(raw);
      return;
    }
    if (isMissingField(raw)) return;
    if (kind === NUMERIC) {
      const value = parseNumberField(raw);
      if (value === undefined) this.invalid[column]!++;
      else this.addNumber(column, value);
    } else if (kind === CATEGORICAL) this.addCategory(column, categoryKey(raw));
    else this.check(column);
  }

  /**
   * `count` rows holding the same raw field, as `count` calls of addString: a reader that tallies repeated values
   * (the CSV reader does, for categorical codes) reads the missing tokens and the category key once.
   */
  addStrings(column: number, raw: string, count: number): void {
    if (this.kinds[column] !== CATEGORICAL) {
      for (let i = 0; i < count; i++) this.addString(column, raw);
      return;
    }
    if (isMissingField(raw)) return;
    if (count > 0) this.addCategory(column, categoryKey(raw), count);
  }

  /** A text (text columns; other columns read it as a raw field). Empty or whitespace-only = missing. */
  addText(column: number, text: string): void {
    this.addString(column, text);
  }

  /** A missing value (rows of a column that got no value before `endRow` are missing too). */
  addMissing(column: number): void {
    if (this.kinds[column] === TEXT) this.check(column).texts[column]!.addMissing();
    else this.check(column);
  }

  /** A value the schema refuses (counted, not in the distribution). */
  addInvalid(column: number): void {
    this.check(column).invalid[column]!++;
  }

  /** Closes a row. */
  endRow(): void {
    this.rowCount++;
  }

  /**
   * A JSON record as the service and the prediction log hold it: numbers and numeric strings for numeric
   * columns, strings (or numbers, by their key) for categorical ones, strings for text; null or absent = missing;
   * booleans, objects and arrays are invalid. Closes the row.
   */
  addRecord(record: Readonly<Record<string, unknown>>): void {
    for (let c = 0; c < this.columns.length; c++) {
      const value = record[this.columns[c]!.name];
      if (value === undefined || value === null) this.addMissing(c);
      else if (typeof value === "number") {
        if (this.kinds[c] === TEXT) this.addInvalid(c);
        else this.addNumber(c, value);
      } else if (typeof value === "string") this.addString(c, value);
      else this.addInvalid(c);
    }
    this.endRow();
  }

  /**
   * One prediction: the class probabilities (in the model's class order) and its label (threshold applied).
   * Probabilities that are not finite numbers count as an invalid prediction.
   */
  addPrediction(probabilities: ArrayLike<number>, label: string): void {
    this.predictionRows++;
    const score = scoreOf(probabilities);
    if (!Number.isFinite(score)) {
      this.invalidPredictions++;
      return;
    }
    this.scores.add(score);
    this.labels.set(label, (this.labels.get(label) ?? 0) + 1);
  }

  /**
   * The dataset manifest's category recodes per column (a model's signature carries them): a raw code counts as
   * the category training recoded it to (credit-default: EDUCATION 0, 5, 6 → 4), as training and serving see it.
   */
  recodeCategories(maps: Readonly<Record<string, Readonly<Record<string, string>> | undefined>>): void {
    for (const [name, map] of Object.entries(maps)) {
      const column = this.index.get(name);
      if (column !== undefined && map !== undefined && this.kinds[column] === CATEGORICAL)
        this.recodes[column] = map;
    }
  }

  /** `count` rows (at least 1) of one category key: the same counts as `count` single adds. */
  private addCategory(column: number, raw: string, count = 1): void {
    const recode = this.recodes[column];
    const key = recode !== undefined && Object.hasOwn(recode, raw) ? recode[raw]! : raw;
    const counts = this.categories[column]!;
    const seen = counts.get(key);
    this.present[column]! += count;
    const known = this.known[column];
    if (known !== undefined && !known.has(key)) this.unseen[column]! += count;
    if (seen !== undefined) counts.set(key, seen + count);
    else if (counts.size < this.options.maxCategories) counts.set(key, count);
    else counts.set(OVERFLOW_CATEGORY, (counts.get(OVERFLOW_CATEGORY) ?? 0) + count);
  }

  private check(column: number): this {
    if (!Number.isInteger(column) || column < 0 || column >= this.columns.length)
      throw new WorkbenchError(
        "MONITOR_COLUMN_UNKNOWN",
        `Column index ${column} is out of range: the accumulator watches ${this.columns.length} columns; look columns up with columnIndex(name).`,
        { details: { column, columns: this.columns.length } },
      );
    return this;
  }

  /** The counts of a column (by index), as the drift table and the service's signals read them. */
  column(column: number): CurrentColumn {
    this.check(column);
    const { name, type } = this.columns[column]!;
    return {
      name,
      type,
      present: this.present[column]!,
      invalid: this.invalid[column]!,
      outOfRange: this.outOfRange[column]!,
      unseen: this.unseen[column]!,
    };
  }

  /** A numeric column's values summarised (at most `points` points). */
  numericSummary(column: number, points?: number): SketchSummary {
    const sketch = this.check(column).sketches[column];
    if (sketch === undefined) throw notA(this.columns[column]!, "numeric");
    return sketch.summary(points);
  }

  /** A categorical column's rows per category. */
  categoryCounts(column: number): ReadonlyMap<string, number> {
    const counts = this.check(column).categories[column];
    if (counts === undefined) throw notA(this.columns[column]!, "categorical");
    return counts;
  }

  /** A text column's accumulator (drift mode: a TextAccumulator against the profile's column). */
  textAccumulator(column: number): TextAccumulator {
    const slot = this.check(column).texts[column];
    if (!(slot instanceof TextAccumulator)) throw notA(this.columns[column]!, "text");
    return slot;
  }

  /** The predictions' labels (rows per label) and scores, undefined when none was added. */
  predictionSummary(
    points?: number,
  ): { labels: ReadonlyMap<string, number>; score: SketchSummary; invalid: number } | undefined {
    if (this.scores.count === 0) return undefined;
    return { labels: this.labels, score: this.scores.summary(points), invalid: this.invalidPredictions };
  }

  /**
   * The reference profile of what was added (an accumulator from `forColumns`). Numeric columns keep at most
   * `points` points (default: options.maxPoints); values refused as invalid count as missing in the profile.
   */
  toProfile(source: ReferenceProfile["source"], points?: number): ReferenceProfile {
    if (this.reference !== undefined && this.kinds.some((k) => k === TEXT))
      throw new WorkbenchError(
        "PROFILE_TEXT_UNAVAILABLE",
        "This accumulator checks text columns against a reference and cannot profile them; build profiles with CurrentAccumulator.forColumns(...).",
      );
    const rows = this.rowCount;
    const columns = this.columns.map((column, i): ColumnProfile => {
      const present = this.present[i]!;
      if (column.type === "numeric") {
        const s = this.sketches[i]!.summary(points);
        return {
          name: column.name,
          type: "numeric",
          rows,
          missing: Math.max(0, rows - present),
          min: finiteOr(s.min, 0),
          max: finiteOr(s.max, 0),
          mean: finiteOr(s.mean, 0),
          std: finiteOr(s.std, 0),
          distinct: s.distinct,
          exact: s.exact,
          distribution: serialize(s.weighted),
        };
      }
      if (column.type === "categorical")
        return {
          name: column.name,
          type: "categorical",
          rows,
          missing: Math.max(0, rows - present),
          counts: Object.fromEntries(this.categories[i]!),
        };
      return (this.texts[i] as TextProfiler).toProfile(column.name);
    });
    const profile: ReferenceProfile = {
      formatVersion: 1,
      createdAt: new Date().toISOString(),
      source,
      columns,
    };
    const predictions = this.predictionProfile(points);
    return predictions === undefined ? profile : { ...profile, predictions };
  }

  private predictionProfile(points?: number): PredictionProfile | undefined {
    const summary = this.predictionSummary(points);
    if (summary === undefined) return undefined;
    const classes = [
      ...(this.options.classes ??
        this.reference?.predictions?.classes ??
        [...summary.labels.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))),
    ];
    return {
      classes,
      rows: summary.score.count,
      labels: Object.fromEntries(summary.labels),
      score: {
        name: scoreName(classes),
        distribution: serialize(summary.score.weighted),
        exact: summary.score.exact,
        std: summary.score.std,
      },
    };
  }

  /** Forgets every row (the service's drift window starts over). */
  reset(): void {
    this.rowCount = 0;
    this.present.fill(0);
    this.invalid.fill(0);
    this.outOfRange.fill(0);
    this.unseen.fill(0);
    for (const s of this.sketches) s?.reset();
    for (const c of this.categories) c?.clear();
    for (const t of this.texts) t?.reset();
    this.labels.clear();
    this.scores.reset();
    this.predictionRows = 0;
    this.invalidPredictions = 0;
  }

  /**
   * Adds whole columns at once (the rows of an in-memory table): values[i] is row i. Used by
   * `buildReferenceProfile`; the row count is the longest column's.
   * @internal
   */
  addColumns(columns: {
    numeric?: Record<string, ArrayLike<number>>;
    strings?: Record<string, readonly string[]>;
  }): void {
    let rows = 0;
    for (const [name, values] of Object.entries(columns.numeric ?? {})) {
      const c = this.requireColumn(name);
      for (let r = 0; r < values.length; r++) this.addNumber(c, values[r]!);
      rows = Math.max(rows, values.length);
    }
    for (const [name, values] of Object.entries(columns.strings ?? {})) {
      const c = this.requireColumn(name);
      for (const v of values) {
        if (this.kinds[c] === TEXT) this.addText(c, v);
        else if (v === "") this.addMissing(c);
        else this.addString(c, v);
      }
      rows = Math.max(rows, values.length);
    }
    this.rowCount += rows;
  }

  private requireColumn(name: string): number {
    const c = this.index.get(name);
    if (c === undefined)
      throw new WorkbenchError(
        "MONITOR_COLUMN_UNKNOWN",
        `Column "${name}" is not watched by this accumulator.`,
        {
          details: { column: name },
        },
      );
    return c;
  }
}

function notA(column: AccumulatorColumn, type: WatchedType): WorkbenchError {
  return new WorkbenchError(
    "MONITOR_COLUMN_TYPE",
    `Column "${column.name}" is ${column.type}, not ${type}.`,
    { details: { column: column.name, type: column.type } },
  );
}

function finiteOr(x: number, fallback: number): number {
  return Number.isFinite(x) ? x : fallback;
}

function serialize(w: { values: Float64Array; counts: Float64Array }): SerializedWeightedValues {
  return { values: Array.from(w.values), counts: Array.from(w.counts) };
}
