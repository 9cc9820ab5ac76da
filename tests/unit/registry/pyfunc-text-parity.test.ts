// The python_function flavor of a tfidf-linear package: mlflow.pyfunc.load_model(...).predict (MLflow's schema
// enforcement, then the numpy port in workbench_pyfunc.py: text rule, normalisation, TF-IDF, linear weights)
// answers what the TypeScript model answers on the complaints narratives, bad texts included.
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type PyfuncResult, pyfuncPredict } from "../../helpers/pyfunc.js";
import { tempDir } from "../../helpers/temp.js";
import { TEXT, type TextPackage, textPackage } from "../serving/text-model-fixture.js";

const tmp = tempDir("pyfunc-text-");
const packages: Record<string, TextPackage> = {};
const MAX = 1500;
const texts: Record<string, string[]> = {};
let answers: PyfuncResult[];

beforeAll(async () => {
  const dir = path.dirname(await tmp.file("keep", ""));
  // softmax; and one-vs-rest squared-hinge SVMs with their softmax temperature, char n-grams and bigrams.
  packages.softmax = await textPackage(path.join(dir, "softmax"), { maxLength: MAX, overLength: "truncate" });
  packages.svm = await textPackage(
    path.join(dir, "svm"),
    { maxLength: MAX, overLength: "truncate" },
    { params: { loss: "squared-hinge", C: 0.5, charNgramRange: [2, 4], charMaxFeatures: 5000, maxIter: 30 } },
  );
  // Long ones too (cut to maxLength), masks, amounts, non-ASCII letters, JavaScript-only whitespace, lines.
  for (const [name, pkg] of Object.entries(packages))
    texts[name] = [
      ...pkg.heldOut.slice(0, 150),
      `${pkg.heldOut[0]!} ${"escrow payment ".repeat(200)}`,
      "On XX/XX/2019 I paid {$1,200.00} to XXXX Bank; Café—niño naïve 2nd 12,345.6 __x__",
      "line one\r\nline two\u00a0\u2003tabs\there\ufeff",
    ];
  // One Python process for every case (MLflow's import dominates).
  answers = await pyfuncPredict([
    { model: packages.softmax.dir, columns: [TEXT], data: texts.softmax!.map((t) => [t]) },
    { model: packages.svm.dir, columns: [TEXT], data: texts.svm!.map((t) => [t]) },
    {
      model: packages.softmax.dir,
      columns: [TEXT],
      data: [["fine text about my mortgage"], ["  \n "]],
      direct: true,
    },
  ]);
}, 240_000);

describe("tfidf-linear through MLflow's python_function flavor", () => {
  ["softmax", "svm"].forEach((name, c) => {
    it(`given held-out narratives (${name}), then labels and probabilities match the TypeScript model to 1e-5`, () => {
      const pkg = packages[name]!;
      const answer = answers[c]!;
      if (answer.error !== undefined) throw new Error(`${answer.error.type}: ${answer.error.message}`);
      const expected = pkg.predictor.predict(texts[name]!.map((t) => ({ [TEXT]: t })));
      expect(answer.columns).toEqual(["label", ...pkg.classes.map((k) => `probability_${k}`)]);
      expect(answer.data).toHaveLength(expected.length);
      let worst = 0;
      answer.data.forEach((row, i) => {
        expect(row[0], `text ${i}: label`).toBe(expected[i]!.label);
        pkg.classes.forEach((k, j) => {
          worst = Math.max(worst, Math.abs(Number(row[j + 1]) - expected[i]!.probabilities[k]!));
        });
      });
      expect(worst, "largest probability difference").toBeLessThan(1e-5);
    });
  });

  it("given an empty or whitespace-only text, then WorkbenchInputError names the row, as the service refuses it", () => {
    expect(answers[2]?.error).toEqual({
      type: "WorkbenchInputError",
      message: `1 problem in the input: row 1, '${TEXT}': no text (empty, whitespace only or missing; the column is not nullable)`,
    });
  });
});
