// Batch scoring's chunk scorer and its worker threads (src/pipelines/predict-workers.ts, predict-worker.ts,
// the chunked reading in predict.ts): same reading and checks as the Predictor, the same bytes whatever the
// number of threads, line numbers across chunks, and named errors when a worker fails.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parse } from "csv-parse/sync";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Table } from "../../../src/data/table.js";
import { type PreprocessorState, transform } from "../../../src/features/preprocessor.js";
import { modelKind } from "../../../src/models/kinds/index.js";
import { batchPredict } from "../../../src/pipelines/predict.js";
import {
  createChunkScorer,
  predictWorkerEntry,
  type RecordDelimiter,
} from "../../../src/pipelines/predict-workers.js";
import {
  loadModelPackage,
  type ModelMeta,
  PACKAGE_FORMAT_VERSION,
  writeModelPackage,
} from "../../../src/registry/model-package.js";
import { Predictor } from "../../../src/serving/predictor.js";
import { ConfigError } from "../../../src/shared/errors.js";
import { createRng } from "../../../src/shared/random.js";
import { rejectionOf } from "../../helpers/expect-error.js";
import { tempDir } from "../../helpers/temp.js";

const tmp = tempDir("predict-workers-");

// A small credit-like signature: required long, double and categorical columns, an optional double, an
// optional string categorical; files also carry an ID and a free-text NOTE the model does not read.
const PREPROCESSOR: PreprocessorState = {
  version: 1,
  engineered: [],
  numeric: [
    { name: "AGE", fill: 40, signedLog: false, center: 40, scale: 12 },
    { name: "LIMIT", fill: 50000, signedLog: true, center: 10, scale: 1.5 },
    { name: "SCORE", fill: 0.5, signedLog: false, center: 0.5, scale: 0.3 },
  ],
  categorical: [
    { name: "SEX", categories: ["1", "2"] },
    { name: "CITY", categories: ["north", "south"] },
  ],
  clip: 8,
  featureNames: [
    "AGE",
    "LIMIT",
    "SCORE",
    "SEX=1",
    "SEX=2",
    "SEX=__unknown__",
    "CITY=north",
    "CITY=south",
    "CITY=__unknown__",
  ],
};
const INPUTS: ModelMeta["inputs"] = [
  { name: "AGE", type: "long", required: true },
  { name: "LIMIT", type: "double", required: true },
  { name: "SCORE", type: "double", required: false },
  { name: "SEX", type: "long", required: true },
  { name: "CITY", type: "string", required: false },
];
const HEADER = ["ID", "AGE", "LIMIT", "SCORE", "SEX", "CITY", "NOTE"];
const CITIES = ["north", "south", "east"];

interface Row {
  AGE: number;
  LIMIT: number;
  SCORE: number;
  SEX: number;
  CITY: string;
}

function randomRow(rng: () => number): Row {
  return {
    AGE: 20 + Math.floor(rng() * 50),
    LIMIT: 1000 * (1 + Math.floor(rng() * 500)),
    SCORE: Math.round(rng() * 1000) / 1000,
    SEX: 1 + Math.floor(rng() * 2),
    CITY: CITIES[Math.floor(rng() * 3)]!,
  };
}

function tableOf(rows: readonly Row[]): Table {
  return {
    rowCount: rows.length,
    numeric: {
      AGE: Float64Array.from(rows, (r) => r.AGE),
      LIMIT: Float64Array.from(rows, (r) => r.LIMIT),
      SCORE: Float64Array.from(rows, (r) => r.SCORE),
    },
    categorical: { SEX: rows.map((r) => String(r.SEX)), CITY: rows.map((r) => r.CITY) },
    text: {},
    target: [],
    ids: {},
    lines: new Int32Array(rows.length),
  };
}

/** Trains a small model of `kind` on synthetic rows and writes its package into `dir`. */
async function writePackage(dir: string, kind: "gbdt" | "mlp"): Promise<void> {
  const rng = createRng(7);
  const rows = Array.from({ length: 600 }, () => randomRow(rng));
  const labels = Int32Array.from(rows, (r) =>
    (r.AGE - 40) / 12 + (r.CITY === "south" ? 0.8 : 0) - (r.SEX === 2 ? 0.5 : 0) + (rng() - 0.5) > 0 ? 1 : 0,
  );
  const x = transform(PREPROCESSOR, tableOf(rows));
  const half = 400;
  const cols = x.cols;
  const part = (from: number, to: number) => ({
    ...x,
    rows: to - from,
    values: x.values.slice(from * cols, to * cols),
  });
  const spec = modelKind(kind);
  const params = spec.params.parse(
    kind === "gbdt" ? { rounds: 20, maxLeaves: 8, minSamplesLeaf: 5 } : { epochs: 3, hiddenUnits: [8] },
  ) as Record<string, unknown>;
  const shape = { featureNames: PREPROCESSOR.featureNames, classes: ["0", "1"] };
  const model = await spec.create(params, shape);
  await model.fit(
    {
      train: part(0, half),
      trainLabels: labels.slice(0, half),
      validation: part(half, rows.length),
      validationLabels: labels.slice(half),
      classes: ["0", "1"],
    },
    {
      seed: 3,
      selectionMetric: "roc_auc",
      classWeight: "none",
      earlyStopping: { patience: 50, minDelta: 0 },
    },
  );
  const meta: ModelMeta = {
    formatVersion: PACKAGE_FORMAT_VERSION,
    name: `test-${kind}`,
    kind,
    params,
    target: "default",
    classes: ["0", "1"],
    positiveClass: "1",
    threshold: 0.4,
    inputs: INPUTS,
    featureNames: PREPROCESSOR.featureNames,
    metrics: {},
    backend: "test",
    dataFingerprint: "test",
    trainedAt: "2026-11-30T00:00:00.000Z",
  };
  await writeModelPackage(dir, { model, preprocessor: PREPROCESSOR, meta, example: [] });
  model.dispose();
}

async function predictorOf(dir: string): Promise<Predictor> {
  const packaged = await loadModelPackage(dir);
  const origin = { uri: dir, name: packaged.meta.name, version: undefined, alias: undefined };
  return new Predictor(packaged, { ...origin, runId: undefined, modelId: undefined });
}

/** A data row as CSV fields (header order), with `changes` by column. */
function fields(id: number, row: Row, changes: Record<string, string> = {}): string[] {
  const text: Record<string, string> = {
    ID: String(id),
    AGE: String(row.AGE),
    LIMIT: String(row.LIMIT),
    SCORE: String(row.SCORE),
    SEX: String(row.SEX),
    CITY: row.CITY,
    NOTE: `n${id}`,
  };
  return HEADER.map((h) => changes[h] ?? text[h]!);
}

interface Expected {
  line: number;
  kinds: string[];
  reasons: string[];
}

/**
 * A file of `n` rows with bad rows, blank lines, quoted fields and a field spanning two lines at known places;
 * returns its text, the IDs of the rows that should be scored, and the quarantine expected (line by line).
 */
function mixedFile(n: number, delimiter: RecordDelimiter): { text: string; good: number[]; bad: Expected[] } {
  const rng = createRng(11);
  const lines: string[] = [HEADER.join(",")];
  const good: number[] = [];
  const bad: Expected[] = [];
  // Lines so far (a field with a line break inside counts two).
  let line = 1;
  const add = (text: string, spans = 1) => {
    lines.push(text);
    line += spans;
  };
  for (let id = 1; id <= n; id++) {
    const row = randomRow(rng);
    if (id === 3) {
      add(fields(id, row, { AGE: "x1" }).join(","));
      bad.push({ line, kinds: ["wrong_type"], reasons: ['AGE: not a number: the string "x1"'] });
    } else if (id === 6) {
      add(fields(id, row, { SEX: "NA", LIMIT: "0x10" }).join(","));
      bad.push({
        line,
        kinds: ["wrong_type", "null"],
        reasons: ['LIMIT: not a number: the string "0x10"', "SEX: missing ('NA') where a value is required"],
      });
    } else if (id === 9) {
      add("");
      add(fields(id, row, { AGE: "2.5" }).join(","));
      bad.push({ line, kinds: ["signature"], reasons: ["AGE: expected an integer, got 2.5"] });
    } else if (id === 14) {
      add(`${fields(id, row).join(",")},extra`);
      bad.push({ line, kinds: ["wrong_field_count"], reasons: ["has 8 fields, the header has 7"] });
    } else if (id === 17) {
      // Quotes and spaces: this chunk goes through csv-parse.
      add(fields(id, row, { CITY: '"south"', NOTE: ' "a, ""quoted"" note" ' }).join(","));
      good.push(id);
    } else if (id === 23) {
      // A line feed inside quotes (csv-parse counts a CRLF there as two lines; batch scoring keeps its count).
      add(fields(id, row, { NOTE: '"two\nlines"' }).join(","), 2);
      good.push(id);
    } else if (id === 26) {
      add(fields(id, row, { AGE: " 33 " }).join(","));
      good.push(id);
    } else if (id === 31) {
      add(fields(id, row, { AGE: "" }).join(","));
      bad.push({ line, kinds: ["null"], reasons: ["AGE: empty where a value is required"] });
    } else if (id === 40 || id === n - 1) {
      add(fields(id, row, { SCORE: "NA", CITY: "" }).join(","));
      good.push(id);
    } else if (id === n) {
      add(fields(id, row, { SEX: "1.5" }).join(","));
      bad.push({ line, kinds: ["signature"], reasons: ["SEX: expected an integer, got 1.5"] });
    } else {
      add(fields(id, row).join(","));
      good.push(id);
    }
  }
  return { text: `${lines.join(delimiter)}${delimiter}`, good, bad };
}

let gbdtDir: string;
let mlpDir: string;
const predictors: Predictor[] = [];

beforeAll(async () => {
  await tmp.file(".keep", "");
  gbdtDir = path.join(tmp.path(), "gbdt");
  mlpDir = path.join(tmp.path(), "mlp");
  await writePackage(gbdtDir, "gbdt");
  await writePackage(mlpDir, "mlp");
}, 30_000);

afterAll(() => {
  for (const p of predictors) p.retire();
});

afterEach(() => {
  delete process.env.WORKBENCH_TEST_CRASH_PREDICT_CHUNK;
});

async function loaded(dir: string): Promise<Predictor> {
  const p = await predictorOf(dir);
  predictors.push(p);
  return p;
}

interface Quarantined {
  file: string;
  line: number;
  kinds: string[];
  reasons: string[];
  values: Record<string, string>;
  fields?: string[];
}

async function quarantineOf(file: string): Promise<Quarantined[]> {
  return (await readFile(file, "utf8"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Quarantined);
}

async function leftovers(output: string): Promise<string[]> {
  const base = path.basename(output);
  return (await readdir(path.dirname(output))).filter(
    (f) => f.startsWith(base) && !f.endsWith(".quarantine.jsonl"),
  );
}

describe("the chunk scorer", () => {
  it("given rows of every kind, then it quarantines what the Predictor's check refuses and scores the rest with the Predictor's probabilities and labels", async () => {
    const predictor = await loaded(gbdtDir);
    const rng = createRng(5);
    const rows = Array.from({ length: 30 }, () => randomRow(rng));
    const lines = rows.map((r, i) => fields(i + 1, r));
    lines[4] = fields(5, rows[4]!, { AGE: "2.5" });
    lines[8] = fields(9, rows[8]!, { LIMIT: "1_000" });
    const text = `${lines.map((l) => l.join(",")).join("\n")}\n`;
    const scorer = createChunkScorer(predictor.model, {
      header: HEADER,
      delimiter: "\n",
      format: "csv",
      version: "7",
    });
    const result = scorer(new TextEncoder().encode(text), false);
    expect([result.rows, result.scored, result.lines]).toEqual([30, 28, 30]);
    expect(result.bad.map((b) => [b.line, b.kinds, b.reasons])).toEqual([
      [5, ["signature"], ["AGE: expected an integer, got 2.5"]],
      [9, ["wrong_type"], ['LIMIT: not a number: the string "1_000"']],
    ]);
    const kept = rows.filter((_, i) => i !== 4 && i !== 8);
    const expected = predictor.predict(
      kept.map((r) => ({ ...r })),
      "json",
    );
    const out = new TextDecoder().decode(result.output).trim().split("\n");
    expect(out).toHaveLength(28);
    out.forEach((line, i) => {
      const cells = line.split(",");
      expect(cells.slice(0, 7)).toEqual(fields(Number(cells[0]), kept[i]!));
      expect(cells.slice(7)).toEqual([
        expected[i]!.label,
        String(expected[i]!.probabilities["0"]),
        String(expected[i]!.probabilities["1"]),
        "7",
      ]);
    });
  });

  it("given the same rows with and without quotes, then csv-parse's reading and the split by hand give the same output", async () => {
    const predictor = await loaded(gbdtDir);
    const rng = createRng(9);
    const rows = Array.from({ length: 20 }, (_, i) => fields(i + 1, randomRow(rng)));
    const settings = { header: HEADER, delimiter: "\n" as const, format: "csv" as const, version: "1" };
    const scorer = createChunkScorer(predictor.model, settings);
    const plain = scorer(new TextEncoder().encode(`${rows.map((r) => r.join(",")).join("\n")}\n`), false);
    const quoted = scorer(
      new TextEncoder().encode(`${rows.map((r) => r.map((f) => ` "${f}"`).join(",")).join("\n")}\n`),
      false,
    );
    expect(new TextDecoder().decode(quoted.output)).toBe(new TextDecoder().decode(plain.output));
    expect([quoted.rows, quoted.lines]).toEqual([plain.rows, plain.lines]);
  });
});

describe("batch scoring in worker threads", () => {
  it.each(["gbdt", "mlp"] as const)(
    "given a %s model and a file with bad rows, blank lines, quotes and a field on two lines, then 2 threads write the same bytes as 1 (output and quarantine), in input order, with each bad row's line",
    async (kind) => {
      for (const delimiter of ["\n", "\r\n"] as const) {
        const { text, good, bad } = mixedFile(120, delimiter);
        const input = await tmp.file(`${kind}-${delimiter.length}.csv`, text);
        const predictor = await loaded(kind === "gbdt" ? gbdtDir : mlpDir);
        const runs = [];
        for (const workers of [1, 2]) {
          const output = path.join(tmp.path(), `${kind}-${delimiter.length}-${workers}.csv`);
          const result = await batchPredict(predictor, {
            input,
            output,
            workers,
            chunkRows: 10,
            maxBadFraction: 0.2,
            waitForWorkers: true,
          });
          runs.push({
            result,
            output: await readFile(output, "utf8"),
            quarantine: await readFile(`${output}.quarantine.jsonl`, "utf8"),
          });
        }
        const [one, two] = runs as [(typeof runs)[0], (typeof runs)[0]];
        expect(one.result.workerChunks).toBe(0);
        expect(two.result.workers).toBe(2);
        // The worker takes the first two chunks (lines 2–21: rows 3, 6, 9 and 14 are bad) at least.
        expect(two.result.workerChunks).toBeGreaterThanOrEqual(2);
        expect(two.result.chunks).toBe(one.result.chunks);
        expect(two.output === one.output, "the same output, byte for byte").toBe(true);
        expect(two.quarantine === one.quarantine, "the same quarantine, byte for byte").toBe(true);
        const ids = parse(one.output, { from_line: 2 }).map((r: string[]) => Number(r[0]));
        expect(ids, "the good rows, in input order").toEqual(good);
        const quarantined = await quarantineOf(
          path.join(tmp.path(), `${kind}-${delimiter.length}-2.csv.quarantine.jsonl`),
        );
        expect(quarantined.map((q) => ({ line: q.line, kinds: q.kinds, reasons: q.reasons }))).toEqual(bad);
        expect(quarantined[3]!.fields).toHaveLength(8);
        expect(two.result).toMatchObject({
          rowsRead: 120,
          rowsScored: good.length,
          rowsQuarantined: bad.length,
        });
      }
    },
  );

  it("given JSONL output, then 2 threads write the same lines as 1", async () => {
    const predictor = await loaded(gbdtDir);
    const input = await tmp.file("jsonl.csv", mixedFile(90, "\n").text);
    const outputs: string[] = [];
    for (const workers of [1, 2]) {
      const output = path.join(tmp.path(), `jsonl-${workers}.jsonl`);
      const result = await batchPredict(predictor, {
        input,
        output,
        workers,
        chunkRows: 10,
        maxBadFraction: 0.2,
        waitForWorkers: true,
      });
      if (workers === 1) expect(result.workerChunks).toBe(0);
      else expect(result.workerChunks).toBeGreaterThanOrEqual(2);
      outputs.push(await readFile(output, "utf8"));
    }
    expect(outputs[1] === outputs[0]).toBe(true);
    const first = JSON.parse(outputs[0]!.split("\n")[0]!) as Record<string, unknown>;
    expect(Object.keys(first)).toEqual([...HEADER, "label", "probabilities", "model_version"]);
    expect(first).toMatchObject({ ID: "1", model_version: "local" });
  });

  it("given a row that is not CSV in a chunk a worker reads, then DATA_NOT_CSV names its line in the file, as in one thread", async () => {
    const predictor = await loaded(gbdtDir);
    const { text } = mixedFile(60, "\n");
    const lines = text.split("\n");
    // Line 15 (in the second chunk): a quote inside an unquoted field.
    lines[14] = lines[14]!.replace(/^(\d+),/, '$1,4"2,');
    const input = await tmp.file("not-csv.csv", lines.join("\n"));
    for (const workers of [1, 2]) {
      const output = path.join(tmp.path(), `not-csv-${workers}.csv`);
      const error = await rejectionOf(
        batchPredict(predictor, { input, output, workers, chunkRows: 10, waitForWorkers: true }),
      );
      expect(error.code).toBe("DATA_NOT_CSV");
      expect(error.message).toBe(
        `${input} could not be read as CSV: Invalid Opening Quote: a quote is found on field 1 at line 15, value is "4"`,
      );
      expect(await leftovers(output)).toEqual([]);
    }
  });

  it.each([
    ["1", /a scoring worker thread exited with code 3/],
    ["1:throw", /a scoring worker thread threw: test crash: chunk 1 threw in its worker/],
  ])(
    "given a worker that dies on chunk %s, then PREDICT_WORKER_FAILED names the file and the worker's end, and no output is left",
    async (crash, said) => {
      const predictor = await loaded(gbdtDir);
      const input = await tmp.file("crash.csv", mixedFile(80, "\n").text);
      const output = path.join(tmp.path(), "crash-out.csv");
      process.env.WORKBENCH_TEST_CRASH_PREDICT_CHUNK = crash;
      const error = await rejectionOf(
        batchPredict(predictor, {
          input,
          output,
          workers: 2,
          chunkRows: 10,
          maxBadFraction: 0.2,
          waitForWorkers: true,
        }),
      );
      expect(error.code).toBe("PREDICT_WORKER_FAILED");
      expect(error.message).toMatch(
        new RegExp(
          `^${input}: batch scoring failed in a worker thread while scoring the rows from line \\d+: `,
        ),
      );
      expect(error.message).toMatch(said);
      expect(error.message).toContain("score in this thread with --workers 1");
      expect(await leftovers(output), "no output, not even a partial one").toEqual([]);
    },
  );

  it("given a package that changed on disk after it was loaded, then the worker refuses it with PREDICT_PACKAGE_CHANGED", async () => {
    const dir = path.join(tmp.path(), "changing");
    await writePackage(dir, "gbdt");
    const predictor = await loaded(dir);
    const metaFile = path.join(dir, "model-meta.json");
    const meta = JSON.parse(await readFile(metaFile, "utf8")) as ModelMeta;
    writeFileSync(metaFile, JSON.stringify({ ...meta, threshold: 0.9 }));
    const input = await tmp.file("changed.csv", mixedFile(40, "\n").text);
    const error = await rejectionOf(
      batchPredict(predictor, {
        input,
        output: path.join(tmp.path(), "changed-out.csv"),
        workers: 2,
        chunkRows: 10,
        maxBadFraction: 0.2,
        waitForWorkers: true,
      }),
    );
    expect(error.code).toBe("PREDICT_PACKAGE_CHANGED");
    expect(error.message).toBe(
      `${dir} changed after batch scoring loaded it (its model-meta.json or preprocessor.json differ): run again.`,
    );
  });

  it("given a file of one chunk, then no worker starts", async () => {
    const predictor = await loaded(gbdtDir);
    const input = await tmp.file("one-chunk.csv", mixedFile(30, "\n").text);
    const result = await batchPredict(predictor, {
      input,
      output: path.join(tmp.path(), "one-chunk-out.csv"),
      workers: 4,
      maxBadFraction: 0.3,
    });
    expect([result.workers, result.chunks, result.workerChunks]).toEqual([1, 1, 0]);
  });

  it("given workers or chunkRows that are not positive integers, then CONFIG_INVALID", async () => {
    const predictor = await loaded(gbdtDir);
    const input = await tmp.file("any.csv", mixedFile(5, "\n").text);
    for (const [option, value] of [
      ["workers", 0],
      ["workers", 1.5],
      ["chunkRows", 0],
      ["chunkRows", Number.NaN],
    ] as const) {
      const error = await rejectionOf(
        batchPredict(predictor, { input, output: path.join(tmp.path(), "x.csv"), [option]: value }),
        ConfigError,
      );
      expect([error.code, error.message]).toEqual([
        "CONFIG_INVALID",
        `${option} must be a positive integer, got ${value}.`,
      ]);
    }
  });
});

describe("the worker's start", () => {
  it("is the trial pool's start pointed at predict-worker: .ts through tsx, .js when compiled, else says why", () => {
    const pipelines = path.resolve(fileURLToPath(import.meta.url), "../../../../src/pipelines");
    const ts = predictWorkerEntry(pathToFileURL(path.join(pipelines, "predict-workers.ts")).href);
    if (typeof ts === "string") throw new Error(ts);
    expect(ts.file).toBe(path.join(pipelines, "predict-worker.ts"));
    expect(ts.code).toMatch(
      /^import\("file:\/\/.*tsx\/dist\/esm\/api\/index\.mjs"\)\.then\(\(tsx\) => \{ tsx\.register\(\);/,
    );
    expect(ts.code).toContain(JSON.stringify(pathToFileURL(ts.file).href));
    expect(ts.code).not.toContain("trial-worker");

    const dist = mkdtempSync(path.join(os.tmpdir(), "predict-entry-"));
    try {
      const here = path.join(dist, "pipelines", "predict-workers.js");
      expect(predictWorkerEntry(pathToFileURL(here).href)).toBe(
        `${path.join(dist, "pipelines", "predict-worker.js")} does not exist`,
      );
      for (const file of ["pipelines/predict-worker.js", "models/trial-worker.js"]) {
        const at = path.join(dist, file);
        mkdirSync(path.dirname(at), { recursive: true });
        writeFileSync(at, "");
      }
      const url = pathToFileURL(path.join(dist, "pipelines", "predict-worker.js")).href;
      expect(predictWorkerEntry(pathToFileURL(here).href)).toEqual({
        file: path.join(dist, "pipelines", "predict-worker.js"),
        code: `import(${JSON.stringify(url)});`,
      });
    } finally {
      rmSync(dist, { recursive: true, force: true });
    }
    expect(predictWorkerEntry("data:text/javascript,0")).toBe(
      "the scoring module is not a file (data:text/javascript,0)",
    );
  });
});
