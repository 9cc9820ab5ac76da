// readCurrent: CSV and prediction-log JSONL into a CurrentAccumulator; every bad input path with its code and
// message; rotated logs read oldest first; bad rows and lines counted with their line numbers, never dropped
// silently.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { CurrentAccumulator } from "../../../src/monitoring/current.js";
import { predictionLogFiles, readCurrent, type ScoredRow } from "../../../src/monitoring/read-current.js";
import type { ReferenceProfile } from "../../../src/monitoring/types.js";
import { rejectionOf } from "../../helpers/expect-error.js";
import { tempDir } from "../../helpers/temp.js";

const tmp = tempDir("read-current-");

const COLUMNS = [
  { name: "amount", type: "numeric" as const },
  { name: "grade", type: "categorical" as const },
];

/** A small reference profile with predictions for classes no/yes. */
function profile(): ReferenceProfile {
  const a = CurrentAccumulator.forColumns(COLUMNS, { classes: ["no", "yes"] });
  for (let i = 0; i < 50; i++) {
    a.addNumber(0, i);
    a.addString(1, i % 2 === 0 ? "A" : "B");
    a.endRow();
    a.addPrediction([1 - i / 50, i / 50], i < 25 ? "no" : "yes");
  }
  return a.toProfile({ split: "train", rows: 50 });
}

function record(inputs: Record<string, unknown>[], probabilities: number[], shadow?: number[]): string {
  const output = (p: number) => ({ label: p >= 0.5 ? "yes" : "no", probabilities: { no: 1 - p, yes: p } });
  return JSON.stringify({
    time: "2026-12-01T00:00:00Z",
    requestId: "r",
    model: { name: "m", version: "1" },
    inputs,
    outputs: probabilities.map(output),
    ...(shadow === undefined
      ? {}
      : { shadow: { model: { name: "m", version: "2" }, outputs: shadow.map(output) } }),
  });
}

describe("readCurrent: CSV", () => {
  it("feeds every field to the accumulator, counts ragged and malformed rows with their lines, and reports extra columns", async () => {
    const file = await tmp.file(
      "current.csv",
      'id,amount,grade,note\r\n1,10,A,x\r\n2,20,B\r\n3,,"A",y\r\n4,"7"x,B,z\r\n5,NA,C,w\r\n',
    );
    const p = profile();
    const accumulator = new CurrentAccumulator(p);
    const read = await readCurrent({ path: file, accumulator, columns: p.columns, maxBadFraction: 0.5 });
    expect(read.format).toBe("csv");
    expect(read.rowsRead, "data rows in the file").toBe(5);
    expect(read.rowsUsed, "rows given to the accumulator").toBe(3);
    expect(read.bad).toBe(2);
    expect(read.badExamples).toEqual([
      { file, line: 3, reason: "3 fields where the header has 4" },
      { file, line: 5, reason: "text after the closing quote of field 2" },
    ]);
    expect(read.extraColumns).toEqual(["id", "note"]);
    expect(accumulator.column(0).present, "amount: 10 (empty and NA are missing)").toBe(1);
    expect(accumulator.column(1).present).toBe(3);
    expect(accumulator.column(1).unseen, "grade C is not in the reference").toBe(1);
  });

  it("tallies repeated categorical values (more distinct ones than a tally holds) to exactly the row-by-row counts", async () => {
    const values = ["A", "B", "2", "2.0", "02", "NA", "", " C ", "a long category name", 'say ""hi""'];
    const rows = Array.from({ length: 12_000 }, (_, i) => {
      const v = i % 3 === 0 ? `k${i % 5000}` : values[i % values.length]!;
      return `${i % 7},${v.includes('"') ? `"${v}"` : v}`;
    });
    const file = await tmp.file("tally.csv", `amount,grade\n${rows.join("\n")}\n`);
    const p = profile();
    const streamed = new CurrentAccumulator(p);
    await readCurrent({ path: file, accumulator: streamed, columns: p.columns });
    const byRow = new CurrentAccumulator(p);
    for (const [, grade] of parse(await readFile(file, "utf8"), { from_line: 2 }) as string[][]) {
      byRow.addString(1, grade!);
      byRow.endRow();
    }
    expect([...streamed.categoryCounts(1)].sort()).toEqual([...byRow.categoryCounts(1)].sort());
    expect(streamed.column(1)).toEqual(byRow.column(1));
  });

  it("reads a CSV's predictions (label, probability_<class>) and hands scored rows over with their ids", async () => {
    const file = await tmp.file(
      "scored.csv",
      "id,amount,grade,label,probability_no,probability_yes\n7,1,A,no,0.9,0.1\n8,2,B,yes,0.2,0.8\n,3,A,yes,0.4,0.6\n",
    );
    const p = profile();
    const accumulator = new CurrentAccumulator(p);
    const scored: ScoredRow[] = [];
    const read = await readCurrent({
      path: file,
      accumulator,
      columns: p.columns,
      classes: ["no", "yes"],
      idColumn: "id",
      onScored: (r) => scored.push(r),
    });
    expect(read.predictions).toMatchObject({ source: "file", rows: 3, unscored: 0 });
    expect(read.missingIds).toBe(1);
    expect(scored.map((s) => [s.id, s.label, Array.from(s.probabilities)])).toEqual([
      ["7", "no", [0.9, 0.1]],
      ["8", "yes", [0.2, 0.8]],
      [undefined, "yes", [0.4, 0.6]],
    ]);
    expect(accumulator.predictions).toBe(3);
  });

  it("scores rows without predictions in chunks with the scorer, reporting the rows it refuses", async () => {
    const file = await tmp.file("raw.csv", "amount,grade\n1,A\n2,B\nbad,A\n4,B\n5,A\n");
    const p = profile();
    const accumulator = new CurrentAccumulator(p);
    const chunks: number[] = [];
    const read = await readCurrent({
      path: file,
      accumulator,
      columns: p.columns,
      classes: ["no", "yes"],
      chunkRows: 2,
      scorer: {
        columns: ["amount", "grade"],
        score: (rows) => {
          chunks.push(rows.length);
          return rows.map((r) =>
            Number.isNaN(Number(r.amount))
              ? { problem: `amount: '${r.amount}' is not a number` }
              : { probabilities: [0.5, 0.5], label: "yes" },
          );
        },
      },
    });
    expect(chunks).toEqual([2, 2, 1]);
    expect(read.predictions).toMatchObject({ source: "model", rows: 4, unscored: 1 });
    expect(read.predictions.examples).toEqual([{ file, line: 4, reason: "amount: 'bad' is not a number" }]);
    expect(accumulator.column(0).invalid, "the accumulator counts the bad amount as invalid").toBe(1);
  });

  it("MONITOR_COLUMN_MISSING: names the profile columns the header lacks", async () => {
    const file = await tmp.file("missing.csv", "amount,other\n1,2\n");
    const p = profile();
    const error = await rejectionOf(
      readCurrent({ path: file, accumulator: new CurrentAccumulator(p), columns: p.columns }),
    );
    expect(error.code).toBe("MONITOR_COLUMN_MISSING");
    expect(error.message).toContain(
      "lacks a column of the reference profile: grade. Its header has: amount, other.",
    );
  });

  it("MONITOR_COLUMN_MISSING: names the model inputs a CSV to be scored lacks, and the way out", async () => {
    const file = await tmp.file("noinput.csv", "amount,grade\n1,A\n");
    const p = profile();
    const error = await rejectionOf(
      readCurrent({
        path: file,
        accumulator: new CurrentAccumulator(p),
        columns: p.columns,
        classes: ["no", "yes"],
        scorer: { columns: ["amount", "grade", "age"], score: () => [] },
      }),
    );
    expect(error.code).toBe("MONITOR_COLUMN_MISSING");
    expect(error.message).toContain("lacks the model's input column age");
    expect(error.message).toContain("--no-score");
  });

  it("MONITOR_ID_MISSING: the id column to join labels on is not in the header", async () => {
    const file = await tmp.file("noid.csv", "amount,grade\n1,A\n");
    const p = profile();
    const error = await rejectionOf(
      readCurrent({ path: file, accumulator: new CurrentAccumulator(p), columns: p.columns, idColumn: "ID" }),
    );
    expect(error.code).toBe("MONITOR_ID_MISSING");
    expect(error.message).toContain("has no id column 'ID' to join the labels on");
  });

  it("MONITOR_INPUT_UNREADABLE: a file that does not exist", async () => {
    const p = profile();
    const error = await rejectionOf(
      readCurrent({
        path: "/nonexistent/current.csv",
        accumulator: new CurrentAccumulator(p),
        columns: p.columns,
      }),
    );
    expect(error.code).toBe("MONITOR_INPUT_UNREADABLE");
    expect(error.message).toBe(
      "/nonexistent/current.csv does not exist: give --current a CSV file, a prediction log (.jsonl) or the log's directory.",
    );
  });

  it("MONITOR_INPUT_EMPTY: a header without rows, and a file whose every row is bad", async () => {
    const p = profile();
    const header = await tmp.file("header.csv", "amount,grade\n");
    const empty = await rejectionOf(
      readCurrent({ path: header, accumulator: new CurrentAccumulator(p), columns: p.columns }),
    );
    expect(empty.code).toBe("MONITOR_INPUT_EMPTY");
    expect(empty.message).toContain("has no data rows (an empty file, or a header only)");
    const allBad = await tmp.file("allbad.csv", "amount,grade\n1\n2\n");
    const bad = await rejectionOf(
      readCurrent({ path: allBad, accumulator: new CurrentAccumulator(p), columns: p.columns }),
    );
    expect(bad.code).toBe("MONITOR_INPUT_EMPTY");
    expect(bad.message).toContain(
      "has no usable rows: all 2 rows are bad (allbad.csv:2: 1 fields where the header has 2",
    );
  });

  it("MONITOR_INPUT_INVALID: more bad rows than --max-bad-fraction or --max-bad-lines allow", async () => {
    const p = profile();
    const file = await tmp.file("somebad.csv", "amount,grade\n1,A\n2\n3,B\n4\n5,A\n");
    const share = await rejectionOf(
      readCurrent({
        path: file,
        accumulator: new CurrentAccumulator(p),
        columns: p.columns,
        maxBadFraction: 0.3,
      }),
    );
    expect(share.code).toBe("MONITOR_INPUT_INVALID");
    expect(share.message).toContain("2 of 5 rows are bad (40.00%, limit 30.00%, --max-bad-fraction)");
    const lines = await rejectionOf(
      readCurrent({
        path: file,
        accumulator: new CurrentAccumulator(p),
        columns: p.columns,
        maxBadLines: 1,
        maxBadFraction: 1,
      }),
    );
    expect(lines.code).toBe("MONITOR_INPUT_INVALID");
    expect(lines.message).toContain("more than 1 bad rows or lines (--max-bad-lines 1)");
  });

  it("MONITOR_INPUT_INVALID: a quote left open swallows the rest of the file", async () => {
    const p = profile();
    const file = await tmp.file("open.csv", 'amount,grade\n1,"A\n2,B\n');
    const error = await rejectionOf(
      readCurrent({ path: file, accumulator: new CurrentAccumulator(p), columns: p.columns }),
    );
    expect(error.code).toBe("MONITOR_INPUT_INVALID");
    expect(error.message).toContain("the quoted field starting on line 2 is never closed");
  });
});

describe("readCurrent: prediction log", () => {
  it("reads a log directory oldest first (predictions.<n>.jsonl from the highest n, then predictions.jsonl)", async () => {
    const dir = path.join(await tmp.file(".keep", ""), "..", "log");
    await mkdir(dir, { recursive: true });
    // Rotation: the current file goes to .1, older ones move up: .2 is older than .1.
    await writeFile(
      path.join(dir, "predictions.2.jsonl"),
      `${record([{ amount: 1, grade: "A", id: "a" }], [0.1])}\n`,
    );
    await writeFile(
      path.join(dir, "predictions.10.jsonl"),
      `${record([{ amount: 0, grade: "A", id: "z" }], [0.05])}\n`,
    );
    await writeFile(
      path.join(dir, "predictions.1.jsonl"),
      `${record([{ amount: 2, grade: "B", id: "b" }], [0.7])}\n`,
    );
    await writeFile(
      path.join(dir, "predictions.jsonl"),
      `${record(
        [
          { amount: 3, grade: "A", id: "c" },
          { amount: 4, grade: "B", id: "d" },
        ],
        [0.2, 0.9],
      )}\n`,
    );
    await writeFile(path.join(dir, "other.jsonl"), "not a log\n");
    expect((await predictionLogFiles(dir)).map((f) => path.basename(f))).toEqual([
      "predictions.10.jsonl",
      "predictions.2.jsonl",
      "predictions.1.jsonl",
      "predictions.jsonl",
    ]);
    const p = profile();
    const ids: (string | undefined)[] = [];
    const read = await readCurrent({
      path: dir,
      accumulator: new CurrentAccumulator(p),
      columns: p.columns,
      classes: ["no", "yes"],
      idColumn: "id",
      onScored: (r) => ids.push(r.id),
    });
    expect(read.format).toBe("jsonl");
    expect(ids).toEqual(["z", "a", "b", "c", "d"]);
    expect(read.rowsRead).toBe(5);
    expect(read.predictions).toMatchObject({ source: "log", rows: 5, unscored: 0 });
  });

  it("counts malformed lines with their line numbers and keeps the shadow answers", async () => {
    const file = await tmp.file(
      "log.jsonl",
      [
        record([{ amount: 1, grade: "A" }], [0.2], [0.6]),
        "{not json",
        JSON.stringify({ inputs: [{ amount: 1 }], outputs: [] }),
        "",
        JSON.stringify([1, 2]),
        record([{ amount: 2, grade: "B" }], [0.9], [0.8]),
      ].join("\n"),
    );
    const p = profile();
    const rows: ScoredRow[] = [];
    const read = await readCurrent({
      path: file,
      accumulator: new CurrentAccumulator(p),
      columns: p.columns,
      classes: ["no", "yes"],
      maxBadFraction: 0.9,
      onScored: (r) => rows.push(r),
    });
    expect(read.bad).toBe(3);
    expect(read.badExamples.map((e) => [e.line, e.reason.split(" (")[0]])).toEqual([
      [2, "not JSON"],
      [3, "1 inputs but 0 outputs"],
      [5, "not a JSON object"],
    ]);
    expect(read.rowsUsed).toBe(2);
    expect(rows.map((r) => [r.label, r.shadow?.label, r.shadow?.model.version])).toEqual([
      ["no", "yes", "2"],
      ["yes", "yes", "2"],
    ]);
  });

  it("MONITOR_INPUT_UNREADABLE: a directory without a prediction log", async () => {
    const dir = path.join(await tmp.file(".keep3", ""), "..", "nolog");
    await mkdir(dir, { recursive: true });
    const p = profile();
    const error = await rejectionOf(
      readCurrent({ path: dir, accumulator: new CurrentAccumulator(p), columns: p.columns }),
    );
    expect(error.code).toBe("MONITOR_INPUT_UNREADABLE");
    expect(error.message).toContain(
      "holds no prediction log (predictions.jsonl or rotated predictions.<n>.jsonl files)",
    );
  });

  it("MONITOR_INPUT_EMPTY: a log with no records", async () => {
    const file = await tmp.file("empty.jsonl", "\n\n");
    const p = profile();
    const error = await rejectionOf(
      readCurrent({ path: file, accumulator: new CurrentAccumulator(p), columns: p.columns }),
    );
    expect(error.code).toBe("MONITOR_INPUT_EMPTY");
    expect(error.message).toContain("has no data rows (no prediction records)");
  });
});
