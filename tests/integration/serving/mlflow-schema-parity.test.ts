// Schema enforcement, ours against MLflow's: the same payloads are sent to a real MLflow scoring server
// (`mlflow models serve --env-manager local` of a tiny python_function model whose signature is our model's)
// and to our service, and the answers must agree row by row — 200 where MLflow scores, 4xx where it refuses.
// The table below is the one in README.md ("Schema enforcement: how we match MLflow"), with our --strict column.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PreprocessorState } from "../../../src/features/preprocessor.js";
import { modelKind } from "../../../src/models/kinds/index.js";
import type { ModelMeta, SignatureColumn } from "../../../src/registry/model-package.js";
import { createApp } from "../../../src/serving/app.js";
import { ModelHolder } from "../../../src/serving/model-holder.js";
import { Predictor } from "../../../src/serving/predictor.js";
import { venvExecutable } from "../../../src/shared/project.js";
import { freePort } from "../../../src/tracking/local-server.js";
import { tempDir } from "../../helpers/temp.js";

/** Our signature: a numeric long, a long-coded category, doubles, a string category, two optional columns. */
const INPUTS: SignatureColumn[] = [
  { name: "n", type: "long", required: true },
  { name: "code", type: "long", required: true },
  { name: "x", type: "double", required: true },
  { name: "s", type: "string", required: true },
  { name: "o", type: "double", required: false },
  { name: "ol", type: "long", required: false },
];
const BASE = { n: 3, code: 1, x: 1.5, s: "a", o: 2.0, ol: 4 };
const COLUMNS = Object.keys(BASE);

const PYFUNC = `
import json, sys
import mlflow.pyfunc
from mlflow.models import ModelSignature
from mlflow.types.schema import ColSpec, Schema

class Echo(mlflow.pyfunc.PythonModel):
    """Scores every row 0.5: what is tested is the schema enforcement in front of it."""
    def predict(self, context, model_input, params=None):
        return [0.5] * len(model_input)

inputs = json.loads(sys.argv[2])
signature = ModelSignature(
    inputs=Schema([ColSpec(c["type"], c["name"], required=c["required"]) for c in inputs]),
    outputs=Schema([ColSpec("double")]),
)
mlflow.pyfunc.save_model(sys.argv[1], python_model=Echo(), signature=signature)
`;

const tmp = tempDir("mlflow-parity-");
const servers: FastifyInstance[] = [];
let mlflowServer: ChildProcess | undefined;
let mlflowOutput = "";
let mlflowBase: string;
let ours: string;
let strict: string;

/** Our service over a real package (a decision tree fitted on a few synthetic rows) with the signature above. */
async function ourPredictor(): Promise<Predictor> {
  const preprocessor: PreprocessorState = {
    version: 1,
    engineered: [],
    numeric: ["n", "x", "o", "ol"].map((name) => ({ name, fill: 1, signedLog: false, center: 0, scale: 1 })),
    categorical: [
      { name: "code", categories: ["1", "2"] },
      { name: "s", categories: ["a", "b"] },
    ],
    clip: 10,
    featureNames: [
      "n",
      "x",
      "o",
      "ol",
      "code=1",
      "code=2",
      "code=__unknown__",
      "s=a",
      "s=b",
      "s=__unknown__",
    ],
  };
  const shape = { featureNames: preprocessor.featureNames, classes: ["0", "1"] };
  const kind = modelKind("decision-tree");
  const model = await kind.create(kind.params.parse({ maxDepth: 2 }), shape);
  const rows = 40;
  const cols = shape.featureNames.length;
  const values = Float32Array.from({ length: rows * cols }, (_, i) => ((i * 7919) % 13) / 13);
  const labels = Int32Array.from({ length: rows }, (_, i) => (values[i * cols]! > 0.5 ? 1 : 0));
  const matrix = { rows, cols, values, featureNames: shape.featureNames };
  await model.fit(
    {
      train: matrix,
      trainLabels: labels,
      validation: matrix,
      validationLabels: labels,
      classes: shape.classes,
    },
    {
      seed: 1,
      selectionMetric: "roc_auc",
      classWeight: "none",
      earlyStopping: { patience: 1, minDelta: 0 },
    },
  );
  const meta: ModelMeta = {
    formatVersion: 2,
    name: "schema-parity",
    kind: "decision-tree",
    params: {},
    target: "y",
    classes: shape.classes,
    positiveClass: "1",
    threshold: 0.5,
    inputs: INPUTS,
    featureNames: shape.featureNames,
    metrics: {},
    backend: "cpu",
    dataFingerprint: "",
    trainedAt: new Date(0).toISOString(),
  };
  const origin = {
    uri: "test",
    name: "schema-parity",
    version: "1",
    alias: undefined,
    runId: undefined,
    modelId: undefined,
  };
  return new Predictor({ model, preprocessor, meta, dir: "" }, origin);
}

async function startMlflow(): Promise<void> {
  const script = await tmp.file("make_model.py", PYFUNC);
  const modelDir = path.join(path.dirname(script), "model");
  const make = spawn(venvExecutable("python"), [script, modelDir, JSON.stringify(INPUTS)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let makeErr = "";
  make.stderr.on("data", (c: Buffer) => {
    makeErr += c.toString("utf8");
  });
  const [code] = (await once(make, "exit")) as [number | null];
  expect(code, `saving the pyfunc model failed:\n${makeErr}`).toBe(0);
  const port = await freePort();
  mlflowServer = spawn(
    venvExecutable("mlflow"),
    ["models", "serve", "-m", modelDir, "--env-manager", "local", "-h", "127.0.0.1", "-p", String(port)],
    {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
      env: {
        ...process.env,
        // `mlflow models serve` runs `uvicorn` by name: the venv's bin first on the PATH.
        PATH: `${path.dirname(venvExecutable("mlflow"))}${path.delimiter}${process.env.PATH ?? ""}`,
        MLFLOW_TRACKING_URI: "",
      },
    },
  );
  const keep = (c: Buffer) => {
    mlflowOutput = `${mlflowOutput}${c.toString("utf8")}`.slice(-20_000);
  };
  mlflowServer.stdout?.on("data", keep);
  mlflowServer.stderr?.on("data", keep);
  mlflowBase = `http://127.0.0.1:${port}`;
  // Ready when /ping answers (health check, no fixed sleeps); give up if the process exits.
  for (;;) {
    if (mlflowServer.exitCode !== null) throw new Error(`mlflow models serve exited:\n${mlflowOutput}`);
    const ok = await fetch(`${mlflowBase}/ping`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

beforeAll(async () => {
  const predictor = await ourPredictor();
  for (const isStrict of [false, true]) {
    const { app } = await createApp(new ModelHolder(predictor, undefined), { strict: isStrict });
    servers.push(app);
    const base = await app.listen({ host: "127.0.0.1", port: 0 });
    if (isStrict) strict = base;
    else ours = base;
  }
  await startMlflow();
}, 180_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  if (mlflowServer?.pid !== undefined && mlflowServer.exitCode === null) {
    const exited = once(mlflowServer, "exit");
    process.kill(-mlflowServer.pid, "SIGTERM"); // its process group: the uvicorn workers too
    await exited;
  }
});

type Row = Record<string, unknown>;
type Outcome = 200 | "4xx";
type Layout = "dataframe_records" | "dataframe_split" | "instances" | "inputs" | "csv";

interface Case {
  name: string;
  /** The row under test; it is sent with a valid row after it (pandas types a column over every row). */
  row: Row | string;
  mlflow: Outcome;
  strict: Outcome;
  /** Layouts it is sent in (dataframe_records when not said). */
  layouts?: Layout[];
  /** A default-mode 200 that adjusted the input names the adjustment in x-schema-warnings. */
  warning?: RegExp;
}

const without = (key: string): Row => Object.fromEntries(Object.entries(BASE).filter(([k]) => k !== key));
const ALL_JSON: Layout[] = ["dataframe_records", "dataframe_split", "instances", "inputs"];
const csvHeader = COLUMNS.join(",");
const csvRow = (changes: Partial<Record<string, string>>) =>
  COLUMNS.map((c) => changes[c] ?? String(BASE[c as keyof typeof BASE])).join(",");

/** The README table, row by row: MLflow's answer (ours matches it by default) and our --strict answer. */
const TABLE: Case[] = [
  { name: "a valid row", row: BASE, mlflow: 200, strict: 200, layouts: [...ALL_JSON, "csv"] },
  {
    name: "extra columns (ID, target)",
    row: { ID: 7, target: 1, ...BASE },
    mlflow: 200,
    strict: "4xx",
    layouts: ALL_JSON,
    warning: /^extra columns ignored: ID, target$/,
  },
  {
    name: "integer string for a long",
    row: { ...BASE, n: "3" },
    mlflow: 200,
    strict: "4xx",
    layouts: ALL_JSON,
    warning: /n: 1 value converted \(the string "3" -> 3\)/,
  },
  {
    name: "integer string for a long-coded category",
    row: { ...BASE, code: "2" },
    mlflow: 200,
    strict: "4xx",
    warning: /code: 1 value converted/,
  },
  {
    name: "24.5 for a long",
    row: { ...BASE, n: 24.5 },
    mlflow: 200,
    strict: "4xx",
    layouts: ALL_JSON,
    warning: /n: 1 value not an integer for a long column, scored as sent \(24\.5\)/,
  },
  { name: "decimal string for a long", row: { ...BASE, n: "3.0" }, mlflow: "4xx", strict: "4xx" },
  { name: "exponent string for a long", row: { ...BASE, n: "1e3" }, mlflow: "4xx", strict: "4xx" },
  {
    name: "float string for a double",
    row: { ...BASE, x: "1.5" },
    mlflow: 200,
    strict: "4xx",
    layouts: ALL_JSON,
    warning: /x: 1 value converted \(the string "1\.5" -> 1\.5\)/,
  },
  { name: "integer string for a double", row: { ...BASE, x: "2" }, mlflow: 200, strict: "4xx" },
  { name: "exponent string for a double", row: { ...BASE, x: "1e3" }, mlflow: 200, strict: "4xx" },
  {
    name: "a missing required column",
    row: without("x"),
    mlflow: "4xx",
    strict: "4xx",
    layouts: ALL_JSON,
  },
  { name: "a missing optional column", row: without("o"), mlflow: 200, strict: 200, layouts: ALL_JSON },
  {
    name: "null in a required double",
    row: { ...BASE, x: null },
    mlflow: 200,
    strict: "4xx",
    layouts: ALL_JSON,
    warning: /x: 1 value missing in a required column, scored as missing/,
  },
  {
    name: "null in a required long",
    row: { ...BASE, n: null },
    mlflow: "4xx",
    strict: "4xx",
    layouts: ALL_JSON,
  },
  { name: "null in a required string", row: { ...BASE, s: null }, mlflow: 200, strict: "4xx" },
  { name: "null in an optional double", row: { ...BASE, o: null }, mlflow: 200, strict: 200 },
  {
    name: "a required column absent from one record only",
    row: without("x"),
    mlflow: 200,
    strict: "4xx",
    // Sent with a row that has it: pandas builds the column, NaN where absent.
    layouts: ["dataframe_records"],
  },
  { name: '"NaN" for a double', row: { ...BASE, x: "NaN" }, mlflow: 200, strict: "4xx" },
  {
    name: '"abc" for a double',
    row: { ...BASE, x: "abc" },
    mlflow: "4xx",
    strict: "4xx",
    layouts: ALL_JSON,
  },
  { name: "empty string for a double", row: { ...BASE, x: "" }, mlflow: "4xx", strict: "4xx" },
  { name: '"NA" for a double', row: { ...BASE, x: "NA" }, mlflow: "4xx", strict: "4xx" },
  { name: '"0x10" for a double', row: { ...BASE, x: "0x10" }, mlflow: "4xx", strict: "4xx" },
  { name: '"1,5" for a double', row: { ...BASE, x: "1,5" }, mlflow: "4xx", strict: "4xx" },
  {
    name: "true for a long",
    row: { ...BASE, n: true },
    mlflow: 200,
    strict: "4xx",
    warning: /n: 1 value converted \(boolean true -> 1\)/,
  },
  { name: "false for a double", row: { ...BASE, x: false }, mlflow: 200, strict: "4xx" },
  { name: "a number for a string", row: { ...BASE, s: 5 }, mlflow: 200, strict: "4xx" },
  { name: "a boolean for a string", row: { ...BASE, s: true }, mlflow: 200, strict: "4xx" },
  { name: "a list for a double", row: { ...BASE, x: [1] }, mlflow: "4xx", strict: "4xx" },
  { name: "an object for a double", row: { ...BASE, x: { a: 1 } }, mlflow: "4xx", strict: "4xx" },
  {
    name: "CSV: extra columns (ID, target)",
    row: `ID,${csvHeader},target\n7,${csvRow({})},1`,
    mlflow: 200,
    strict: "4xx",
    layouts: ["csv"],
    warning: /^extra columns ignored: ID, target$/,
  },
  { name: "CSV: 3.0 for a long", row: csvRow({ n: "3.0" }), mlflow: 200, strict: 200, layouts: ["csv"] },
  {
    name: "CSV: 24.5 for a long",
    row: csvRow({ n: "24.5" }),
    mlflow: "4xx",
    strict: "4xx",
    layouts: ["csv"],
  },
  {
    name: "CSV: empty required long",
    row: csvRow({ n: "" }),
    mlflow: "4xx",
    strict: "4xx",
    layouts: ["csv"],
  },
  {
    name: "CSV: empty required double",
    row: csvRow({ x: "" }),
    mlflow: 200,
    strict: "4xx",
    layouts: ["csv"],
  },
  {
    name: "CSV: NA in a required double",
    row: csvRow({ x: "NA" }),
    mlflow: 200,
    strict: "4xx",
    layouts: ["csv"],
  },
  {
    name: "CSV: abc for a double",
    row: csvRow({ x: "abc" }),
    mlflow: "4xx",
    strict: "4xx",
    layouts: ["csv"],
  },
  {
    name: "CSV: 1_000 for a double",
    row: csvRow({ x: "1_000" }),
    mlflow: "4xx",
    strict: "4xx",
    layouts: ["csv"],
  },
  {
    name: "CSV: a missing required column",
    row: `${COLUMNS.filter((c) => c !== "x").join(",")}\n${COLUMNS.filter((c) => c !== "x")
      .map((c) => String(BASE[c as keyof typeof BASE]))
      .join(",")}`,
    mlflow: "4xx",
    strict: "4xx",
    layouts: ["csv"],
  },
];

/** Where we differ from MLflow on purpose (README says why); both answers are asserted. */
const DIFFERENCES: (Case & { ours: Outcome })[] = [
  {
    name: '"Infinity" for a double',
    row: { ...BASE, x: "Infinity" },
    mlflow: 200,
    ours: "4xx",
    strict: "4xx",
  },
  { name: '"1_000" for a double', row: { ...BASE, x: "1_000" }, mlflow: 200, ours: "4xx", strict: "4xx" },
  { name: '"1_000" for a long', row: { ...BASE, n: "1_000" }, mlflow: 200, ours: "4xx", strict: "4xx" },
  { name: "a list for a string", row: { ...BASE, s: [1, 2] }, mlflow: 200, ours: "4xx", strict: "4xx" },
  { name: "an object for a string", row: { ...BASE, s: { a: 1 } }, mlflow: 200, ours: "4xx", strict: "4xx" },
  { name: "null in an optional long", row: { ...BASE, ol: null }, mlflow: "4xx", ours: 200, strict: 200 },
];

function encode(layout: Layout, row: Row | string, valid: Row): { body: string; contentType: string } {
  if (layout === "csv") {
    const text = typeof row === "string" ? row : csvRow({});
    const withHeader = text.includes("\n") ? text : `${csvHeader}\n${text}`;
    // A valid row after it when the header is ours (a CSV of other columns stands alone).
    const tail = withHeader.startsWith(`${csvHeader}\n`) ? `\n${csvRow({})}` : "";
    return { body: `${withHeader}${tail}\n`, contentType: "text/csv" };
  }
  const rows = [row as Row, valid];
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const json = (body: unknown) => ({ body: JSON.stringify(body), contentType: "application/json" });
  if (layout === "dataframe_split")
    return json({ dataframe_split: { columns: keys, data: rows.map((r) => keys.map((k) => r[k] ?? null)) } });
  if (layout === "inputs")
    return json({ inputs: Object.fromEntries(keys.map((k) => [k, rows.map((r) => r[k] ?? null)])) });
  return json({ [layout]: rows });
}

async function answer(base: string, layout: Layout, c: Case) {
  // The valid companion row shares the case's columns (an absent column stays absent) except where the case
  // is "absent from one record only".
  const valid =
    typeof c.row === "string" || c.name.includes("one record only")
      ? BASE
      : Object.fromEntries(
          Object.keys(BASE)
            .filter((k) => Object.hasOwn(c.row as Row, k))
            .map((k) => [k, BASE[k as keyof typeof BASE]]),
        );
  const validWithExtras =
    typeof c.row === "string"
      ? valid
      : {
          ...Object.fromEntries(
            Object.keys(c.row)
              .filter((k) => !(k in BASE))
              .map((k) => [k, (c.row as Row)[k]]),
          ),
          ...valid,
        };
  const { body, contentType } = encode(layout, c.row, validWithExtras);
  const response = await fetch(`${base}/invocations`, {
    method: "POST",
    headers: { "content-type": contentType },
    body,
  });
  const text = await response.text();
  const status = response.status;
  const outcome: Outcome | number = status === 200 ? 200 : status >= 400 && status < 500 ? "4xx" : status;
  return { outcome, status, text: text.slice(0, 400), warnings: response.headers.get("x-schema-warnings") };
}

describe("schema enforcement: our service against MLflow's scoring server, payload by payload", () => {
  it("every row of the table: our default answer is MLflow's (200 vs 4xx); --strict as documented", async () => {
    const mismatches: string[] = [];
    let compared = 0;
    for (const c of TABLE) {
      for (const layout of c.layouts ?? ["dataframe_records"]) {
        const theirs = await answer(mlflowBase, layout, c);
        const mine = await answer(ours, layout, c);
        const strictly = await answer(strict, layout, c);
        compared++;
        const where = `${c.name} (${layout})`;
        if (theirs.outcome !== c.mlflow)
          mismatches.push(
            `${where}: MLflow answered ${theirs.status} (the table says ${c.mlflow}): ${theirs.text}`,
          );
        if (mine.outcome !== theirs.outcome)
          mismatches.push(`${where}: we answered ${mine.status}, MLflow ${theirs.status}: ${mine.text}`);
        if (strictly.outcome !== c.strict)
          mismatches.push(
            `${where}: --strict answered ${strictly.status}, the table says ${c.strict}: ${strictly.text}`,
          );
        if (mine.status === 200 && c.warning !== undefined && !c.warning.test(mine.warnings ?? ""))
          mismatches.push(`${where}: x-schema-warnings '${mine.warnings}' does not match ${c.warning}`);
        if (mine.status === 200 && c.strict === 200 && mine.warnings !== null)
          mismatches.push(`${where}: nothing to adjust, yet x-schema-warnings '${mine.warnings}'`);
        if (strictly.warnings !== null) mismatches.push(`${where}: --strict sent x-schema-warnings`);
      }
    }
    expect(mismatches, `${mismatches.length} of ${compared} payloads disagree`).toEqual([]);
    expect(compared).toBeGreaterThan(50);
  });

  it("the documented differences: MLflow's answer and ours are both as the README says", async () => {
    const mismatches: string[] = [];
    for (const c of DIFFERENCES) {
      for (const layout of c.layouts ?? ["dataframe_records"]) {
        const theirs = await answer(mlflowBase, layout, c);
        const mine = await answer(ours, layout, c);
        const strictly = await answer(strict, layout, c);
        const where = `${c.name} (${layout})`;
        if (theirs.outcome !== c.mlflow)
          mismatches.push(`${where}: MLflow answered ${theirs.status}: ${theirs.text}`);
        if (mine.outcome !== c.ours) mismatches.push(`${where}: we answered ${mine.status}: ${mine.text}`);
        if (strictly.outcome !== c.strict) mismatches.push(`${where}: --strict answered ${strictly.status}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it("adjustments are counted on /metrics by kind", async () => {
    const metrics = await (await fetch(`${ours}/metrics`)).text();
    for (const kind of ["extra_column", "converted", "not_integer", "missing_required"])
      expect(metrics, kind).toMatch(new RegExp(`workbench_schema_warnings_total\\{kind="${kind}"\\} [1-9]`));
    const strictMetrics = await (await fetch(`${strict}/metrics`)).text();
    expect(strictMetrics).not.toMatch(/workbench_schema_warnings_total\{/);
  });
});
