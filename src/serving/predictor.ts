import type { Table } from "../data/table.js";
import { transform } from "../features/preprocessor.js";
import type { PackagedModel } from "../registry/model-package.js";
import { type FieldProblem, type InputMode, rowsToTable } from "./input.js";

/** Where a loaded model came from. */
export interface ModelOrigin {
  uri: string;
  name: string;
  version: string | undefined;
  alias: string | undefined;
  runId: string | undefined;
  modelId: string | undefined;
}

export interface Prediction {
  label: string;
  probabilities: Record<string, number>;
}

export class InputValidationError extends Error {
  constructor(readonly problems: FieldProblem[]) {
    super(`${problems.length} problem${problems.length === 1 ? "" : "s"} in the input`);
  }
}

/** A loaded model package that scores rows; shared by the HTTP service and batch scoring. */
export class Predictor {
  private inFlight = 0;
  private retired = false;

  constructor(
    readonly model: PackagedModel,
    readonly origin: ModelOrigin,
  ) {}

  get classes(): string[] {
    return this.model.meta.classes;
  }

  get threshold(): number | undefined {
    return this.model.meta.threshold;
  }

  /** Validates and scores rows; throws InputValidationError listing every offending field and row. */
  predict(rows: readonly Record<string, unknown>[], mode: InputMode = "json"): Prediction[] {
    const { table, problems } = this.check(rows, mode);
    if (problems.length > 0) throw new InputValidationError(problems);
    return this.score(table);
  }

  /** Validates rows without scoring (batch scoring quarantines the bad ones and scores the rest). */
  check(
    rows: readonly Record<string, unknown>[],
    mode: InputMode,
    options: { allowExtraColumns?: boolean } = {},
  ) {
    return rowsToTable(rows, this.model.meta.inputs, this.model.preprocessor, mode, options);
  }

  /** Scores a validated table. */
  score(table: Table): Prediction[] {
    const { meta, preprocessor, model } = this.model;
    const rows = { length: table.rowCount };
    const k = meta.classes.length;
    this.inFlight++;
    let probabilities: Float32Array;
    try {
      probabilities = model.predict(transform(preprocessor, table));
    } finally {
      this.inFlight--;
      if (this.retired && this.inFlight === 0) model.dispose();
    }
    const out: Prediction[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const p: Record<string, number> = {};
      let best = 0;
      for (let c = 0; c < k; c++) {
        p[meta.classes[c]!] = probabilities[i * k + c]!;
        if (probabilities[i * k + c]! > probabilities[i * k + best]!) best = c;
      }
      const label =
        k === 2 && meta.threshold !== undefined
          ? meta.classes[probabilities[i * 2 + 1]! >= meta.threshold ? 1 : 0]!
          : meta.classes[best]!;
      out[i] = { label, probabilities: p };
    }
    return out;
  }

  /** Frees the model once no request uses it (after a hot swap). */
  retire(): void {
    this.retired = true;
    if (this.inFlight === 0) this.model.model.dispose();
  }
}
