import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { readValidatedCsv, type TableSchema } from "../../../src/data/validate.js";
import { DataValidationError } from "../../../src/shared/errors.js";
import { tempDir } from "../../helpers/temp.js";

const tmp = tempDir("validate-");
const schema: TableSchema = {
  columns: {
    id: { type: "number", integer: false, nullable: false },
    amount: { type: "number", min: 0, integer: false, nullable: false },
    age: { type: "number", min: 18, max: 120, integer: true, nullable: false },
    grade: { type: "category", values: ["0", "1", "2", "3"], recode: { "0": "3" }, nullable: false },
    note: { type: "category", values: ["a", "b"], recode: {}, nullable: true },
  },
  idColumns: ["id"],
  target: { column: "y", classes: ["0", "1"] },
};
const header = "id,amount,age,grade,note,y";
const good = (i: number) => `${i},${100 * i},${20 + (i % 50)},${i % 3},a,${i % 2}`;
const lines = (extra: string[], n = 40) =>
  [header, ...Array.from({ length: n }, (_, i) => good(i + 1)), ...extra].join("\n");

async function failure(file: string, options = { maxBadFraction: 0.05 }): Promise<DataValidationError> {
  try {
    await readValidatedCsv(file, schema, { ...options, quarantineDir: tmp.path() });
  } catch (error) {
    expect(error).toBeInstanceOf(DataValidationError);
    return error as DataValidationError;
  }
  throw new Error("expected a DataValidationError");
}

describe("CSV validation against a schema", () => {
  it("given a clean file, then every row is accepted, categories recoded, counted", async () => {
    const file = await tmp.file("clean.csv", lines([]));
    const { table, report } = await readValidatedCsv(file, schema, { maxBadFraction: 0 });
    expect(report).toMatchObject({
      rowsRead: 40,
      rowsAccepted: 40,
      rowsQuarantined: 0,
      quarantineFile: undefined,
    });
    expect(report.recoded).toEqual({ grade: 13 });
    expect(table.rowCount).toBe(40);
    expect(table.categorical.grade!.includes("0"), "0 recoded to 3").toBe(false);
    expect(table.ids.id![0]).toBe("1");
    expect(Array.from(table.lines.slice(0, 2))).toEqual([2, 3]);
  });

  it("given a missing column, then DATA_MISSING_COLUMN names it and the file", async () => {
    const file = await tmp.file("missing.csv", "id,amount,age,grade,y\n1,2,30,1,0\n");
    const error = await failure(file);
    expect(error.code).toBe("DATA_MISSING_COLUMN");
    expect(error.message).toContain(`${file}: missing column 'note'`);
  });

  it("given an extra column, then DATA_EXTRA_COLUMN names it", async () => {
    const file = await tmp.file("extra.csv", `${header},bonus\n${good(1)},5\n`);
    const error = await failure(file);
    expect(error.code).toBe("DATA_EXTRA_COLUMN");
    expect(error.message).toContain("unexpected column 'bonus'");
  });

  it("given a header only, then DATA_EMPTY", async () => {
    const error = await failure(await tmp.file("header.csv", `${header}\n`));
    expect(error.code).toBe("DATA_EMPTY");
    expect(error.message).toContain("has a header but no data rows");
  });

  it.each([
    ["binary.csv", Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x08])],
    ["data.json", '{"rows": [1, 2, 3]}'],
    ["page.html", "<html><body>not a csv</body></html>"],
  ])("given %s that is not CSV, then DATA_NOT_CSV", async (name, content) => {
    const error = await failure(await tmp.file(name, content));
    expect(error.code).toBe("DATA_NOT_CSV");
    expect(error.message).toContain(name);
  });

  it("given an unclosed quote, then DATA_NOT_CSV with the line", async () => {
    const error = await failure(await tmp.file("quote.csv", `${header}\n1,2,30,"1,a,0\n`));
    expect(error.code).toBe("DATA_NOT_CSV");
  });

  it("given one bad row of each kind under the limit, then each is quarantined with its reason, never dropped silently", async () => {
    const bad = [
      "901,abc,30,1,a,0", // wrong type
      "902,-5,30,1,a,1", // out of range
      "903,10,30.5,1,a,0", // not an integer
      "904,10,30,7,a,0", // unknown category
      "905,10,30,1,,0", // null in a nullable column: fine
      "906,10,,1,a,0", // null where not allowed
      "907,10,30,1,a,2", // unknown class
      "908,10,30,1,a", // wrong field count
      good(3), // duplicate row (of line 4)
      "1,999,30,1,a,0", // duplicate id (of line 2)
    ];
    const file = await tmp.file("rows.csv", lines(bad, 200));
    const { table, report } = await readValidatedCsv(file, schema, {
      maxBadFraction: 0.1,
      quarantineDir: tmp.path(),
    });
    expect(report.rowsRead).toBe(210);
    expect(report.rowsQuarantined).toBe(9);
    expect(table.rowCount, "accepted + quarantined = read").toBe(201);
    expect(report.problemCounts).toMatchObject({
      wrong_type: 2,
      out_of_range: 1,
      unknown_category: 1,
      null: 1,
      unknown_class: 1, // the short row is only wrong_field_count: its fields are not checked by position
      wrong_field_count: 1,
      duplicate_row: 1,
      duplicate_id: 1,
    });
    const quarantined = (await readFile(report.quarantineFile!, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(quarantined.map((q: { line: number }) => q.line)).toEqual([
      202, 203, 204, 205, 207, 208, 209, 210, 211,
    ]);
    const reasons = quarantined.map((q: { reasons: string[] }) => q.reasons.join("; "));
    expect(reasons[0]).toBe("amount: 'abc' is not a number");
    expect(reasons[1]).toBe("amount: -5 is outside [0, ∞]");
    expect(reasons[2]).toBe("age: 30.5 is not an integer");
    expect(reasons[3]).toBe("grade: '7' is not one of 0, 1, 2, 3");
    expect(reasons[4]).toBe("age is empty");
    expect(reasons[5]).toBe(
      "y: '2' is not a known class (0, 1); add it to target.classes, or map it to a class with target.recode in the dataset manifest",
    );
    expect(reasons[6]).toContain("has 5 fields, the header has 6");
    expect(reasons[7]).toBe("duplicate of line 4");
    expect(reasons[8]).toBe("id '1' already used on line 2");
    expect(quarantined[0].values.amount).toBe("abc");
  });

  it("given too many bad rows, then DATA_TOO_MANY_BAD_ROWS gives the share, the limit, file:line:column and the quarantine file", async () => {
    const file = await tmp.file(
      "many.csv",
      lines(["901,abc,30,1,a,0", "902,10,30,9,a,0", "903,x,30,1,a,0"], 20),
    );
    const error = await failure(file, { maxBadFraction: 0.05 });
    expect(error.code).toBe("DATA_TOO_MANY_BAD_ROWS");
    expect(error.message).toContain("3 of 23 rows (13.04%) failed validation, above the limit of 5.00%");
    expect(error.message).toContain(`${file}:22 column amount: amount: 'abc' is not a number`);
    expect(error.message).toContain("many.quarantine.jsonl");
  });

  describe("regressions: corrupted rows are quarantined, never read as shifted or hex values (issue 9, defect 2)", () => {
    let files = 0;
    async function quarantineOf(bad: string[]) {
      const file = await tmp.file(`corrupt-${++files}.csv`, lines(bad, 100));
      const { table, report } = await readValidatedCsv(file, schema, {
        maxBadFraction: 0.5,
        quarantineDir: tmp.path(),
      });
      expect(report.quarantineFile, "a quarantine file is written").toBeDefined();
      const entries = (await readFile(report.quarantineFile!, "utf8"))
        .trim()
        .split("\n")
        .map(
          (l) =>
            JSON.parse(l) as {
              line: number;
              reasons: string[];
              kinds: string[];
              values: Record<string, string>;
              fields?: string[];
            },
        );
      return { table, report, entries };
    }

    it("given a row with one trailing extra field (or a trailing comma), then it is quarantined as wrong_field_count with its line and every field", async () => {
      const { table, report, entries } = await quarantineOf(["901,10,30,1,a,0,x", "902,10,30,1,a,1,"]);
      expect(report.rowsQuarantined, "both rows quarantined").toBe(2);
      expect(table.rowCount, "neither row accepted").toBe(100);
      expect(entries.map((e) => e.line)).toEqual([102, 103]);
      expect(entries[0]!.kinds).toEqual(["wrong_field_count"]);
      expect(entries[0]!.reasons).toEqual(["has 7 fields, the header has 6"]);
      expect(entries[0]!.fields, "the raw fields, the extra one included").toEqual([
        "901",
        "10",
        "30",
        "1",
        "a",
        "0",
        "x",
      ]);
      expect(entries[1]!.kinds).toEqual(["wrong_field_count"]);
      expect(report.problemCounts).toEqual({ wrong_field_count: 2 });
    });

    it("given an unquoted 20,000 that shifts every later column, then the row is quarantined as wrong_field_count, not read shifted", async () => {
      // Read by position, amount=20, age=000, grade=30, note=1, y=a: one root cause, reported as such.
      const { table, entries } = await quarantineOf(["901,20,000,30,1,a,0"]);
      expect(table.ids.id!.includes("901"), "the shifted row is not accepted").toBe(false);
      expect(entries).toHaveLength(1);
      expect(entries[0]!.line).toBe(102);
      expect(entries[0]!.kinds[0]).toBe("wrong_field_count");
      expect(entries[0]!.reasons[0]).toBe("has 7 fields, the header has 6");
    });

    it.each([
      ["0x31", "hexadecimal"],
      ["0b1", "binary"],
      ["0o17", "octal"],
      ["1_000", "digit separator"],
      ["Infinity", "not finite"],
      ['"20,000"', "quoted thousands separator"],
    ])(
      "given amount written %s (%s), then the row is quarantined as wrong_type with its line and column",
      async (written) => {
        const { table, report, entries } = await quarantineOf([`901,${written},30,1,a,0`]);
        const raw = written.replace(/"/g, "");
        expect(table.ids.id!.includes("901"), `${raw} must not be read as a number`).toBe(false);
        expect(report.problemCounts).toEqual({ wrong_type: 1 });
        expect(entries).toHaveLength(1);
        expect(entries[0]).toMatchObject({
          line: 102,
          kinds: ["wrong_type"],
          reasons: [`amount: '${raw}' is not a number`],
        });
      },
    );

    it.each(["NA", "N/A", "null", "NULL", "None", "NaN", ""])(
      "given the missing token %j in a nullable column, then the row is accepted; in a required one, then it is quarantined as null",
      async (token) => {
        const { table, report, entries } = await quarantineOf([
          `901,10,30,1,${token},0`,
          `902,${token},30,1,a,1`,
        ]);
        expect(table.ids.id!.includes("901"), `${token} in nullable 'note' is missing`).toBe(true);
        expect(table.categorical.note![table.ids.id!.indexOf("901")]).toBe("");
        expect(table.ids.id!.includes("902"), `${token} in required 'amount'`).toBe(false);
        expect(report.problemCounts).toEqual({ null: 1 });
        expect(entries[0]).toMatchObject({
          line: 103,
          kinds: ["null"],
          reasons: [token === "" ? "amount is empty" : `amount is missing ('${token}')`],
        });
      },
    );
  });

  it("given a limit, then only that many rows are read", async () => {
    const { report } = await readValidatedCsv(await tmp.file("limit.csv", lines([])), schema, {
      maxBadFraction: 0,
      limit: 10,
    });
    expect(report.rowsRead).toBe(10);
  });
});
