// Native categorical splits in gbdt: the one-hot group parser, X → X', the category-set split search, agreement
// with scikit-learn's HistGradientBoosting on categorical features (tests/fixtures/trees/categorical-sklearn.json,
// written by bench/peers/categorical_split_fixtures.py), the tree format version 2 (save → load, corrupt files)
// and version-1 files written before it (tests/fixtures/trees/v1-gbdt, tests/fixtures/trees/make-v1-fixture.ts).
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fitOptionsFor, loadTrainConfig } from "../../../../src/config/train-config.js";
import { type FeatureMatrix, oneHotGroups } from "../../../../src/features/preprocessor.js";
import { gbdtKind } from "../../../../src/models/kinds/gbdt.js";
import { applyBins, fitBins } from "../../../../src/models/trees/binning.js";
import { categoricalLayout, nativeGroups, toCategorical } from "../../../../src/models/trees/categorical.js";
import { type Ensemble, inCategorySet, walkEnsemble } from "../../../../src/models/trees/ensemble.js";
import { Grower } from "../../../../src/models/trees/grower.js";
import { predictEnsemble } from "../../../../src/models/trees/predict.js";
import { prepareData } from "../../../../src/pipelines/prepare-data.js";
import { WorkbenchError } from "../../../../src/shared/errors.js";
import { projectRoot } from "../../../../src/shared/project.js";
import { createRng } from "../../../../src/shared/random.js";
import { datasetMirror } from "../../../helpers/datasets.js";
import { fitData, keepAll, matrix, trained } from "./helpers.js";

const FIXTURES = path.join(import.meta.dirname, "../../../fixtures/trees");
const scratch: string[] = [];
afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "trees-categorical-"));
  scratch.push(dir);
  return dir;
}

function thrown(fn: () => unknown): WorkbenchError {
  try {
    fn();
  } catch (error) {
    if (error instanceof WorkbenchError) return error;
    throw error;
  }
  throw new Error("expected an error");
}

/** One-hot columns of category indices (null = no column hot), after the numeric columns. */
function oneHot(
  numeric: number[][],
  groups: { name: string; size: number; values: (number | null)[] }[],
  numericNames: string[],
): FeatureMatrix {
  const rows = numeric.map((row, r) => {
    const out = [...row];
    for (const g of groups) {
      const block = new Array<number>(g.size).fill(0);
      const v = g.values[r];
      if (v !== null && v !== undefined) block[v] = 1;
      out.push(...block);
    }
    return out;
  });
  const names = [
    ...numericNames,
    ...groups.flatMap((g) => [
      ...Array.from({ length: g.size - 1 }, (_, k) => `${g.name}=v${k}`),
      `${g.name}=__unknown__`,
    ]),
  ];
  return matrix(rows, names);
}

/** Categories of a categorical node (bits of its words). */
function leftSet(e: Ensemble, node: number): number[] {
  const f = e.feature[node]!;
  const words = Math.ceil(e.categories[f]! / 32);
  const out: number[] = [];
  for (let c = 0; c < 32 * words; c++)
    if ((e.catBits[e.catOffset[node]! + (c >>> 5)]! >>> (c & 31)) & 1) out.push(c);
  return out;
}

describe("oneHotGroups", () => {
  it("finds every group closed by its __unknown__ column, numeric columns and text names left alone", () => {
    const names = [
      "age",
      "x=1",
      "proto=A",
      "proto=B",
      "proto=__unknown__",
      "day=Mon",
      "day=__unknown__",
      "z",
    ];
    expect(oneHotGroups(names)).toEqual([
      { name: "proto", start: 2, size: 3 },
      { name: "day", start: 5, size: 2 },
    ]);
    expect(oneHotGroups(["a", "b"])).toEqual([]);
    // A group of only its unknown column, and names containing "=" (categories and columns alike).
    expect(oneHotGroups(["k=__unknown__", "a=b=x", "a=b=__unknown__", "a=b=y", "a=__unknown__"])).toEqual([
      { name: "k", start: 0, size: 1 },
      { name: "a=b", start: 1, size: 2 },
      { name: "a", start: 3, size: 2 },
    ]);
  });

  it("refuses names that do not form groups, naming the column", () => {
    const cases: [string[], RegExp][] = [
      [["a", "=__unknown__"], /Feature 1 \('=__unknown__'\) closes a one-hot group without a column name/],
      [["p=A", "p=__unknown__", "p=__unknown__"], /The one-hot group 'p' is closed twice \(feature 2/],
      [
        ["p=A", "x", "p=B", "p=__unknown__"],
        /'p' is not contiguous: feature 0 \('p=A'\) is apart from its columns 2\.\.3/,
      ],
    ];
    for (const [names, message] of cases) {
      const error = thrown(() => oneHotGroups(names));
      expect(error.code).toBe("ONE_HOT_GROUPS_INVALID");
      expect(error.message).toMatch(message);
    }
  });

  it("nativeGroups leaves groups of more than 255 columns one-hot", () => {
    const big = [...Array.from({ length: 255 }, (_, k) => `b=${k}`), "b=__unknown__"];
    expect(nativeGroups(["n", ...big, "s=x", "s=__unknown__"])).toEqual([{ name: "s", start: 257, size: 2 }]);
  });
});

describe("X → X'", () => {
  it("keeps the other columns, then one category index per group (NaN when no column is hot)", () => {
    const x = oneHot(
      [
        [1.5, -2],
        [0, Number.NaN],
        [3, 4],
      ],
      [
        { name: "p", size: 3, values: [2, 0, null] },
        { name: "q", size: 2, values: [1, 1, 0] },
      ],
      ["n1", "n2"],
    );
    const layout = categoricalLayout(x.featureNames, oneHotGroups(x.featureNames));
    expect(layout.featureNames).toEqual(["n1", "n2", "p", "q"]);
    expect(Array.from(layout.categories)).toEqual([0, 0, 3, 2]);
    const out = toCategorical(layout, x);
    expect(out.cols).toBe(4);
    expect(out.featureNames).toEqual(["n1", "n2", "p", "q"]);
    expect(Array.from(out.values)).toEqual([1.5, -2, 2, 1, 0, Number.NaN, 0, 1, 3, 4, Number.NaN, 0]);
  });

  it("refuses groups that do not fit the names, and inputs of the wrong width", () => {
    const names = ["n", "p=A", "p=__unknown__"];
    const cases: [{ name: string; start: number; size: number }, RegExp][] = [
      [{ name: "p", start: 1, size: 3 }, /columns 1\.\.3 are out of range/],
      [{ name: "p", start: 0, size: 3 }, /column 0 is not a 'p=' column/],
      [{ name: "q", start: 1, size: 2 }, /column 2 is not 'q=__unknown__'/],
      [{ name: "p", start: -1, size: 2 }, /start\/size are not a column range/],
    ];
    for (const [group, message] of cases) {
      const error = thrown(() => categoricalLayout(names, [group]));
      expect(error.code).toBe("TREE_MODEL_INVALID");
      expect(error.message).toMatch(message);
    }
    const layout = categoricalLayout(names, oneHotGroups(names));
    const error = thrown(() => toCategorical(layout, matrix([[1, 0]])));
    expect(error.code).toBe("MODEL_INPUT_SHAPE");
    expect(error.message).toMatch(/expects 3 features per row, got 2/);
  });
});

describe("category-set splits", () => {
  it("bins a categorical feature one bin per category, and refuses more than 255 categories", () => {
    const x = matrix([[0], [3], [Number.NaN], [1]]);
    const mapper = fitBins(x, 2, 1, Int32Array.from([5]));
    expect(mapper.nBins[0]).toBe(5);
    expect(Array.from(applyBins(mapper, x).codes)).toEqual([0, 3, 5, 1]);
    expect(() => fitBins(x, 255, 1, Int32Array.from([256]))).toThrow(
      /feature 0: a categorical feature has 1\.\.255 categories \(got 256\)/,
    );
  });

  it("a category goes left only inside its node's words with its bit set", () => {
    const bits = Uint32Array.from([0, 0b101, 1 << 3]);
    // Words 1 … 2 of the array: categories 0 and 2, and 35.
    for (const [v, left] of [
      [0, true],
      [2, true],
      [1, false],
      [35, true],
      [64, false],
      [-0, true],
      [-1, false],
      [2.5, false],
      [Number.NaN, false],
      [Number.POSITIVE_INFINITY, false],
    ] as const)
      expect(inCategorySet(bits, 1, 2, v), String(v)).toBe(left);
  });

  it("isolates a non-contiguous set of categories ({0, 2, 5} of 8) exactly", () => {
    const rng = createRng(3);
    const rows: number[][] = [];
    const n = 800;
    for (let i = 0; i < n; i++) rows.push([i % 8, rng()]);
    const x = matrix(rows);
    const categories = Int32Array.from([8, 0]);
    const data = applyBins(fitBins(x, 255, 1, categories), x);
    // Gradients: negative for categories 0, 2 and 5, positive for the rest, noise on both; the numeric column is noise.
    const g = Float64Array.from(rows, ([c]) => ([0, 2, 5].includes(c!) ? -1 : 1) + 0.3 * (rng() - 0.5));
    const h = new Float64Array(n).fill(1);
    const grower = new Grower(
      data,
      3,
      {
        maxLeaves: 2,
        maxDepth: Number.POSITIVE_INFINITY,
        minSamplesLeaf: 20,
        minSamplesSplit: 40,
        minHessianLeaf: 1e-3,
        lambda: 0,
        criterion: "gini",
        midpoint: false,
        featuresPerSplit: 0,
      },
      0,
    );
    const rowsOf = Int32Array.from({ length: n }, (_, i) => i);
    const tree = grower.grow(
      rowsOf,
      n,
      Int32Array.from([0, 1]),
      2,
      { kind: "gradient", gradients: g, hessians: h, shrinkage: 1 },
      () => 0.5,
    );
    expect(tree.feature[0]).toBe(0);
    expect(Number.isNaN(tree.threshold[0]!)).toBe(true);
    expect(tree.catOffset![0]).toBe(0);
    expect(Array.from(tree.catBits!)).toEqual([(1 << 0) | (1 << 2) | (1 << 5)]);
    expect(tree.count[tree.left[0]!]).toBe(300);
    expect(tree.missingLeft[0]).toBe(0);
    // The rows were partitioned by set membership.
    const [, start, end] = grower.leafRanges.slice(0, 3);
    const leftRows = Array.from(rowsOf.subarray(start!, end!));
    const inLeft = tree.left[0] === grower.leafRanges[0];
    for (const r of leftRows) expect([0, 2, 5].includes(rows[r]![0]!)).toBe(inLeft);
  });
});

interface SklearnNode {
  leaf: boolean;
  feature: "num" | "cat" | null;
  categorical: boolean;
  leftSet: number[];
  threshold: number | null;
  missingLeft: boolean;
  left: number;
  right: number;
  count: number;
  value: number;
}
interface SklearnCase {
  name: string;
  categories: number;
  params: { rounds: number; maxLeaves: number; minSamplesLeaf: number };
  num: number[];
  cat: (number | null)[];
  y: number[];
  firstTree: SklearnNode[];
  probabilities: number[];
}

describe("gbdt native = scikit-learn HistGradientBoostingClassifier(categorical_features) (exact bins)", async () => {
  const reference = JSON.parse(await readFile(path.join(FIXTURES, "categorical-sklearn.json"), "utf8")) as {
    cases: SklearnCase[];
  };
  for (const c of reference.cases) {
    it(`${c.name}: same category sets, counts, leaf values and probabilities`, async () => {
      const x = oneHot(
        c.num.map((v) => [v]),
        [{ name: "cat", size: c.categories, values: c.cat }],
        ["num"],
      );
      const train = { x, y: Int32Array.from(c.y) };
      const model = await trained(
        gbdtKind,
        {
          ...c.params,
          learningRate: 1,
          l2: 0,
          maxBins: 255,
          minHessianLeaf: 1e-3,
          categorical: "native",
        },
        fitData(train, train, 2),
        keepAll(),
      );
      const e = model.ensemble;
      expect(e.roots.length).toBe(c.params.rounds);
      expect(Array.from(e.categories)).toEqual([0, c.categories]);
      const hasMissing = c.cat.some((v) => v === null);
      let categoricalNodes = 0;
      const walk = (ours: number, theirs: number): void => {
        const t = c.firstTree[theirs]!;
        expect(e.count[ours]).toBe(t.count);
        if (t.leaf) {
          expect(e.feature[ours]).toBe(-1);
          expect(e.value[ours]).toBeCloseTo(t.value, 5);
          return;
        }
        // X' = [num, cat].
        expect(e.feature[ours]).toBe(t.feature === "num" ? 0 : 1);
        if (t.categorical) {
          categoricalNodes++;
          expect(leftSet(e, ours)).toEqual(t.leftSet);
          if (hasMissing) expect(e.missingLeft[ours] === 1).toBe(t.missingLeft);
        } else {
          expect(e.catOffset[ours]).toBe(-1);
          // Our matrix is float32: the same midpoint of float32 values.
          expect(e.threshold[ours]).toBeCloseTo(t.threshold!, 6);
        }
        walk(e.left[ours]!, t.left);
        walk(e.right[ours]!, t.right);
      };
      walk(e.roots[0]!, 0);
      expect(categoricalNodes).toBeGreaterThan(0);
      const p = model.predict(x);
      c.probabilities.forEach((v, r) => {
        expect(Math.abs(p[r * 2 + 1]! - v)).toBeLessThan(1e-5);
      });
    });
  }
});

/** A one-hot task whose signal is a set of categories of one group, plus a numeric effect and a second group. */
function task(n: number, seed: number): { x: FeatureMatrix; y: Int32Array } {
  const rng = createRng(seed);
  const num: number[][] = [];
  const a: (number | null)[] = [];
  const b: (number | null)[] = [];
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = rng() * 2 - 1;
    const ca = Math.floor(rng() * 9);
    const cb = Math.floor(rng() * 4);
    num.push([v]);
    a.push(ca);
    b.push(cb);
    const score = ([1, 4, 6].includes(ca) ? 1.2 : -0.6) + v + (cb === 2 ? 0.5 : 0) + (rng() - 0.5);
    y[i] = score > 0 ? 1 : 0;
  }
  const x = oneHot(
    num,
    [
      { name: "a", size: 9, values: a },
      { name: "b", size: 4, values: b },
    ],
    ["v"],
  );
  return { x, y };
}

describe("tree format version 2", () => {
  it("save → load predicts identically; importance is reported per group", async () => {
    const train = task(600, 1);
    const valid = task(200, 2);
    const model = await trained(
      gbdtKind,
      { rounds: 15, maxLeaves: 6, minSamplesLeaf: 10, categorical: "native" },
      fitData(train, valid, 2),
      keepAll(),
    );
    expect(model.groups).toEqual([
      { name: "a", start: 1, size: 9 },
      { name: "b", start: 10, size: 4 },
    ]);
    expect(model.treeFeatureNames).toEqual(["v", "a", "b"]);
    expect(model.ensemble.catBits.length).toBeGreaterThan(0);
    const importance = model.importance();
    expect(importance.map((i) => i.feature).sort()).toEqual(["a", "b", "v"]);
    expect(importance[0]!.feature).toBe("a");
    const dir = await tempDir();
    await model.save(dir);
    const header = JSON.parse(await readFile(path.join(dir, "trees.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(header.version).toBe(2);
    expect(header.groups).toEqual(model.groups);
    const loaded = await gbdtKind.load(dir, gbdtKind.params.parse({}), {
      featureNames: train.x.featureNames,
      classes: ["c0", "c1"],
    });
    const probe = task(300, 3).x;
    expect(Array.from(loaded.predict(probe))).toEqual(Array.from(model.predict(probe)));
    // The training-time walk (validation scores during boosting) is the reference prediction.
    const xPrime = toCategorical(categoricalLayout(train.x.featureNames, model.groups), probe);
    expect(Array.from(model.predict(probe))).toEqual(Array.from(walkEnsemble(model.ensemble, xPrime)));
  });

  it("one-hot models (the default) are unchanged: no categories, and the compiled predictor equals the walk", async () => {
    const train = task(400, 4);
    const model = await trained(
      gbdtKind,
      { rounds: 8, maxLeaves: 5 },
      fitData(train, task(100, 5), 2),
      keepAll(),
    );
    expect(model.groups).toEqual([]);
    expect(model.ensemble.catBits.length).toBe(0);
    expect(Array.from(model.ensemble.categories).every((m) => m === 0)).toBe(true);
    const probe = task(150, 6).x;
    expect(Array.from(predictEnsemble(model.ensemble, probe))).toEqual(
      Array.from(walkEnsemble(model.ensemble, probe)),
    );
  });

  it("a version-1 file written before categorical splits loads and predicts bit-identically", async () => {
    const dir = path.join(FIXTURES, "v1-gbdt");
    const expected = JSON.parse(await readFile(path.join(dir, "expected.json"), "utf8")) as {
      featureNames: string[];
      classes: string[];
      rows: (number | null)[][];
      probabilities: number[];
    };
    const header = JSON.parse(await readFile(path.join(dir, "trees.json"), "utf8")) as { version: number };
    expect(header.version).toBe(1);
    const model = await gbdtKind.load(dir, gbdtKind.params.parse({}), {
      featureNames: expected.featureNames,
      classes: expected.classes,
    });
    const x = matrix(
      expected.rows.map((row) => row.map((v) => (v === null ? Number.NaN : v))),
      expected.featureNames,
    );
    expect(Array.from(model.predict(x))).toEqual(expected.probabilities);
  });

  describe("corrupt files are refused by name", async () => {
    const train = task(300, 7);
    const model = await trained(
      gbdtKind,
      { rounds: 4, maxLeaves: 4, minSamplesLeaf: 10, categorical: "native" },
      fitData(train, task(100, 8), 2),
      keepAll(),
    );
    const shape = { featureNames: train.x.featureNames, classes: ["c0", "c1"] };
    const saved = await tempDir();
    await model.save(saved);
    const e = model.ensemble;
    const firstCategorical = Array.from(e.catOffset).findIndex((o) => o >= 0);

    /** A copy of the saved model with its header (and optionally its arrays) changed. */
    async function damaged(
      change: (header: {
        sections: { name: string; offset: number; length: number }[];
        groups: unknown[];
      }) => void,
      bytes?: (b: Buffer, header: { sections: { name: string; offset: number; length: number }[] }) => Buffer,
    ): Promise<string> {
      const dir = await tempDir();
      await cp(saved, dir, { recursive: true });
      const header = JSON.parse(await readFile(path.join(dir, "trees.json"), "utf8"));
      change(header);
      await writeFile(path.join(dir, "trees.json"), JSON.stringify(header));
      if (bytes !== undefined) {
        const b = await readFile(path.join(dir, "trees.bin"));
        await writeFile(path.join(dir, "trees.bin"), bytes(b, header));
      }
      return dir;
    }
    const section = (h: { sections: { name: string; offset: number; length: number }[] }, name: string) =>
      h.sections.find((s) => s.name === name)!;

    const cases: [string, () => Promise<string>, RegExp][] = [
      [
        "catOffset out of range",
        () =>
          damaged(
            () => {},
            (b, h) => {
              const s = section(h, "catOffset");
              b.writeInt32LE(e.catBits.length, s.offset + 4 * firstCategorical);
              return b;
            },
          ),
        new RegExp(`node ${firstCategorical}: catOffset ${e.catBits.length} is out of range`),
      ],
      [
        "bitset section truncated",
        () =>
          damaged(
            () => {},
            (b, h) => b.subarray(0, section(h, "catBits").offset + 4 * e.catBits.length - 4),
          ),
        /trees\.bin is truncated \(array catBits\)/,
      ],
      [
        "bitset section shortened in the header",
        () =>
          damaged((h) => {
            section(h, "catBits").length = 0;
          }),
        new RegExp(`node ${firstCategorical}: catOffset \\d+ is out of range \\(1 words of 0\\)`),
      ],
      [
        "category set on a numeric node",
        () =>
          damaged(
            () => {},
            (b, h) => {
              const numericNode = Array.from(e.feature).indexOf(0);
              b.writeInt32LE(0, section(h, "catOffset").offset + 4 * numericNode);
              return b;
            },
          ),
        /has a category set \(catOffset 0\) but no categorical split/,
      ],
      [
        "groups that do not match the categories",
        () =>
          damaged((h) => {
            h.groups = h.groups.slice(0, 1);
          }),
        /feature 1 has 9 categories where the groups give 0/,
      ],
    ];
    for (const [name, make, message] of cases) {
      it(name, async () => {
        const dir = await make();
        const error = await gbdtKind.load(dir, gbdtKind.params.parse({}), shape).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(error).toBeInstanceOf(WorkbenchError);
        expect((error as WorkbenchError).code).toBe("TREE_MODEL_INVALID");
        expect((error as WorkbenchError).message).toMatch(message);
      });
    }
  });
});

describe("hpc with native categorical splits", () => {
  it("the compiled predictor (predict.ts) equals the training-time walk to the bit", async () => {
    const config = await loadTrainConfig(path.join(projectRoot(), "configs", "hpc.yaml"), [
      "data.limit=2000",
    ]);
    const mirror = datasetMirror();
    const prepared = await prepareData(config, mirror ? { mirror } : {});
    scratch.push(prepared.workDir);
    const data = {
      train: prepared.matrices.train,
      trainLabels: prepared.labels.train,
      validation: prepared.matrices.validation,
      validationLabels: prepared.labels.validation,
      classes: prepared.classes,
    };
    const model = await trained(
      gbdtKind,
      { rounds: 25, maxLeaves: 15, categorical: "native" },
      data,
      fitOptionsFor(config),
    );
    expect(model.groups.map((g) => g.name)).toEqual(prepared.preprocessor.categorical.map((c) => c.name));
    const e = model.ensemble;
    expect(e.catBits.length).toBeGreaterThan(0);
    const layout = categoricalLayout(prepared.preprocessor.featureNames, model.groups);
    for (const x of [prepared.matrices.validation, prepared.matrices.test]) {
      const xPrime = toCategorical(layout, x);
      // walkEnsemble walks with the nodes training scored validation with (addTreePrediction's leafOf).
      expect(Array.from(predictEnsemble(e, xPrime))).toEqual(Array.from(walkEnsemble(e, xPrime)));
      expect(Array.from(model.predict(x))).toEqual(Array.from(walkEnsemble(e, xPrime)));
    }
  });
});
