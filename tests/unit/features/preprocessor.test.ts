import { describe, expect, it } from "vitest";
import { featuresSchema } from "../../../src/config/train-config.js";
import type { DatasetManifest } from "../../../src/data/manifest.js";
import type { Table } from "../../../src/data/table.js";
import { fitPreprocessor, type PreprocessorState, transform } from "../../../src/features/preprocessor.js";

const manifest = {
  columns: {
    amount: { type: "number", integer: false, nullable: true },
    limit: { type: "number", integer: false, nullable: false },
    color: { type: "category", values: ["red", "green", "blue"], recode: {}, nullable: false },
  },
  idColumns: [],
} as unknown as DatasetManifest;

function table(amount: number[], limit: number[], color: string[]): Table {
  return {
    rowCount: amount.length,
    numeric: { amount: Float64Array.from(amount), limit: Float64Array.from(limit) },
    categorical: { color },
    text: {},
    target: [],
    ids: {},
    lines: Int32Array.from(amount, (_, i) => i + 2),
  };
}

const config = featuresSchema.parse({
  numeric: { scaler: "robust", signedLog: ["amount"], clip: 5 },
  categorical: { minFrequency: 2 },
  engineered: [{ name: "ratio", kind: "ratio", numerator: "amount", denominator: "limit" }],
});
const train = table(
  [0, 10, 100, 1000, -50, Number.NaN],
  [100, 100, 200, 400, 100, 100],
  ["red", "red", "green", "green", "blue", "red"],
);

describe("preprocessor", () => {
  it("fits on train: robust scaling after signed log, medians for missing values, rare categories to the unknown bucket", () => {
    const state = fitPreprocessor(train, config, manifest);
    expect(state.featureNames).toEqual([
      "amount",
      "limit",
      "ratio",
      "color=green",
      "color=red",
      "color=__unknown__",
    ]);
    const amount = state.numeric.find((s) => s.name === "amount")!;
    expect(amount.signedLog).toBe(true);
    expect(amount.fill).toBeCloseTo(Math.log1p(10), 12);
    const x = transform(state, table([Number.NaN], [100], ["blue"]));
    expect(x.values[0], "missing amount → median → 0 after robust centring").toBeCloseTo(0, 6);
    expect(Array.from(x.values.slice(3)), "blue was rare in train → unknown bucket").toEqual([0, 0, 1]);
  });

  it("a JSON round trip of the fitted state gives identical outputs", () => {
    const state = fitPreprocessor(train, config, manifest);
    const restored = JSON.parse(JSON.stringify(state)) as PreprocessorState;
    const input = table([5, 1e6, -3, Number.NaN], [100, 50, 1, 0], ["red", "purple", "green", "blue"]);
    expect(transform(restored, input).values).toEqual(transform(state, input).values);
  });

  it("clips extreme values and never divides by zero", () => {
    const state = fitPreprocessor(train, config, manifest);
    const x = transform(state, table([1e12], [0], ["red"]));
    expect(Array.from(x.values.slice(0, 3)).every((v) => Number.isFinite(v) && Math.abs(v) <= 5)).toBe(true);
  });

  it("given a config naming an unknown column, then CONFIG_INVALID lists it", () => {
    const bad = featuresSchema.parse({ numeric: { signedLog: ["amonut"] } });
    expect(() => fitPreprocessor(train, bad, manifest)).toThrow(
      /features.numeric.signedLog.0: unknown column 'amonut'/,
    );
  });
});
