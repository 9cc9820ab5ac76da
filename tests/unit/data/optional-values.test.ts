import path from "node:path";
import { describe, expect, it } from "vitest";
import { featuresSchema } from "../../../src/config/train-config.js";
import { parseManifest } from "../../../src/data/manifest.js";
import { mlflowColumnType } from "../../../src/data/mlflow-dataset.js";
import { readValidatedCsv } from "../../../src/data/validate.js";
import { fitPreprocessor, transform, UNKNOWN } from "../../../src/features/preprocessor.js";
import { tempDir } from "../../helpers/temp.js";

const tmp = tempDir("optional-values-");

// A category column without `values`: every value is accepted, the categories come from the training rows.
const manifest = parseManifest(
  {
    name: "pets",
    title: "Pets",
    source: { path: "pets.csv" },
    target: { column: "y", classes: ["no", "yes"] },
    columns: {
      weight: { type: "number" },
      animal: { type: "category", nullable: true },
      size: { type: "category", values: ["S", "M", "L"] },
    },
  },
  path.join("/tmp", "pets.yaml"),
);

describe("category columns without a values list", () => {
  it("given any value in the file, then validation accepts it; the preprocessor learns train's categories and sends unseen ones to the unknown bucket", async () => {
    const file = await tmp.file(
      "pets.csv",
      ["weight,animal,size,y", "4,cat,S,no", "30,dog,L,yes", "5,cat,M,no", "3,,S,no", "25,dog,L,yes"].join(
        "\n",
      ),
    );
    const { table, report } = await readValidatedCsv(
      file,
      { columns: manifest.columns, idColumns: [], target: { column: "y", classes: ["no", "yes"] } },
      { maxBadFraction: 0 },
    );
    expect(report.rowsQuarantined, "no value is unknown without a list").toBe(0);
    const state = fitPreprocessor(table, featuresSchema.parse({}), manifest);
    expect(state.categorical.find((s) => s.name === "animal")?.categories).toEqual(["cat", "dog"]);
    expect(state.featureNames).toContain(`animal=${UNKNOWN}`);

    // Scoring: a parrot was never seen in training.
    const scored = transform(state, {
      rowCount: 2,
      numeric: { weight: Float64Array.from([1, 28]) },
      categorical: { animal: ["parrot", "dog"], size: ["S", "L"] },
      text: {},
      target: [],
      ids: {},
      lines: Int32Array.from([2, 3]),
    });
    const at = (row: number, name: string) =>
      scored.values[row * scored.cols + state.featureNames.indexOf(name)] ?? Number.NaN;
    expect(at(0, `animal=${UNKNOWN}`), "unseen → unknown bucket").toBe(1);
    expect(at(0, "animal=cat") + at(0, "animal=dog")).toBe(0);
    expect(at(1, "animal=dog")).toBe(1);
    expect(at(1, `animal=${UNKNOWN}`)).toBe(0);
  });

  it("given a values list, then an unlisted value is still quarantined (today's behaviour)", async () => {
    const file = await tmp.file(
      "sizes.csv",
      ["weight,animal,size,y", "4,cat,XL,no", "5,cat,S,no"].join("\n"),
    );
    const { report } = await readValidatedCsv(
      file,
      { columns: manifest.columns, idColumns: [], target: { column: "y", classes: ["no", "yes"] } },
      { maxBadFraction: 1 },
    );
    expect(report.problemCounts).toEqual({ unknown_category: 1 });
  });

  it("without a values list the signature types the column as a string", () => {
    expect(mlflowColumnType(manifest, "animal")).toBe("string");
    expect(mlflowColumnType(manifest, "size")).toBe("string");
  });
});
