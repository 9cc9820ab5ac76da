// Issue 13, item 10: every model package loads in Python through MLflow's own pyfunc loader and scores what the
// TypeScript model scores. Each kind is trained small on the credit-default (binary, category codes, engineered
// features) and hpc (4 classes, string categories) holdouts, packaged, and scored on both sides: the
// probabilities agree to 1e-5 and the labels (threshold or arg-max) agree.
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { fitOptionsFor, loadTrainConfig } from "../../../src/config/train-config.js";
import { featureColumns, positiveClass } from "../../../src/data/manifest.js";
import { mlflowColumnType } from "../../../src/data/mlflow-dataset.js";
import { KIND_NAMES, modelKind } from "../../../src/models/kinds/index.js";
import { TreeModel } from "../../../src/models/trees/tree-model.js";
import { type PreparedData, prepareData } from "../../../src/pipelines/prepare-data.js";
import {
  PACKAGE_FORMAT_VERSION,
  type SignatureColumn,
  writeModelPackage,
} from "../../../src/registry/model-package.js";
import {
  PYFUNC_REQUIREMENTS,
  pyfuncLoaderSource,
  writePythonFunctionFiles,
} from "../../../src/registry/python-flavor.js";
import { loadPredictor } from "../../../src/serving/model-source.js";
import type { Prediction } from "../../../src/serving/predictor.js";
import { projectRoot } from "../../../src/shared/project.js";
import { datasetMirror } from "../../helpers/datasets.js";
import { rejectionOf } from "../../helpers/expect-error.js";
import {
  expectParity,
  type PyfuncCase,
  type PyfuncResult,
  pyfuncPredict,
  signatureRows,
  splitCase,
} from "../../helpers/pyfunc.js";

const DATASETS = ["credit-default", "hpc"] as const;
type Dataset = (typeof DATASETS)[number];
/** Tiny settings per kind and dataset; the mlp variants cover every activation and batch norm. */
const MODELS: { dataset: Dataset; kind: string; params: Record<string, unknown>; label?: string }[] = [
  ...DATASETS.flatMap((dataset) => [
    { dataset, kind: "logistic", params: { epochs: 4, batchSize: 128, learningRate: 0.02 } },
    { dataset, kind: "gbdt", params: { rounds: 12, maxLeaves: 7 } },
    { dataset, kind: "random-forest", params: { trees: 6, minSamplesLeaf: 5 } },
    { dataset, kind: "decision-tree", params: { maxDepth: 5 } },
    { dataset, kind: "linear-svm", params: { maxIter: 8 } },
  ]),
  { dataset: "credit-default", kind: "mlp", params: { epochs: 3, hiddenUnits: [8, 4], batchNorm: true } },
  { dataset: "hpc", kind: "mlp", params: { epochs: 3, hiddenUnits: [8], activation: "swish" } },
  { dataset: "hpc", kind: "mlp", params: { epochs: 2, hiddenUnits: [6], activation: "selu" }, label: "selu" },
  { dataset: "hpc", kind: "mlp", params: { epochs: 2, hiddenUnits: [6], activation: "elu" }, label: "elu" },
  { dataset: "hpc", kind: "mlp", params: { epochs: 2, hiddenUnits: [6], activation: "tanh" }, label: "tanh" },
  // Native categorical splits (tree format 2: category columns from the one-hot groups, category-set nodes).
  {
    dataset: "hpc",
    kind: "gbdt",
    params: { rounds: 12, maxLeaves: 7, categorical: "native" },
    label: "native",
  },
  {
    dataset: "credit-default",
    kind: "gbdt",
    params: { rounds: 12, maxLeaves: 7, categorical: "native" },
    label: "native",
  },
  { dataset: "credit-default", kind: "knn", params: { k: 7, weights: "distance" } },
  { dataset: "hpc", kind: "knn", params: { k: 5, metric: "manhattan", smoothing: 1, maxRows: 500 } },
];
/** hpc columns the packages declare optional, so rows may leave them out (MLflow and us: missing → imputed). */
const OPTIONAL = new Set(["protocol", "hour", "day"]);
/** The threshold binary packages carry (the label is the positive class at or above it). */
const THRESHOLD = 0.35;

const mirror = datasetMirror();
const scratch: string[] = [];
const data = new Map<Dataset, PreparedData>();
const packages: {
  name: string;
  kind: string;
  dir: string;
  dataset: Dataset;
  inputs: SignatureColumn[];
  classes: string[];
  threshold?: number;
}[] = [];
const expected = new Map<string, Prediction[]>();
const answers = new Map<string, PyfuncResult>();
/** Bad inputs and damaged packages, answered in the same Python process. */
const BAD_CASES = [
  "missingColumn",
  "requiredMissing",
  "extraColumns",
  "unknownKind",
  "newerFormat",
  "textCells",
  "badCells",
  "notAString",
  "recodedCodes",
] as const;
/** The credit-default holdout's first rows with every cell as text (as a CSV carries them), and TypeScript's answer. */
let textRows: Record<string, unknown>[] = [];
let textExpected: Prediction[] = [];
/** Holdout rows with EDUCATION and MARRIAGE recoded (4, 3), and TypeScript's answer for them. */
let recodedExpected: Prediction[] = [];
const bad = new Map<(typeof BAD_CASES)[number], PyfuncResult>();

/** A copy of a package with model-meta.json fields replaced. */
async function copyWithMeta(dir: string, changes: Record<string, unknown>): Promise<string> {
  const copy = `${dir}-${Object.keys(changes).join("-")}`;
  await cp(dir, copy, { recursive: true });
  const meta = JSON.parse(await readFile(path.join(copy, "model-meta.json"), "utf8")) as Record<
    string,
    unknown
  >;
  await writeFile(path.join(copy, "model-meta.json"), JSON.stringify({ ...meta, ...changes }));
  return copy;
}

afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

/** Holdout rows, plus (hpc) rows with missing optional values and categories training never saw. */
function rowsOf(dataset: Dataset, inputs: SignatureColumn[]) {
  const rows = signatureRows(data.get(dataset)!.splits.holdout, inputs);
  if (dataset !== "hpc") return rows;
  const base = rows[0]!;
  return [
    ...rows,
    { ...base, protocol: null, hour: null, day: null },
    { ...base, protocol: "ZZ", day: "Funday" },
    { ...base, hour: null, protocol: "A", day: "Sun" },
  ];
}

beforeAll(async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), "pyfunc-parity-"));
  scratch.push(root);
  for (const dataset of DATASETS) {
    const config = await loadTrainConfig(path.join(projectRoot(), "configs", `${dataset}.yaml`), [
      "data.limit=2000",
    ]);
    const prepared = await prepareData(config, mirror ? { mirror } : {});
    scratch.push(prepared.workDir);
    data.set(dataset, prepared);
    for (const spec of MODELS.filter((m) => m.dataset === dataset)) {
      const name = `${spec.kind}${spec.label ? `-${spec.label}` : ""} on ${dataset}`;
      const kind = modelKind(spec.kind);
      const params = kind.params.parse(spec.params);
      const model = await kind.create(params, {
        featureNames: prepared.preprocessor.featureNames,
        classes: prepared.classes,
      });
      await model.fit(
        {
          train: prepared.matrices.train,
          trainLabels: prepared.labels.train,
          validation: prepared.matrices.validation,
          validationLabels: prepared.labels.validation,
          classes: prepared.classes,
        },
        fitOptionsFor(config),
      );
      // The native variants must exercise categorical nodes, or their parity proves nothing about them.
      if (spec.label === "native" && !(model instanceof TreeModel && model.ensemble.catBits.length > 0))
        throw new Error(`${name}: no categorical split was grown`);
      const threshold = prepared.classes.length === 2 ? THRESHOLD : undefined;
      const inputs: SignatureColumn[] = featureColumns(prepared.manifest).map((column) => ({
        name: column,
        type: mlflowColumnType(prepared.manifest, column),
        required: !OPTIONAL.has(column),
      }));
      const dir = path.join(root, name.replace(/\W+/g, "-"));
      await writeModelPackage(dir, {
        model,
        preprocessor: prepared.preprocessor,
        example: [],
        meta: {
          formatVersion: PACKAGE_FORMAT_VERSION,
          name: `parity-${spec.kind}`,
          kind: spec.kind,
          params,
          target: prepared.manifest.target.column,
          classes: prepared.classes,
          positiveClass: positiveClass(prepared.manifest),
          threshold,
          inputs,
          featureNames: prepared.preprocessor.featureNames,
          metrics: {},
          backend: "cpu",
          dataFingerprint: prepared.splits.fingerprints.train,
          trainedAt: "2026-01-01T00:00:00.000Z",
        },
      });
      model.dispose();
      // The TypeScript side: the package loaded back, scoring JSON rows as the service does.
      const predictor = await loadPredictor(dir, undefined);
      try {
        expected.set(name, predictor.predict(rowsOf(dataset, inputs)));
      } finally {
        predictor.retire();
      }
      packages.push({
        name,
        kind: spec.kind,
        dir,
        dataset,
        inputs,
        classes: prepared.classes,
        ...(threshold ? { threshold } : {}),
      });
    }
  }
  const cases: PyfuncCase[] = packages.map((p) => splitCase(p.dir, rowsOf(p.dataset, p.inputs), p.inputs));
  const credit = packages.find((p) => p.name === "gbdt on credit-default")!;
  const hpc = packages.find((p) => p.name === "gbdt on hpc")!;
  const row = rowsOf("credit-default", credit.inputs)[0]!;
  textRows = rowsOf("credit-default", credit.inputs)
    .slice(0, 20)
    .map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)])));
  textRows[0] = {
    ...textRows[0]!,
    LIMIT_BAL: ` ${textRows[0]!.LIMIT_BAL} `,
    PAY_0: `${textRows[0]!.PAY_0}.0`,
  };
  const creditPredictor = await loadPredictor(credit.dir, undefined);
  try {
    textExpected = creditPredictor.predict(textRows, "text");
  } finally {
    creditPredictor.retire();
  }
  // The manifest's raw codes (EDUCATION 0, 5, 6 → 4, MARRIAGE 0 → 3, as data/credit-default.yaml recodes them)
  // sent to a package whose signature carries the maps: Python must score them as TypeScript scores 4 and 3.
  // The logistic model reads every one-hot column, so an unseen code would score otherwise.
  const linear = packages.find((p) => p.name === "logistic on credit-default")!;
  const recodedRows = rowsOf("credit-default", linear.inputs)
    .slice(0, 20)
    .map((r) => ({ ...r, EDUCATION: 4, MARRIAGE: 3 }));
  const rawRows = recodedRows.map((r, i) => ({ ...r, EDUCATION: [0, 5, 6][i % 3], MARRIAGE: 0 }));
  const recodedInputs = linear.inputs.map((c) =>
    c.name === "EDUCATION"
      ? { ...c, recode: { "0": "4", "5": "4", "6": "4" } }
      : c.name === "MARRIAGE"
        ? { ...c, recode: { "0": "3" } }
        : c,
  );
  const recodedDir = await copyWithMeta(linear.dir, { inputs: recodedInputs });
  const plainPredictor = await loadPredictor(linear.dir, undefined);
  const recodedPredictor = await loadPredictor(recodedDir, undefined);
  try {
    recodedExpected = plainPredictor.predict(recodedRows);
    expect(plainPredictor.predict(rawRows), "without the maps the raw codes are unseen").not.toEqual(
      recodedExpected,
    );
    expect(
      recodedPredictor.predict(rawRows),
      "TypeScript scores the raw codes as the recoded values",
    ).toEqual(recodedExpected);
  } finally {
    plainPredictor.retire();
    recodedPredictor.retire();
  }
  const { AGE: _age, ...withoutAge } = row;
  const badCases: Record<(typeof BAD_CASES)[number], PyfuncCase> = {
    missingColumn: splitCase(credit.dir, [withoutAge], credit.inputs),
    // NaN in a float64 column passes MLflow's schema enforcement; the loader refuses it where it is required.
    requiredMissing: splitCase(credit.dir, [row, { ...row, LIMIT_BAL: null }], credit.inputs),
    // The holdout CSV's ID and target columns, as a client may send them.
    extraColumns: splitCase(credit.dir, [{ ...row, ID: 7, "default.payment.next.month": 1 }], credit.inputs),
    unknownKind: splitCase(await copyWithMeta(credit.dir, { kind: "xgboost" }), [row], credit.inputs),
    newerFormat: splitCase(await copyWithMeta(credit.dir, { formatVersion: 3 }), [row], credit.inputs),
    // Straight to the package's loader (no MLflow schema enforcement in front): cells as a CSV carries them.
    textCells: { ...splitCase(credit.dir, textRows, []), direct: true },
    badCells: {
      ...splitCase(
        credit.dir,
        [
          { ...row, LIMIT_BAL: "abc" },
          { ...row, SEX: "NA" },
          { ...row, PAY_AMT1: true },
        ],
        [],
      ),
      direct: true,
    },
    notAString: { ...splitCase(hpc.dir, [{ ...rowsOf("hpc", hpc.inputs)[0]!, day: 3 }], []), direct: true },
    recodedCodes: splitCase(recodedDir, rawRows, recodedInputs),
  };
  const results = await pyfuncPredict([...cases, ...BAD_CASES.map((k) => badCases[k])]);
  for (const [i, p] of packages.entries()) answers.set(p.name, results[i]!);
  for (const [i, k] of BAD_CASES.entries()) bad.set(k, results[packages.length + i]!);
}, 600_000);

describe("python_function flavor: MLflow's pyfunc loader scores like the TypeScript model", () => {
  it("covers every tabular model kind on a binary and a multiclass dataset", () => {
    // Text kinds read text: tfidf-linear's parity is pyfunc-text-parity.test.ts, the others have no Python loader.
    const tabular = KIND_NAMES.filter((k) => (modelKind(k).input ?? "tabular") === "tabular");
    for (const dataset of DATASETS)
      expect(new Set(packages.filter((p) => p.dataset === dataset).map((p) => p.kind)), dataset).toEqual(
        new Set(tabular),
      );
  });

  it.each(MODELS.map((m) => [`${m.kind}${m.label ? `-${m.label}` : ""} on ${m.dataset}`]))(
    "%s: same probabilities (to 1e-5) and labels on the holdout",
    (name) => {
      const p = packages.find((x) => x.name === name)!;
      expectParity(name, answers.get(name), expected.get(name)!, p.classes, p.threshold);
      // Not a model that answers one constant: its probabilities move from row to row.
      const first = expected.get(name)!.map((e) => e.probabilities[p.classes[0]!]!);
      expect(new Set(first).size, `${name} varies over the holdout`).toBeGreaterThan(1);
    },
  );
});

describe("python_function flavor: bad input and damaged packages", () => {
  const errorOf = (key: (typeof BAD_CASES)[number]) => {
    const result = bad.get(key);
    expect(result?.error, `${key} raised`).toBeDefined();
    return result!.error!;
  };

  it("a DataFrame without a required column is refused by MLflow's schema enforcement, naming the column", () => {
    const error = errorOf("missingColumn");
    expect(error.type).toBe("MlflowException");
    expect(error.message).toContain("Model is missing inputs ['AGE']");
  });

  it("no value in a required column is refused by the loader, with the row and the column", () => {
    const error = errorOf("requiredMissing");
    expect(error.type).toBe("WorkbenchInputError");
    expect(error.message).toBe("1 problem in the input: row 1, 'LIMIT_BAL': missing (required)");
  });

  it("extra columns (the holdout's ID and target) are ignored, as MLflow ignores them", () => {
    const p = packages.find((x) => x.name === "gbdt on credit-default")!;
    expectParity(
      "extra columns",
      bad.get("extraColumns"),
      expected.get(p.name)!.slice(0, 1),
      p.classes,
      p.threshold,
    );
  });

  it("cells as text are read as our CSV reader reads them (' 50000 ' is 50000, category '2.0' is '2')", () => {
    const p = packages.find((x) => x.name === "gbdt on credit-default")!;
    expectParity("text cells", bad.get("textCells"), textExpected, p.classes, p.threshold);
  });

  it("cells the loader cannot read are all listed, with the row, the column and why", () => {
    const error = errorOf("badCells");
    expect(error.type).toBe("WorkbenchInputError");
    expect(error.message).toBe(
      "3 problems in the input: row 0, 'LIMIT_BAL': not a number: 'abc'; row 1, 'SEX': missing (required); row 2, 'PAY_AMT1': expected a number, got bool",
    );
  });

  it("a number in a string column is refused (as our service refuses it)", () => {
    const error = errorOf("notAString");
    expect(error.type).toBe("WorkbenchInputError");
    expect(error.message).toBe("1 problem in the input: row 0, 'day': expected a string, got int 3");
  });

  it("the manifest's raw category codes (EDUCATION 0, 5, 6; MARRIAGE 0) score as their recoded values (4, 3), as in TypeScript", () => {
    const p = packages.find((x) => x.name === "logistic on credit-default")!;
    expectParity("recoded codes", bad.get("recodedCodes"), recodedExpected, p.classes, p.threshold);
  });

  it("a package of a kind the loader does not know is refused at load time, naming the kind", () => {
    const error = errorOf("unknownKind");
    expect(error.type).toBe("WorkbenchModelError");
    expect(error.message).toContain(
      "the package holds a model of kind 'xgboost', which this loader does not know",
    );
  });

  it("a package of a newer format is refused at load time, naming the formats", () => {
    const error = errorOf("newerFormat");
    expect(error.type).toBe("WorkbenchModelError");
    expect(error.message).toContain("is a format 3 model package; this loader reads formats 1 to 2");
  });
});

describe("python_function flavor: what the package holds", () => {
  it("MLmodel names the loader, its code folder and environments as mlflow.pyfunc.add_to_model writes them", async () => {
    const dir = packages[0]!.dir;
    const mlmodel = parse(await readFile(path.join(dir, "MLmodel"), "utf8")) as {
      flavors: Record<string, unknown>;
    };
    expect(mlmodel.flavors.python_function).toEqual({
      loader_module: "workbench_pyfunc",
      code: "code",
      env: { conda: "conda.yaml", virtualenv: "python_env.yaml" },
      python_version: "3.11",
    });
    expect(await readFile(path.join(dir, "code", "workbench_pyfunc.py"), "utf8")).toBe(
      await readFile(pyfuncLoaderSource(), "utf8"),
    );
    expect(await readFile(path.join(dir, "requirements.txt"), "utf8")).toBe(
      `${PYFUNC_REQUIREMENTS.join("\n")}\n`,
    );
    expect(parse(await readFile(path.join(dir, "python_env.yaml"), "utf8"))).toEqual({
      python: "3.11",
      build_dependencies: ["pip", "setuptools", "wheel"],
      dependencies: ["-r requirements.txt"],
    });
  });

  it("the package's requirements are pinned as the project's constraints.txt pins them", async () => {
    const constraints = await readFile(path.join(projectRoot(), "constraints.txt"), "utf8");
    for (const requirement of PYFUNC_REQUIREMENTS) {
      const [name] = requirement.split("==");
      const pinned = constraints.split("\n").find((line) => line.startsWith(`${name}==`));
      expect(pinned, `${name} in constraints.txt`).toBe(requirement);
    }
  });

  it("without the loader's source the package is refused before it is written half-loadable", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "pyfunc-missing-"));
    scratch.push(dir);
    const error = await rejectionOf(writePythonFunctionFiles(dir, path.join(dir, "nowhere.py")));
    expect(error.code).toBe("PYFUNC_LOADER_MISSING");
    expect(error.message).toContain(`The Python loader ${path.join(dir, "nowhere.py")} is missing`);
  });
});
