// Hostile input, fuzzed: thousands of malformed requests of every kind against the real service on loopback,
// with a fixed seed. Every answer must be a 4xx JSON error with an error_code, never a prediction, and the
// service must still serve afterwards. Both schema enforcements are fuzzed: --strict with every corruption,
// the default (MLflow's semantics) with the corruptions MLflow's scoring server refuses too — what MLflow
// adjusts and scores (extra columns, "12" for a number, true for 1, 24.5 for a long, null in a required
// double) is scored with an x-schema-warnings header instead (tests/integration/serving/mlflow-schema-parity).
// Bounded: a fixed number of requests (3,000), well under a minute on a 2-core machine.
import path from "node:path";
import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadTrainConfig } from "../../../src/config/train-config.js";
import { trainPipeline } from "../../../src/pipelines/train.js";
import type { SignatureColumn } from "../../../src/registry/model-package.js";
import { createApp } from "../../../src/serving/app.js";
import { ModelHolder } from "../../../src/serving/model-holder.js";
import { silentLogger } from "../../../src/shared/logger.js";
import { projectRoot } from "../../../src/shared/project.js";
import { datasetMirror } from "../../helpers/datasets.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";

const SEED = 20_240_917;
const MAX_ROWS = 20;
const BODY_LIMIT = 64 * 1024;

const client = testClient();
const model = uniqueName("fuzz-model");
let app: FastifyInstance;
let strictApp: FastifyInstance;
let base: string; // the default: MLflow's schema enforcement
let strictBase: string;
let inputs: SignatureColumn[];

beforeAll(async () => {
  const config = await loadTrainConfig(path.join(projectRoot(), "configs", "credit-default.yaml"), [
    "data.limit=2000",
    `experiment=${model}`,
    `registry.modelName=${model}`,
    "training.candidates=[{kind: logistic, params: {epochs: 2}}]",
  ]);
  const mirror = datasetMirror();
  await trainPipeline({ client, logger: silentLogger() }, config, mirror ? { mirror } : {});
  const holder = await ModelHolder.load(`models:/${model}@challenger`, client);
  inputs = holder.current.model.meta.inputs;
  ({ app } = await createApp(holder, { maxBatchRows: MAX_ROWS, bodyLimit: BODY_LIMIT }));
  base = await app.listen({ host: "127.0.0.1", port: 0 });
  ({ app: strictApp } = await createApp(holder, {
    maxBatchRows: MAX_ROWS,
    bodyLimit: BODY_LIMIT,
    strict: true,
  }));
  strictBase = await strictApp.listen({ host: "127.0.0.1", port: 0 });
}, 180_000);

afterAll(async () => {
  await app?.close();
  await strictApp?.close();
  client.close();
});

type Row = Record<string, unknown>;

interface Attempt {
  kind: string;
  /** The service it goes to (the default one when not said). */
  base?: string;
  method: string;
  route: string;
  /** undefined: no content-type header at all. */
  contentType: string | undefined;
  body: string | undefined;
}

interface Answer {
  status: number;
  warnings: string | null;
  contentType: string;
  json: Record<string, unknown> | undefined;
  text: string;
}

async function send(attempt: Attempt): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (attempt.contentType !== undefined) headers["content-type"] = attempt.contentType;
  const response = await fetch(`${attempt.base ?? base}${attempt.route}`, {
    method: attempt.method,
    headers,
    // Bytes, so that fetch adds no content-type of its own.
    ...(attempt.body === undefined ? {} : { body: new TextEncoder().encode(attempt.body) }),
  });
  const text = await response.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return {
    status: response.status,
    warnings: response.headers.get("x-schema-warnings"),
    contentType: response.headers.get("content-type") ?? "",
    json,
    text,
  };
}

const columns = () => inputs.map((c) => c.name);

// ---- valid material, to be corrupted ----

const value = (column: SignatureColumn): fc.Arbitrary<number | string> =>
  column.type === "long"
    ? fc.integer({ min: -2, max: 500_000 })
    : column.type === "double"
      ? fc.oneof(fc.integer({ min: 0, max: 1_000_000 }), fc.double({ min: -1e6, max: 1e6, noNaN: true }))
      : fc.string({ maxLength: 8 });

const validRow = (): fc.Arbitrary<Row> =>
  fc.record(Object.fromEntries(inputs.map((c) => [c.name, value(c)])));

const validRows = (min: number, max: number) => fc.array(validRow(), { minLength: min, maxLength: max });

function csvField(text: string): string {
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

function toCsv(header: string[], rows: unknown[][]): string {
  return `${[header, ...rows].map((r) => r.map((v) => csvField(String(v))).join(",")).join("\n")}\n`;
}

/** The rows in one of the layouts the service takes: route, content type and body. */
const layouts = ["dataframe_records", "instances", "inputs", "inputs-columns", "dataframe_split", "predict"];

function encode(layout: string, rows: Row[]): Omit<Attempt, "kind"> {
  const json = (body: unknown) => ({
    method: "POST",
    route: "/invocations",
    contentType: "application/json",
    body: JSON.stringify(body),
  });
  switch (layout) {
    case "dataframe_records":
    case "instances":
    case "inputs":
      return json({ [layout]: rows });
    case "inputs-columns": {
      const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
      return json({ inputs: Object.fromEntries(keys.map((k) => [k, rows.map((r) => r[k] ?? null)])) });
    }
    case "dataframe_split": {
      const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
      return json({
        dataframe_split: { columns: keys, data: rows.map((r) => keys.map((k) => r[k] ?? null)) },
      });
    }
    default:
      return { ...json({ records: rows }), route: "/predict" };
  }
}

// ---- corruptions: each makes its row invalid for the signature ----

const notAColumn = fc.oneof(
  fc.string({ minLength: 1, maxLength: 20 }),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }),
  fc.constantFrom("constructor", "toString", "hasOwnProperty", "prototype", "__proto", "age", "", " AGE"),
  fc.integer({ min: 100, max: 20_000 }).map((n) => "k".repeat(n)),
);

const wrongForNumber = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom("0x31", "0b1", "0o7", "1_000", "20,000", "NaN", "Infinity", "-Infinity", "1e999", "", "12"),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
);

type Corruption = (row: Row) => Row;

const longColumns = () => inputs.filter((c) => c.type === "long").map((c) => c.name);

/**
 * Values MLflow's scoring server refuses for any number column too (Python's int()/float() cannot read
 * them, or they are not finite, or not scalars); "NaN" and digit-only text are left out (MLflow reads them).
 */
const neverANumber = fc.oneof(
  fc
    .string({ minLength: 1, maxLength: 12 })
    .filter((s) => /[^\d\s.eE+-]/.test(s) && !/nan/i.test(s) && !/^\s*[+-]?\d+\s*$/.test(s)),
  fc.constantFrom("0x31", "0b1", "0o7", "20,000", "1.5.2", "Infinity", "-Infinity", "1e999", ""),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
);

/** What even MLflow's semantics refuse: a required column absent from every row, unreadable numbers, nulls or fractional text in a long. */
const mlflowInvalid = (): fc.Arbitrary<{ name: string; apply: Corruption; everyRow?: boolean }> =>
  fc.oneof(
    fc.constantFrom(...columns()).map((c) => ({
      name: "column missing from every row",
      everyRow: true,
      apply: (row: Row) => Object.fromEntries(Object.entries(row).filter(([k]) => k !== c)),
    })),
    fc.tuple(fc.constantFrom(...columns()), neverANumber).map(([c, v]) => ({
      name: "unreadable number",
      apply: (row: Row) => ({ ...row, [c]: v }),
    })),
    fc
      .tuple(fc.constantFrom(...longColumns()), fc.constantFrom(null, "1.5", "3.0", "1e3", "NaN", "NA"))
      .map(([c, v]) => ({
        name: "null or decimal text in a long",
        apply: (row: Row) => ({ ...row, [c]: v }),
      })),
  );

/** Valid rows with one (or every) row corrupted the way MLflow refuses too: the default service must refuse. */
const mlflowInvalidBatch = (): fc.Arbitrary<Attempt> =>
  fc
    .tuple(validRows(1, 5), fc.nat(), mlflowInvalid(), fc.constantFrom(...layouts))
    .map(([rows, at, bad, layout]) => {
      const i = at % rows.length;
      const batch = rows.map((r, j) => (bad.everyRow || j === i ? bad.apply(r) : r));
      return { kind: `${bad.name} (${layout})`, ...encode(layout, batch) };
    });

const corruption = (): fc.Arbitrary<{ name: string; apply: Corruption }> =>
  fc.oneof(
    fc.constantFrom(...columns()).map((c) => ({
      name: "missing column",
      apply: (row: Row) => Object.fromEntries(Object.entries(row).filter(([k]) => k !== c)),
    })),
    fc
      .tuple(
        notAColumn.filter((k) => !columns().includes(k)),
        fc.jsonValue(),
      )
      .map(([k, v]) => ({ name: "unknown column", apply: (row: Row) => ({ ...row, [k]: v }) })),
    fc.tuple(fc.constantFrom(...columns()), wrongForNumber).map(([c, v]) => ({
      name: "wrong type",
      apply: (row: Row) => ({ ...row, [c]: v }),
    })),
    fc
      .tuple(
        fc.constantFrom(...inputs.filter((c) => c.type === "long").map((c) => c.name)),
        fc.double({ min: -1000, max: 1000, noNaN: true }).filter((x) => !Number.isInteger(x)),
      )
      .map(([c, v]) => ({ name: "not an integer", apply: (row: Row) => ({ ...row, [c]: v }) })),
  );

/** Valid rows with one of them corrupted, in any layout: the whole request must be refused (--strict). */
const corruptedBatch = (): fc.Arbitrary<Attempt> =>
  fc
    .tuple(validRows(1, 5), fc.nat(), corruption(), fc.constantFrom(...layouts))
    .map(([rows, at, bad, layout]) => {
      const i = at % rows.length;
      const batch = rows.map((r, j) => (j === i ? bad.apply(r) : r));
      return { kind: `${bad.name} (${layout})`, ...encode(layout, batch) };
    });

/** JSON text the service cannot read: 1e999 (Infinity), NaN literals, truncation, trailing garbage. */
const brokenJson = (): fc.Arbitrary<Attempt> =>
  fc
    .tuple(validRows(1, 3), fc.constantFrom(...columns()), fc.nat(), fc.integer({ min: 0, max: 4 }))
    .map(([rows, column, cut, how]) => {
      const body = JSON.stringify({ dataframe_records: rows });
      const literal = (text: string) => body.replace(new RegExp(`"${column}":[^,}]+`), `"${column}":${text}`);
      const texts = [
        literal("1e999"),
        literal("NaN"),
        literal("-Infinity"),
        body.slice(0, cut % (body.length - 1)),
        `${body}}`,
      ];
      return {
        kind: ["1e999", "NaN literal", "-Infinity literal", "truncated", "trailing garbage"][how]!,
        method: "POST",
        route: "/invocations",
        contentType: "application/json",
        body: texts[how]!,
      };
    });

/** Any JSON at all, or any text: never a valid batch of 23 required columns by chance. */
const randomBodies = (): fc.Arbitrary<Attempt> =>
  fc
    .oneof(
      fc.jsonValue({ maxDepth: 4 }).map((v) => ({ kind: "random JSON", body: JSON.stringify(v) ?? "null" })),
      fc
        .tuple(fc.constantFrom("dataframe_records", "dataframe_split", "instances", "inputs"), fc.jsonValue())
        .map(([k, v]) => ({ kind: `random ${k}`, body: JSON.stringify({ [k]: v }) })),
      fc.string({ unit: "binary", maxLength: 200 }).map((s) => ({ kind: "random text", body: s })),
      fc
        .constantFrom(
          '{"__proto__": {"polluted": true}, "instances": []}',
          '{"instances": [{"\\u005f_proto__": {"x": 1}}]}',
          '{"inputs": {"constructor": {"prototype": {"x": 1}}}}',
          `${"[".repeat(5000)}${"]".repeat(5000)}`,
          '{"dataframe_split": {"columns": ["AGE", "AGE"], "data": [[1, 2]]}}',
          "",
          "{}",
        )
        .map((body) => ({ kind: "known trap", body })),
    )
    .map((b) => ({ method: "POST", route: "/invocations", contentType: "application/json", ...b }));

/**
 * CSV bodies: prefixed or separated numbers, missing tokens, ragged rows, a duplicated header, junk. Under
 * MLflow's semantics (`lenient`) a missing token is refused in a long column only (pandas cannot read NA
 * into int64; a double or string column takes it): missing tokens go to long columns then.
 */
const badCsv = (lenient = false): fc.Arbitrary<Attempt> =>
  fc
    .tuple(
      validRows(1, 4),
      fc.nat(),
      fc.constantFrom(...columns()),
      fc.oneof(
        fc.constantFrom(
          "0x31",
          "0b1",
          "0o17",
          "1_000",
          "20,000",
          "1e999",
          "Infinity",
          "NA",
          "",
          "None",
          "1.5.2",
        ),
        fc.string({ maxLength: 10 }).filter((s) => /[^\d\s.eE+-]/.test(s)),
      ),
      fc.integer({ min: 0, max: 4 }),
    )
    .map(([rows, at, chosen, raw, how]) => {
      const longs = longColumns();
      const column = lenient && ["NA", "", "None"].includes(raw) ? longs[at % longs.length]! : chosen;
      const header = columns();
      const data = rows.map((r) => header.map((c) => r[c]));
      const i = at % data.length;
      let body: string;
      let kind: string;
      if (how <= 1) {
        data[i]![header.indexOf(column)] = raw;
        body = toCsv(header, data);
        kind = `CSV field (${JSON.stringify(raw)})`;
      } else if (how === 2) {
        body = toCsv(
          [...header, column],
          data.map((r) => [...r, r[header.indexOf(column)]]),
        );
        kind = "CSV duplicated column";
      } else if (how === 3) {
        data[i]!.push(1);
        body = toCsv(header, data);
        kind = "CSV extra field";
      } else {
        data[i]!.pop();
        body = toCsv(header, data);
        kind = "CSV missing field";
      }
      const contentType = at % 3 === 0 ? "text/csv; charset=utf-8" : "text/csv";
      return { kind, method: "POST", route: "/invocations", contentType, body };
    });

/** Batches over the row limit, bodies over the byte limit, in JSON and CSV. */
const oversized = (): fc.Arbitrary<Attempt> =>
  fc.oneof(
    fc
      .tuple(validRow(), fc.integer({ min: MAX_ROWS + 1, max: MAX_ROWS + 40 }), fc.constantFrom(...layouts))
      .map(([row, n, layout]) => ({
        kind: `batch over the limit (${layout})`,
        ...encode(
          layout,
          Array.from({ length: n }, () => row),
        ),
      })),
    fc.tuple(validRow(), fc.integer({ min: MAX_ROWS + 1, max: MAX_ROWS + 40 })).map(([row, n]) => ({
      kind: "CSV batch over the limit",
      method: "POST",
      route: "/invocations",
      contentType: "text/csv",
      body: toCsv(
        columns(),
        Array.from({ length: n }, () => columns().map((c) => row[c])),
      ),
    })),
    fc.integer({ min: BODY_LIMIT + 1, max: BODY_LIMIT + 5000 }).map((n) => ({
      kind: "body over the byte limit",
      method: "POST",
      route: "/invocations",
      contentType: "application/json",
      body: `{"instances": [{"AGE": "${"x".repeat(n)}"}]}`,
    })),
    fc.integer({ min: 1000, max: 8000 }).map((n) => ({
      kind: "many tiny rows",
      method: "POST",
      route: "/invocations",
      contentType: "application/json",
      body: `{"dataframe_split": {"columns": [], "data": [${"[],".repeat(n)}[]]}}`,
    })),
  );

/** Wrong content types, methods and routes. */
const wrongRequests = (): fc.Arbitrary<Attempt> =>
  fc.oneof(
    fc
      .tuple(
        validRows(1, 2),
        fc.constantFrom(
          undefined,
          "text/plain",
          "application/xml",
          "application/x-www-form-urlencoded",
          "multipart/form-data; boundary=x",
          "application/json-patch+json",
          "image/png",
        ),
      )
      .map(([rows, contentType]) => ({
        kind: `wrong content type (${contentType ?? "none"})`,
        method: "POST",
        route: "/invocations",
        contentType,
        body: JSON.stringify({ dataframe_records: rows }),
      })),
    fc.tuple(validRows(1, 2), fc.boolean()).map(([rows, asCsv]) => ({
      kind: asCsv ? "JSON sent as text/csv" : "CSV sent as JSON",
      method: "POST",
      route: "/invocations",
      contentType: asCsv ? "text/csv" : "application/json",
      body: asCsv
        ? JSON.stringify({ dataframe_records: rows })
        : toCsv(
            columns(),
            rows.map((r) => columns().map((c) => r[c])),
          ),
    })),
    fc
      .tuple(
        fc.constantFrom("GET", "PUT", "DELETE", "PATCH", "POST"),
        fc.oneof(
          fc.constantFrom("/invocation", "/Invocations", "/predict/", "/admin/reload/x", "/v1/models"),
          fc
            .array(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 4 })
            .map((segments) => `/${segments.map(encodeURIComponent).join("/")}`),
        ),
      )
      // As the client will send it ("/a/../health" is "/health"); the service's own routes are left out.
      .map(([method, route]) => [method, new URL(route, "http://h/").pathname] as const)
      .filter(([, route]) => !/^\/(invocations|predict)$/.test(route))
      .filter(
        ([method, route]) => !(method === "GET" && /^\/(ping|health|version|model|metrics|docs)/.test(route)),
      )
      .map(([method, route]) => ({
        kind: "unknown route",
        method,
        route,
        contentType: undefined,
        body: undefined,
      })),
  );

describe("fuzzed hostile input", () => {
  it("every malformed request gets a 4xx JSON error with an error_code, never a prediction; the service stays up", async () => {
    const statuses = new Map<number, number>();
    const kinds = new Map<string, number>();
    let requests = 0;
    const strict = fc
      .oneof(
        { arbitrary: corruptedBatch(), weight: 5 },
        { arbitrary: brokenJson(), weight: 2 },
        { arbitrary: randomBodies(), weight: 2 },
        { arbitrary: badCsv(), weight: 3 },
        { arbitrary: oversized(), weight: 1 },
        { arbitrary: wrongRequests(), weight: 2 },
      )
      .map((a) => ({ ...a, kind: `strict: ${a.kind}`, base: strictBase }));
    const lenient = fc.oneof(
      { arbitrary: mlflowInvalidBatch(), weight: 5 },
      { arbitrary: brokenJson(), weight: 2 },
      { arbitrary: randomBodies(), weight: 2 },
      { arbitrary: badCsv(true), weight: 3 },
      { arbitrary: oversized(), weight: 1 },
      { arbitrary: wrongRequests(), weight: 2 },
    );
    const hostile = fc.oneof(strict, lenient);
    await fc.assert(
      fc.asyncProperty(hostile, async (attempt) => {
        const answer = await send(attempt);
        requests++;
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        const family = attempt.kind.replace(/ \(.*\)$/, "");
        kinds.set(family, (kinds.get(family) ?? 0) + 1);
        const where = `${attempt.kind}: ${attempt.method} ${attempt.route} → ${answer.status} ${answer.text.slice(0, 200)}`;
        expect(answer.status, where).toBeGreaterThanOrEqual(400);
        expect(answer.status, where).toBeLessThan(500);
        expect(answer.contentType, where).toMatch(/^application\/json/);
        expect(typeof answer.json?.error_code, where).toBe("string");
        expect(typeof answer.json?.message, where).toBe("string");
        expect(answer.json?.predictions, where).toBeUndefined();
        expect(answer.text.length, `${where}: the answer stays small`).toBeLessThan(200_000);
      }),
      { seed: SEED, numRuns: 3000, interruptAfterTimeLimit: 100_000, markInterruptAsFailure: true },
    );
    console.log(
      `fuzz: ${requests} hostile requests, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}, kinds ${JSON.stringify(Object.fromEntries(kinds))}`,
    );
    expect(requests).toBeGreaterThanOrEqual(3000);
    expect((await fetch(`${base}/ping`)).status, "the process is up").toBe(200);
    expect((await fetch(`${strictBase}/ping`)).status, "the process is up").toBe(200);
  }, 120_000);

  it("the same generators' valid batches are scored (the oracle above is not vacuous)", async () => {
    let scored = 0;
    await fc.assert(
      fc.asyncProperty(validRows(1, MAX_ROWS), fc.constantFrom(...layouts, "csv"), async (rows, layout) => {
        const attempt =
          layout === "csv"
            ? {
                method: "POST",
                route: "/invocations",
                contentType: "text/csv",
                body: toCsv(
                  columns(),
                  rows.map((r) => columns().map((c) => r[c])),
                ),
              }
            : encode(layout, rows);
        const answer = await send({ kind: "valid", ...attempt });
        expect(answer.status, `${layout}: ${answer.text.slice(0, 300)}`).toBe(200);
        expect(answer.json?.predictions).toHaveLength(rows.length);
        expect(answer.warnings, `${layout}: valid rows need no adjustment`).toBeNull();
        scored++;
      }),
      { seed: SEED, numRuns: 200 },
    );
    expect(scored).toBe(200);
  });
});
