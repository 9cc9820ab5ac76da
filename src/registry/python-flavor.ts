// The MLflow `python_function` flavor every model package carries, so that Python loads and serves it
// (`mlflow.pyfunc.load_model`, `mlflow models serve`, `mlflow models predict`, and every deployment target built
// on them) without Node.js. The loader is python/workbench_pyfunc.py, copied into the package's code/ folder:
// MLflow puts code/ on sys.path and imports `loader_module` from it (its `code_paths` convention). It reads the
// package's own files (model-meta.json, preprocessor.json, estimator/) with numpy — why numpy rather than an
// ONNX export is in the module's docstring.
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { WorkbenchError } from "../shared/errors.js";

/** The module MLflow imports from code/ (its `_load_pyfunc(path)` returns the model). */
export const PYFUNC_LOADER_MODULE = "workbench_pyfunc";
/** Package folder holding the loader (the flavor's `code`). */
export const PYFUNC_CODE_DIR = "code";
/** Python the package declares: the pinned numpy 2.4 and pandas 3.1 need 3.11 or later. */
export const PYFUNC_PYTHON_VERSION = "3.11";
/** What the loader needs, pinned as in constraints.txt (a unit test keeps them equal). */
export const PYFUNC_REQUIREMENTS: readonly string[] = ["mlflow==3.17.2", "numpy==2.4.6", "pandas==3.1.1"];

/**
 * The model kinds workbench_pyfunc.py can run (its `_load_kind`; a unit test keeps the two equal): every tabular
 * kind and tfidf-linear (TF-IDF and linear weights ported to numpy). A package of any other kind (the text kinds'
 * tokenizers and networks) carries no python_function flavor rather than one that fails at load.
 */
export const PYFUNC_KINDS: readonly string[] = [
  "logistic",
  "mlp",
  "gbdt",
  "random-forest",
  "decision-tree",
  "knn",
  "linear-svm",
  "tfidf-linear",
];

/** Whether the Python loader can run a package of this kind. */
export function hasPythonLoader(kind: string): boolean {
  return PYFUNC_KINDS.includes(kind);
}

/** The flavor entry of the MLmodel file (keys as mlflow.pyfunc.add_to_model writes them). */
export function pythonFunctionFlavor(): Record<string, unknown> {
  return {
    loader_module: PYFUNC_LOADER_MODULE,
    code: PYFUNC_CODE_DIR,
    env: { conda: "conda.yaml", virtualenv: "python_env.yaml" },
    python_version: PYFUNC_PYTHON_VERSION,
  };
}

/** Where the loader's source lives beside this module (src/registry/python/). */
export function pyfuncLoaderSource(): string {
  return fileURLToPath(new URL(`./python/${PYFUNC_LOADER_MODULE}.py`, import.meta.url));
}

/** Writes code/workbench_pyfunc.py and the environment files (requirements.txt, python_env.yaml, conda.yaml). */
export async function writePythonFunctionFiles(dir: string, source = pyfuncLoaderSource()): Promise<void> {
  await mkdir(path.join(dir, PYFUNC_CODE_DIR), { recursive: true });
  try {
    await copyFile(source, path.join(dir, PYFUNC_CODE_DIR, `${PYFUNC_LOADER_MODULE}.py`));
  } catch (cause) {
    throw new WorkbenchError(
      "PYFUNC_LOADER_MISSING",
      `The Python loader ${source} is missing, so the package would not load in Python: run from a checkout of the workbench (src/registry/python/ ships beside this module).`,
      { cause, details: { source } },
    );
  }
  await writeFile(path.join(dir, "requirements.txt"), `${PYFUNC_REQUIREMENTS.join("\n")}\n`);
  // Through a YAML writer: a hand-written `python: 3.11` would be read back as the number 3.11, which MLflow's
  // virtualenv restore refuses.
  await writeFile(
    path.join(dir, "python_env.yaml"),
    stringify({
      python: PYFUNC_PYTHON_VERSION,
      build_dependencies: ["pip", "setuptools", "wheel"],
      dependencies: ["-r requirements.txt"],
    }),
  );
  await writeFile(
    path.join(dir, "conda.yaml"),
    stringify({
      channels: ["conda-forge"],
      dependencies: [`python=${PYFUNC_PYTHON_VERSION}`, "pip", { pip: [...PYFUNC_REQUIREMENTS] }],
      name: "mlflow-env",
    }),
  );
}
