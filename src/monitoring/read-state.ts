/**
 * The counters of one read of current data (rows, bad rows or lines with examples, predictions, unscored rows)
 * and the scoring buffer of CSV rows without predictions. Internal to readCurrent and its CSV and JSONL readers.
 */
import path from "node:path";
import { DataValidationError } from "../shared/errors.js";
import type {
  BadLine,
  CurrentFormat,
  CurrentReadResult,
  ReadCurrentOptions,
  ScoredRow,
} from "./read-current.js";

const EXAMPLES = 5;

/** The first bad rows or lines, as `file:line: reason` in one line. */
export function describeBad(examples: readonly BadLine[]): string {
  return examples.map((e) => `${path.basename(e.file)}:${e.line}: ${e.reason}`).join("; ");
}

/** Counters and the scoring buffer of one read. */
export class ReadState {
  rowsRead = 0;
  /** Rows and lines judged (for the bad share). */
  units = 0;
  bad = 0;
  readonly badExamples: BadLine[] = [];
  extraColumns: string[] = [];
  predictionSource: CurrentReadResult["predictions"]["source"] = "none";
  predicted = 0;
  unscored = 0;
  readonly unscoredExamples: BadLine[] = [];
  missingIds = 0;
  private batch: Record<string, string>[] = [];
  private batchIds: (string | undefined)[] = [];
  private batchLines: number[] = [];
  private batchFile = "";

  constructor(
    private readonly options: ReadCurrentOptions,
    private readonly limit: number,
  ) {}

  badLine(file: string, line: number, reason: string): void {
    this.bad++;
    this.units++;
    if (this.badExamples.length < EXAMPLES) this.badExamples.push({ file, line, reason });
    const max = this.options.maxBadLines;
    if (max !== undefined && this.bad > max)
      throw new DataValidationError(
        "MONITOR_INPUT_INVALID",
        `${this.options.path}: more than ${max} bad rows or lines (--max-bad-lines ${max}); first: ${describeBad(this.badExamples)}.`,
        { details: { bad: this.bad, examples: this.badExamples } },
      );
  }

  unscoredRow(file: string, line: number, reason: string): void {
    this.unscored++;
    if (this.unscoredExamples.length < EXAMPLES) this.unscoredExamples.push({ file, line, reason });
  }

  /** Fails when the share of bad rows or lines passes the limit. */
  checkBadShare(input: string, format: CurrentFormat): void {
    if (this.units === 0) return;
    const share = this.bad / this.units;
    if (share > this.limit)
      throw new DataValidationError(
        "MONITOR_INPUT_INVALID",
        `${input}: ${this.bad} of ${this.units} ${format === "csv" ? "rows" : "lines"} are bad (${(share * 100).toFixed(2)}%, limit ${(this.limit * 100).toFixed(2)}%, --max-bad-fraction); first: ${describeBad(this.badExamples)}.`,
        { details: { bad: this.bad, units: this.units, examples: this.badExamples } },
      );
  }

  prediction(row: ScoredRow): void {
    this.predicted++;
    this.options.accumulator.addPrediction(row.probabilities, row.label);
    this.options.onScored?.(row);
  }

  /** Queues a CSV row for the scorer; scores a full chunk. */
  queue(file: string, line: number, row: Record<string, string>, id: string | undefined): void {
    this.batch.push(row);
    this.batchIds.push(id);
    this.batchLines.push(line);
    this.batchFile = file;
    if (this.batch.length >= (this.options.chunkRows ?? 4096)) this.flushScoring();
  }

  flushScoring(): void {
    const scorer = this.options.scorer;
    if (scorer === undefined || this.batch.length === 0) return;
    const results = scorer.score(this.batch);
    const classes = this.options.classes ?? [];
    results.forEach((result, i) => {
      if ("problem" in result) {
        this.unscoredRow(this.batchFile, this.batchLines[i]!, result.problem);
        return;
      }
      const probabilities = Float64Array.from({ length: classes.length }, (_, c) => result.probabilities[c]!);
      this.prediction({ id: this.batchIds[i], probabilities, label: result.label });
    });
    this.batch = [];
    this.batchIds = [];
    this.batchLines = [];
  }
}
