// The service's drift gauge: windows of scored rows checked against the served model's reference profile with the
// drift engine of `npm run monitor`, on an injected clock (no timing in the tests). Real fixture package and profile.

import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createApp, type ServeOptions } from "../../../src/serving/app.js";
import { DriftGauge, type DriftGaugeOptions } from "../../../src/serving/drift-gauge.js";
import { rowsToTable } from "../../../src/serving/input.js";
import { createMetrics } from "../../../src/serving/metrics.js";
import { ModelHolder } from "../../../src/serving/model-holder.js";
import { PredictionLog } from "../../../src/serving/prediction-log.js";
import type { Predictor } from "../../../src/serving/predictor.js";
import { createRng } from "../../../src/shared/random.js";
import {
  profiledPackage,
  type Row,
  referenceRows,
  removePackages,
  shiftedRows,
} from "./monitoring-fixture.js";
import { parseExposition, samplesOf, sampleValue } from "./prom-text.js";

const logs: string[] = [];
afterAll(async () => {
  await removePackages();
  for (const d of logs) await rm(d, { recursive: true, force: true });
});

/** A gauge on a clock the test moves (milliseconds). */
function gauge(options: Partial<DriftGaugeOptions> = {}) {
  const clock = { t: 1_700_000_000_000 };
  const metrics = createMetrics();
  const drift = new DriftGauge(metrics, {
    intervalSeconds: 300,
    minRows: 200,
    now: () => clock.t,
    ...options,
  });
  return { clock, metrics, drift };
}

/** Scores rows as the service does (validated table, predictions) and feeds them to the gauge. */
function feed(drift: DriftGauge, predictor: Predictor, rows: Row[]) {
  const { table } = rowsToTable(rows, predictor.model.meta.inputs, predictor.model.preprocessor, "json");
  drift.observe(predictor, table, predictor.score(table));
}

/** `n` rows drawn with replacement from the reference rows the profile was built from. */
function resampled(n: number, seed: number): Row[] {
  const reference = referenceRows(2000, 1);
  const rng = createRng(seed);
  return Array.from({ length: n }, () => reference[Math.floor(rng() * reference.length)]!);
}

async function scrape(metrics: ReturnType<typeof createMetrics>) {
  return parseExposition(await metrics.registry.metrics());
}

describe("drift gauge", () => {
  it("given resampled reference rows, then no feature drifts and the gauges say so", async () => {
    const { predictor, profile } = await profiledPackage({ version: "3" });
    const { clock, metrics, drift } = gauge();
    drift.setModel(predictor, profile);
    expect(drift.active).toBe(true);
    feed(drift, predictor, resampled(600, 5));
    clock.t += 300_000;
    const summary = await drift.tick();
    expect(summary, "a check ran").toBeDefined();
    expect(summary!.columns.map((c) => [c.column, c.drift])).toEqual([
      ["x1", false],
      ["x2", false],
      ["c", false],
    ]);
    const m = await scrape(metrics);
    expect(sampleValue(m, "workbench_drift_share")).toBe(0);
    expect(sampleValue(m, "workbench_dataset_drift")).toBe(0);
    expect(sampleValue(m, "workbench_drift_window_rows")).toBe(600);
    expect(sampleValue(m, "workbench_drift_last_check_timestamp_seconds")).toBe(clock.t / 1000);
    for (const feature of ["x1", "x2", "c"])
      expect(sampleValue(m, "workbench_feature_drift", { feature })).toBe(0);
    // 2,000 reference rows: Evidently's rule picks distances (Wasserstein numeric, Jensen–Shannon categorical).
    const scores = samplesOf(m, "workbench_feature_drift_score");
    expect(scores.map((s) => `${s.labels.feature}:${s.labels.test}`)).toEqual([
      "x1:wasserstein",
      "x2:wasserstein",
      "c:jensenshannon",
    ]);
    for (const s of scores) expect(s.value, `${s.labels.feature}'s distance`).toBeLessThan(0.1);
    expect(sampleValue(m, "workbench_prediction_drift", { output: "score" })).toBe(0);
    expect(sampleValue(m, "workbench_prediction_drift", { output: "label" })).toBe(0);
    expect(drift.windowRows, "a new window started").toBe(0);
  });

  it("given shifted rows, then every feature drifts, the share is 1 and the dataset gauge is 1", async () => {
    const { predictor, profile } = await profiledPackage({ version: "3" });
    const { clock, metrics, drift } = gauge();
    drift.setModel(predictor, profile);
    feed(drift, predictor, shiftedRows(400, 7));
    clock.t += 300_000;
    const summary = await drift.tick();
    expect(summary!.datasetDrift).toBe(true);
    const m = await scrape(metrics);
    expect(sampleValue(m, "workbench_drift_share")).toBe(1);
    expect(sampleValue(m, "workbench_dataset_drift")).toBe(1);
    for (const feature of ["x1", "x2", "c"])
      expect(sampleValue(m, "workbench_feature_drift", { feature })).toBe(1);
    expect(sampleValue(m, "workbench_prediction_drift", { output: "score" }), "the scores moved too").toBe(1);
  });

  it("given the clock and the row count, then a window is checked only once it is interval-old and holds min-rows rows", async () => {
    const { predictor, profile } = await profiledPackage();
    const { clock, metrics, drift } = gauge({ intervalSeconds: 60, minRows: 200 });
    drift.setModel(predictor, profile);
    feed(drift, predictor, resampled(150, 1));
    clock.t += 120_000;
    expect(await drift.tick(), "old enough, too few rows: the window keeps growing").toBeUndefined();
    expect(drift.windowRows).toBe(150);
    feed(drift, predictor, resampled(100, 2));
    expect((await drift.tick())?.current.rows, "250 rows: checked at the next tick").toBe(250);
    expect(sampleValue(await scrape(metrics), "workbench_drift_window_rows")).toBe(250);
    const checkedAt = clock.t;
    feed(drift, predictor, resampled(300, 3));
    clock.t += 59_999;
    expect(await drift.tick(), "enough rows, 1 ms short of the interval").toBeUndefined();
    clock.t += 1;
    expect((await drift.tick())?.current.rows).toBe(300);
    expect(sampleValue(await scrape(metrics), "workbench_drift_last_check_timestamp_seconds")).toBe(
      (checkedAt + 60_000) / 1000,
    );
  });

  it("given a hot swap, then the window restarts against the new model, and rows of the old one are dropped", async () => {
    const old = await profiledPackage({ version: "1" });
    const next = await profiledPackage({ version: "2" });
    const { clock, metrics, drift } = gauge({ minRows: 100 });
    drift.setModel(old.predictor, old.profile);
    feed(drift, old.predictor, shiftedRows(300, 1));
    clock.t += 300_000;
    await drift.tick();
    expect(sampleValue(await scrape(metrics), "workbench_dataset_drift")).toBe(1);
    feed(drift, old.predictor, shiftedRows(300, 2));
    drift.setModel(next.predictor, next.profile);
    expect(drift.windowRows, "a new window").toBe(0);
    expect(
      samplesOf(await scrape(metrics), "workbench_feature_drift"),
      "the old model's features are gone",
    ).toEqual([]);
    feed(drift, old.predictor, shiftedRows(300, 3));
    expect(drift.windowRows, "rows scored by the old model are not the new one's").toBe(0);
    feed(drift, next.predictor, resampled(300, 4));
    clock.t += 300_000;
    expect((await drift.tick())?.datasetDrift).toBe(false);
  });

  it("given a model without a profile, or an interval of 0, then there is no gauge", async () => {
    const bare = await profiledPackage({ profile: false });
    const { clock, drift } = gauge();
    drift.setModel(bare.predictor, undefined);
    expect(drift.active).toBe(false);
    feed(drift, bare.predictor, resampled(300, 1));
    clock.t += 600_000;
    expect(await drift.tick()).toBeUndefined();
    const profiled = await profiledPackage();
    const off = gauge({ intervalSeconds: 0 });
    off.drift.setModel(profiled.predictor, profiled.profile);
    expect(off.drift.enabled).toBe(false);
    expect(off.drift.active).toBe(false);
  });

  it("given invalid drift options, then the gauge is refused naming the field", () => {
    const metrics = createMetrics();
    expect(
      () => new DriftGauge(metrics, { intervalSeconds: 60, minRows: 1, drift: { driftShare: 2 } }),
    ).toThrowError(
      expect.objectContaining({ code: "CONFIG_INVALID", message: expect.stringContaining("driftShare") }),
    );
    metrics.close();
  });
});

describe("the service's drift window", () => {
  const clock = { t: 1_700_000_000_000 };
  async function service(predictor: Predictor, options: ServeOptions = {}) {
    const holder = new ModelHolder(predictor, undefined);
    const app = await createApp(holder, {
      ...options,
      drift: { intervalSeconds: 60, minRows: 10, timer: false, now: () => clock.t, ...options.drift },
    });
    const score = async (rows: Row[]) => {
      const response = await app.app.inject({ method: "POST", url: "/predict", payload: { records: rows } });
      expect(response.statusCode).toBe(200);
      await app.settled();
    };
    return { ...app, holder, score };
  }

  it("given a prediction log, then the requests it keeps feed the window; without one, the sample-rate share", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "drift-log-"));
    logs.push(dir);
    let draw = 0;
    const draws = [0.05, 0.5, 0.05, 0.5];
    const log = new PredictionLog({
      dir,
      sampleRate: 0.1,
      maxBytes: 1e8,
      maxFiles: 1,
      random: () => draws[draw++]!,
    });
    const logged = await service((await profiledPackage()).predictor, { predictionLog: log });
    for (let i = 0; i < 4; i++) await logged.score(resampled(10, i));
    expect(logged.drift.windowRows, "2 of 4 requests logged, 10 rows each").toBe(20);
    await log.flush();
    await logged.app.close();

    let pick = 0;
    const unlogged = await service((await profiledPackage()).predictor, {
      drift: { sampleRate: 0.5, random: () => [0.2, 0.7, 0.7][pick++ % 3]! },
    });
    for (let i = 0; i < 3; i++) await unlogged.score(resampled(10, i));
    expect(unlogged.drift.windowRows, "1 of 3 requests drawn").toBe(10);
    clock.t += 60_000;
    expect(await unlogged.drift.tick(), "10 rows: min-rows reached").toBeDefined();
    await unlogged.app.close();
  });

  it("given a hot swap, then the window and the range checks follow the new model's profile", async () => {
    const first = await profiledPackage({ version: "1" });
    const app = await service(first.predictor);
    await app.score(shiftedRows(20, 1));
    expect(app.drift.windowRows).toBe(20);
    const bare = await profiledPackage({ version: "2", profile: false });
    app.holder.swap(bare.predictor);
    await app.settled();
    expect(app.drift.active, "no profile: no gauge").toBe(false);
    const model = async () =>
      (
        (await app.app.inject({ method: "GET", url: "/model" })).json() as {
          monitoring: Record<string, unknown>;
        }
      ).monitoring;
    expect(await model()).toMatchObject({ referenceProfile: false, rangeChecked: [] });
    const profiled = await profiledPackage({ version: "3" });
    app.holder.swap(profiled.predictor);
    await app.settled();
    expect(await model()).toMatchObject({
      referenceProfile: true,
      rangeChecked: ["x1", "x2", "c"],
      drift: { intervalSeconds: 60, minRows: 10, windowRows: 0, active: true },
    });
    await app.score(resampled(20, 2));
    expect(app.drift.windowRows).toBe(20);
    await app.app.close();
  });
});
