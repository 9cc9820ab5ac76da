// The service's data-quality signals in /metrics: refused and adjusted values per feature and reason, values outside
// the reference profile, unseen categories, rows scored and the prediction-score histogram. Requests go through
// Fastify's inject (the whole app) to real fixture packages with a real reference profile.
import { afterAll, describe, expect, it } from "vitest";
import type { PreprocessorState } from "../../../src/features/preprocessor.js";
import type { SignatureColumn } from "../../../src/registry/signature.js";
import { createApp, type ServeOptions } from "../../../src/serving/app.js";
import { rowsToTable } from "../../../src/serving/input.js";
import { problemReason } from "../../../src/serving/input-signals.js";
import { SCORE_BUCKETS } from "../../../src/serving/metrics.js";
import { ModelHolder } from "../../../src/serving/model-holder.js";
import type { Predictor } from "../../../src/serving/predictor.js";
import { profiledPackage, referenceRows, removePackages } from "./monitoring-fixture.js";
import { parseExposition, samplesOf, sampleValue } from "./prom-text.js";

afterAll(removePackages);

async function app(predictor: Predictor, options: ServeOptions = {}) {
  return createApp(new ModelHolder(predictor, undefined), { drift: { intervalSeconds: 0 }, ...options });
}

async function post(service: Awaited<ReturnType<typeof app>>, body: unknown, url = "/invocations") {
  const response = await service.app.inject({ method: "POST", url, payload: body as object });
  return { status: response.statusCode, json: response.json() as Record<string, unknown> };
}

async function scrape(service: Awaited<ReturnType<typeof app>>) {
  const response = await service.app.inject({ method: "GET", url: "/metrics" });
  return parseExposition(response.body);
}

describe("problemReason: the reason label of every problem the input checks produce", () => {
  const inputs: SignatureColumn[] = [
    { name: "amount", type: "double", required: true },
    { name: "age", type: "long", required: true },
    { name: "city", type: "string", required: true },
    { name: "note", type: "string", required: true, text: { maxLength: 5, overLength: "reject" } },
  ];
  const pre = {
    version: 1,
    engineered: [],
    numeric: [],
    categorical: [{ name: "city", categories: ["a"] }],
    text: [{ name: "note", normalize: {} }],
    clip: 5,
    featureNames: [],
  } as unknown as PreprocessorState;
  const ROW = { amount: 1, age: 2, city: "a", note: "hi" };
  const reasons = (rows: unknown[], enforcement: "strict" | "mlflow", mode: "json" | "text" = "json") =>
    rowsToTable(rows as Record<string, unknown>[], inputs, pre, mode, { enforcement }).problems.map(
      (p) => `${p.field}:${problemReason(p)}`,
    );

  it("given each kind of refused field, then its reason", () => {
    expect(
      reasons(
        [
          7,
          { ...ROW, extra: 1 },
          { ...ROW, amount: "abc" },
          { ...ROW, amount: [1] },
          { ...ROW, city: 5 },
          { ...ROW, age: 24.5 },
          { ...ROW, amount: null },
          { amount: 1, age: 2, city: "a", note: "hi there" },
          { ...ROW, note: 3 },
          { ...ROW, note: " " },
        ],
        "strict",
      ),
    ).toEqual([
      ":not_object",
      "extra:extra_column",
      "amount:type",
      "amount:type",
      "city:type",
      "age:not_integer",
      "amount:missing",
      "note:text_too_long",
      "note:text_not_string",
      "note:text_empty",
    ]);
    expect(
      reasons(
        [
          { ...ROW, amount: "Infinity" },
          { ...ROW, age: "24.5" },
          { ...ROW, age: "99999999999999999999" },
          { ...ROW, age: null },
        ],
        "mlflow",
      ),
    ).toEqual(["amount:not_finite", "age:not_integer", "age:type", "age:missing"]);
    expect(
      reasons(
        [
          { ...ROW, amount: "NA" },
          { ...ROW, amount: "" },
          { ...ROW, age: "2.5" },
        ],
        "strict",
        "text",
      ),
    ).toEqual(["amount:missing", "amount:missing", "age:not_integer"]);
  });
});

describe("feature violations", () => {
  it("given a refused request (--strict), then each refused field is counted by feature and reason; request keys never become labels", async () => {
    const { predictor } = await profiledPackage();
    const service = await app(predictor, { strict: true });
    const answer = await post(service, {
      dataframe_records: [
        { x1: "abc", x2: 1, c: "a" },
        { x2: 1, c: "a" },
        { x1: 1, x2: 1, c: 5 },
        { x1: 1, x2: 1, c: "a", surprise: 1, another: 2 },
      ],
    });
    expect(answer.status).toBe(422);
    const m = await scrape(service);
    const violations = samplesOf(m, "workbench_feature_violations_total");
    expect(
      Object.fromEntries(violations.map((s) => [`${s.labels.feature}/${s.labels.reason}`, s.value])),
    ).toEqual({ "x1/type": 1, "x1/missing": 1, "c/type": 1, "_unknown/extra_column": 2 });
    expect(sampleValue(m, "workbench_rows_scored_total", { version: "local" }), "nothing scored").toBe(0);
    await service.app.close();
  });

  it("given what MLflow's enforcement adjusts (default), then each adjustment is counted by feature and warning kind", async () => {
    const { predictor } = await profiledPackage();
    const service = await app(predictor);
    const answer = await post(service, {
      dataframe_records: [
        { x1: "1.5", x2: 1, c: "a", ID: 3 },
        { x1: null, x2: 1, c: "a", ID: 4 },
        { x1: "2", x2: 1, c: 5 },
      ],
    });
    expect(answer.status).toBe(200);
    const m = await scrape(service);
    const violations = samplesOf(m, "workbench_feature_violations_total");
    expect(
      Object.fromEntries(violations.map((s) => [`${s.labels.feature}/${s.labels.reason}`, s.value])),
    ).toEqual({
      "_unknown/extra_column": 2, // values: ID in two rows
      "x1/converted": 2,
      "x1/missing_required": 1,
      "c/converted": 1,
    });
    expect(sampleValue(m, "workbench_rows_scored_total", { version: "local" })).toBe(3);
    await service.app.close();
  });
});

describe("values against the reference profile", () => {
  it("given values outside the profile's [min, max] and unseen categories, then they are counted per feature; missing values are not", async () => {
    const { predictor, profile } = await profiledPackage({ version: "4" });
    const range = (name: string) => {
      const column = profile!.columns.find((c) => c.name === name)!;
      if (column.type !== "numeric") throw new Error(`${name} is not numeric in the profile`);
      return column;
    };
    const x1 = range("x1");
    const x2 = range("x2");
    expect([x1.min, x1.max, x2.min, x2.max], "the reference rows' ranges").toEqual([-4.99, 5, 0, 100]);
    const service = await app(predictor);
    const rows = [
      { x1: 100, x2: 50, c: "a" },
      { x1: -5, x2: 101, c: "zzz" },
      { x1: 5, x2: 0, c: "b" },
      { x1: 0, x2: null, c: "yyy" },
      { x1: 0, x2: 3, c: "zzz" },
    ];
    expect((await post(service, { dataframe_records: rows })).status).toBe(200);
    const m = await scrape(service);
    expect(sampleValue(m, "workbench_feature_out_of_range_total", { feature: "x1" })).toBe(2);
    expect(sampleValue(m, "workbench_feature_out_of_range_total", { feature: "x2" })).toBe(1);
    expect(samplesOf(m, "workbench_feature_out_of_range_total", { feature: "c" })).toEqual([]);
    expect(sampleValue(m, "workbench_feature_unseen_category_total", { feature: "c" })).toBe(3);
    expect(sampleValue(m, "workbench_rows_scored_total", { version: "4" })).toBe(5);
    const model = (await service.app.inject({ method: "GET", url: "/model" })).json() as {
      monitoring: { referenceProfile: boolean; rangeChecked: string[] };
    };
    expect(model.monitoring).toMatchObject({ referenceProfile: true, rangeChecked: ["x1", "x2", "c"] });
    await service.app.close();
  });

  it("given a model without a reference profile, then there are no range signals, and rows are still counted", async () => {
    const { predictor } = await profiledPackage({ profile: false });
    const service = await app(predictor);
    await post(service, { dataframe_records: [{ x1: 100, x2: 50, c: "zzz" }] });
    const m = await scrape(service);
    expect(samplesOf(m, "workbench_feature_out_of_range_total")).toEqual([]);
    expect(samplesOf(m, "workbench_feature_unseen_category_total")).toEqual([]);
    expect(sampleValue(m, "workbench_rows_scored_total", { version: "local" })).toBe(1);
    await service.app.close();
  });
});

describe("prediction-score histogram", () => {
  const cumulative = (scores: number[]) =>
    [...SCORE_BUCKETS, Number.POSITIVE_INFINITY].map((bound) => scores.filter((s) => s <= bound).length);

  it("given a binary model, then it counts the positive class's probability per bucket (le), with sum and count", async () => {
    const { predictor } = await profiledPackage({ version: "2" });
    const service = await app(predictor);
    const rows = referenceRows(300, 9);
    const scores: number[] = [];
    for (const url of ["/invocations", "/predict"]) {
      const body = url === "/predict" ? { records: rows } : { dataframe_records: rows };
      const answer = await post(service, body, url);
      for (const p of answer.json.predictions as Record<string, unknown>[])
        scores.push(
          url === "/predict"
            ? (p.probabilities as Record<string, number>).yes!
            : (p as Record<string, number>).probability_yes!,
        );
    }
    const m = await scrape(service);
    expect(m.types.get("workbench_prediction_score")).toBe("histogram");
    const buckets = samplesOf(m, "workbench_prediction_score_bucket", { version: "2" });
    expect(buckets.map((b) => b.labels.le)).toEqual([...SCORE_BUCKETS.map(String), "+Inf"]);
    expect(buckets.map((b) => b.value)).toEqual(cumulative(scores));
    expect(new Set(buckets.map((b) => b.value)).size, "scores spread over several buckets").toBeGreaterThan(
      3,
    );
    expect(sampleValue(m, "workbench_prediction_score_count", { version: "2" })).toBe(600);
    expect(sampleValue(m, "workbench_prediction_score_sum", { version: "2" })).toBeCloseTo(
      scores.reduce((a, b) => a + b, 0),
      6,
    );
    await service.app.close();
  });

  it("given a multiclass model, then it counts the top class's probability", async () => {
    const { predictor } = await profiledPackage({ fixture: "v1-mlp", version: "1" });
    const service = await app(predictor);
    const answer = await post(service, { records: referenceRows(200, 3) }, "/predict");
    const scores = (answer.json.predictions as { probabilities: Record<string, number> }[]).map((p) =>
      Math.max(...Object.values(p.probabilities)),
    );
    const m = await scrape(service);
    const buckets = samplesOf(m, "workbench_prediction_score_bucket", { version: "1" });
    expect(buckets.map((b) => b.value)).toEqual(cumulative(scores));
    await service.app.close();
  });
});
