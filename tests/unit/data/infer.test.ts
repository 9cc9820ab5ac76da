import path from "node:path";
import { describe, expect, it } from "vitest";
import { inferDataset, inferPositiveClass } from "../../../src/data/infer.js";
import { DataValidationError } from "../../../src/shared/errors.js";
import { datasetMirror } from "../../helpers/datasets.js";
import { rejectionOf } from "../../helpers/expect-error.js";
import { tempDir } from "../../helpers/temp.js";

const tmp = tempDir("infer-");
let files = 0;
const csv = (lines: string[]) => tmp.file(`${++files}.csv`, `${lines.join("\n")}\n`);

/** 30 rows: a string id, a row number, a unique amount, a float with NA and empty cells, an integer, a category
 * with a missing value, a numeric code, a good/bad label (10 bad). */
function rows(n = 30): string[] {
  return [
    "customer,row,amount,income,age,housing,grade,risk",
    ...Array.from({ length: n }, (_, i) => {
      const income = i === 3 ? "NA" : i === 7 ? "" : (1000 + i * 12.5).toFixed(1);
      const housing = i === 5 ? "N/A" : ["own", "rent", "free"][i % 3];
      return `C-${100 + i},${i + 1},${5000 + i * 37},${income},${20 + ((i * 7) % 30)},${housing},${i % 4},${i % 3 === 0 ? "bad" : "good"}`;
    }),
  ];
}

describe("inferDataset", () => {
  it("given a CSV with NA and empty cells, ids and categories, then types, integers, nullables, ranges, ids and classes are inferred", async () => {
    const file = await csv(rows());
    const inferred = await inferDataset(file, { target: "risk" });
    expect(inferred.rows).toBe(30);
    expect(inferred.sha256, "the file's sha256").toMatch(/^[0-9a-f]{64}$/);
    expect(inferred.idColumns, "a unique string and a 1..n row number are ids").toEqual(["customer", "row"]);
    expect(inferred.columns.customer).toMatchObject({ kind: "id", integer: false });
    expect(inferred.columns.row).toMatchObject({ kind: "id", integer: true });
    expect(inferred.columns.amount, "unique integers with a plain name stay a feature").toMatchObject({
      kind: "number",
      integer: true,
      missing: 0,
      min: 5000,
      max: 5000 + 29 * 37,
    });
    expect(
      inferred.columns.income,
      "NA and empty are missing; 1000.0..1362.5 are not integers",
    ).toMatchObject({
      kind: "number",
      integer: false,
      missing: 2,
      min: 1000,
      max: 1362.5,
    });
    expect(inferred.columns.age, "unique 20..49 but not in row order: a feature").toMatchObject({
      kind: "number",
      integer: true,
      missing: 0,
      min: 20,
      max: 49,
    });
    expect(inferred.columns.housing, "N/A is missing, the rest are the observed values").toEqual({
      kind: "category",
      missing: 1,
      distinct: 3,
      values: [
        { value: "free", count: 9 },
        { value: "own", count: 10 },
        { value: "rent", count: 10 },
      ],
    });
    expect(inferred.columns.grade, "numeric codes are numbers").toMatchObject({
      kind: "number",
      integer: true,
    });
    expect(inferred.target).toEqual({
      column: "risk",
      classes: ["good", "bad"],
      counts: { bad: 10, good: 20 },
      missing: 0,
      positive: { value: "bad", reason: "'bad' reads as the event" },
    });
  });

  it("given unique integers under an id-like name, then an id; a unique float never is", async () => {
    const file = await csv([
      "loan_id,rate,y",
      ...Array.from({ length: 25 }, (_, i) => `${(i * 7919) % 100003},${(i * 0.37).toFixed(2)},${i % 2}`),
    ]);
    const inferred = await inferDataset(file, { target: "y" });
    expect(inferred.columns.loan_id).toEqual({
      kind: "id",
      integer: true,
      reason: "a different integer on every row, and an id-like name",
    });
    expect(inferred.columns.rate).toMatchObject({ kind: "number", integer: false });
    expect(inferred.idColumns).toEqual(["loan_id"]);
  });

  it("given fewer than 20 rows, then nothing is taken for an id (unique per row means little)", async () => {
    const inferred = await inferDataset(await csv(rows(10)), { target: "risk" });
    expect(inferred.idColumns).toEqual([]);
    expect(inferred.columns.customer).toMatchObject({ kind: "category", distinct: 10 });
  });

  it("given a column with every value missing, then it is 'empty'", async () => {
    const file = await csv(["a,b,y", "1,,x", "2,NA,y", "3,,x"]);
    const inferred = await inferDataset(file, { target: "y" });
    expect(inferred.columns.b).toEqual({ kind: "empty", missing: 3 });
  });

  it("given more than 50 categories, then the values are not listed (learned on train)", async () => {
    const file = await csv([
      "city,y",
      ...Array.from({ length: 120 }, (_, i) => `town-${i % 60},${i % 2 === 0 ? "yes" : "no"}`),
    ]);
    const inferred = await inferDataset(file, { target: "y" });
    expect(inferred.columns.city).toEqual({ kind: "category", missing: 0, distinct: 60, values: undefined });
    expect(inferred.target.classes, "'yes' is the event: second").toEqual(["no", "yes"]);
  });

  it("given three classes, then no positive class", async () => {
    const file = await csv(["x,y", "1,VF", "2,F", "3,M", "4,VF"]);
    const { target } = await inferDataset(file, { target: "y" });
    expect(target).toMatchObject({ classes: ["F", "M", "VF"], positive: undefined });
  });
});

describe("inferDataset: free text", () => {
  it("given complaint narratives (unique, long, wordy) beside short labels, then the narrative is text, not an id or a category", async () => {
    const { parse } = await import("csv-parse/sync");
    const { readFileSync } = await import("node:fs");
    const mirror = datasetMirror();
    if (mirror === undefined) throw new Error("no datasets mirror: set WORKBENCH_DATA_MIRROR");
    const source = parse(readFileSync(path.join(mirror, "complaints", "complaints_sample.csv"), "utf8"), {
      columns: true,
    }) as Record<string, string>[];
    const picked = source.slice(0, 120);
    const quote = (v: string) => `"${v.replace(/"/g, '""')}"`;
    const file = await csv([
      "product,narrative,channel",
      ...picked.map((r, i) =>
        [quote(r.Product!), quote(r["Consumer complaint narrative"]!), i % 2 ? "web" : "phone"].join(","),
      ),
    ]);
    const inferred = await inferDataset(file, { target: "product" });
    expect(inferred.columns.narrative).toMatchObject({ kind: "text", missing: 0 });
    const narrative = inferred.columns.narrative as {
      meanLength: number;
      maxLength: number;
      meanWords: number;
    };
    expect(narrative.meanLength).toBeGreaterThan(100);
    expect(narrative.maxLength).toBeGreaterThanOrEqual(narrative.meanLength);
    expect(inferred.idColumns).toEqual([]);
    expect(inferred.columns.channel).toMatchObject({ kind: "category" });
  });

  it("given short unique codes, then they stay ids (not text)", async () => {
    const file = await csv([
      "code,label",
      ...Array.from({ length: 30 }, (_, i) => `AB-${1000 + i},${i % 2 ? "x" : "y"}`),
    ]);
    const inferred = await inferDataset(file, { target: "label" });
    expect(inferred.columns.code).toMatchObject({ kind: "id" });
  });
});

describe("inferPositiveClass", () => {
  it.each([
    [{ good: 700, bad: 300 }, "bad", "'bad' reads as the event"],
    [{ no: 10, yes: 90 }, "yes", "'yes' reads as the event"],
    [{ "0": 900, "1": 100 }, "1", "'1' reads as the event"],
    [{ TRUE: 1, FALSE: 5 }, "TRUE", "'TRUE' reads as the event"],
    [{ normal: 50, weird: 60 }, "weird", "'normal' reads as the non-event"],
    [{ cat: 30, dog: 70 }, "cat", "'cat' is the minority class (30 of 100 rows)"],
    [{ "1": 5, "2": 95 }, "1", "'1' reads as the event"],
    [{ A: 50, B: 50 }, "B", "'B' is the minority class (50 of 100 rows)"],
  ])("given %j, then %s (%s)", (counts, value, reason) => {
    expect(inferPositiveClass(counts)).toEqual({ value, reason });
  });
});

describe("inferDataset: files it refuses", () => {
  it("given a ragged row, then DATA_RAGGED_ROW names the line and the field counts", async () => {
    const file = await csv(["a,b,y", "1,2,x", "3,20,000,y", "5,6,x"]);
    const error = await rejectionOf(inferDataset(file, { target: "y" }), DataValidationError);
    expect(error.code).toBe("DATA_RAGGED_ROW");
    expect(error.message).toBe(
      `${file}:3: the row has 4 fields, the header has 3. A field holding a comma must be quoted ("20,000"); fix the row, or remove it.`,
    );
  });

  it("given an empty file, then DATA_EMPTY", async () => {
    const file = await tmp.file("empty.csv", "");
    const error = await rejectionOf(inferDataset(file, { target: "y" }), DataValidationError);
    expect(error.code).toBe("DATA_EMPTY");
    expect(error.message).toBe(`${file} is empty: expected a CSV with a header row and data rows.`);
  });

  it("given a header without rows, then DATA_EMPTY", async () => {
    const file = await csv(["a,b,y"]);
    const error = await rejectionOf(inferDataset(file, { target: "y" }), DataValidationError);
    expect(error.code).toBe("DATA_EMPTY");
    expect(error.message).toBe(`${file} has a header but no data rows.`);
  });

  it("given a missing target column, then DATA_MISSING_COLUMN lists the header", async () => {
    const file = await csv(["a,b,Risk", "1,2,x"]);
    const error = await rejectionOf(inferDataset(file, { target: "risk" }), DataValidationError);
    expect(error.code).toBe("DATA_MISSING_COLUMN");
    expect(error.message).toBe(
      `${file}: there is no column 'risk' to predict (--target); the header has 'a', 'b', 'Risk'.`,
    );
  });

  it("given a target with one class, then DATA_TARGET_ONE_CLASS", async () => {
    const file = await csv(["a,y", "1,x", "2,x", "3,NA"]);
    const error = await rejectionOf(inferDataset(file, { target: "y" }), DataValidationError);
    expect(error.code).toBe("DATA_TARGET_ONE_CLASS");
    expect(error.message).toBe(
      `${file}: the target 'y' has one value ('x'): there is nothing to tell apart. Pick the column to predict with --target.`,
    );
  });

  it("given a continuous target, then DATA_TARGET_NOT_CLASSES", async () => {
    const file = await csv(["a,price", ...Array.from({ length: 60 }, (_, i) => `${i},${i * 1.5}`)]);
    const error = await rejectionOf(inferDataset(file, { target: "price" }), DataValidationError);
    expect(error.code).toBe("DATA_TARGET_NOT_CLASSES");
    expect(error.message).toContain(
      "the target 'price' has 60 distinct values; the workbench trains classifiers (2 to 50 classes).",
    );
  });

  it("given a header with an unnamed column (a pandas index), then DATA_UNNAMED_COLUMN", async () => {
    const file = await csv([",a,y", "0,1,x", "1,2,y"]);
    const error = await rejectionOf(inferDataset(file, { target: "y" }), DataValidationError);
    expect(error.code).toBe("DATA_UNNAMED_COLUMN");
    expect(error.message).toContain("column 1 of the header has no name");
  });

  it("given a duplicate column name, then DATA_DUPLICATE_COLUMN", async () => {
    const file = await csv(["a,a,y", "0,1,x"]);
    const error = await rejectionOf(inferDataset(file, { target: "y" }), DataValidationError);
    expect(error.code).toBe("DATA_DUPLICATE_COLUMN");
    expect(error.message).toBe(`${file}: column 'a' appears twice in the header.`);
  });
});
