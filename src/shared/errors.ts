/**
 * One base error with a stable `code`, a few named subclasses, and messages that tell the user what to do.
 * HTTP layers map these to status codes in one place; nothing here logs.
 */

/** Structured detail attached to an error (field paths, row numbers, server payloads). */
export type ErrorDetails = Readonly<Record<string, unknown>>;

export interface WorkbenchErrorOptions {
  cause?: unknown;
  details?: ErrorDetails;
}

/** Base class of every error the workbench throws on purpose. */
export class WorkbenchError extends Error {
  readonly code: string;
  readonly details: ErrorDetails;

  constructor(code: string, message: string, options: WorkbenchErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? {};
  }

  /** A JSON-safe view for logs and HTTP bodies. */
  toJSON(): { name: string; code: string; message: string; details: ErrorDetails } {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/** A configuration value (file, env var, CLI flag) is missing or invalid. */
export class ConfigError extends WorkbenchError {
  constructor(message: string, options: WorkbenchErrorOptions & { code?: string } = {}) {
    super(options.code ?? "CONFIG_INVALID", message, options);
  }
}

/** Input data does not match its declared schema. */
export class DataValidationError extends WorkbenchError {
  constructor(code: string, message: string, options: WorkbenchErrorOptions = {}) {
    super(code, message, options);
  }
}

export interface TrackingErrorOptions extends WorkbenchErrorOptions {
  /** HTTP status of the last response, when there was one. */
  status?: number;
  /** MLflow's `error_code` (e.g. RESOURCE_DOES_NOT_EXIST), when the server sent one. */
  mlflowErrorCode?: string;
  /** HTTP method and path of the failed request. */
  method?: string;
  path?: string;
  /** The tracking URI the client was talking to. */
  trackingUri?: string;
  /** How many attempts were made, retries included. */
  attempts?: number;
}

/**
 * A request to the MLflow tracking server failed.
 * `code` is MLflow's error_code when the server sent one, else one of
 * TRACKING_UNREACHABLE, TRACKING_TIMEOUT, TRACKING_HTTP_ERROR, TRACKING_BAD_RESPONSE.
 */
export class TrackingError extends WorkbenchError {
  readonly status: number | undefined;
  readonly mlflowErrorCode: string | undefined;
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly trackingUri: string | undefined;
  readonly attempts: number;

  constructor(code: string, message: string, options: TrackingErrorOptions = {}) {
    super(code, message, options);
    this.status = options.status;
    this.mlflowErrorCode = options.mlflowErrorCode;
    this.method = options.method;
    this.path = options.path;
    this.trackingUri = options.trackingUri;
    this.attempts = options.attempts ?? 1;
  }
}

/** A model (registered model, version, alias or logged model) does not exist. */
export class ModelNotFoundError extends WorkbenchError {
  constructor(message: string, options: WorkbenchErrorOptions = {}) {
    super("MODEL_NOT_FOUND", message, options);
  }
}

/** True when `error` is a TrackingError for a resource the server does not have. */
export function isNotFound(error: unknown): error is TrackingError {
  return (
    error instanceof TrackingError &&
    (error.mlflowErrorCode === "RESOURCE_DOES_NOT_EXIST" || error.status === 404)
  );
}

/** The message of any thrown value. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
