/**
 * Streams the current data into a CurrentAccumulator in constant memory: a CSV file (read by the fast reader of
 * csv-records.ts, each field handed to the accumulator as it is found) or the service's prediction log (JSONL: a
 * file, or the log's directory with its rotated files, oldest first). Bad rows and lines are counted and
 * reported with their line numbers, never dropped silently; past a limit the read fails.
 */
import { stat } from "node:fs/promises";
import { DataValidationError, WorkbenchError } from "../shared/errors.js";
import type { CurrentAccumulator } from "./current.js";
import { readCsvInto } from "./read-current-csv.js";
import { predictionLogFiles, readJsonlInto } from "./read-prediction-log.js";
import { describeBad, ReadState } from "./read-state.js";

export { predictionLogFiles } from "./read-prediction-log.js";

export type CurrentFormat = "csv" | "jsonl";

/** A column the accumulator watches, in its order. */
export interface WatchedColumn {
  name: string;
  type: "numeric" | "categorical" | "text";
}

/** A prediction as the model made it: probabilities in class order, and the label (threshold applied). */
export interface RowPrediction {
  probabilities: Float64Array;
  label: string;
}

/** One current row that carries a prediction: what the concept join and the shadow comparison read. */
export interface ScoredRow extends RowPrediction {
  /** The row's id (the `idColumn` value), when one was asked for and present. */
  id: string | undefined;
  /** The model that answered (prediction log only). */
  model?: { name: string; version: string | undefined };
  /** The challenger's prediction of the same row (prediction-log records scored in shadow). */
  shadow?: RowPrediction & { model: { name: string; version: string | undefined } };
}

/** Scores CSV rows with a model (rows without predictions in a file, when a model is given). */
export interface RowScorer {
  /** The model's input columns: read from the CSV by name. */
  readonly columns: readonly string[];
  /** Scores rows of CSV text: per row, its prediction or why it could not be scored. */
  score(
    rows: readonly Record<string, string>[],
  ): ({ probabilities: ArrayLike<number>; label: string } | { problem: string })[];
}

export interface ReadCurrentOptions {
  path: string;
  /** Default: jsonl for a directory or a .jsonl/.ndjson file, csv otherwise. */
  format?: CurrentFormat;
  accumulator: CurrentAccumulator;
  /** The accumulator's columns, in its order (a profile's `columns`). */
  columns: readonly WatchedColumn[];
  /** Columns that must be in a CSV header (default: every watched column). */
  required?: readonly string[];
  /**
   * The model's classes in probability order: with them, predictions (a CSV's `label` and `probability_<class>`
   * columns, the log's outputs, or the scorer's) go to `accumulator.addPrediction` and `onScored`.
   */
  classes?: readonly string[];
  /** The id column to read with each row (for the labels join). */
  idColumn?: string;
  /** Scores CSV rows that carry no predictions. */
  scorer?: RowScorer;
  /** Rows per scoring chunk (default 4096). */
  chunkRows?: number;
  onScored?: (row: ScoredRow) => void;
  /** Fail when a larger share of the rows (CSV) or lines (JSONL) is bad (default 0.05). */
  maxBadFraction?: number;
  /** Fail as soon as more rows or lines than this are bad (default: no limit). */
  maxBadLines?: number;
  onProgress?: (progress: { bytesRead: number; totalBytes: number; rows: number }) => void;
}

/** A bad row or line, with where it is. */
export interface BadLine {
  file: string;
  line: number;
  reason: string;
}

export interface CurrentReadResult {
  path: string;
  format: CurrentFormat;
  /** Files read, in order (rotated logs oldest first). */
  files: string[];
  bytes: number;
  /** Rows found: CSV records after the header, or the log's input rows (bad ones included). */
  rowsRead: number;
  /** Rows given to the accumulator. */
  rowsUsed: number;
  /** Bad CSV rows (wrong field count, malformed quotes) or JSONL lines (not JSON, not a prediction record). */
  bad: number;
  /** The first bad rows or lines. */
  badExamples: BadLine[];
  /** CSV header columns neither watched nor otherwise read (ignored). */
  extraColumns: string[];
  predictions: {
    /** Where they came from: the file's columns, the model (scorer), the log's outputs, or nowhere. */
    source: "file" | "model" | "log" | "none";
    rows: number;
    /** Rows without a usable prediction (the model refused the row, a class missing from the output, ...). */
    unscored: number;
    /** The first reasons rows went unscored. */
    examples: BadLine[];
  };
  /** Rows without a value in `idColumn`. */
  missingIds: number;
  seconds: number;
}

export const DEFAULT_MAX_BAD_FRACTION = 0.05;

/** jsonl for a directory or a .jsonl/.ndjson file, csv otherwise. */
export function currentFormat(file: string, isDirectory: boolean): CurrentFormat {
  return isDirectory || /\.(jsonl|ndjson)$/i.test(file) ? "jsonl" : "csv";
}

/** Reads the current data (CSV or prediction log) into `options.accumulator`. */
export async function readCurrent(options: ReadCurrentOptions): Promise<CurrentReadResult> {
  const started = performance.now();
  const info = await stat(options.path).catch((cause: NodeJS.ErrnoException) => {
    throw new DataValidationError(
      "MONITOR_INPUT_UNREADABLE",
      cause.code === "ENOENT"
        ? `${options.path} does not exist: give --current a CSV file, a prediction log (.jsonl) or the log's directory.`
        : `${options.path} cannot be read (${cause.code ?? cause.message}).`,
      { cause },
    );
  });
  const format = options.format ?? currentFormat(options.path, info.isDirectory());
  if (format === "csv" && info.isDirectory())
    throw new DataValidationError(
      "MONITOR_INPUT_UNREADABLE",
      `${options.path} is a directory; --format csv reads one CSV file.`,
    );
  const files = info.isDirectory() ? await predictionLogFiles(options.path) : [options.path];
  const limit = options.maxBadFraction ?? DEFAULT_MAX_BAD_FRACTION;
  const state = new ReadState(options, limit);
  const sizes = await Promise.all(files.map(async (f) => (await stat(f)).size));
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  let before = 0;
  for (const [i, file] of files.entries()) {
    const progress = (bytes: number) =>
      options.onProgress?.({ bytesRead: before + bytes, totalBytes, rows: state.rowsRead });
    try {
      if (format === "csv") await readCsvInto(file, options, state, progress);
      else await readJsonlInto(file, options, state, progress);
    } catch (error) {
      if (error instanceof WorkbenchError && error.code === "CSV_UNCLOSED_QUOTE")
        throw new DataValidationError("MONITOR_INPUT_INVALID", `${file}: ${error.message}`, {
          cause: error,
          details: error.details,
        });
      if (error instanceof WorkbenchError) throw error;
      const cause = error as NodeJS.ErrnoException;
      throw new DataValidationError(
        "MONITOR_INPUT_UNREADABLE",
        `${file} cannot be read (${cause.code ?? cause.message}).`,
        {
          cause,
        },
      );
    }
    before += sizes[i]!;
  }
  state.flushScoring();
  if (options.accumulator.rows === 0)
    throw new DataValidationError(
      "MONITOR_INPUT_EMPTY",
      state.bad > 0
        ? `${options.path} has no usable rows: all ${state.bad} ${format === "csv" ? "rows" : "lines"} are bad (${describeBad(state.badExamples)}).`
        : `${options.path} has no data rows${format === "csv" ? " (an empty file, or a header only)" : " (no prediction records)"}: there is nothing to compare with the reference.`,
    );
  state.checkBadShare(options.path, format);
  return {
    path: options.path,
    format,
    files,
    bytes: totalBytes,
    rowsRead: state.rowsRead,
    rowsUsed: options.accumulator.rows,
    bad: state.bad,
    badExamples: state.badExamples,
    extraColumns: state.extraColumns,
    predictions: {
      source: state.predictionSource,
      rows: state.predicted,
      unscored: state.unscored,
      examples: state.unscoredExamples,
    },
    missingIds: state.missingIds,
    seconds: (performance.now() - started) / 1000,
  };
}
