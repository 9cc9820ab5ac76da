// The monitor's CSV reader (src/monitoring/csv-records.ts) against csv-parse, the reader training and batch
// scoring use: on random RFC 4180 files (quoted fields with commas, "" escapes and line breaks, CRLF or LF, a
// BOM, empty lines, multi-byte characters), cut into pieces at random points, both must give the same records.
import { parse } from "csv-parse/sync";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CsvScanner, readCsvFile } from "../../../src/monitoring/csv-records.js";
import { WorkbenchError } from "../../../src/shared/errors.js";
import { thrownBy } from "../../helpers/expect-error.js";
import { tempDir } from "../../helpers/temp.js";

const tmp = tempDir("csv-records-");

/** Records and their first lines as the scanner reads `text`'s UTF-8 bytes cut at `cuts` (byte offsets). */
function scan(text: string, cuts: number[] = []): { fields: string[][]; lines: number[] } {
  const bytes = Buffer.from(text);
  const fields: string[][] = [];
  const lines: number[] = [];
  const scanner = new CsvScanner((r) => {
    fields.push(r.fields());
    lines.push(r.line);
  });
  let from = 0;
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
    scanner.push(bytes.subarray(from, cut));
    from = cut;
  }
  scanner.push(bytes.subarray(from), true);
  return { fields, lines };
}

function csvParse(text: string): string[][] {
  return parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true }) as string[][];
}

const fieldText = fc.oneof(
  fc.constantFrom("", "0", "-1", "12.5", "NA", " 7 ", "ü", "日本", "😀", "a b"),
  fc.string({ unit: fc.constantFrom("a", "Z", "1", ".", "-", " ", ",", '"', "\n", "\r", "\r\n", "é", "€") }),
);

/** A field written as RFC 4180 wants it: quoted (quotes doubled) when it needs quotes, or when told to. */
function encode(value: string, forceQuotes: boolean): string {
  const needs = /[",\r\n]/.test(value) || value === "";
  return needs || forceQuotes ? `"${value.replaceAll('"', '""')}"` : value;
}

const csvFile = fc
  .record({
    rows: fc.array(fc.array(fc.tuple(fieldText, fc.boolean()), { minLength: 1, maxLength: 6 }), {
      minLength: 1,
      maxLength: 25,
    }),
    eol: fc.constantFrom("\n", "\r\n"),
    bom: fc.boolean(),
    finalEol: fc.boolean(),
    blankLines: fc.array(fc.nat(30), { maxLength: 3 }),
  })
  .map(({ rows, eol, bom, finalEol, blankLines }) => {
    const lines = rows.map((r) => r.map(([v, q]) => encode(v, q)).join(","));
    for (const at of blankLines) lines.splice(Math.min(at, lines.length), 0, "");
    const body = lines.join(eol) + (finalEol ? eol : "");
    return (bom ? "\uFEFF" : "") + body;
  });

describe("CsvScanner", () => {
  it("reads random RFC 4180 files exactly as csv-parse does, however the text is cut", () => {
    fc.assert(
      fc.property(csvFile, fc.array(fc.nat(2000), { maxLength: 8 }), (text, cuts) => {
        const expected = csvParse(text);
        const whole = scan(text);
        expect(whole.fields, "read in one piece").toEqual(expected);
        const size = Buffer.byteLength(text);
        const pieces = scan(
          text,
          cuts.map((c) => c % (size + 1)),
        );
        expect(pieces.fields, "read in pieces").toEqual(expected);
        // Every single cut point, for short files: the hardest boundaries are inside "", CRLF and characters.
        if (size < 200)
          for (let cut = 0; cut <= size; cut++)
            expect(scan(text, [cut]).fields, `cut at ${cut}`).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("numbers the lines records start on, counting line breaks inside quoted fields", () => {
    const text = 'a,b\n1,"x\ny"\n\n2,"p\r\nq"\r\n3,z';
    const { fields, lines } = scan(text);
    expect(fields).toEqual([
      ["a", "b"],
      ["1", "x\ny"],
      ["2", "p\r\nq"],
      ["3", "z"],
    ]);
    expect(lines).toEqual([1, 2, 5, 7]);
  });

  it("reads plain decimal fields as numbers exactly as Number() does, and hands anything else back", () => {
    const seen: (number | undefined)[] = [];
    const scanner = new CsvScanner((r) => {
      for (let i = 0; i < r.length; i++) seen.push(r.plainNumber(i));
    });
    scanner.push(Buffer.from(' 12 ,-3.25,+7,.5,5.,"42",,"",1e3,0x1F,NA,1234567890123456,-0,.\n'), true);
    expect(seen).toEqual([
      12,
      -3.25,
      7,
      0.5,
      5,
      42,
      Number.NaN,
      Number.NaN,
      undefined,
      undefined,
      undefined,
      undefined,
      -0,
      undefined,
    ]);
    fc.assert(
      fc.property(
        fc.tuple(fc.boolean(), fc.stringMatching(/^\d{1,9}$/), fc.option(fc.stringMatching(/^\d{0,6}$/))),
        ([negative, whole, fraction]) => {
          const text = `${negative ? "-" : ""}${whole}${fraction === null ? "" : `.${fraction}`}`;
          let got: number | undefined;
          new CsvScanner((r) => {
            got = r.plainNumber(0);
          }).push(Buffer.from(`${text}\n`), true);
          expect(Object.is(got, Number(text)), `${text}: ${got} vs ${Number(text)}`).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("keeps text after a closing quote in the field and marks the record malformed", () => {
    const malformed: (string | undefined)[] = [];
    const fields: string[][] = [];
    new CsvScanner((r) => {
      fields.push(r.fields());
      malformed.push(r.malformed);
    }).push(Buffer.from('"ab"cd,e\nf,g\n'), true);
    expect(fields).toEqual([
      ['ab"cd', "e"],
      ["f", "g"],
    ]);
    expect(malformed).toEqual(["text after the closing quote of field 1", undefined]);
  });

  it("refuses a quote left open at the end of the input, naming the line it opened on", () => {
    const error = thrownBy(() => scan('a,b\n1,2\n3,"never closed\n4,5\n'), WorkbenchError);
    expect(error.code).toBe("CSV_UNCLOSED_QUOTE");
    expect(error.message).toContain("starting on line 3 is never closed");
  });
});

describe("readCsvFile", () => {
  it("streams a file in small blocks (multi-byte characters split between blocks) with progress", async () => {
    const rows = Array.from({ length: 500 }, (_, i) => [String(i), `"naïve ${i}, ""quoted""\n€"`, "日本語"]);
    const text = `\uFEFFid,text,more\r\n${rows.map((r) => r.join(",")).join("\r\n")}\r\n`;
    const file = await tmp.file("blocks.csv", text);
    const got: string[][] = [];
    const progress: number[] = [];
    const result = await readCsvFile(file, (r) => got.push(r.fields()), {
      blockBytes: 7,
      onProgress: (p) => progress.push(p.bytesRead),
    });
    expect(got).toEqual(csvParse(text));
    expect(result.records).toBe(501);
    expect(result.bytes).toBe(Buffer.byteLength(text));
    expect(progress.at(-1)).toBe(Buffer.byteLength(text));
  });
});
