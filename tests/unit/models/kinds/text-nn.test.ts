import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { evaluate } from "../../../../src/evaluation/metrics.js";
import { initTf } from "../../../../src/models/backend.js";
import { textCnnKind } from "../../../../src/models/kinds/text-cnn.js";
import { textEmbeddingBagKind } from "../../../../src/models/kinds/text-embedding-bag.js";
import { textGruKind } from "../../../../src/models/kinds/text-gru.js";
import { type FitData, type FitOptions, type ModelKind, shapeOf } from "../../../../src/models/model.js";
import { COMPLAINTS_TEXT, complaintsFitData } from "../../../helpers/complaints-text.js";
import { rejectionOf, thrownBy } from "../../../helpers/expect-error.js";

// The real complaints sample (2,085 CFPB narratives, 4 products), normalised with the defaults, split 70/15/15.
// Configurations are small (short sequences, few epochs) to keep the file quick; a model that learned nothing
// (every text the majority class) has a macro-F1 of ≈ 0.16, the floors below sit far above it. Generous timeouts:
// a timed-out fit would go on training beside the next test, and two trainings at once share the seeded
// Math.random (see withSeededRandom), which breaks the reproducibility check.
const data = complaintsFitData();
const options: FitOptions = {
  seed: 5,
  selectionMetric: "f1_macro",
  classWeight: "balanced",
  earlyStopping: { patience: 2, minDelta: 0 },
};
const macroF1 = (p: Float32Array, d: FitData = data) =>
  evaluate(d.validationLabels, p, d.classes).metrics.f1_macro!;

/** The first `n` rows of train and validation (a quick dataset for the reproducibility checks). */
function head(n: number): FitData {
  const take = (m: FitData["train"], k: number) => ({
    ...m,
    rows: Math.min(k, m.rows),
    texts: { [COMPLAINTS_TEXT]: m.texts![COMPLAINTS_TEXT]!.slice(0, k) },
  });
  return {
    train: take(data.train, n),
    trainLabels: data.trainLabels.slice(0, n),
    validation: take(data.validation, n / 2),
    validationLabels: data.validationLabels.slice(0, n / 2),
    classes: data.classes,
  };
}

const cases: { kind: ModelKind; params: Record<string, unknown>; floor: number }[] = [
  {
    kind: textEmbeddingBagKind as unknown as ModelKind,
    params: { maxLength: 150, epochs: 4, batchSize: 64 },
    floor: 0.5,
  },
  {
    kind: textCnnKind as unknown as ModelKind,
    params: { maxLength: 100, epochs: 3, filters: 32, kernelSizes: [3, 5], batchSize: 64 },
    floor: 0.5,
  },
  {
    kind: textGruKind as unknown as ModelKind,
    params: { maxLength: 50, epochs: 3, units: 16, embeddingDim: 32, batchSize: 64, learningRate: 0.01 },
    floor: 0.45,
  },
];

describe("sequence text kinds (embedding bag, CNN, GRU) on the complaints sample", () => {
  beforeAll(async () => {
    await initTf();
  });

  for (const { kind, params, floor } of cases) {
    it(`${kind.kind}: learns the products (macro-F1 floor), keeps the best epoch, save → load gives identical probabilities`, async () => {
      const p = kind.params.parse(params);
      const model = await kind.create(p, shapeOf(data));
      const dir = await mkdtemp(path.join(os.tmpdir(), `${kind.kind}-`));
      try {
        const result = await model.fit(data, options);
        expect(result.history.length).toBeGreaterThan(0);
        const probabilities = model.predict(data.validation);
        expect(probabilities.length).toBe(data.validation.rows * data.classes.length);
        const f1 = macroF1(probabilities);
        expect(f1, `${kind.kind} validation macro-F1`).toBeGreaterThan(floor);
        const best = result.history.find((h) => h.iteration === result.bestIteration)!;
        expect(f1, "the model holds the best epoch's weights").toBeCloseTo(best.valMetric, 6);
        const summary = model.summary();
        expect(summary.vocabulary as number).toBeGreaterThan(1000);
        expect(summary.trainOovRate as number, "train texts: OOV only below minFrequency").toBeLessThan(0.05);

        await model.save(dir);
        const loaded = await kind.load(dir, p, shapeOf(data));
        try {
          expect(loaded.predict(data.validation)).toEqual(probabilities);
          expect(loaded.summary()).toEqual(summary);
        } finally {
          loaded.dispose();
        }
      } finally {
        model.dispose();
        await rm(dir, { recursive: true, force: true });
      }
    }, 120_000);
  }

  it("the same seed gives identical predictions (dropout included), another seed differs: every kind", async () => {
    const small = head(300);
    for (const { kind, params } of cases) {
      const p = kind.params.parse({ ...params, epochs: 2, maxLength: 40 });
      const models = await Promise.all([0, 1, 2].map(() => kind.create(p, shapeOf(small))));
      try {
        await models[0]!.fit(small, options);
        await models[1]!.fit(small, options);
        await models[2]!.fit(small, { ...options, seed: 6 });
        const a = models[0]!.predict(small.validation);
        expect(models[1]!.predict(small.validation), `${kind.kind}: same seed`).toEqual(a);
        expect(models[2]!.predict(small.validation), `${kind.kind}: another seed`).not.toEqual(a);
      } finally {
        for (const m of models) m.dispose();
      }
    }
  }, 120_000);

  it("several text columns are read joined in order; an empty text gets a prediction", async () => {
    const small = head(200);
    const twoColumns = (m: FitData["train"]) => ({
      ...m,
      texts: { title: m.texts![COMPLAINTS_TEXT]!.map(() => ""), body: m.texts![COMPLAINTS_TEXT]! },
    });
    const d: FitData = { ...small, train: twoColumns(small.train), validation: twoColumns(small.validation) };
    const p = textEmbeddingBagKind.params.parse({ maxLength: 40, epochs: 1 });
    const model = await textEmbeddingBagKind.create(p, shapeOf(d));
    try {
      await model.fit(d, options);
      expect(shapeOf(d).textColumns).toEqual(["title", "body"]);
      const joined = model.predict(d.validation);
      const oneColumn = model.predict({
        ...d.validation,
        texts: { title: d.validation.texts!.body!, body: d.validation.texts!.title! },
      });
      expect(oneColumn, "the same words in the other column give the same bag").toEqual(joined);
      const empty = model.predict({
        rows: 1,
        cols: 0,
        values: new Float32Array(0),
        featureNames: [],
        texts: { title: [""], body: [""] },
      });
      expect(empty[0]! + empty[1]! + empty[2]! + empty[3]!).toBeCloseTo(1, 5);
    } finally {
      model.dispose();
    }
  });

  describe("bad input", () => {
    it("parameters out of range or of another kind are refused by name", () => {
      expect(textCnnKind.params.safeParse({ kernelSizes: [] }).error?.issues[0]?.path).toEqual([
        "kernelSizes",
      ]);
      expect(textGruKind.params.safeParse({ cell: "rnn" }).error?.issues[0]?.path).toEqual(["cell"]);
      expect(textEmbeddingBagKind.params.safeParse({ maxLength: 0 }).error?.issues[0]?.path).toEqual([
        "maxLength",
      ]);
      expect(textEmbeddingBagKind.params.safeParse({ dropout: 1 }).error?.issues[0]?.path).toEqual([
        "dropout",
      ]);
      expect(textGruKind.params.safeParse({ kernelSizes: [3] }).error?.issues[0]?.code).toBe(
        "unrecognized_keys",
      );
    });

    it("checkData refuses numeric/categorical columns beside the text (they would be ignored)", () => {
      const facts = { rows: 100, cols: 3, classes: 4, textColumns: 1, avgTextLength: 700 };
      for (const kind of [textEmbeddingBagKind, textCnnKind, textGruKind] as unknown as ModelKind[]) {
        expect(kind.input).toBe("text");
        expect(kind.checkData!(kind.params.parse({}), facts)).toEqual([
          [
            "(kind)",
            `${kind.kind} reads only the text columns, and the data also has 3 numeric/categorical feature columns it would ignore; drop them (features.drop) or use a TF-IDF kind (tfidf-linear, tfidf-gbdt), which appends them`,
          ],
        ]);
        expect(kind.checkData!(kind.params.parse({}), { ...facts, cols: 0 })).toEqual([]);
      }
    });

    it("fit on data without the text column, predict without it, before training: named errors", async () => {
      const p = textEmbeddingBagKind.params.parse({ epochs: 1 });
      const noText = {
        ...data,
        train: { ...data.train, texts: {} },
        validation: { ...data.validation, texts: {} },
      };
      const model = await textEmbeddingBagKind.create(p, shapeOf(noText));
      const refused = await rejectionOf(model.fit(noText, options));
      expect(refused.code).toBe("TEXT_TRAIN_DATA_INVALID");
      expect(refused.message).toBe(
        "text-embedding-bag: the data has no text column; use a tabular kind or declare a column as type: text.",
      );
      const untrained = await textEmbeddingBagKind.create(p, shapeOf(data));
      const notTrained = thrownBy(() => untrained.predict(data.validation));
      expect(notTrained.code).toBe("MODEL_NOT_TRAINED");
      expect(notTrained.message).toBe("text-embedding-bag: the model is not trained (or was disposed).");
    });

    it("an input without the model's text column: MODEL_INPUT_TEXT_MISSING naming it", async () => {
      const small = head(200);
      const model = await textEmbeddingBagKind.create(
        textEmbeddingBagKind.params.parse({ maxLength: 30, epochs: 1 }),
        shapeOf(small),
      );
      try {
        await model.fit(small, options);
        const error = thrownBy(() => model.predict({ ...small.validation, texts: { other: [] } }));
        expect(error.code).toBe("MODEL_INPUT_TEXT_MISSING");
        expect(error.message).toBe(
          `The text-embedding-bag model reads the text column '${COMPLAINTS_TEXT}', which the input does not have (it has: other).`,
        );
      } finally {
        model.dispose();
      }
    });

    it("a model folder without tokenizer.json, or with a damaged one: named errors", async () => {
      const p = textEmbeddingBagKind.params.parse({});
      const dir = await mkdtemp(path.join(os.tmpdir(), "text-nn-bad-"));
      try {
        const missing = await rejectionOf(textEmbeddingBagKind.load(dir, p, shapeOf(data)));
        expect(missing.code).toBe("TEXT_MODEL_FILES_MISSING");
        expect(missing.message).toBe(
          `text-embedding-bag: tokenizer.json is missing from ${dir}; the model folder is incomplete (re-train or re-download the package).`,
        );
        await writeFile(path.join(dir, "tokenizer.json"), JSON.stringify({ version: 1, vocabulary: "x" }));
        const damaged = await rejectionOf(textEmbeddingBagKind.load(dir, p, shapeOf(data)));
        expect(damaged.code).toBe("TOKENIZER_STATE_INVALID");
        expect(damaged.message).toMatch(/^Tokenizer state is invalid \(minFrequency: /);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
