import { TrackingError } from "../shared/errors.js";

/** The server's limits (mlflow/utils/validation.py), checked before sending so nothing is truncated. */
export const LIMITS = {
  metricsPerBatch: 1000,
  paramsPerBatch: 100,
  tagsPerBatch: 100,
  entitiesPerBatch: 1000,
  batchBytes: 1_000_000,
  keyLength: 250,
  paramValueLength: 6000,
  tagValueLength: 8000,
} as const;

/** What to do with NaN and ±Infinity metric values. */
export type NonFiniteMetricPolicy = "reject" | "record";

function invalid(message: string, details: Record<string, unknown>): TrackingError {
  return new TrackingError("INVALID_PARAMETER_VALUE", message, { details, attempts: 0 });
}

function checkKey(kind: string, key: string): void {
  if (key === "") throw invalid(`${kind} key must not be empty.`, { kind });
  if (key.length > LIMITS.keyLength) {
    throw invalid(
      `${kind} key '${key.slice(0, 60)}…' is ${key.length} characters; MLflow allows ${LIMITS.keyLength}.`,
      {
        kind,
        key,
      },
    );
  }
}

export function checkParam(key: string, value: string): void {
  checkKey("Param", key);
  if (value.length > LIMITS.paramValueLength) {
    throw invalid(
      `Param '${key}' value is ${value.length} characters; MLflow allows ${LIMITS.paramValueLength}. Log long values as an artifact instead.`,
      { key, length: value.length, limit: LIMITS.paramValueLength },
    );
  }
}

export function checkTag(key: string, value: string): void {
  checkKey("Tag", key);
  if (value.length > LIMITS.tagValueLength) {
    throw invalid(
      `Tag '${key}' value is ${value.length} characters; MLflow allows ${LIMITS.tagValueLength}. Log long values as an artifact instead.`,
      { key, length: value.length, limit: LIMITS.tagValueLength },
    );
  }
}

export function checkMetric(key: string, value: number, step: number, policy: NonFiniteMetricPolicy): void {
  checkKey("Metric", key);
  if (typeof value !== "number") {
    throw invalid(`Metric '${key}' at step ${step} is not a number (got ${typeof value}).`, { key, step });
  }
  if (!Number.isFinite(value) && policy === "reject") {
    throw invalid(
      `Metric '${key}' at step ${step} is ${value}; refusing to log a non-finite value. ` +
        "Fix the computation, or create the client with nonFiniteMetrics: 'record' to store it as MLflow does.",
      { key, step, value: String(value) },
    );
  }
  if (!Number.isInteger(step))
    throw invalid(`Metric '${key}' step must be an integer (got ${step}).`, { key, step });
}
