import { execFile } from "node:child_process";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { cp, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { loadTrainConfig } from "../../../src/config/train-config.js";
import { batchPredict } from "../../../src/pipelines/predict.js";
import { type TrainResult, trainPipeline } from "../../../src/pipelines/train.js";
import { loadPredictor } from "../../../src/serving/model-source.js";
import { silentLogger } from "../../../src/shared/logger.js";
import { projectRoot } from "../../../src/shared/project.js";
import { cli } from "../../helpers/cli.js";
import { datasetMirror } from "../../helpers/datasets.js";
import { rejectionOf } from "../../helpers/expect-error.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";
import { tempDir } from "../../helpers/temp.js";

const exec = promisify(execFile);
const client = testClient();
const mirror = datasetMirror();
const tmp = tempDir("predict-");
const model = uniqueName("batch-model");
let trained: TrainResult;

beforeAll(async () => {
  const config = await loadTrainConfig(path.join(projectRoot(), "configs", "credit-default.yaml"), [
    `experiment=${model}`,
    `registry.modelName=${model}`,
    "training.candidates=[{kind: logistic, params: {epochs: 3}}]",
  ]);
  trained = await trainPipeline({ client, logger: silentLogger() }, config, mirror ? { mirror } : {});
}, 180_000);

describe("batch scoring (npm run predict)", () => {
  it("scores the credit-default holdout logged by training into a CSV with probabilities and the model version", async () => {
    const output = path.join(await tmp.file(".keep", ""), "..", "holdout-predictions.csv");
    const root = projectRoot();
    const { stdout } = await exec(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(root, "scripts", "predict.ts"),
        "--model",
        `models:/${model}@challenger`,
        "--input",
        `runs:/${trained.runId}/holdout/holdout.csv`,
        "--output",
        output,
      ],
      { cwd: root, env: { ...process.env, MLFLOW_TRACKING_URI: inject("mlflowUri"), LOG_LEVEL: "warn" } },
    ).catch((error: { stderr: string }) => {
      throw new Error(`npm run predict failed: ${error.stderr}`);
    });
    expect(stdout).toMatch(new RegExp(`scored 3000 of 3000 rows with ${model} version 1 in [\\d.]+ s`));
    const lines = (await readFile(output, "utf8")).trim().split("\n");
    expect(lines.length).toBe(3001);
    expect(lines[0]).toBe(
      `"ID",LIMIT_BAL,SEX,EDUCATION,MARRIAGE,AGE,PAY_0,PAY_2,PAY_3,PAY_4,PAY_5,PAY_6,BILL_AMT1,BILL_AMT2,BILL_AMT3,BILL_AMT4,BILL_AMT5,BILL_AMT6,PAY_AMT1,PAY_AMT2,PAY_AMT3,PAY_AMT4,PAY_AMT5,PAY_AMT6,default.payment.next.month,label,probability_0,probability_1,model_version`.replace(
        '"ID"',
        "ID",
      ),
    );
    const cells = lines[1]!.split(",");
    expect(cells.at(-1)).toBe("1");
    expect(Number(cells.at(-2)) + Number(cells.at(-3))).toBeCloseTo(1, 5);
  });

  it("streams a large file in constant memory (under a 96 MB heap cap) and quarantines bad rows with reasons", async () => {
    const predictor = await loadPredictor(`models:/${model}@challenger`, client);
    const input = path.join(await tmp.file(".keep2", ""), "..", "big.csv");
    const header = predictor.model.meta.inputs.map((c) => c.name);
    const stream = createWriteStream(input);
    stream.write(`${header.join(",")}\n`);
    const n = 300_000;
    for (let i = 0; i < n; i++) {
      const row = header.map((h) =>
        h === "AGE"
          ? i === 7
            ? "old"
            : 30 + (i % 40)
          : h.startsWith("PAY_") && !h.startsWith("PAY_AMT")
            ? (i % 3) - 1
            : h === "SEX"
              ? 1 + (i % 2)
              : h === "EDUCATION" || h === "MARRIAGE"
                ? 1
                : (i * 37) % 50000,
      );
      if (!stream.write(`${row.join(",")}\n`)) await once(stream, "drain");
    }
    stream.end();
    await once(stream, "finish");
    // Held whole, 300,000 parsed rows of 23 fields would need far more than 96 MB of JS heap.
    const output = path.join(path.dirname(input), "big-out.jsonl");
    const root = projectRoot();
    const { stdout } = await exec(
      process.execPath,
      [
        "--max-old-space-size=96",
        "--import",
        "tsx",
        path.join(root, "scripts", "predict.ts"),
        "--model",
        `models:/${model}@challenger`,
        "--input",
        input,
        "--output",
        output,
      ],
      {
        cwd: root,
        env: { ...process.env, MLFLOW_TRACKING_URI: inject("mlflowUri"), LOG_LEVEL: "warn" },
      },
    );
    expect(stdout).toContain(`scored ${n - 1} of ${n} rows`);
    expect(stdout).toContain("quarantined 1 rows with reasons");
    const quarantined = JSON.parse((await readFile(`${output}.quarantine.jsonl`, "utf8")).trim());
    expect(quarantined).toMatchObject({
      line: 9,
      reasons: ['AGE: not a number: the string "old"'],
      kinds: ["wrong_type"],
    });
    const first = JSON.parse((await readFile(output, "utf8")).slice(0, 2000).split("\n")[0]!);
    expect(first).toMatchObject({ model_version: "1", label: expect.any(String) });
  });

  it("given a missing input, a duplicated column or too many bad rows, then a named error", async () => {
    const predictor = await loadPredictor(`models:/${model}@challenger`, client);
    const bad = await tmp.file("bad.csv", "LIMIT_BAL,AGE\nx,y\n");
    const missing = await rejectionOf(
      batchPredict(predictor, { input: "/no/such.csv", output: path.join(tmp.path(), "x.csv") }),
    );
    expect(missing.code).toBe("DATA_FILE_MISSING");
    expect(missing.message).toBe("/no/such.csv does not exist.");
    const tooMany = await rejectionOf(
      batchPredict(predictor, { input: bad, output: path.join(tmp.path(), "y.csv"), maxBadFraction: 0.5 }),
    );
    expect(tooMany.code).toBe("PREDICT_TOO_MANY_BAD_ROWS");
    expect(tooMany.message).toContain("1 of 1 rows (100.00%) failed validation, above the limit of 50.00%");
    const duplicate = await tmp.file("dupe.csv", "AGE,LIMIT_BAL,AGE\n30,1000,31\n");
    const dupe = await rejectionOf(
      batchPredict(predictor, { input: duplicate, output: path.join(tmp.path(), "z.csv") }),
    );
    expect(dupe.code).toBe("DATA_DUPLICATE_COLUMN");
    expect(dupe.message).toBe(`${duplicate}: column 'AGE' appears twice in the header.`);
    const headerOnly = await tmp.file("header-only.csv", "AGE,LIMIT_BAL\n");
    const empty = await rejectionOf(
      batchPredict(predictor, { input: headerOnly, output: path.join(tmp.path(), "e.csv") }),
    );
    expect(empty.code).toBe("DATA_EMPTY");
    expect(empty.message).toBe(`${headerOnly} has no data rows to score.`);
    const unclosed = await tmp.file("quote.csv", 'AGE,LIMIT_BAL\n30,"1000\n');
    const notCsv = await rejectionOf(
      batchPredict(predictor, { input: unclosed, output: path.join(tmp.path(), "q.csv") }),
    );
    expect(notCsv.code).toBe("DATA_NOT_CSV");
    expect(notCsv.message).toContain(`${unclosed} could not be read as CSV: Quote Not Closed`);
    const limit = await rejectionOf(
      batchPredict(predictor, { input: bad, output: path.join(tmp.path(), "l.csv"), maxBadFraction: 2 }),
    );
    expect(limit.code).toBe("CONFIG_INVALID");
    expect(limit.message).toBe("maxBadFraction must be a number from 0 to 1, got 2.");
  });

  describe("corrupted rows, missing values and the bad-row limit (issue 9 defects 2 and 3, issue 13 item 8)", () => {
    const env = () => ({ MLFLOW_TRACKING_URI: inject("mlflowUri") });
    let inputs: string[];
    let columns: string[];

    beforeAll(async () => {
      const predictor = await loadPredictor(`models:/${model}@challenger`, client);
      inputs = predictor.model.meta.inputs.map((c) => c.name);
      columns = ["ID", ...inputs];
    });

    /** One valid row of the credit-default signature, its ID first, with `changes` applied by column. */
    function row(id: number, changes: Record<string, string> = {}): string[] {
      return columns.map((h) => {
        if (changes[h] !== undefined) return changes[h]!;
        if (h === "ID") return String(id);
        if (h === "AGE") return String(30 + (id % 40));
        if (h.startsWith("PAY_") && !h.startsWith("PAY_AMT")) return String((id % 3) - 1);
        if (h === "SEX") return String(1 + (id % 2));
        if (h === "EDUCATION" || h === "MARRIAGE") return "1";
        return String((id * 37) % 50000);
      });
    }

    async function csv(name: string, lines: string[]): Promise<string> {
      return tmp.file(name, `${[columns.join(","), ...lines].join("\n")}\n`);
    }

    interface Quarantined {
      line: number;
      reasons: string[];
      kinds: string[];
      values: Record<string, string>;
      fields?: string[];
    }

    async function quarantineOf(file: string): Promise<Quarantined[]> {
      return (await readFile(file, "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Quarantined);
    }

    async function leftovers(output: string): Promise<string[]> {
      const base = path.basename(output);
      return (await readdir(path.dirname(output))).filter(
        (f) => f.startsWith(base) && !f.endsWith(".quarantine.jsonl"),
      );
    }

    it("given a trailing extra field, an unquoted 20,000, 0x/0b/0o numbers and NA in a required column, then each row is quarantined with its line, kind and reason and none is scored", async () => {
      const good = Array.from({ length: 200 }, (_, i) => row(i + 1).join(","));
      const bad = [
        `${row(201).join(",")},x`, // line 202: one trailing extra field
        `${row(202).join(",")},`, // line 203: a trailing comma
        row(203, { LIMIT_BAL: "20,000" }).join(","), // line 204: unquoted thousands separator shifts every column
        row(204, { AGE: "0x31" }).join(","), // line 205: Number() reads 49
        row(205, { PAY_AMT1: "0b1" }).join(","), // line 206: Number() reads 1
        row(206, { BILL_AMT1: "0o17" }).join(","), // line 207: Number() reads 15
        row(207, { AGE: "NA" }).join(","), // line 208: missing where the signature requires a value
      ];
      const input = await csv("corrupted.csv", [...good, ...bad]);
      const output = path.join(tmp.path(), "corrupted-scored.csv");
      const run = await cli(
        "predict.ts",
        ["--model", `models:/${model}@challenger`, "--input", input, "--output", output],
        env(),
      );
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain("scored 200 of 207 rows");
      expect(run.stdout).toContain(`quarantined 7 rows with reasons → ${output}.quarantine.jsonl`);
      const scored = (await readFile(output, "utf8")).trim().split("\n").slice(1);
      const ids = scored.map((l) => Number(l.split(",")[0]));
      expect(ids, "only the 200 good rows are in the output").toEqual(
        Array.from({ length: 200 }, (_, i) => i + 1),
      );
      const quarantined = await quarantineOf(`${output}.quarantine.jsonl`);
      expect(quarantined.map((q) => q.line)).toEqual([202, 203, 204, 205, 206, 207, 208]);
      const count = `has ${columns.length + 1} fields, the header has ${columns.length}`;
      expect(quarantined.map((q) => ({ kinds: q.kinds, reasons: q.reasons }))).toEqual([
        { kinds: ["wrong_field_count"], reasons: [count] },
        { kinds: ["wrong_field_count"], reasons: [count] },
        { kinds: ["wrong_field_count"], reasons: [count] },
        { kinds: ["wrong_type"], reasons: ['AGE: not a number: the string "0x31"'] },
        { kinds: ["wrong_type"], reasons: ['PAY_AMT1: not a number: the string "0b1"'] },
        { kinds: ["wrong_type"], reasons: ['BILL_AMT1: not a number: the string "0o17"'] },
        { kinds: ["null"], reasons: ["AGE: missing ('NA') where a value is required"] },
      ]);
      expect(quarantined[0]!.fields, "every raw field of a wrong-count row, the extra one included").toEqual([
        ...row(201),
        "x",
      ]);
      expect(quarantined[2]!.fields!.slice(0, 3)).toEqual(["203", "20", "000"]);
      expect(quarantined[3]!.values.AGE).toBe("0x31");
    });

    it("given NA, N/A, null, None and empty fields in columns the signature does not require, then those rows are scored (issue 13 item 8)", async () => {
      const predictor = await loadPredictor(`models:/${model}@challenger`, client);
      // A package whose AGE and EDUCATION are nullable, as training writes it for `nullable: true` columns.
      const dir = path.join(tmp.path(), "nullable-model");
      await cp(predictor.model.dir, dir, { recursive: true });
      const meta = JSON.parse(await readFile(path.join(dir, "model-meta.json"), "utf8")) as {
        inputs: { name: string; required: boolean }[];
      };
      for (const c of meta.inputs) if (c.name === "AGE" || c.name === "EDUCATION") c.required = false;
      await writeFile(path.join(dir, "model-meta.json"), JSON.stringify(meta));
      const tokens = ["NA", "N/A", "null", "NULL", "None", "NaN", ""];
      const input = await csv(
        "nullable.csv",
        [
          ...Array.from({ length: 20 }, (_, i) => row(i + 1)),
          ...tokens.map((t, k) => row(100 + k, { AGE: t })),
          ...tokens.map((t, k) => row(200 + k, { EDUCATION: t })),
        ].map((r) => r.join(",")),
      );
      const output = path.join(tmp.path(), "nullable-scored.jsonl");
      const run = await cli("predict.ts", ["--model", dir, "--input", input, "--output", output], env());
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain("scored 34 of 34 rows");
      expect(run.stdout).not.toContain("quarantined");
      const scored = (await readFile(output, "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const byId = new Map(scored.map((r) => [r.ID, r]));
      for (const [k, t] of tokens.entries()) {
        expect(byId.get(String(100 + k)), `AGE ${JSON.stringify(t)} scored`).toMatchObject({
          AGE: t,
          label: expect.any(String),
          model_version: "local",
        });
        expect(byId.get(String(200 + k)), `EDUCATION ${JSON.stringify(t)} scored`).toMatchObject({
          EDUCATION: t,
        });
      }
    });

    it("given a file of 100% invalid rows, then predict exits 1 with PREDICT_TOO_MANY_BAD_ROWS naming the quarantine file and the first reasons, and leaves no output", async () => {
      const input = await csv(
        "all-bad.csv",
        Array.from({ length: 40 }, (_, i) => row(i + 1, { AGE: "0x31" }).join(",")),
      );
      const output = path.join(tmp.path(), "all-bad-scored.csv");
      const run = await cli(
        "predict.ts",
        ["--model", `models:/${model}@challenger`, "--input", input, "--output", output],
        env(),
      );
      expect(run.code, "a non-zero exit").toBe(1);
      expect(run.stdout).not.toContain("scored");
      expect(run.stderr).toContain(
        `error [PREDICT_TOO_MANY_BAD_ROWS]: ${input}: 40 of 40 rows (100.00%) failed validation, above the limit of 5.00% (--max-bad-fraction 0.05).`,
      );
      expect(run.stderr).toContain(`Quarantined rows with reasons: ${output}.quarantine.jsonl`);
      expect(run.stderr).toContain(`${input}:2: AGE: not a number: the string "0x31"`);
      expect(run.stderr).toContain(`${input}:6: AGE: not a number: the string "0x31"`);
      expect(await leftovers(output), "no output, not even a partial one").toEqual([]);
      expect(await quarantineOf(`${output}.quarantine.jsonl`)).toHaveLength(40);
    });

    it("given --max-bad-fraction 1 and no valid row, then predict exits 1 with PREDICT_NOTHING_SCORED", async () => {
      const input = await csv(
        "none-good.csv",
        Array.from({ length: 10 }, (_, i) => `${row(i + 1).join(",")},extra`),
      );
      const output = path.join(tmp.path(), "none-good-scored.csv");
      const run = await cli(
        "predict.ts",
        [
          "--model",
          `models:/${model}@challenger`,
          "--input",
          input,
          "--output",
          output,
          "--max-bad-fraction",
          "1",
        ],
        env(),
      );
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        `error [PREDICT_NOTHING_SCORED]: ${input}: none of the 10 rows could be scored (all failed validation); nothing was written to ${output}.`,
      );
      expect(run.stderr).toContain(
        `${input}:2: has ${columns.length + 1} fields, the header has ${columns.length}`,
      );
      expect(await leftovers(output)).toEqual([]);
    });

    it("given 10% bad rows, then the default limit (5%) fails the run and --max-bad-fraction 0.2 lets it pass with the count", async () => {
      const input = await csv(
        "ten-percent.csv",
        Array.from({ length: 100 }, (_, i) =>
          row(i + 1, i % 10 === 9 ? { LIMIT_BAL: "1_000" } : {}).join(","),
        ),
      );
      const output = path.join(tmp.path(), "ten-percent-scored.csv");
      const args = ["--model", `models:/${model}@challenger`, "--input", input, "--output", output];
      const strict = await cli("predict.ts", args, env());
      expect(strict.code).toBe(1);
      expect(strict.stderr).toContain(
        "error [PREDICT_TOO_MANY_BAD_ROWS]: " +
          `${input}: 10 of 100 rows (10.00%) failed validation, above the limit of 5.00% (--max-bad-fraction 0.05).`,
      );
      expect(await leftovers(output)).toEqual([]);
      const lenient = await cli("predict.ts", [...args, "--max-bad-fraction", "0.2"], env());
      expect(lenient.code, lenient.stderr).toBe(0);
      expect(lenient.stdout).toContain("scored 90 of 100 rows");
      expect(lenient.stdout).toContain("quarantined 10 rows with reasons");
      expect((await readFile(output, "utf8")).trim().split("\n")).toHaveLength(91);
    });

    it("given --workers 2 (this thread and a worker thread) on a file of many chunks with bad rows, then the output and the quarantine are byte for byte those of --workers 1", async () => {
      const lines = Array.from({ length: 3000 }, (_, i) =>
        row(i + 1, i % 97 === 5 ? { AGE: "0x31" } : i % 101 === 7 ? { LIMIT_BAL: "20,000" } : {}).join(","),
      );
      const input = await csv("workers.csv", lines);
      const runs: { stdout: string; output: string; quarantine: string }[] = [];
      for (const workers of ["1", "2"]) {
        const output = path.join(tmp.path(), `workers-${workers}.csv`);
        const run = await cli(
          "predict.ts",
          [
            "--model",
            `models:/${model}@challenger`,
            "--input",
            input,
            "--output",
            output,
            "--chunk-rows",
            "100",
            "--workers",
            workers,
          ],
          env(),
        );
        expect(run.code, run.stderr).toBe(0);
        runs.push({
          stdout: run.stdout,
          output: await readFile(output, "utf8"),
          quarantine: await readFile(`${output}.quarantine.jsonl`, "utf8"),
        });
      }
      const [one, two] = runs as [(typeof runs)[0], (typeof runs)[0]];
      expect(one.stdout).toContain("rows/s, in this thread)");
      expect(two.stdout).toMatch(/rows\/s, 2 threads: this one and 1 worker thread\)/);
      expect(two.stdout).toContain("scored 2939 of 3000 rows");
      expect(two.output === one.output, "the same output").toBe(true);
      expect(two.quarantine === one.quarantine, "the same quarantine").toBe(true);
      const ids = two.output
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => Number(l.split(",")[0]));
      expect(ids, "input order").toEqual([...ids].sort((a, b) => a - b));
      expect(
        (await quarantineOf(path.join(tmp.path(), "workers-2.csv.quarantine.jsonl"))).map((q) => q.line),
        "each bad row's line (header = line 1)",
      ).toEqual(
        Array.from({ length: 3000 }, (_, i) => i)
          .filter((i) => i % 97 === 5 || i % 101 === 7)
          .map((i) => i + 2),
      );
    });

    it.each([
      ["--workers", "0"],
      ["--workers", "two"],
      ["--chunk-rows", "-5"],
    ])("given %s %s, then a usage error (exit 2) before any scoring", async (flag, value) => {
      const run = await cli(
        "predict.ts",
        ["--model", "x", "--input", "x.csv", "--output", "y.csv", `${flag}=${value}`],
        env(),
      );
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`error [CLI_USAGE]: ${flag} must be a positive integer, got '${value}'.`);
    });

    it.each(["1.5", "-0.1", "0x1"])(
      "given --max-bad-fraction %s, then a usage error (exit 2) before any scoring",
      async (value) => {
        const run = await cli(
          "predict.ts",
          ["--model", "x", "--input", "x.csv", "--output", "y.csv", `--max-bad-fraction=${value}`],
          env(),
        );
        expect(run.code).toBe(2);
        expect(run.stderr).toContain(
          `error [CLI_USAGE]: --max-bad-fraction must be a number from 0 to 1, got '${value}'.`,
        );
      },
    );
  });
});
