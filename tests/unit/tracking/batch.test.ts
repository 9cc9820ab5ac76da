import { describe, expect, it } from "vitest";
import { chunkBatch, SERVER_LIMITS, toWireBatch, type WireBatch } from "../../../src/tracking/batch.js";

function batchOf(metrics: number, params: number, tags: number, valueSize = 4): WireBatch {
  return toWireBatch(
    {
      metrics: Array.from({ length: metrics }, (_, i) => ({ key: `m${i % 10}`, value: i, step: i })),
      params: Object.fromEntries(Array.from({ length: params }, (_, i) => [`p${i}`, "v".repeat(valueSize)])),
      tags: Object.fromEntries(Array.from({ length: tags }, (_, i) => [`t${i}`, "x".repeat(valueSize)])),
    },
    1_700_000_000_000,
  );
}

function within(chunks: WireBatch[], limits = SERVER_LIMITS) {
  for (const [i, c] of chunks.entries()) {
    const total = c.metrics.length + c.params.length + c.tags.length;
    expect(c.metrics.length, `chunk ${i} metrics`).toBeLessThanOrEqual(limits.metrics);
    expect(c.params.length, `chunk ${i} params`).toBeLessThanOrEqual(limits.params);
    expect(c.tags.length, `chunk ${i} tags`).toBeLessThanOrEqual(limits.tags);
    expect(total, `chunk ${i} entities`).toBeLessThanOrEqual(limits.entities);
    const bytes = Buffer.byteLength(JSON.stringify({ run_id: "0123456789abcdef0123456789abcdef", ...c }));
    expect(bytes, `chunk ${i} bytes`).toBeLessThanOrEqual(limits.bytes);
  }
}

function flatten(chunks: WireBatch[]): WireBatch {
  return {
    metrics: chunks.flatMap((c) => c.metrics),
    params: chunks.flatMap((c) => c.params),
    tags: chunks.flatMap((c) => c.tags),
  };
}

describe("chunkBatch", () => {
  it("given 10,000 metrics, 100 params and 50 tags, then every chunk is within limits and nothing is lost", () => {
    const batch = batchOf(10_000, 100, 50);
    const chunks = chunkBatch(batch);
    within(chunks);
    expect(flatten(chunks), "same items in the same order").toEqual(batch);
    expect(chunks.length).toBe(11);
  });

  it("given 250 params and 250 tags, then they are split by the 100-per-request limit, params first", () => {
    const chunks = chunkBatch(batchOf(0, 250, 250));
    within(chunks);
    expect(chunks.map((c) => [c.params.length, c.tags.length])).toEqual([
      [100, 0],
      [100, 0],
      [50, 100],
      [0, 100],
      [0, 50],
    ]);
  });

  it("given params of 5,000 characters, then the ~1 MB body limit splits them before the count limit", () => {
    const batch = batchOf(0, 300, 0, 5_000); // ~1.5 MB of params
    const limits = { ...SERVER_LIMITS, params: 1000 };
    const chunks = chunkBatch(batch, limits);
    within(chunks, limits);
    expect(chunks.length).toBeGreaterThan(1);
    expect(flatten(chunks).params).toEqual(batch.params);
  });

  it("given an empty batch, then there is nothing to send", () => {
    expect(chunkBatch(batchOf(0, 0, 0))).toEqual([]);
  });

  it("given non-finite values, then they are spelled as proto3 JSON strings", () => {
    const wire = toWireBatch(
      {
        metrics: [
          { key: "a", value: Number.NaN },
          { key: "b", value: -Infinity, step: 2 },
        ],
      },
      5,
    );
    expect(wire.metrics).toEqual([
      { key: "a", value: "NaN", timestamp: 5, step: 0 },
      { key: "b", value: "-Infinity", timestamp: 5, step: 2 },
    ]);
  });
});
