// The service with a real text model (tfidf-linear fitted on the complaints sample, packaged and loaded as a
// registered one is): every layout carries the text column, /predict takes texts, and each bad input gets its
// named error. Requests go through Fastify's inject (the whole app: parsers, hooks, error mapping).
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { PreprocessorState } from "../../../src/features/preprocessor.js";
import { modelKind } from "../../../src/models/kinds/index.js";
import type { ModelMeta } from "../../../src/registry/model-package.js";
import { createApp } from "../../../src/serving/app.js";
import { ModelHolder } from "../../../src/serving/model-holder.js";
import { Predictor } from "../../../src/serving/predictor.js";
import { tempDir } from "../../helpers/temp.js";
import { TEXT, type TextPackage, textPackage } from "./text-model-fixture.js";

const tmp = tempDir("text-service-");
let pkg: TextPackage;
let app: FastifyInstance;
let strictApp: FastifyInstance;
let tabularApp: FastifyInstance;
const MAX = 3000;

interface Answer {
  status: number;
  json: Record<string, unknown>;
  headers: Record<string, unknown>;
}

async function post(
  target: FastifyInstance,
  url: string,
  payload: unknown,
  contentType = "application/json",
): Promise<Answer> {
  const response = await target.inject({
    method: "POST",
    url,
    headers: { "content-type": contentType },
    payload: typeof payload === "string" ? payload : JSON.stringify(payload),
  });
  return { status: response.statusCode, json: response.json(), headers: response.headers };
}

type Row = Record<string, number | string>;
const predictions = (a: Answer) => a.json.predictions as Row[];

/** A tabular package: a decision tree over two numeric columns (what `texts` must not be sent to). */
async function tabularPredictor(): Promise<Predictor> {
  const featureNames = ["AGE", "LIMIT_BAL"];
  const preprocessor = {
    version: 1,
    engineered: [],
    numeric: featureNames.map((name) => ({ name, fill: 0, signedLog: false, center: 0, scale: 1 })),
    categorical: [],
    clip: 10,
    featureNames,
  } as unknown as PreprocessorState;
  const shape = { featureNames, classes: ["0", "1"] };
  const kind = modelKind("decision-tree");
  const model = await kind.create(kind.params.parse({ maxDepth: 2 }), shape);
  const values = Float32Array.from({ length: 80 }, (_, i) => (i * 37) % 11);
  const labels = Int32Array.from({ length: 40 }, (_, i) => (values[i * 2]! > 5 ? 1 : 0));
  const matrix = { rows: 40, cols: 2, values, featureNames };
  await model.fit(
    {
      train: matrix,
      trainLabels: labels,
      validation: matrix,
      validationLabels: labels,
      classes: shape.classes,
    },
    { seed: 1, selectionMetric: "roc_auc", classWeight: "none", earlyStopping: { patience: 1, minDelta: 0 } },
  );
  const meta: ModelMeta = {
    formatVersion: 2,
    name: "tabular",
    kind: "decision-tree",
    params: {},
    target: "y",
    classes: shape.classes,
    positiveClass: "1",
    threshold: 0.5,
    inputs: featureNames.map((name) => ({ name, type: "double", required: true })),
    featureNames,
    metrics: {},
    backend: "cpu",
    dataFingerprint: "",
    trainedAt: new Date(0).toISOString(),
  };
  const origin = {
    uri: "t",
    name: "tabular",
    version: "1",
    alias: undefined,
    runId: undefined,
    modelId: undefined,
  };
  return new Predictor({ model, preprocessor, meta, dir: "" }, origin);
}

beforeAll(async () => {
  const dir = path.join(path.dirname(await tmp.file("keep", "")), "model");
  pkg = await textPackage(dir, { maxLength: MAX, overLength: "truncate" });
  app = (await createApp(new ModelHolder(pkg.predictor, undefined))).app;
  strictApp = (await createApp(new ModelHolder(pkg.predictor, undefined), { strict: true })).app;
  tabularApp = (await createApp(new ModelHolder(await tabularPredictor(), undefined))).app;
}, 120_000);

afterAll(async () => {
  await Promise.all([app?.close(), strictApp?.close(), tabularApp?.close()]);
});

describe("a text model served: every layout carries the text column", () => {
  it("given /predict {texts}, then a label and per-class probabilities per text, as the model itself scores them", async () => {
    const texts = pkg.heldOut.slice(0, 20);
    const answer = await post(app, "/predict", { texts });
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    const got = answer.json.predictions as { label: string; probabilities: Record<string, number> }[];
    expect(got).toHaveLength(20);
    const direct = pkg.predictor.predict(texts.map((t) => ({ [TEXT]: t })));
    got.forEach((p, i) => {
      expect(Object.keys(p.probabilities).sort(), "one probability per class").toEqual(pkg.classes);
      expect(Object.values(p.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(p.label, `text ${i}`).toBe(direct[i]!.label);
      expect(p.probabilities, `text ${i}`).toEqual(direct[i]!.probabilities);
    });
    expect(
      new Set(got.map((p) => p.label)).size,
      "the held-out texts are not all given one class",
    ).toBeGreaterThan(1);
    expect(answer.json.model).toEqual({ name: "complaints-text", version: "1" });
  });

  it("given dataframe_split, dataframe_records, inputs (columns), instances and text/csv with multi-line quoted narratives, then all answer what /predict answers", async () => {
    const texts = [
      ...pkg.heldOut.slice(0, 5),
      'I called the "servicer" twice,\nthen wrote:\n\n"please fix my escrow account, mortgage payment"',
    ];
    const reference = predictions(
      await post(app, "/invocations", { dataframe_split: { columns: [TEXT], data: texts.map((t) => [t]) } }),
    );
    expect(reference).toHaveLength(texts.length);
    expect(Object.keys(reference[0]!)).toEqual(["label", ...pkg.classes.map((c) => `probability_${c}`)]);
    const records = texts.map((t) => ({ [TEXT]: t }));
    for (const body of [
      { dataframe_records: records },
      { inputs: { [TEXT]: texts } },
      { instances: records },
    ]) {
      const answer = await post(app, "/invocations", body);
      expect(answer.status, JSON.stringify(body).slice(0, 60)).toBe(200);
      expect(predictions(answer)).toEqual(reference);
    }
    const csv = `${JSON.stringify(TEXT)}\r\n${texts.map((t) => `"${t.replaceAll('"', '""')}"`).join("\r\n")}\r\n`;
    const fromCsv = await post(app, "/invocations", csv, "text/csv");
    expect(fromCsv.status, JSON.stringify(fromCsv.json)).toBe(200);
    expect(predictions(fromCsv)).toEqual(reference);
    const viaRecords = await post(app, "/predict", { records });
    expect(viaRecords.status).toBe(200);
    expect(
      (viaRecords.json.predictions as { label: string }[]).map((p) => p.label),
      "/predict records with the text column agree",
    ).toEqual(reference.map((p) => p.label));
    const viaPredict = await post(app, "/predict", { texts });
    expect(
      (viaPredict.json.predictions as { label: string }[]).map((p) => p.label),
      "/predict texts agrees",
    ).toEqual(reference.map((p) => p.label));
  });

  it("given the package's own input example, then both modes score it without a warning", async () => {
    const example = JSON.parse(await readFile(path.join(pkg.dir, "input_example.json"), "utf8")) as {
      columns: string[];
      data: unknown[][];
    };
    expect(example.columns).toEqual([TEXT]);
    expect(typeof example.data[0]![0], "the example holds a narrative").toBe("string");
    expect((example.data[0]![0] as string).length).toBeGreaterThan(20);
    for (const target of [app, strictApp]) {
      const answer = await post(target, "/invocations", { dataframe_split: example });
      expect(answer.status).toBe(200);
      expect(answer.headers["x-schema-warnings"]).toBeUndefined();
    }
  });

  it("given the MLmodel, then the text column is an MLflow `string` (no text rule there), beside the python_function flavor (tfidf-linear has a Python loader)", async () => {
    const mlmodel = parseYaml(await readFile(path.join(pkg.dir, "MLmodel"), "utf8")) as {
      flavors: Record<string, unknown>;
      signature: { inputs: string };
    };
    expect(JSON.parse(mlmodel.signature.inputs)).toEqual([{ name: TEXT, type: "string", required: true }]);
    expect(Object.keys(mlmodel.flavors)).toEqual(["tfjs_workbench", "python_function"]);
    const meta = JSON.parse(await readFile(path.join(pkg.dir, "model-meta.json"), "utf8")) as ModelMeta;
    expect(meta.inputs[0]!.text, "model-meta.json keeps the rule").toEqual({
      maxLength: MAX,
      overLength: "truncate",
    });
  });
});

describe("a text model served: bad input gets a named error", () => {
  it("given an empty or whitespace-only text, then 422 TEXT_EMPTY naming the row", async () => {
    const answer = await post(app, "/predict", { texts: [pkg.heldOut[0], " \n\t "] });
    expect(answer.status).toBe(422);
    expect(answer.json.error_code).toBe("TEXT_EMPTY");
    expect(answer.json.message).toBe(
      `1 problem in the input: row 1, ${TEXT}: ${TEXT} is whitespace only (the column is not nullable)`,
    );
    expect(answer.json.errors).toEqual([
      {
        row: 1,
        field: TEXT,
        problem: `${TEXT} is whitespace only (the column is not nullable)`,
        code: "TEXT_EMPTY",
      },
    ]);
    const split = await post(app, "/invocations", {
      dataframe_split: { columns: [TEXT], data: [["ok text"], [null]] },
    });
    expect(split.status).toBe(422);
    expect(split.json.error_code).toBe("TEXT_EMPTY");
    expect(split.json.message).toBe(
      `1 problem in the input: row 1, ${TEXT}: null where a text is required (the column is not nullable)`,
    );
  });

  it("given a text that is not a string in {texts}, then 422 TEXT_NOT_STRING (no conversion in our own API)", async () => {
    const answer = await post(app, "/predict", { texts: ["fine", 5, ["a"]] });
    expect(answer.status).toBe(422);
    expect(answer.json.error_code).toBe("TEXT_NOT_STRING");
    expect(answer.json.errors).toEqual([
      { row: 1, field: TEXT, problem: "expected a text (a string), got number 5", code: "TEXT_NOT_STRING" },
      { row: 2, field: TEXT, problem: "expected a text (a string), got an array", code: "TEXT_NOT_STRING" },
    ]);
  });

  it("given a number for the text column in an MLflow layout, then MLflow's reading by default (a warning) and 422 TEXT_NOT_STRING under --strict", async () => {
    const body = { dataframe_records: [{ [TEXT]: 12345 }] };
    const lenient = await post(app, "/invocations", body);
    expect(lenient.status).toBe(200);
    expect(lenient.headers["x-schema-warnings"]).toBe(`${TEXT}: 1 value converted (number 12345 -> "12345")`);
    const strict = await post(strictApp, "/invocations", body);
    expect(strict.status).toBe(422);
    expect(strict.json.error_code).toBe("TEXT_NOT_STRING");
  });

  it("given a text over maxLength (truncate), then it is scored cut to maxLength, with a warning header and a metric, in --strict too", async () => {
    const long = `${pkg.heldOut[0]!} ${"mortgage escrow ".repeat(400)}`;
    expect(long.length).toBeGreaterThan(MAX);
    for (const target of [app, strictApp]) {
      const answer = await post(target, "/predict", { texts: [long] });
      expect(answer.status).toBe(200);
      expect(answer.headers["x-schema-warnings"]).toBe(
        `${TEXT}: 1 value truncated to the column's maxLength (${long.length} characters -> ${MAX})`,
      );
      const cut = pkg.predictor.predict([{ [TEXT]: long.slice(0, MAX) }])[0]!;
      expect((answer.json.predictions as { probabilities: unknown }[])[0]!.probabilities).toEqual(
        cut.probabilities,
      );
    }
    const metrics = await app.inject({ method: "GET", url: "/metrics" });
    expect(metrics.body).toMatch(/workbench_schema_warnings_total\{kind="text_truncated"\} 1/);
  });

  it("given a text over maxLength with overLength: reject, then 422 TEXT_TOO_LONG naming the row, its length and the limit", async () => {
    const dir = path.join(path.dirname(await tmp.file("keep-reject", "")), "model-reject");
    const rejecting = await textPackage(dir, { maxLength: 50, overLength: "reject" });
    const { app: service } = await createApp(new ModelHolder(rejecting.predictor, undefined));
    try {
      const long = "x".repeat(51);
      const answer = await post(service, "/invocations", {
        dataframe_records: [{ [TEXT]: "short text" }, { [TEXT]: long }],
      });
      expect(answer.status).toBe(422);
      expect(answer.json.error_code).toBe("TEXT_TOO_LONG");
      expect(answer.json.message).toBe(
        `1 problem in the input: row 1, ${TEXT}: ${TEXT} has 51 characters, more than its maxLength 50`,
      );
    } finally {
      await service.close();
    }
  }, 120_000);

  it("given tabular records (no text column) sent to the text model, then 422 TEXT_COLUMN_MISSING naming the column", async () => {
    for (const [url, body] of [
      ["/invocations", { dataframe_records: [{ LIMIT_BAL: 20000, AGE: 24 }] }],
      ["/predict", { records: [{ LIMIT_BAL: 20000, AGE: 24 }] }],
    ] as const) {
      for (const target of [app, strictApp]) {
        const answer = await post(target, url, body);
        expect(answer.status, url).toBe(422);
        expect(answer.json.error_code).toBe("TEXT_COLUMN_MISSING");
        expect(answer.json.message).toBe(
          `This is a text model: its text column '${TEXT}' is in no row of the input. Send rows with that column, or {"texts": [...]} to /predict.`,
        );
      }
    }
  });

  it("given {texts} sent to a tabular model, then 422 TEXTS_NOT_SUPPORTED naming its columns", async () => {
    const answer = await post(tabularApp, "/predict", { texts: ["my mortgage"] });
    expect(answer.status).toBe(422);
    expect(answer.json.error_code).toBe("TEXTS_NOT_SUPPORTED");
    expect(answer.json.message).toBe(
      'This model takes tabular records, not texts: send {"records": [{column: value, ...}]} with its columns AGE, LIMIT_BAL (GET /model lists them).',
    );
  });

  it("given both records and texts, or texts that are not a list, then 400 BAD_REQUEST", async () => {
    const both = await post(app, "/predict", { texts: ["a b"], records: [{ [TEXT]: "a b" }] });
    expect(both.status).toBe(400);
    expect(both.json.message).toBe('Send either "records" or "texts", not both.');
    const notList = await post(app, "/predict", { texts: "my mortgage" });
    expect(notList.status).toBe(400);
    expect(notList.json.message).toBe('The body must be {"texts": ["...", ...]}.');
    const neither = await post(app, "/predict", {});
    expect(neither.status).toBe(400);
    expect(neither.json.message).toBe(
      'The body must be {"records": [{column: value, ...}, ...]} or, for a model whose only input is a text, {"texts": ["...", ...]}.',
    );
  });
});
