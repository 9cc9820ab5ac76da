import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { stringify } from "yaml";
import { z } from "zod";
import { parseNumberField } from "../data/csv-value.js";
import type { PreprocessorState } from "../features/preprocessor.js";
import { KIND_NAMES, modelKind } from "../models/kinds/index.js";
import type { Model } from "../models/model.js";
import { WorkbenchError } from "../shared/errors.js";
import { MLFLOW_VERSION } from "./mlflow-version.js";
import { hasPythonLoader, pythonFunctionFlavor, writePythonFunctionFiles } from "./python-flavor.js";
import { mlflowSignatureInputs, type SignatureColumn } from "./signature.js";

/** The flavor name this project's loader answers to in MLmodel files. */
export const FLAVOR = "tfjs_workbench";
/**
 * 2: any kind; the kind's own files in estimator/ (model-meta.json names the kind).
 * 1: written before the Model seam: logistic or mlp networks only, in tfjs/. Still loaded.
 */
export const PACKAGE_FORMAT_VERSION = 2;
/** Where each format keeps the kind's files. */
const MODEL_DIRS: Record<number, string> = { 1: "tfjs", 2: "estimator" };

export type { SignatureColumn } from "./signature.js";

/** Everything serving needs besides the network and the preprocessor. */
export interface ModelMeta {
  formatVersion: number;
  name: string;
  kind: string;
  params: Record<string, unknown>;
  target: string;
  classes: string[];
  positiveClass: string | undefined;
  /** Decision threshold on the positive class (binary tasks). */
  threshold: number | undefined;
  inputs: SignatureColumn[];
  featureNames: string[];
  metrics: Record<string, number>;
  backend: string;
  dataFingerprint: string;
  trainedAt: string;
}

const metaSchema = z.object({
  formatVersion: z.number().int(),
  name: z.string(),
  kind: z.string(),
  params: z.record(z.unknown()),
  target: z.string(),
  classes: z.array(z.string()).min(2),
  positiveClass: z.string().optional(),
  threshold: z.number().optional(),
  inputs: z.array(
    z.object({
      name: z.string(),
      type: z.enum(["double", "long", "string"]),
      required: z.boolean(),
      text: z
        .object({ maxLength: z.number().int().positive(), overLength: z.enum(["truncate", "reject"]) })
        .optional(),
      // Absent in packages written before the manifest's category recodes travelled with the model.
      recode: z.record(z.string()).optional(),
    }),
  ),
  featureNames: z.array(z.string()),
  metrics: z.record(z.number()),
  backend: z.string(),
  dataFingerprint: z.string(),
  trainedAt: z.string(),
});

export interface PackagedModel {
  model: Model;
  preprocessor: PreprocessorState;
  meta: ModelMeta;
  dir: string;
}

/**
 * MLflow's MLmodel document: our flavor, an MLflow-format signature and the input example, and the fields
 * MLflow's own writer puts at the top (model_uuid, mlflow_version, model_size_bytes, utc_time_created as a
 * string). run_id and model_id exist only once the model is logged: tracking/mlmodel-stamp.ts adds them then.
 */
function mlmodelDocument(
  meta: ModelMeta,
  files: { sizeBytes: number; modelUuid: string },
): Record<string, unknown> {
  const outputs: SignatureColumn[] = [
    { name: "label", type: "string", required: true },
    ...meta.classes.map((c) => ({ name: `probability_${c}`, type: "double" as const, required: true })),
  ];
  return {
    artifact_path: "model",
    flavors: {
      [FLAVOR]: {
        loader_module: "tfjs-mlops-workbench/src/registry/model-package",
        format_version: PACKAGE_FORMAT_VERSION,
        kind: meta.kind,
        model_dir: MODEL_DIRS[PACKAGE_FORMAT_VERSION],
        preprocessor: "preprocessor.json",
        meta: "model-meta.json",
        tfjs_version: "4.22.0",
        backend: meta.backend,
      },
      ...(hasPythonLoader(meta.kind) ? { python_function: pythonFunctionFlavor() } : {}),
    },
    signature: {
      inputs: mlflowSignatureInputs(meta.inputs),
      outputs: mlflowSignatureInputs(outputs),
      params: null,
    },
    saved_input_example_info: {
      artifact_path: "input_example.json",
      type: "dataframe",
      pandas_orient: "split",
    },
    utc_time_created: meta.trainedAt.replace("T", " ").replace("Z", ""),
    model_uuid: files.modelUuid,
    mlflow_version: MLFLOW_VERSION,
    model_size_bytes: files.sizeBytes,
  };
}

/** Bytes of every file under `dir` (MLflow's get_total_file_size). */
async function directorySize(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const sizes = await Promise.all(
    entries.filter((e) => e.isFile()).map(async (e) => (await stat(path.join(e.parentPath, e.name))).size),
  );
  return sizes.reduce((a, b) => a + b, 0);
}

/**
 * One input example value in the JSON type its signature column declares: training tables hold category
 * codes as text ("2"), but a `long` column's example must be the integer 2, or the model's own service (and
 * our --strict mode) refuses its own example.
 */
function exampleValue(value: unknown, column: SignatureColumn): unknown {
  if (value === undefined || value === null) return null;
  if (column.type === "string") return String(value);
  const number = typeof value === "string" ? parseNumberField(value) : undefined;
  if (number !== undefined && (column.type === "double" || Number.isInteger(number))) return number;
  return value;
}

/** Writes the model package directory: estimator/ (the kind's files), preprocessor, meta, MLmodel, input example. */
export async function writeModelPackage(
  dir: string,
  model: {
    model: Model;
    preprocessor: PreprocessorState;
    meta: ModelMeta;
    example: Record<string, unknown>[];
  },
): Promise<string> {
  if (model.meta.formatVersion !== PACKAGE_FORMAT_VERSION)
    throw new WorkbenchError(
      "MODEL_PACKAGE_INVALID",
      `This code writes format ${PACKAGE_FORMAT_VERSION} packages (got formatVersion ${model.meta.formatVersion}).`,
    );
  await mkdir(dir, { recursive: true });
  await model.model.save(path.join(dir, MODEL_DIRS[PACKAGE_FORMAT_VERSION]!));
  await writeFile(path.join(dir, "preprocessor.json"), `${JSON.stringify(model.preprocessor, null, 2)}\n`);
  await writeFile(path.join(dir, "model-meta.json"), `${JSON.stringify(model.meta, null, 2)}\n`);
  if (hasPythonLoader(model.meta.kind)) await writePythonFunctionFiles(dir);
  const columns = model.meta.inputs.map((c) => c.name);
  await writeFile(
    path.join(dir, "input_example.json"),
    `${JSON.stringify({ columns, data: model.example.map((row) => model.meta.inputs.map((c) => exampleValue(row[c.name], c))) })}\n`,
  );
  // Written last: model_size_bytes counts every other file, as MLflow's save_model does. YAML 1.1 quoting,
  // as PyYAML reads it: utc_time_created stays a string rather than becoming a timestamp.
  const files = { sizeBytes: await directorySize(dir), modelUuid: randomUUID().replace(/-/g, "") };
  await writeFile(
    path.join(dir, "MLmodel"),
    stringify(mlmodelDocument(model.meta, files), { version: "1.1" }),
  );
  return dir;
}

/** Loads a model package written by writeModelPackage (e.g. downloaded from the registry). */
export async function loadModelPackage(dir: string): Promise<PackagedModel> {
  let metaRaw: unknown;
  let preprocessor: PreprocessorState;
  try {
    metaRaw = JSON.parse(await readFile(path.join(dir, "model-meta.json"), "utf8"));
    preprocessor = JSON.parse(
      await readFile(path.join(dir, "preprocessor.json"), "utf8"),
    ) as PreprocessorState;
  } catch (cause) {
    throw new WorkbenchError(
      "MODEL_PACKAGE_INVALID",
      `${dir} is not a model package of this project (model-meta.json / preprocessor.json unreadable).`,
      {
        cause,
      },
    );
  }
  const meta = metaSchema.safeParse(metaRaw);
  if (!meta.success) {
    throw new WorkbenchError(
      "MODEL_PACKAGE_INVALID",
      `${dir}/model-meta.json is invalid: ${meta.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  }
  const { formatVersion, kind } = meta.data;
  if (formatVersion > PACKAGE_FORMAT_VERSION || MODEL_DIRS[formatVersion] === undefined)
    throw new WorkbenchError(
      "MODEL_PACKAGE_FORMAT_UNSUPPORTED",
      `${dir} is a format ${formatVersion} model package; this version of the workbench reads formats 1 to ${PACKAGE_FORMAT_VERSION}. Update the workbench (or export the model again with this version).`,
      { details: { formatVersion, supported: PACKAGE_FORMAT_VERSION } },
    );
  if (formatVersion === 1 && kind !== "logistic" && kind !== "mlp")
    throw new WorkbenchError(
      "MODEL_PACKAGE_INVALID",
      `${dir}/model-meta.json: format 1 packages hold logistic or mlp networks, not '${kind}'.`,
    );
  if (!(KIND_NAMES as readonly string[]).includes(kind))
    throw new WorkbenchError(
      "MODEL_KIND_UNKNOWN",
      `${dir} holds a model of kind '${kind}', which this version of the workbench does not know (known: ${KIND_NAMES.join(", ")}).`,
      { details: { kind } },
    );
  const spec = modelKind(kind);
  const params = spec.params.safeParse(meta.data.params);
  if (!params.success)
    throw new WorkbenchError(
      "MODEL_PACKAGE_INVALID",
      `${dir}/model-meta.json: params do not fit kind ${kind}: ${params.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  const model = await spec.load(path.join(dir, MODEL_DIRS[formatVersion]!), params.data, {
    featureNames: meta.data.featureNames,
    classes: meta.data.classes,
    textColumns: (preprocessor.text ?? []).map((step) => step.name),
  });
  return { model, preprocessor, meta: meta.data as ModelMeta, dir };
}
