import { readFileSync } from "node:fs";
import { ConfigError } from "../shared/errors.js";

/** How the client authenticates, following MLflow's own environment variables. */
export type TrackingAuth =
  | { kind: "none" }
  | { kind: "bearer"; token: string }
  | { kind: "basic"; username: string; password: string };

/** Retry policy for transient failures (network errors, 429, 5xx). */
export interface RetryPolicy {
  /** Retries after the first attempt; 0 disables retrying. */
  maxRetries: number;
  /** Seconds; the k-th retry waits backoffFactor * 2^(k-1), capped at maxBackoffSeconds. */
  backoffFactor: number;
  /** Seconds of uniform random jitter added to each wait. */
  backoffJitter: number;
  /** Upper bound of one wait, in seconds. */
  maxBackoffSeconds: number;
}

/** Everything needed to talk to one tracking server. */
export interface TrackingConnection {
  /** Normalised base URL without a trailing slash, e.g. http://127.0.0.1:5000 */
  trackingUri: string;
  auth: TrackingAuth;
  retry: RetryPolicy;
  /** Per-request timeout in milliseconds. */
  timeoutMs: number;
  /** Skip TLS verification (MLFLOW_TRACKING_INSECURE_TLS). */
  insecureTls: boolean;
  /** PEM bundle to trust (MLFLOW_TRACKING_SERVER_CERT_PATH). */
  caCert: string | undefined;
}

/** MLflow's client defaults (mlflow/environment_variables.py). */
export const DEFAULT_RETRY: RetryPolicy = {
  maxRetries: 7,
  backoffFactor: 2,
  backoffJitter: 1,
  maxBackoffSeconds: 120,
};
export const DEFAULT_TIMEOUT_SECONDS = 120;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * MLFLOW_TRACKING_URI as configured. A blank value counts as unset (GitHub Actions passes a missing secret
 * as "", and ct.yml's zero-infrastructure mode relies on that), but `blank` is set so that callers say so.
 */
export function trackingUriFromEnv(env: Env): { uri: string | undefined; blank: boolean } {
  const raw = env.MLFLOW_TRACKING_URI;
  if (raw === undefined) return { uri: undefined, blank: false };
  return raw.trim() === "" ? { uri: undefined, blank: true } : { uri: raw, blank: false };
}

/** The warning for a blank MLFLOW_TRACKING_URI; `fallback` says what is used instead. */
export function blankTrackingUriWarning(fallback: string): string {
  return `MLFLOW_TRACKING_URI is set but empty: treated as unset, so ${fallback}. Unset it to silence this warning, or set it to your tracking server's URL.`;
}

/**
 * Validates a tracking URI before any request is made.
 * Only http(s) servers are supported: this client speaks MLflow's REST API.
 */
export function parseTrackingUri(raw: string, source = "MLFLOW_TRACKING_URI"): string {
  const value = raw.trim();
  const hint =
    "Use the URL of an MLflow tracking server, e.g. http://127.0.0.1:5000 (start one with `npm run mlflow`).";
  if (value === "") throw new ConfigError(`${source} is empty. ${hint}`, { code: "TRACKING_URI_INVALID" });
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${source}='${value}' is not a valid URL. ${hint}`, {
      code: "TRACKING_URI_INVALID",
      details: { source, value },
    });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    const scheme = url.protocol.replace(/:$/, "");
    throw new ConfigError(
      `${source}='${value}' uses the '${scheme}' scheme; this client talks to a tracking server over HTTP(S) only (file and database stores are the server's business). ${hint}`,
      { code: "TRACKING_URI_INVALID", details: { source, value, scheme } },
    );
  }
  if (url.hostname === "") {
    throw new ConfigError(`${source}='${value}' has no host. ${hint}`, {
      code: "TRACKING_URI_INVALID",
      details: { source, value },
    });
  }
  if (url.search !== "" || url.hash !== "") {
    throw new ConfigError(`${source}='${value}' must not carry a query string or fragment. ${hint}`, {
      code: "TRACKING_URI_INVALID",
      details: { source, value },
    });
  }
  if (url.username !== "" || url.password !== "") {
    throw new ConfigError(
      `${source} must not embed credentials; set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN) instead.`,
      { code: "TRACKING_URI_INVALID", details: { source } },
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

function readNumber(
  env: Env,
  name: string,
  fallback: number,
  options: { integer: boolean; min: number },
): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < options.min || (options.integer && !Number.isInteger(value))) {
    const kind = options.integer ? "an integer" : "a number";
    throw new ConfigError(`${name}='${raw}' must be ${kind} >= ${options.min}.`, {
      code: "TRACKING_ENV_INVALID",
      details: { name, value: raw },
    });
  }
  return value;
}

function readBoolean(env: Env, name: string): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return false;
  if (["1", "true", "yes"].includes(raw)) return true;
  if (["0", "false", "no"].includes(raw)) return false;
  throw new ConfigError(`${name}='${env[name]}' must be true or false.`, {
    code: "TRACKING_ENV_INVALID",
    details: { name, value: env[name] },
  });
}

function readAuth(env: Env): TrackingAuth {
  // An empty variable is an unset one (GitHub Actions passes a missing secret as ""), as in MLflow's client.
  const read = (name: string) => (env[name] === "" ? undefined : env[name]);
  const token = read("MLFLOW_TRACKING_TOKEN");
  const username = read("MLFLOW_TRACKING_USERNAME");
  const password = read("MLFLOW_TRACKING_PASSWORD");
  if ((username === undefined) !== (password === undefined)) {
    throw new ConfigError(
      "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD must be set together (basic auth); set both or neither.",
      { code: "TRACKING_ENV_INVALID" },
    );
  }
  if (username !== undefined && password !== undefined) return { kind: "basic", username, password };
  if (token !== undefined) return { kind: "bearer", token };
  return { kind: "none" };
}

export interface ResolveConnectionOptions {
  /** Overrides MLFLOW_TRACKING_URI. */
  trackingUri?: string;
  /** Environment to read; defaults to process.env at call time. */
  env?: Env;
  /** Overrides for the retry policy (tests use small waits). */
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
}

/**
 * Builds connection settings from MLflow's standard environment variables:
 * MLFLOW_TRACKING_URI, MLFLOW_TRACKING_TOKEN, MLFLOW_TRACKING_USERNAME / _PASSWORD,
 * MLFLOW_HTTP_REQUEST_MAX_RETRIES, MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR, MLFLOW_HTTP_REQUEST_BACKOFF_JITTER,
 * MLFLOW_HTTP_REQUEST_TIMEOUT, MLFLOW_TRACKING_INSECURE_TLS, MLFLOW_TRACKING_SERVER_CERT_PATH.
 */
export function resolveConnection(options: ResolveConnectionOptions = {}): TrackingConnection {
  const env = options.env ?? process.env;
  const rawUri = options.trackingUri ?? env.MLFLOW_TRACKING_URI;
  if (rawUri === undefined) {
    throw new ConfigError(
      "No tracking server configured: set MLFLOW_TRACKING_URI (e.g. http://127.0.0.1:5000) or start the local one with `npm run mlflow`.",
      { code: "TRACKING_URI_MISSING" },
    );
  }
  const trackingUri = parseTrackingUri(
    rawUri,
    options.trackingUri === undefined ? "MLFLOW_TRACKING_URI" : "trackingUri",
  );
  const retry: RetryPolicy = {
    maxRetries: readNumber(env, "MLFLOW_HTTP_REQUEST_MAX_RETRIES", DEFAULT_RETRY.maxRetries, {
      integer: true,
      min: 0,
    }),
    backoffFactor: readNumber(env, "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", DEFAULT_RETRY.backoffFactor, {
      integer: false,
      min: 0,
    }),
    backoffJitter: readNumber(env, "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", DEFAULT_RETRY.backoffJitter, {
      integer: false,
      min: 0,
    }),
    maxBackoffSeconds: DEFAULT_RETRY.maxBackoffSeconds,
    ...options.retry,
  };
  const timeoutSeconds = readNumber(env, "MLFLOW_HTTP_REQUEST_TIMEOUT", DEFAULT_TIMEOUT_SECONDS, {
    integer: false,
    min: 0.001,
  });
  const certPath = env.MLFLOW_TRACKING_SERVER_CERT_PATH;
  let caCert: string | undefined;
  if (certPath !== undefined && certPath !== "") {
    try {
      caCert = readFileSync(certPath, "utf8");
    } catch (cause) {
      throw new ConfigError(`MLFLOW_TRACKING_SERVER_CERT_PATH='${certPath}' cannot be read.`, {
        code: "TRACKING_ENV_INVALID",
        cause,
      });
    }
  }
  return {
    trackingUri,
    auth: readAuth(env),
    retry,
    timeoutMs: options.timeoutMs ?? Math.round(timeoutSeconds * 1000),
    insecureTls: readBoolean(env, "MLFLOW_TRACKING_INSECURE_TLS"),
    caCert,
  };
}
