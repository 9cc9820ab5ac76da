import { parse, stringify } from "yaml";
import { WorkbenchError } from "../shared/errors.js";

/** What an MLmodel file can only say once its logged model exists (MLflow's `Model.log` sets the same). */
export interface LoggedIdentity {
  runId: string;
  modelId: string;
  /** The logged model's artifact location, e.g. `mlflow-artifacts:/1/models/m-…/artifacts`. */
  artifactUri: string;
}

/**
 * Returns the MLmodel text with `run_id`, `model_id`, `model_uuid` (MLflow 3 uses the model id) and
 * `artifact_path` set, everything else kept. Written with YAML 1.1 quoting, as PyYAML reads it: a string
 * such as `utc_time_created` or `yes` stays a string instead of becoming a timestamp or a boolean.
 */
export function stampMlmodel(text: string, identity: LoggedIdentity, where = "MLmodel"): string {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (cause) {
    throw new WorkbenchError("MODEL_PACKAGE_INVALID", `${where} is not valid YAML: ${String(cause)}`, {
      cause,
    });
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc))
    throw new WorkbenchError(
      "MODEL_PACKAGE_INVALID",
      `${where} must be a YAML mapping (MLflow's MLmodel format), not ${Array.isArray(doc) ? "a list" : String(doc)}.`,
    );
  const stamped: Record<string, unknown> = {
    ...(doc as Record<string, unknown>),
    artifact_path: identity.artifactUri,
    run_id: identity.runId,
    model_id: identity.modelId,
    model_uuid: identity.modelId,
  };
  return stringify(stamped, { version: "1.1" });
}
