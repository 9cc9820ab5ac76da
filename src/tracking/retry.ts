import type { RetryPolicy } from "./connection.js";

/** Network error codes worth another attempt: the server may be restarting or the connection was dropped. */
const TRANSIENT_NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "ERR_SOCKET_CONNECTION_TIMEOUT",
  "UND_ERR_SOCKET",
]);

/** Statuses MLflow's own client retries: 429 and server errors (501 Not Implemented never heals). */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599 && status !== 501);
}

export function isRetryableNetworkCode(code: string | undefined): boolean {
  return code !== undefined && TRANSIENT_NETWORK_CODES.has(code);
}

/**
 * Seconds to wait before retry number `retry` (1-based): exponential backoff with uniform jitter,
 * and a server's Retry-After (seconds) respected when it asks for longer.
 */
export function backoffSeconds(
  policy: RetryPolicy,
  retry: number,
  random: () => number = Math.random,
  retryAfterSeconds?: number,
): number {
  const exponential = policy.backoffFactor * 2 ** (retry - 1);
  const base = Math.max(exponential, retryAfterSeconds ?? 0);
  return Math.min(policy.maxBackoffSeconds, base) + random() * policy.backoffJitter;
}

/** Parses a Retry-After header given in seconds or as an HTTP date. */
export function parseRetryAfter(value: unknown, now: number = Date.now()): number | undefined {
  if (typeof value !== "string" || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000);
}
