import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { parseManifest, textColumns } from "../../../src/data/manifest.js";
import { readValidatedCsv, type TableSchema } from "../../../src/data/validate.js";
import { ConfigError, DataValidationError } from "../../../src/shared/errors.js";
import { tempDir } from "../../helpers/temp.js";

const tmp = tempDir("text-column-");
const text = (maxLength = 30, overLength: "truncate" | "reject" = "truncate", nullable = false) =>
  ({ type: "text", maxLength, overLength, nullable }) as const;
const schemaOf = (spec: ReturnType<typeof text>): TableSchema => ({
  columns: { id: { type: "number", integer: true, nullable: false }, narrative: spec },
  idColumns: ["id"],
  target: { column: "product", classes: ["Mortgage", "Debt collection"] },
});
const csv = (rows: string[]) => ["id,narrative,product", ...rows].join("\n");

describe("text columns", () => {
  it("given quoted multi-line texts, 'NA' and 'None', then they are read as written, line numbers kept", async () => {
    const file = await tmp.file(
      "ok.csv",
      csv(['1,"My mortgage, ""escrow""\nwas wrong",Mortgage', "2,NA,Debt collection", "3,None,Mortgage"]),
    );
    const { table, report } = await readValidatedCsv(file, schemaOf(text(100)), { maxBadFraction: 0 });
    expect(table.text.narrative).toEqual(['My mortgage, "escrow"\nwas wrong', "NA", "None"]);
    expect([...table.lines]).toEqual([3, 4, 5]);
    expect(table.numeric).toEqual({});
    expect(table.categorical).toEqual({});
    expect(report.truncated).toEqual({});
  });

  it("given an empty and a whitespace-only text, then both rows are quarantined with the reason", async () => {
    const file = await tmp.file("empty.csv", csv(["1,,Mortgage", '2,"  \t ",Mortgage', "3,fine,Mortgage"]));
    const { table, report } = await readValidatedCsv(file, schemaOf(text()), {
      maxBadFraction: 0.9,
      quarantineDir: tmp.path(),
    });
    expect(table.text.narrative).toEqual(["fine"]);
    expect(report.problemCounts).toEqual({ null: 2 });
    const quarantine = await readFile(report.quarantineFile!, "utf8");
    expect(quarantine).toContain("narrative is empty");
    expect(quarantine).toContain("narrative is whitespace only");
  });

  it("given nullable: true, then empty texts are kept as missing", async () => {
    const file = await tmp.file("nullable.csv", csv(["1,,Mortgage", "2,text,Mortgage"]));
    const { table } = await readValidatedCsv(file, schemaOf(text(30, "truncate", true)), {
      maxBadFraction: 0,
    });
    expect(table.text.narrative).toEqual(["", "text"]);
  });

  it("given a text over maxLength with overLength: truncate, then it is cut and counted", async () => {
    const long = "a".repeat(45);
    const file = await tmp.file("long.csv", csv([`1,${long},Mortgage`, "2,short,Mortgage"]));
    const { table, report } = await readValidatedCsv(file, schemaOf(text(30)), { maxBadFraction: 0 });
    expect(table.text.narrative).toEqual(["a".repeat(30), "short"]);
    expect(report.truncated).toEqual({ narrative: 1 });
  });

  it("given a text over maxLength with overLength: reject, then the row is quarantined as text_too_long", async () => {
    const file = await tmp.file("reject.csv", csv([`1,${"b".repeat(31)},Mortgage`, "2,short,Mortgage"]));
    const error = await readValidatedCsv(file, schemaOf(text(30, "reject")), { maxBadFraction: 0 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DataValidationError);
    expect((error as DataValidationError).code).toBe("DATA_TOO_MANY_BAD_ROWS");
    expect((error as Error).message).toContain("narrative has 31 characters, more than its maxLength 30");
  });

  it("given a manifest with a text column, then defaults apply and textColumns lists it; bad options are named", () => {
    const base = {
      name: "notes",
      title: "Notes",
      source: { path: "notes.csv" },
      target: { column: "y", classes: ["a", "b"] },
    };
    const manifest = parseManifest(
      { ...base, columns: { note: { type: "text" }, n: { type: "number" } } },
      "m.yaml",
    );
    expect(manifest.columns.note).toEqual({
      type: "text",
      maxLength: 20000,
      overLength: "truncate",
      nullable: false,
    });
    expect(textColumns(manifest)).toEqual(["note"]);
    const bad = () =>
      parseManifest(
        { ...base, columns: { note: { type: "text", overLength: "cut", values: ["a"] } } },
        "m.yaml",
      );
    expect(bad).toThrow(ConfigError);
    try {
      bad();
    } catch (error) {
      expect((error as ConfigError).code).toBe("MANIFEST_INVALID");
      expect((error as Error).message).toContain("columns.note");
      expect((error as Error).message).toContain(
        "allowed keys: type, description, maxLength, overLength, nullable",
      );
    }
  });
});
