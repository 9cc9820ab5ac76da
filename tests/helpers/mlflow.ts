import { inject } from "vitest";
import { MlflowClient, type MlflowClientOptions } from "../../src/tracking/client.js";

/** A client of the throwaway test server, with short retry waits. */
export function testClient(
  options: Omit<MlflowClientOptions, "trackingUri" | "connection"> = {},
): MlflowClient {
  return new MlflowClient({
    trackingUri: inject("mlflowUri"),
    env: {},
    retry: { maxRetries: 2, backoffFactor: 0.05, backoffJitter: 0.01 },
    timeoutMs: 60_000,
    ...options,
  });
}

/** A name no other test uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
