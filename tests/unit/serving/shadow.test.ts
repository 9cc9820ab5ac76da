// Shadow (A/B) scoring: the challenger scores a share of the requests after the champion's answer was sent. The
// answers must be the champion's, byte for byte, with or without a shadow, whatever the challenger does. Real fixture
// packages (champion: threshold 0.4; challenger: the same network with threshold 0.6, so labels differ on some rows).
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createApp, type ServeOptions, type ServiceApp } from "../../../src/serving/app.js";
import { ModelHolder } from "../../../src/serving/model-holder.js";
import { PredictionLog, type PredictionRecord } from "../../../src/serving/prediction-log.js";
import type { Predictor } from "../../../src/serving/predictor.js";
import { Shadow } from "../../../src/serving/shadow.js";
import { WorkbenchError } from "../../../src/shared/errors.js";
import { rejectionOf, thrownBy } from "../../helpers/expect-error.js";
import { profiledPackage, referenceRows, removePackages } from "./monitoring-fixture.js";
import { parseExposition, sampleValue } from "./prom-text.js";

const dirs: string[] = [];
afterAll(async () => {
  await removePackages();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const champion = () => profiledPackage({ name: "credit", version: "1", alias: "champion" });
const challenger = () =>
  profiledPackage({ name: "credit", version: "2", alias: "challenger", meta: { threshold: 0.6 } });

async function service(predictor: Predictor, options: ServeOptions = {}): Promise<ServiceApp> {
  return createApp(new ModelHolder(predictor, undefined), { drift: { intervalSeconds: 0 }, ...options });
}

async function logDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "shadow-log-"));
  dirs.push(dir);
  return dir;
}

async function records(dir: string): Promise<PredictionRecord[]> {
  const text = await readFile(path.join(dir, "predictions.jsonl"), "utf8").catch(() => "");
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as PredictionRecord);
}

const ROWS = referenceRows(200, 11);
const REQUESTS: { url: string; payload: string; contentType: string }[] = [
  {
    url: "/invocations",
    payload: JSON.stringify({ dataframe_records: ROWS }),
    contentType: "application/json",
  },
  { url: "/predict", payload: JSON.stringify({ records: ROWS }), contentType: "application/json" },
  {
    url: "/invocations",
    payload: `x1,x2,c\n${ROWS.map((r) => `${r.x1},${r.x2},${r.c}`).join("\n")}\n`,
    contentType: "text/csv",
  },
];

/** Status, headers (but the date) and body bytes of each request. */
async function answers(app: ServiceApp) {
  const out: { status: number; headers: Record<string, unknown>; body: Buffer }[] = [];
  for (const [i, r] of REQUESTS.entries()) {
    const response = await app.app.inject({
      method: "POST",
      url: r.url,
      payload: r.payload,
      headers: { "content-type": r.contentType, "x-request-id": `req-${i}` },
    });
    const { date: _date, ...headers } = response.headers;
    out.push({ status: response.statusCode, headers, body: response.rawPayload });
  }
  await app.settled();
  return out;
}

async function scrape(app: ServiceApp) {
  return parseExposition((await app.app.inject({ method: "GET", url: "/metrics" })).body);
}

describe("shadow scoring", () => {
  it("given a shadow on every request, then the answers are byte for byte those without one, and the log holds both models' outputs", async () => {
    const plain = await service((await champion()).predictor);
    const expected = await answers(plain);
    await plain.app.close();

    const chall = await challenger();
    const dir = await logDir();
    const log = new PredictionLog({ dir, sampleRate: 0, maxBytes: 1e8, maxFiles: 1 });
    const shadowed = await service((await champion()).predictor, {
      predictionLog: log,
      shadow: { holder: new ModelHolder(chall.predictor, undefined), share: 1 },
    });
    const got = await answers(shadowed);
    expect(got.map((a) => a.status)).toEqual([200, 200, 200]);
    for (let i = 0; i < got.length; i++) {
      expect(got[i]!.body.equals(expected[i]!.body), `request ${i}: same body bytes`).toBe(true);
      expect(got[i]!.headers, `request ${i}: same headers`).toEqual(expected[i]!.headers);
    }
    await log.flush();
    const logged = await records(dir);
    expect(logged.length, "every shadowed request is logged (sample rate 0)").toBe(3);
    const challengerOutputs = chall.predictor.predict(ROWS);
    const championOutputs = (await champion()).predictor.predict(ROWS);
    for (const record of logged) {
      expect(record.model).toEqual({ name: "credit", version: "1" });
      expect(record.outputs).toEqual(championOutputs);
      expect(record.shadow?.model).toEqual({ name: "credit", version: "2" });
      expect(record.shadow?.outputs).toEqual(challengerOutputs);
    }
    const disagreements = challengerOutputs.filter((p, i) => p.label !== championOutputs[i]!.label).length;
    expect(disagreements, "thresholds 0.4 and 0.6 disagree on some rows").toBeGreaterThan(0);
    expect(disagreements).toBeLessThan(ROWS.length);
    const m = await scrape(shadowed);
    expect(sampleValue(m, "workbench_shadow_requests_total", { version: "2" })).toBe(3);
    expect(sampleValue(m, "workbench_shadow_rows_total", { version: "2" })).toBe(600);
    expect(sampleValue(m, "workbench_shadow_disagreements_total", { version: "2" })).toBe(3 * disagreements);
    expect(sampleValue(m, "workbench_shadow_errors_total")).toBe(0);
    await shadowed.app.close();
  });

  it("given a share, then only the drawn requests are shadowed; the others are logged as sampled, without a shadow part", async () => {
    const dir = await logDir();
    let draw = 0;
    const log = new PredictionLog({ dir, sampleRate: 1, maxBytes: 1e8, maxFiles: 1 });
    const app = await service((await champion()).predictor, {
      predictionLog: log,
      shadow: {
        holder: new ModelHolder((await challenger()).predictor, undefined),
        share: 0.25,
        random: () => [0.1, 0.9, 0.3, 0.2][draw++ % 4]!,
      },
    });
    await answers(app); // draws 0.1 (shadowed), 0.9, 0.3
    await log.flush();
    const logged = await records(dir);
    expect(logged.map((r) => [r.requestId, r.shadow !== undefined])).toEqual(
      expect.arrayContaining([
        ["req-0", true],
        ["req-1", false],
        ["req-2", false],
      ]),
    );
    expect(logged.length).toBe(3);
    expect(sampleValue(await scrape(app), "workbench_shadow_requests_total", { version: "2" })).toBe(1);
    await app.app.close();
  });

  it("given a challenger that fails, then the answers are unchanged, the failure is counted and the record has no shadow part", async () => {
    const plain = await service((await champion()).predictor);
    const expected = await answers(plain);
    await plain.app.close();
    const broken = (await challenger()).predictor;
    broken.retire(); // its network is disposed: scoring throws, as a model freed by a bad swap would
    expect(() => broken.predict(ROWS)).toThrow(/disposed/);
    const dir = await logDir();
    const log = new PredictionLog({ dir, sampleRate: 0, maxBytes: 1e8, maxFiles: 1 });
    const app = await service((await champion()).predictor, {
      predictionLog: log,
      shadow: { holder: new ModelHolder(broken, undefined), share: 1 },
    });
    const got = await answers(app);
    for (let i = 0; i < got.length; i++) {
      expect(got[i]!.status).toBe(200);
      expect(got[i]!.body.equals(expected[i]!.body), `request ${i}: same body bytes`).toBe(true);
    }
    const m = await scrape(app);
    expect(sampleValue(m, "workbench_shadow_errors_total")).toBe(3);
    expect(sampleValue(m, "workbench_shadow_requests_total", { version: "2" })).toBe(0);
    await log.flush();
    const logged = await records(dir);
    expect(logged.length).toBe(3);
    for (const r of logged) expect(r.shadow).toBeUndefined();
    await app.app.close();
  });

  it("given a refused request, then the challenger does not score it", async () => {
    const app = await service((await champion()).predictor, {
      shadow: { holder: new ModelHolder((await challenger()).predictor, undefined), share: 1 },
    });
    const response = await app.app.inject({
      method: "POST",
      url: "/predict",
      payload: { records: [{ x1: "abc", x2: 1, c: "a" }] },
    });
    expect(response.statusCode).toBe(422);
    await app.settled();
    expect(sampleValue(await scrape(app), "workbench_shadow_requests_total", { version: "2" })).toBe(0);
    await app.app.close();
  });

  it("/health and /model show the shadow model", async () => {
    const app = await service((await champion()).predictor, {
      shadow: { holder: new ModelHolder((await challenger()).predictor, undefined), share: 0.1 },
    });
    const health = (await app.app.inject({ method: "GET", url: "/health" })).json();
    expect(health).toEqual({
      status: "ok",
      model: { name: "credit", version: "1" },
      shadow: { name: "credit", version: "2", share: 0.1, status: "active" },
    });
    const model = (await app.app.inject({ method: "GET", url: "/model" })).json() as Record<string, unknown>;
    expect(model.shadow).toEqual({
      uri: "models:/credit@challenger",
      name: "credit",
      version: "2",
      alias: "challenger",
      share: 0.1,
      status: "active",
    });
    await app.app.close();
  });
});

describe("an incompatible challenger", () => {
  it("given other classes, then the service refuses to start (SHADOW_INCOMPATIBLE) naming them", async () => {
    const mlp = await profiledPackage({
      fixture: "v1-mlp",
      name: "credit",
      version: "5",
      alias: "challenger",
    });
    const error = await rejectionOf(
      service((await champion()).predictor, {
        shadow: { holder: new ModelHolder(mlp.predictor, undefined), share: 0.1 },
      }),
    );
    expect(error.code).toBe("SHADOW_INCOMPATIBLE");
    expect(error.message).toBe(
      "credit version 5 (models:/credit@challenger) cannot shadow credit version 1: its classes [A, B, C] differ from the champion's [no, yes]. A shadow must predict the same classes from the same inputs; pick a challenger trained on the same dataset manifest.",
    );
  });

  it("given other inputs, then it is refused naming each difference", async () => {
    const other = await profiledPackage({
      version: "6",
      alias: "challenger",
      profile: false,
      meta: {
        inputs: [
          { name: "x1", type: "double", required: true },
          { name: "x2", type: "long", required: false },
          { name: "x3", type: "double", required: true },
        ],
      },
    });
    const error = await rejectionOf(
      service((await champion()).predictor, {
        shadow: { holder: new ModelHolder(other.predictor, undefined), share: 0.1 },
      }),
    );
    expect(error.code).toBe("SHADOW_INCOMPATIBLE");
    expect(error.message).toContain(
      "it lacks the input column c; it has input column the champion has not: x3; x2 is double, optional for the champion, long, optional for it",
    );
  });

  it("given a share outside (0, 1], then it is refused (SHADOW_SHARE_INVALID)", async () => {
    const metrics = (await service((await champion()).predictor)).metrics;
    const { predictor } = await challenger();
    for (const share of [0, 1.5, Number.NaN]) {
      const error = thrownBy(
        () => new Shadow(new ModelHolder(predictor, undefined), () => predictor, metrics, { share }),
      );
      expect(error).toBeInstanceOf(WorkbenchError);
      expect(error.code).toBe("SHADOW_SHARE_INVALID");
      expect(error.message).toContain(`The shadow share ${share} must be in (0, 1]`);
    }
  });

  it("given a hot swap making the pair incompatible, or the challenger the champion's version, then the shadow pauses, and resumes after", async () => {
    const champ = await champion();
    const holder = new ModelHolder((await challenger()).predictor, undefined);
    const app = await service(champ.predictor, { shadow: { holder, share: 1 } });
    const shadow = app.shadow!;
    holder.swap((await profiledPackage({ fixture: "v1-mlp", version: "7", alias: "challenger" })).predictor);
    expect(shadow.info.status).toMatch(
      /^paused: credit version 7 cannot shadow credit version 1: its classes/,
    );
    expect(shadow.pick()).toBe(false);
    holder.swap((await profiledPackage({ version: "1", alias: "challenger" })).predictor);
    expect(shadow.info.status).toBe("paused: the challenger is the champion's version (1)");
    holder.swap((await challenger()).predictor);
    expect(shadow.info.status).toBe("active");
    expect(shadow.pick()).toBe(true);
    await app.app.close();
  });
});
