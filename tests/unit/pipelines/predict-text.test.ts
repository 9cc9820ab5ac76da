// Batch scoring of text (npm run predict with a text model): the complaints CSV's quoted multi-line narratives
// parse, each text is checked as training checks it (empty or whitespace only, over maxLength), bad rows are
// quarantined with reasons, truncations counted, and a file without the text column is refused by name.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { beforeAll, describe, expect, it } from "vitest";
import { batchPredict } from "../../../src/pipelines/predict.js";
import { DataValidationError } from "../../../src/shared/errors.js";
import { rejectionOf } from "../../helpers/expect-error.js";
import { tempDir } from "../../helpers/temp.js";
import { complaintRows, TEXT, type TextPackage, textPackage } from "../serving/text-model-fixture.js";

const tmp = tempDir("predict-text-");
const MAX = 4000;
let pkg: TextPackage;
let dir: string;

const cell = (text: string) => `"${text.replaceAll('"', '""')}"`;

beforeAll(async () => {
  dir = path.dirname(await tmp.file("keep", ""));
  pkg = await textPackage(path.join(dir, "model"), { maxLength: MAX, overLength: "truncate" });
}, 120_000);

describe("batch scoring a text CSV", () => {
  it("given the complaints sample (quoted multi-line narratives), then every row is scored, in order, as the service scores it — whatever the chunk size or threads", async () => {
    const source = path.join(dir, "complaints.csv");
    const rows = complaintRows().slice(0, 300);
    expect(
      rows.some((r) => r.text.includes("\n")),
      "the sample has multi-line narratives",
    ).toBe(true);
    await writeFile(
      source,
      `Product,${cell(TEXT)}\n${rows.map((r) => `${cell(r.product)},${cell(r.text)}`).join("\n")}\n`,
    );
    const outputs: string[] = [];
    for (const [chunkRows, workers] of [
      [4096, 1],
      [7, 1],
      [7, 2],
    ] as const) {
      const output = path.join(dir, `scored-${chunkRows}-${workers}.csv`);
      const result = await batchPredict(pkg.predictor, {
        input: source,
        output,
        chunkRows,
        workers,
        onNotice: () => {},
      });
      expect(result.rowsRead).toBe(300);
      expect(result.rowsScored).toBe(300);
      expect(result.rowsQuarantined).toBe(0);
      outputs.push(await readFile(output, "utf8"));
    }
    expect(outputs[1], "chunks of 7 rows write the same bytes").toBe(outputs[0]);
    expect(outputs[2], "a worker thread writes the same bytes").toBe(outputs[0]);
    const scored = parse(outputs[0]!, { columns: true }) as Record<string, string>[];
    expect(
      scored.map((r) => r[TEXT]),
      "the narratives are written back as read",
    ).toEqual(rows.map((r) => r.text));
    const direct = pkg.predictor.predict(rows.map((r) => ({ [TEXT]: r.text })));
    scored.forEach((r, i) => {
      expect(r.label, `row ${i}`).toBe(direct[i]!.label);
      for (const c of pkg.classes)
        expect(Number(r[`probability_${c}`]), `row ${i} ${c}`).toBeCloseTo(direct[i]!.probabilities[c]!, 6);
      expect(r.model_version).toBe("1");
    });
  });

  it("given empty, whitespace-only and over-long texts, then the empty ones are quarantined with reasons, the long one scored cut and counted", async () => {
    const input = path.join(dir, "bad.csv");
    // Single-line narratives: the quarantined rows' line numbers are then their row numbers + 1.
    const oneLine = pkg.heldOut.filter((t) => !/[\r\n]/.test(t));
    const long = `${oneLine[0]!} ${"escrow ".repeat(700)}`;
    expect(long.length).toBeGreaterThan(MAX);
    const texts = [oneLine[1]!, "", "   ", "NA", long, oneLine[2]!];
    await writeFile(input, `id,${cell(TEXT)}\n${texts.map((t, i) => `${i + 1},${cell(t)}`).join("\n")}\n`);
    const output = path.join(dir, "bad-scored.csv");
    const result = await batchPredict(pkg.predictor, { input, output, maxBadFraction: 0.5 });
    expect(result.rowsRead).toBe(6);
    expect(result.rowsScored).toBe(4);
    expect(result.problemCounts).toEqual({ null: 2 });
    expect(result.textsTruncated).toEqual({ [TEXT]: 1 });
    const quarantined = (await readFile(result.quarantine!, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { line: number; reasons: string[]; kinds: string[] });
    expect(quarantined.map((q) => [q.line, q.reasons, q.kinds])).toEqual([
      [3, [`${TEXT} is empty (the column is not nullable)`], ["null"]],
      [4, [`${TEXT} is whitespace only (the column is not nullable)`], ["null"]],
    ]);
    const scored = parse(await readFile(output, "utf8"), { columns: true }) as Record<string, string>[];
    expect(
      scored.map((r) => r.id),
      "'NA' is a word, the long text is scored",
    ).toEqual(["1", "4", "5", "6"]);
    const cut = pkg.predictor.predict([{ [TEXT]: long.slice(0, MAX) }])[0]!;
    expect(scored[2]!.label).toBe(cut.label);
    expect(Number(scored[2]![`probability_${pkg.classes[0]}`])).toBeCloseTo(
      cut.probabilities[pkg.classes[0]!]!,
      6,
    );
  });

  it("given overLength: reject, then a text over maxLength quarantines its row as text_too_long", async () => {
    const rejecting = await textPackage(path.join(dir, "model-reject"), {
      maxLength: 60,
      overLength: "reject",
    });
    const input = path.join(dir, "long.csv");
    await writeFile(input, `${cell(TEXT)}\nshort complaint about my mortgage\n${cell("y".repeat(61))}\n`);
    const result = await batchPredict(rejecting.predictor, {
      input,
      output: path.join(dir, "long-scored.csv"),
      maxBadFraction: 1,
    });
    expect(result.rowsScored).toBe(1);
    expect(result.problemCounts).toEqual({ text_too_long: 1 });
    const [q] = (await readFile(result.quarantine!, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(q.reasons).toEqual([`${TEXT} has 61 characters, more than its maxLength 60`]);
    expect(q.line).toBe(3);
  }, 120_000);

  it("given a tabular file (no text column), then PREDICT_TEXT_COLUMN_MISSING names the column, and nothing is written", async () => {
    const input = path.join(dir, "tabular.csv");
    await writeFile(input, "LIMIT_BAL,AGE\n20000,24\n");
    const output = path.join(dir, "tabular-scored.csv");
    const error = await rejectionOf(batchPredict(pkg.predictor, { input, output }), DataValidationError);
    expect(error.code).toBe("PREDICT_TEXT_COLUMN_MISSING");
    expect(error.message).toBe(
      `${input} has no column '${TEXT}': complaints-text is a text model and reads that text. Score a file with that column (its header has 2 columns: LIMIT_BAL, AGE).`,
    );
    await expect(readFile(output, "utf8")).rejects.toThrow(/ENOENT/);
  });
});
