import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY } from "../../../src/tracking/connection.js";
import { backoffSeconds, isRetryableStatus, parseRetryAfter } from "../../../src/tracking/retry.js";

describe("retry policy", () => {
  it("retries 429 and server errors, never other client errors", () => {
    for (const status of [429, 500, 502, 503, 504])
      expect(isRetryableStatus(status), String(status)).toBe(true);
    for (const status of [400, 401, 403, 404, 409, 413, 501])
      expect(isRetryableStatus(status), String(status)).toBe(false);
  });

  it("backs off exponentially from the factor, capped, plus jitter", () => {
    const policy = { ...DEFAULT_RETRY, backoffFactor: 2, backoffJitter: 1, maxBackoffSeconds: 120 };
    const noJitter = () => 0;
    expect([1, 2, 3, 4].map((k) => backoffSeconds(policy, k, noJitter))).toEqual([2, 4, 8, 16]);
    expect(backoffSeconds(policy, 10, noJitter), "capped at maxBackoffSeconds").toBe(120);
    expect(
      backoffSeconds(policy, 1, () => 0.5),
      "jitter adds random * jitter",
    ).toBe(2.5);
  });

  it("honours a longer Retry-After, within the cap", () => {
    const policy = { ...DEFAULT_RETRY, backoffFactor: 1, backoffJitter: 0, maxBackoffSeconds: 30 };
    expect(backoffSeconds(policy, 1, () => 0, 5)).toBe(5);
    expect(backoffSeconds(policy, 1, () => 0, 500)).toBe(30);
  });

  it("parses Retry-After in seconds and as an HTTP date", () => {
    expect(parseRetryAfter("3")).toBe(3);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
