import { describe, expect, it } from "vitest";
import { featuresSchema } from "../../../../src/config/train-config.js";
import type { DatasetManifest } from "../../../../src/data/manifest.js";
import type { Table } from "../../../../src/data/table.js";
import { fitPreprocessor, textColumnNames, transform } from "../../../../src/features/preprocessor.js";
import { ConfigError } from "../../../../src/shared/errors.js";

const manifest = {
  columns: {
    amount: { type: "number", integer: false, nullable: false },
    narrative: { type: "text", maxLength: 1000, overLength: "truncate", nullable: true },
  },
  idColumns: [],
} as unknown as DatasetManifest;

const table = (narratives: string[]): Table => ({
  rowCount: narratives.length,
  numeric: { amount: Float64Array.from(narratives, (_, i) => i) },
  categorical: {},
  text: { narrative: narratives },
  target: [],
  ids: {},
  lines: Int32Array.from(narratives, (_, i) => i + 2),
});

describe("the preprocessor with a text column", () => {
  it("given text, then the state records its normalisation and transform hands normalised texts beside the dense part", () => {
    const config = featuresSchema.parse({ text: { masks: "token" } });
    const state = fitPreprocessor(table(["Paid {$10.00} to XXXX!", ""]), config, manifest);
    expect(state.text).toEqual([
      {
        name: "narrative",
        normalize: { lowercase: true, masks: "token", numbers: "token", punctuation: "strip" },
      },
    ]);
    expect(state.featureNames).toEqual(["amount"]);
    const x = transform(JSON.parse(JSON.stringify(state)), table(["Paid {$10.00} to XXXX!", ""]));
    expect(x.cols).toBe(1);
    expect(x.texts).toEqual({ narrative: ["paid __amount__ to __mask__", ""] });
    expect(textColumnNames(x)).toEqual(["narrative"]);
  });

  it("given the text column dropped, or a tabular state from before text existed, then no texts are produced", () => {
    const dropped = fitPreprocessor(table(["a"]), featuresSchema.parse({ drop: ["narrative"] }), manifest);
    expect(dropped.text).toBeUndefined();
    expect(transform(dropped, table(["a"])).texts).toBeUndefined();
  });

  it("given input without the text column, then FEATURE_UNKNOWN names it", () => {
    const state = fitPreprocessor(table(["a"]), featuresSchema.parse({}), manifest);
    const input = { ...table(["a"]), text: {} };
    expect(() => transform(state, input)).toThrow(ConfigError);
    expect(() => transform(state, input)).toThrow("Text column 'narrative' is missing from the input.");
  });

  it("given a bad text option, then the config refuses it by path", () => {
    const parsed = featuresSchema.safeParse({ text: { masks: "hide" } });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(["text", "masks"]);
  });
});
