import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { expect } from "vitest";
import type { Table } from "../../src/data/table.js";
import type { SignatureColumn } from "../../src/registry/model-package.js";
import type { Prediction } from "../../src/serving/predictor.js";
import { projectRoot, venvExecutable } from "../../src/shared/project.js";

const exec = promisify(execFile);

/** One scoring request for tests/fixtures/python/pyfunc_predict.py: a model URI (or folder) and rows. */
export interface PyfuncCase {
  model: string;
  columns: string[];
  data: unknown[][];
  /** pandas dtypes to cast columns to before predicting (e.g. float64 for double columns). */
  dtypes?: Record<string, string>;
  /** Call the package's own loader (code/workbench_pyfunc.py) without MLflow's schema enforcement in front. */
  direct?: boolean;
}

/** What MLflow's pyfunc answered for one case: a DataFrame as columns + rows, or the exception. */
export type PyfuncResult =
  | { columns: string[]; data: (string | number)[][]; error?: undefined }
  | { error: { type: string; message: string } };

/** Scores every case in one Python process through mlflow.pyfunc.load_model(...).predict. */
export async function pyfuncPredict(
  cases: PyfuncCase[],
  env: Record<string, string> = {},
): Promise<PyfuncResult[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "pyfunc-request-"));
  try {
    const request = path.join(dir, "request.json");
    await writeFile(request, JSON.stringify({ cases }));
    const { stdout } = await exec(
      venvExecutable("python"),
      [path.join(projectRoot(), "tests", "fixtures", "python", "pyfunc_predict.py"), request],
      { env: { ...process.env, ...env }, maxBuffer: 256 * 1024 * 1024 },
    );
    return (JSON.parse(stdout) as { results: PyfuncResult[] }).results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The rows of a table as a client sends them: each signature column in its declared JSON type, null if missing. */
export function signatureRows(table: Table, inputs: readonly SignatureColumn[]): Record<string, unknown>[] {
  return Array.from({ length: table.rowCount }, (_, r) => {
    const row: Record<string, unknown> = {};
    for (const c of inputs) {
      const numeric = table.numeric[c.name];
      const code = table.categorical[c.name]?.[r];
      if (numeric !== undefined) row[c.name] = Number.isNaN(numeric[r]!) ? null : numeric[r];
      else if (code === undefined || code === "") row[c.name] = null;
      else row[c.name] = c.type === "string" ? code : Number(code);
    }
    return row;
  });
}

/**
 * Rows as a DataFrame case, the signature's double columns as float64: a DataFrame built from JSON numbers
 * types 50000 as int64, which MLflow's schema enforcement refuses for a double column ("Can not safely
 * convert int64 to float64"), so a Python client casts them, as here.
 */
export function splitCase(
  model: string,
  rows: readonly Record<string, unknown>[],
  inputs: readonly SignatureColumn[],
): PyfuncCase {
  const columns = Object.keys(rows[0] ?? {});
  const dtypes = Object.fromEntries(
    inputs.filter((c) => c.type === "double" && columns.includes(c.name)).map((c) => [c.name, "float64"]),
  );
  return { model, columns, data: rows.map((row) => columns.map((c) => row[c] ?? null)), dtypes };
}

/**
 * Asserts that Python's answer has our /invocations columns and the TypeScript probabilities to 1e-5. Labels
 * must agree too, except where the positive probability lies within 1e-5 of the threshold (float rounding may
 * then pick either side).
 */
export function expectParity(
  what: string,
  result: PyfuncResult | undefined,
  expected: readonly Prediction[],
  classes: readonly string[],
  threshold: number | undefined,
): void {
  expect(result?.error, `${what}: Python raised`).toBeUndefined();
  const answer = result as { columns: string[]; data: (string | number)[][] };
  expect(answer.columns, what).toEqual(["label", ...classes.map((c) => `probability_${c}`)]);
  expect(answer.data.length, `${what}: rows`).toBe(expected.length);
  let worst = 0;
  expected.forEach((ts, r) => {
    const row = answer.data[r]!;
    classes.forEach((c, k) => {
      worst = Math.max(worst, Math.abs(Number(row[k + 1]) - ts.probabilities[c]!));
    });
    const p1 = ts.probabilities[classes[1]!]!;
    const onEdge = threshold !== undefined && classes.length === 2 && Math.abs(p1 - threshold) < 1e-5;
    if (!onEdge) expect(row[0], `${what}: label of row ${r}`).toBe(ts.label);
  });
  expect(worst, `${what}: largest probability difference`).toBeLessThanOrEqual(1e-5);
}
