/** The CSV side of readCurrent: header matched to the watched columns by name, fields straight to the accumulator. */
import { DataValidationError } from "../shared/errors.js";
import { type CsvRecord, readCsvFile } from "./csv-records.js";
import type { ReadCurrentOptions } from "./read-current.js";
import type { ReadState } from "./read-state.js";

/** How a watched CSV column is read (kinds of `CsvSlots`). */
const NUMERIC = 0;
const CATEGORICAL = 1;
const TEXT = 2;
const KINDS = { numeric: NUMERIC, categorical: CATEGORICAL, text: TEXT } as const;

/** Distinct values a categorical column tallies in its map before handing them to the accumulator. */
const TALLY_LIMIT = 4096;
/** Keys of values of up to two bytes ("2", "-1", "10") are below this: counted in an array. */
const SMALL_KEYS = 1 << 17;

/**
 * Repeated short values of one categorical column, counted by their bytes and handed to the accumulator once per
 * value (`addStrings`): the missing-token check and the category key are then read per distinct value, not per
 * row. Counts are what row-by-row adds would give.
 */
class Tally {
  /** Values of one or two bytes: counts by key, and the keys seen. */
  private small: Float64Array | undefined;
  private readonly smallKeys: number[] = [];
  private readonly counts = new Map<number, number>();
  private readonly texts = new Map<number, string>();

  constructor(
    private readonly accumulator: ReadCurrentOptions["accumulator"],
    private readonly column: number,
  ) {}

  add(record: CsvRecord, field: number): void {
    const key = record.shortKey(field);
    if (key < 0) {
      this.accumulator.addString(this.column, record.field(field));
      return;
    }
    if (key < SMALL_KEYS) {
      this.small ??= new Float64Array(SMALL_KEYS);
      if (this.small[key]++ === 0) {
        this.smallKeys.push(key);
        this.texts.set(key, record.field(field));
      }
      return;
    }
    const n = this.counts.get(key);
    if (n !== undefined) {
      this.counts.set(key, n + 1);
      return;
    }
    if (this.counts.size >= TALLY_LIMIT) this.flushLarge();
    this.counts.set(key, 1);
    this.texts.set(key, record.field(field));
  }

  private flushLarge(): void {
    for (const [key, count] of this.counts) {
      this.accumulator.addStrings(this.column, this.texts.get(key)!, count);
      this.texts.delete(key);
    }
    this.counts.clear();
  }

  flush(): void {
    this.flushLarge();
    for (const key of this.smallKeys) {
      this.accumulator.addStrings(this.column, this.texts.get(key)!, this.small![key]!);
      this.small![key] = 0;
    }
    this.smallKeys.length = 0;
    this.texts.clear();
  }
}

/** Reads one CSV file into the accumulator (and the scorer, when its rows carry no predictions). */
export async function readCsvInto(
  file: string,
  options: ReadCurrentOptions,
  state: ReadState,
  progress: (bytes: number) => void,
): Promise<void> {
  const accumulator = options.accumulator;
  const classes = options.classes ?? [];
  let header: string[] | undefined;
  // The watched columns' fields, kinds and accumulator columns, as flat arrays (the loop runs per field).
  let slotFields = new Int32Array(0);
  let slotKinds = new Uint8Array(0);
  let slotColumns = new Int32Array(0);
  let tallies: (Tally | undefined)[] = [];
  let probabilityFields: number[] = [];
  let labelField = -1;
  let idField = -1;
  let scorerFields: [string, number][] = [];
  let fromFile = false;
  const probabilities = new Float64Array(classes.length);

  const onHeader = (names: string[]) => {
    header = names;
    const position = new Map<string, number>();
    names.forEach((n, i) => {
      if (!position.has(n)) position.set(n, i);
    });
    const required = options.required ?? options.columns.map((c) => c.name);
    const missing = required.filter((c) => !position.has(c));
    if (missing.length > 0)
      throw new DataValidationError(
        "MONITOR_COLUMN_MISSING",
        `${file} lacks ${missing.length === 1 ? "a column" : `${missing.length} columns`} of the reference profile: ${missing.join(", ")}. Its header has: ${names.join(", ")}.`,
        { details: { missing, header: names } },
      );
    const used = new Set<number>();
    const watched = options.columns.filter((c) => position.has(c.name));
    slotFields = Int32Array.from(watched, (c) => position.get(c.name)!);
    slotKinds = Uint8Array.from(watched, (c) => KINDS[c.type]);
    slotColumns = Int32Array.from(watched, (c) => accumulator.columnIndex(c.name) ?? -1);
    tallies = watched.map((c, i) =>
      c.type === "categorical" ? new Tally(accumulator, slotColumns[i]!) : undefined,
    );
    for (const f of slotFields) used.add(f);
    const probability = classes.map((c) => position.get(`probability_${c}`));
    const label = position.get("label");
    fromFile = classes.length > 0 && label !== undefined && probability.every((f) => f !== undefined);
    if (fromFile) {
      labelField = label!;
      used.add(labelField);
      probabilityFields = probability as number[];
      for (const f of probabilityFields) used.add(f);
      state.predictionSource = "file";
    } else if (options.scorer !== undefined && classes.length > 0) {
      const absent = options.scorer.columns.filter((c) => !position.has(c));
      if (absent.length > 0)
        throw new DataValidationError(
          "MONITOR_COLUMN_MISSING",
          `${file} lacks the model's input column${absent.length === 1 ? "" : "s"} ${absent.join(", ")}: its rows cannot be scored (pass --no-score to check data drift only).`,
          { details: { missing: absent } },
        );
      scorerFields = options.scorer.columns.map((c) => [c, position.get(c)!]);
      for (const [, f] of scorerFields) used.add(f);
      state.predictionSource = "model";
    }
    if (options.idColumn !== undefined) {
      const id = position.get(options.idColumn);
      if (id === undefined)
        throw new DataValidationError(
          "MONITOR_ID_MISSING",
          `${file} has no id column '${options.idColumn}' to join the labels on (its header has: ${names.join(", ")}). Name the id column with --id.`,
          { details: { idColumn: options.idColumn } },
        );
      idField = id;
      used.add(id);
    }
    state.extraColumns = names.filter((_, i) => !used.has(i));
  };

  const onRecord = (record: CsvRecord) => {
    if (header === undefined) {
      onHeader(record.fields().map((n) => n.trim()));
      return;
    }
    state.rowsRead++;
    if (record.length !== header.length) {
      state.badLine(file, record.line, `${record.length} fields where the header has ${header.length}`);
      return;
    }
    if (record.malformed !== undefined) {
      state.badLine(file, record.line, record.malformed);
      return;
    }
    state.units++;
    for (let s = 0; s < slotFields.length; s++) {
      const field = slotFields[s]!;
      const column = slotColumns[s]!;
      const kind = slotKinds[s];
      if (kind === NUMERIC) {
        // NaN (an empty field) is a missing value to addNumber; anything but plain decimals goes as text.
        if (record.isPlain(field)) accumulator.addNumber(column, record.value(field));
        else accumulator.addString(column, record.field(field));
      } else if (kind === CATEGORICAL) tallies[s]!.add(record, field);
      else accumulator.addText(column, record.field(field));
    }
    accumulator.endRow();
    let id: string | undefined;
    if (idField >= 0) {
      id = record.field(idField).trim();
      if (id === "") {
        id = undefined;
        state.missingIds++;
      }
    }
    if (fromFile) {
      for (let c = 0; c < probabilityFields.length; c++) {
        const f = probabilityFields[c]!;
        probabilities[c] = record.plainNumber(f) ?? Number(record.field(f));
      }
      const label = record.field(labelField).trim();
      if (label === "" || probabilities.some((p) => !Number.isFinite(p)))
        state.unscoredRow(file, record.line, "no label or a probability that is not a number");
      else state.prediction({ id, probabilities: probabilities.slice(), label });
    } else if (scorerFields.length > 0) {
      const row: Record<string, string> = {};
      for (const [name, field] of scorerFields) row[name] = record.field(field);
      state.queue(file, record.line, row, id);
    }
  };

  await readCsvFile(file, onRecord, { onProgress: (p) => progress(p.bytesRead) });
  for (const tally of tallies) tally?.flush();
}
