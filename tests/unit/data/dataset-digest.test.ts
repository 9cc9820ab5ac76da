import { describe, expect, it } from "vitest";
import { type FrameColumn, pandasDigest } from "../../../src/data/dataset-digest.js";
import type { DatasetManifest } from "../../../src/data/manifest.js";
import { datasetSource, splitDatasetInput, splitFrame } from "../../../src/data/mlflow-dataset.js";
import type { Table } from "../../../src/data/table.js";

// Expected digests computed by MLflow 3.17.2 with pandas 3.1.1 (the venv's pins), e.g.
//   .venv/bin/python -c "import pandas as pd, numpy as np
//   from mlflow.data.digest_utils import compute_pandas_digest
//   print(compute_pandas_digest(pd.DataFrame({'z': [3, 1], 'a': [0.25, 2.5]})))"      # 8b3d8c4a
// (mlflow.data.from_pandas(frame).digest gives the same).
describe("pandasDigest equals MLflow's compute_pandas_digest", () => {
  it("given int, str, float (NaN, -0.0), a str column with a missing value and a bool column, then 6d50a44e", () => {
    // pd.DataFrame({"b_num": [1, 2, -3, 40000000000], "a_str": ["x", "héllo", "x", "a longer string of 20+ bytes"],
    //   "c_f": [0.5, np.nan, -0.0, 1e300], "d_str_na": ["p", None, "q", "r"], "Z": [True, False, True, True]})
    const columns: FrameColumn[] = [
      { name: "b_num", dtype: "int64", values: [1, 2, -3, 40_000_000_000] },
      { name: "a_str", dtype: "str", values: ["x", "héllo", "x", "a longer string of 20+ bytes"] },
      { name: "c_f", dtype: "float64", values: [0.5, Number.NaN, -0, 1e300] },
      { name: "d_str_na", dtype: "str", values: ["p", null, "q", "r"] },
      // A bool column is not hashed (neither str nor a number); only its name counts.
      { name: "Z", dtype: "str", values: [null, null, null, null] },
    ];
    expect(pandasDigest(columns, 4)).toBe("6d50a44e");
    expect(pandasDigest([columns[0]!, columns[2]!], 4), "numbers only").toBe("1ac24af8");
    expect(pandasDigest([columns[1]!], 4), "one str column").toBe("c8449403");
  });

  it("given numeric columns only, then their order is kept (Index.union with an empty side): 8b3d8c4a", () => {
    const frame: FrameColumn[] = [
      { name: "z", dtype: "int64", values: [3, 1] },
      { name: "a", dtype: "float64", values: [0.25, 2.5] },
    ];
    expect(pandasDigest(frame, 2)).toBe("8b3d8c4a");
    expect(pandasDigest([...frame].reverse(), 2), "another column order, another digest").not.toBe(
      "8b3d8c4a",
    );
  });

  it("given 10,001 rows, then the first 10,000 are hashed and the count is included: 893feef9", () => {
    // pd.DataFrame({"id": np.arange(10_001), "label": ["yes" if i % 3 else "no" for i in range(10_001)]})
    const n = 10_001;
    const frame: FrameColumn[] = [
      { name: "id", dtype: "int64", values: Array.from({ length: n }, (_, i) => i) },
      { name: "label", dtype: "str", values: Array.from({ length: n }, (_, i) => (i % 3 ? "yes" : "no")) },
    ];
    expect(pandasDigest(frame, n)).toBe("893feef9");
  });
});

const manifest = {
  name: "tiny",
  source: { url: "https://example.org/tiny.csv", format: "csv", rDoubles: [] },
  target: { column: "y", classes: ["0", "1"] },
  idColumns: ["ID"],
  columns: {
    ID: { type: "number", integer: true, nullable: false },
    amount: { type: "number", integer: false, nullable: true },
    code: { type: "category", values: ["1", "2"], recode: {}, nullable: false },
    city: { type: "category", recode: {}, nullable: true },
  },
} as unknown as DatasetManifest;

const table: Table = {
  rowCount: 3,
  numeric: { amount: Float64Array.from([1.5, Number.NaN, 3]) },
  categorical: { code: ["1", "2", "2"], city: ["Oslo", "", "Rome"] },
  text: {},
  target: ["0", "1", "0"],
  ids: { ID: ["10", "11", "12"] },
  lines: Int32Array.from([2, 3, 4]),
};

describe("a split as MLflow's dataset", () => {
  it("given a split, then its frame has pandas' dtypes in manifest order with the target last", () => {
    expect(splitFrame(manifest, table).map((c) => [c.name, c.dtype])).toEqual([
      ["ID", "int64"],
      ["amount", "float64"],
      ["code", "int64"],
      ["city", "str"],
      ["y", "int64"],
    ]);
  });

  it("given the split, then the dataset input has an 8-hex digest, the official URL as source and the context tag", () => {
    const input = splitDatasetInput(manifest, "validation", table, "f".repeat(64), {
      path: "/mirror/tiny/tiny.csv",
      sha256: "a".repeat(64),
    });
    expect(input.dataset.name).toBe("tiny-validation");
    expect(input.dataset.digest).toBe(pandasDigest(splitFrame(manifest, table), 3));
    expect(input.dataset.digest).toMatch(/^[0-9a-f]{8}$/);
    expect(input.dataset.sourceType).toBe("http");
    expect(JSON.parse(input.dataset.source)).toEqual({
      url: "https://example.org/tiny.csv",
      sha256: "a".repeat(64),
      read_from: "/mirror/tiny/tiny.csv",
    });
    expect(input.tags).toEqual({ "mlflow.data.context": "eval" });
  });

  it("given a local source.path manifest, then the source is MLflow's local {uri}", () => {
    const local = {
      ...manifest,
      source: { path: "data.csv", format: "csv", rDoubles: [] },
    } as DatasetManifest;
    expect(datasetSource(local, { path: "/home/me/data.csv", sha256: "b".repeat(64) })).toEqual({
      sourceType: "local",
      source: JSON.stringify({ uri: "/home/me/data.csv", sha256: "b".repeat(64) }),
    });
  });
});
