import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { PreprocessorState } from "../../../src/features/preprocessor.js";
import type { SignatureColumn } from "../../../src/registry/model-package.js";
import { clipName, rowsToTable } from "../../../src/serving/input.js";
import {
  type BodyBounds,
  type BodyScan,
  CsvBodyScan,
  JsonBodyScan,
  PayloadError,
  parseCsv,
  parseJsonBody,
  parseScoringPayload,
  readBody,
} from "../../../src/serving/payload.js";
import { PredictionLog } from "../../../src/serving/prediction-log.js";
import { rejectionOf, thrownBy } from "../../helpers/expect-error.js";

const rows = [
  { a: 1, b: "x" },
  { a: 2, b: "y" },
];

const payloadError = (fn: () => unknown) => thrownBy(fn, PayloadError);

describe("MLflow scoring protocol payloads", () => {
  it.each([
    [
      "dataframe_split",
      {
        dataframe_split: {
          columns: ["a", "b"],
          data: [
            [1, "x"],
            [2, "y"],
          ],
        },
      },
    ],
    ["dataframe_records", { dataframe_records: rows }],
    ["instances", { instances: rows }],
    ["inputs (records)", { inputs: rows }],
    ["inputs (columns)", { inputs: { a: [1, 2], b: ["x", "y"] } }],
  ])("%s gives the same rows", (_name, body) => {
    expect(parseScoringPayload(body, "json").rows).toEqual(rows);
  });

  it("CSV gives text rows and params are passed through", () => {
    expect(parseScoringPayload("a,b\n1,x\n2,y\n", "csv")).toMatchObject({
      rows: [
        { a: "1", b: "x" },
        { a: "2", b: "y" },
      ],
      mode: "text",
    });
    expect(parseScoringPayload({ instances: rows, params: { k: 1 } }, "json").params).toEqual({ k: 1 });
  });

  it.each([
    [{}, "received fields: none"],
    [{ instances: rows, inputs: rows }, "received fields: instances, inputs"],
    [[1, 2], "must be a JSON dictionary"],
    [
      { dataframe_split: { columns: ["a"], data: [[1, 2]] } },
      "'dataframe_split.data[0]' must be a list of 1 values",
    ],
    [{ dataframe_split: [1] }, "'dataframe_split' must be"],
    [{ instances: [1] }, "'instances[0]' must be an object"],
    [{ inputs: { a: [1], b: [1, 2] } }, "every column to a list of the same length"],
    [
      { dataframe_split: { columns: ["a", "b", "a"], data: [[1, 2, 3]] } },
      "'dataframe_split.columns' names the column 'a' twice (columns[0] and columns[2]): name each column once.",
    ],
  ])("given %j, then 400 BAD_REQUEST: %s", (body, message) => {
    const error = payloadError(() => parseScoringPayload(body, "json"));
    expect(error.status).toBe(400);
    expect(error.errorCode).toBe("BAD_REQUEST");
    expect(error.message).toContain(message);
  });

  it.each([
    [{ dataframe_records: [{}, {}, {}] }, "json"],
    [{ instances: { a: [1, 2, 3] } }, "json"],
    [{ dataframe_split: { columns: [], data: [[], [], []] } }, "json"],
    ["a\n1\n2\n3\n", "csv"],
  ] as const)(
    "given %j and a limit of 2 rows, then 413 BATCH_TOO_LARGE before the rows are built",
    (body, kind) => {
      const error = payloadError(() => parseScoringPayload(body, kind, 2));
      expect(error.status).toBe(413);
      expect(error.message).toBe(
        "The batch has more than 2 rows; the limit is 2: send it in smaller batches.",
      );
    },
  );

  it("given more than ten unknown fields, then the message lists ten, clipped, and the count", () => {
    const body = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`${"k".repeat(100)}${i}`, 1]));
    const error = payloadError(() => parseScoringPayload(body, "json"));
    expect(error.message).toContain(`received fields: ${"k".repeat(64)}…(101 chars), `);
    expect(error.message).toContain("… (12 in all).");
    expect(error.message.length).toBeLessThan(1200);
  });
});

describe("CSV bodies", () => {
  it("given a header naming a column twice, then 400 naming it (the last value would win otherwise)", () => {
    const error = payloadError(() => parseCsv("a,b,a\n1,2,3\n"));
    expect(error.status).toBe(400);
    expect(error.message).toBe(
      "The CSV header names the column 'a' twice (fields 1 and 3): name each column once.",
    );
  });

  it("given a row with a field more or less than the header, then 400 with the line", () => {
    expect(payloadError(() => parseCsv("a,b\n1,2\n1,2,3\n")).message).toBe(
      "The CSV body could not be parsed: Invalid Record Length: expect 2, got 3 on line 3",
    );
    expect(payloadError(() => parseCsv("a,b\n1\n")).message).toContain("expect 2, got 1 on line 2");
  });

  it("quoted fields keep their commas and line breaks; empty lines are skipped; a __proto__ column is data", () => {
    const rows = parseCsv('a,__proto__\n"1,5","x\ny"\n\n2,z\n');
    expect(rows).toEqual([
      { a: "1,5", ["__proto__"]: "x\ny" },
      { a: "2", ["__proto__"]: "z" },
    ]);
    expect(Object.getPrototypeOf(rows[0]), "no prototype was set").toBe(Object.prototype);
  });
});

describe("JSON bodies", () => {
  it("given invalid JSON or an empty body, then 400 saying so", () => {
    expect(payloadError(() => parseJsonBody("{not json")).message).toMatch(/^The body is not valid JSON: /);
    expect(payloadError(() => parseJsonBody("  ")).message).toBe("The body is empty: send a JSON document.");
  });
});

const inputs: SignatureColumn[] = [
  { name: "amount", type: "double", required: true },
  { name: "age", type: "long", required: true },
  { name: "grade", type: "long", required: true },
  { name: "city", type: "string", required: false },
];
const pre = {
  version: 1,
  engineered: [],
  numeric: [],
  categorical: [
    { name: "grade", categories: ["1"] },
    { name: "city", categories: ["a"] },
  ],
  clip: 5,
  featureNames: [],
} as PreprocessorState;

describe("rows against the model signature", () => {
  it("accepts good rows; unknown categories are left to the unknown bucket", () => {
    const { table, problems } = rowsToTable(
      [{ amount: 1.5, age: 30, grade: 7, city: "zzz" }],
      inputs,
      pre,
      "json",
    );
    expect(problems).toEqual([]);
    expect(table.numeric.amount![0]).toBe(1.5);
    expect(table.categorical.grade![0]).toBe("7");
    expect(table.categorical.city![0]).toBe("zzz");
  });

  it("reports every problem with row and field", () => {
    const { problems } = rowsToTable(
      [
        { amount: "1.5", age: 30.5, grade: 1, extra: true },
        { amount: "NaN", age: null, grade: "1", city: 3 },
        { age: 1, grade: 1 },
      ],
      inputs,
      pre,
      "json",
    );
    expect(problems).toEqual([
      { row: 0, field: "extra", problem: "unknown column (not in the model's signature)" },
      { row: 0, field: "amount", problem: 'expected a number, got the string "1.5"' },
      { row: 0, field: "age", problem: "expected an integer, got 30.5" },
      { row: 1, field: "amount", problem: 'not a number: the string "NaN"' },
      { row: 1, field: "age", problem: "null where a value is required" },
      { row: 1, field: "grade", problem: 'expected a number, got the string "1"' },
      { row: 1, field: "city", problem: "expected a string, got number 3" },
      { row: 2, field: "amount", problem: "missing (required)" },
    ]);
  });

  it("CSV text is parsed: numbers from strings, empty cells are nulls", () => {
    const { table, problems } = rowsToTable(
      [{ amount: "2.5", age: "40", grade: "1", city: "" }],
      inputs,
      pre,
      "text",
    );
    expect(problems).toEqual([]);
    expect(table.numeric.age![0]).toBe(40);
  });

  it("CSV text is read as training reads it: 0x/0b/0o and digit separators are not numbers, NA is missing", () => {
    const row = { amount: "2.5", age: "40", grade: "1", city: "a" };
    const { problems } = rowsToTable(
      [
        { ...row, amount: "0x31" },
        { ...row, age: "0b1" },
        { ...row, grade: "0o7" },
        { ...row, amount: "20_000" },
        { ...row, amount: "Infinity" },
        { ...row, age: "NA" },
        { ...row, grade: " " },
        { ...row, amount: " 1e3 ", age: "+7", city: "None" },
      ],
      inputs,
      pre,
      "text",
    );
    expect(problems).toEqual([
      { row: 0, field: "amount", problem: 'not a number: the string "0x31"' },
      { row: 1, field: "age", problem: 'not a number: the string "0b1"' },
      { row: 2, field: "grade", problem: 'not a number: the string "0o7"' },
      { row: 3, field: "amount", problem: 'not a number: the string "20_000"' },
      { row: 4, field: "amount", problem: 'not a number: the string "Infinity"' },
      { row: 5, field: "age", problem: "missing ('NA') where a value is required" },
      { row: 6, field: "grade", problem: "empty where a value is required" },
    ]);
  });

  it("JSON strings stay strings: '0x31' is a wrong type, not a number", () => {
    const { problems } = rowsToTable([{ amount: "0x31", age: 1, grade: 1 }], inputs, pre, "json");
    expect(problems).toEqual([
      { row: 0, field: "amount", problem: 'expected a number, got the string "0x31"' },
    ]);
  });

  it("given maxProblems, then only that many are listed and all are counted; long names are clipped", () => {
    const row = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`${"u".repeat(200)}${i}`, 1]));
    const { problems, problemCount } = rowsToTable([row, row], inputs, pre, "json", { maxProblems: 10 });
    expect(problemCount, "100 unknown columns and 2 × 3 missing required ones").toBe(106);
    expect(problems).toHaveLength(10);
    expect(problems[0]).toEqual({
      row: 0,
      field: `${"u".repeat(64)}…(201 chars)`,
      problem: "unknown column (not in the model's signature)",
    });
  });

  it("clipName keeps short names and cuts long ones with their length", () => {
    expect(clipName("AGE")).toBe("AGE");
    expect(clipName("x".repeat(64))).toBe("x".repeat(64));
    expect(clipName("x".repeat(1_000_000))).toBe(`${"x".repeat(64)}…(1000000 chars)`);
  });
});

const bounds: BodyBounds = { maxBytes: 1 << 20, maxRows: 3, maxValues: 40 };

/** Feeds `text` to a scan in pieces of `step` bytes (chunk boundaries anywhere) and returns the refusal. */
function scanned(scan: BodyScan, text: string, step = 1): PayloadError | undefined {
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += step) scan.feed(bytes.subarray(i, i + step));
  try {
    scan.finish();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(PayloadError);
    return error as PayloadError;
  }
}

describe("JsonBodyScan: rows, values and prototype keys counted as the bytes arrive", () => {
  const tooMany = "The batch has more than 3 rows; the limit is 3: send it in smaller batches.";
  it.each([
    ['{"dataframe_records": [{}, {}, {}]}', undefined],
    ['{"dataframe_records": [{}, {}, {}, {}]}', tooMany],
    ['{"instances": [1, 2, 3, 4]}', tooMany],
    ['{"records": [{"a": 1}, {"a": 2}, {"a": 3}, {"a": 4}]}', tooMany],
    ['{"inputs": {"a": [1, 2, 3], "b": [1, 2, 3, 4]}}', tooMany],
    ['{"dataframe_records": {"a": [1, 2, 3, 4]}}', tooMany],
    ['{"dataframe_split": {"columns": ["a", "b", "c", "d"], "data": [[1, 2, 3, 4]]}}', undefined],
    ['{"dataframe_split": {"columns": ["a"], "data": [[1], [2], [3], [4]]}}', tooMany],
    ['{"params": {"k": [1, 2, 3, 4]}, "instances": [{"s": "[[[[,,,,]]]]"}]}', undefined],
    [String.raw`{"instances": [{"s": "\\"}, "a\"b", "}", {}]}`, tooMany],
  ])("%s", (body, refusal) => {
    for (const step of [1, 3, 1000])
      expect(scanned(new JsonBodyScan(bounds), body, step)?.message).toBe(refusal);
  });

  it("given more values than the bound, then 413 PAYLOAD_TOO_LARGE, whatever the shape", () => {
    const error = scanned(
      new JsonBodyScan(bounds),
      JSON.stringify({ other: Array.from({ length: 50 }, () => 0) }),
    );
    expect(error?.status).toBe(413);
    expect(error?.errorCode).toBe("PAYLOAD_TOO_LARGE");
    expect(error?.message).toContain("more than 40 JSON values");
  });

  it("refuses early: once over a bound, nothing more is scanned and the body need not be kept", () => {
    const scan = new JsonBodyScan(bounds);
    scan.feed(Buffer.from('{"instances": [1, 2, 3, 4'));
    expect(scan.refusing).toBe(true);
    scan.feed(Buffer.from('], "__proto__": {}}'));
    expect(() => scan.finish()).toThrow(/more than 3 rows/);
  });

  it.each([
    ['{"__proto__": {}}', "'__proto__' (at the top level)"],
    ['{"instances": [{"a": 1}, {"__proto__": {}}]}', "'__proto__' (at instances[1])"],
    ['{"instances": [{"\\u005f_proto__": 1}]}', "'__proto__' (at instances[0])"],
    ['{"inputs": {"constructor": {"prototype": {}}}}', "'constructor.prototype' (at inputs.constructor)"],
  ])("given %s, then 400 naming the key", (body, where) => {
    for (const step of [1, 7, 1000]) {
      const error = scanned(new JsonBodyScan(bounds), body, step);
      expect(error?.status).toBe(400);
      expect(error?.message).toBe(
        `The body contains the key ${where}, which could change an object's prototype: remove it (no model has such a column).`,
      );
    }
  });

  it("a value or key that only looks like a prototype key is fine", () => {
    for (const body of [
      '{"instances": [{"a": "__proto__"}]}',
      '{"instances": [{"prototype": 1, "constructor": 2}]}',
      '{"instances": [{"__proto": 1, "BILL_AMT1": 2}]}',
    ])
      expect(scanned(new JsonBodyScan({ ...bounds, maxValues: 100 }), body)).toBeUndefined();
  });

  it("given nesting deeper than 64, then 400 before the stack grows", () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const error = scanned(new JsonBodyScan({ ...bounds, maxValues: 1e6 }), deep, 4096);
    expect(error?.status).toBe(400);
    expect(error?.message).toMatch(/^The body nests deeper than 64 levels \(at (\[0\]){8}\)/);
  });
});

describe("CsvBodyScan", () => {
  it.each([
    ["a,b\n1,2\n3,4\n5,6\n", undefined],
    ["a,b\r\n1,2\r\n3,4\r\n5,6\r\n\r\n\n", undefined],
    ['a,b\n1,"x\ny\nz"\n3,4\n5,6', undefined],
    [
      "a,b\n1,2\n3,4\n5,6\n7,8",
      "The batch has more than 3 rows; the limit is 3: send it in smaller batches.",
    ],
    [`a\n${",".repeat(50)}\n`, "The body holds more than 40 fields"],
  ])("%j", (body, refusal) => {
    for (const step of [1, 5, 1000]) {
      const message = scanned(new CsvBodyScan(bounds), body, step)?.message;
      if (refusal === undefined) expect(message).toBeUndefined();
      else expect(message).toContain(refusal);
    }
  });
});

describe("readBody", () => {
  const stream = (...parts: string[]) => Readable.from(parts.map((p) => Buffer.from(p)));

  it("resolves with the text of an accepted body (multi-byte characters across chunks intact)", async () => {
    const euro = Buffer.from('{"instances": [{"a": "€"}]}');
    const parts = [euro.subarray(0, 23), euro.subarray(23)];
    const text = await readBody(Readable.from(parts), new JsonBodyScan(bounds), 1000, String(euro.length));
    expect(text).toBe('{"instances": [{"a": "€"}]}');
  });

  it.each([
    [
      "a body over the byte limit",
      ["x".repeat(600), "x".repeat(600)],
      undefined,
      413,
      "exceeds the limit of 1000 bytes",
    ],
    ["a Content-Length over the limit", ["{}"], "5000", 413, "exceeds the limit of 1000 bytes"],
    [
      "a Content-Length that does not match",
      ["{}"],
      "3",
      400,
      "The body has 2 bytes; its Content-Length said 3.",
    ],
    [
      "a refused body, read to its end",
      ['{"instances": [1,2,3,4', ",5]}"],
      undefined,
      413,
      "more than 3 rows",
    ],
  ])("given %s, then the matching PayloadError", async (_name, parts, length, status, message) => {
    // scanFrom 0: every body is scanned as it arrives.
    const read = readBody(stream(...parts), new JsonBodyScan(bounds), 1000, length, 0);
    const error = await rejectionOf(read, PayloadError);
    expect(error.status).toBe(status);
    expect(error.message).toContain(message);
  });

  it("a body under scanFrom is not scanned as it arrives (parsing bounds it), unless it may hide a prototype key", async () => {
    const many = '{"instances": [1,2,3,4,5]}';
    expect(await readBody(stream(many), new JsonBodyScan(bounds), 1000, undefined, 100)).toBe(many);
    for (const hidden of ['{"__proto__": 1}', String.raw`{"\u005f_proto__": 1}`]) {
      const read = readBody(stream(hidden), new JsonBodyScan(bounds), 1000, undefined, 100);
      expect((await rejectionOf(read, PayloadError)).message).toContain("'__proto__' (at the top level)");
    }
  });
});

describe("prediction log", () => {
  it("samples, writes JSONL and rotates within its size bound", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "plog-"));
    try {
      let i = 0;
      const log = new PredictionLog({
        dir,
        sampleRate: 0.5,
        maxBytes: 400,
        maxFiles: 2,
        random: () => (i++ % 2 === 0 ? 0.1 : 0.9),
      });
      const record = {
        time: "t",
        requestId: "r",
        model: { name: "m", version: "1" },
        inputs: [{ a: 1 }],
        outputs: [{ label: "1", probabilities: { "0": 0.2, "1": 0.8 } }],
      };
      const written = Array.from({ length: 20 }, () => log.write(record)).filter(Boolean).length;
      await log.flush();
      expect(written, "half the requests sampled").toBe(10);
      const files = (await readdir(dir)).sort();
      expect(files).toEqual(["predictions.1.jsonl", "predictions.2.jsonl", "predictions.jsonl"]);
      for (const f of files) {
        const text = await readFile(path.join(dir, f), "utf8");
        expect(Buffer.byteLength(text)).toBeLessThanOrEqual(400);
        for (const line of text.trim().split("\n")) expect(JSON.parse(line).model.version).toBe("1");
      }
      expect(log.failures).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
