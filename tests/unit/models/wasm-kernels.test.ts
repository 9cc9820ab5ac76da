import { execFileSync } from "node:child_process";
import path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-core/dist/register_all_gradients.js";
import { beforeAll, describe, expect, it } from "vitest";
import { initTf } from "../../../src/models/backend.js";
import {
  INSTALLED,
  installWasmKernels,
  lastTwoSwapped,
  restoreWasmKernels,
  unbatchedMatrix,
} from "../../../src/models/wasm-kernels.js";
import { createRng } from "../../../src/shared/random.js";

/** A batched product in float64: a [batch|1, m, k] · b [batch|1, k, n], with either side transposed on input. */
function reference(
  a: Float32Array,
  aShape: number[],
  b: Float32Array,
  bShape: number[],
  ta: boolean,
  tb: boolean,
): { values: Float64Array; shape: number[] } {
  const a3 = aShape.length === 2 ? [1, ...aShape] : aShape;
  const b3 = bShape.length === 2 ? [1, ...bShape] : bShape;
  const m = ta ? a3[2]! : a3[1]!;
  const k = ta ? a3[1]! : a3[2]!;
  const n = tb ? b3[1]! : b3[2]!;
  const batch = Math.max(a3[0]!, b3[0]!);
  const at = (x: Float32Array, s: number[], bi: number, i: number, j: number, t: boolean) => {
    const base = (s[0] === 1 ? 0 : bi) * s[1]! * s[2]!;
    return t ? x[base + j * s[2]! + i]! : x[base + i * s[2]! + j]!;
  };
  const values = new Float64Array(batch * m * n);
  for (let bi = 0; bi < batch; bi++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) sum += at(a, a3, bi, i, p, ta) * at(b, b3, bi, p, j, tb);
        values[(bi * m + i) * n + j] = sum;
      }
  const shape = aShape.length === 2 && bShape.length === 2 ? [m, n] : [batch, m, n];
  return { values, shape };
}

function random(size: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: size }, () => rng() * 2 - 1);
}

describe("wasm kernels: BatchMatMul with transposed operands, GatherV2 of rows", () => {
  beforeAll(async () => {
    const info = await initTf("wasm");
    expect(info.backend).toBe("wasm");
  });

  it("are installed by initTf, and installing again keeps the one wrapper each", () => {
    for (const name of ["BatchMatMul", "GatherV2"]) {
      const installed = tf.getKernel(name, "wasm") as unknown as Record<symbol, unknown>;
      expect(installed[INSTALLED]).toBe(true);
    }
    const before = tf.getKernel("BatchMatMul", "wasm")!.kernelFunc;
    expect(installWasmKernels()).toBe(true);
    expect(tf.getKernel("BatchMatMul", "wasm")!.kernelFunc).toBe(before);
  });

  it("restoreWasmKernels puts tfjs' own kernels back; installing again replaces them again", () => {
    const marked = (name: string) =>
      (tf.getKernel(name, "wasm") as unknown as Record<symbol, unknown>)[INSTALLED] === true;
    try {
      restoreWasmKernels();
      expect(marked("BatchMatMul")).toBe(false);
      expect(marked("GatherV2")).toBe(false);
      const out = tf.tidy(() => tf.matMul(tf.ones([3, 2]), tf.ones([3, 4]), true, false).dataSync());
      expect(Array.from(out)).toEqual(new Array(8).fill(3));
    } finally {
      installWasmKernels();
    }
    expect(marked("BatchMatMul")).toBe(true);
    expect(marked("GatherV2")).toBe(true);
  });

  it("WORKBENCH_WASM_KERNELS=tfjs: initTf keeps tfjs' own kernels and says so", () => {
    const script = [
      'import * as tf from "@tensorflow/tfjs-core";',
      'import { initTf } from "./src/models/backend.ts";',
      'const info = await initTf("wasm");',
      'const k = tf.getKernel("BatchMatMul", "wasm");',
      'console.log(JSON.stringify({ backend: info.backend, notes: info.notes, installed: k[Symbol.for("workbench.wasmKernel")] === true }));',
    ].join("\n");
    const run = (env: Record<string, string>) => {
      const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        cwd: path.resolve("."),
        env: { ...process.env, ...env },
        encoding: "utf8",
      });
      return JSON.parse(out.trim().split("\n").at(-1)!) as {
        backend: string;
        notes: string[];
        installed: boolean;
      };
    };
    const tfjs = run({ WORKBENCH_WASM_KERNELS: "tfjs" });
    expect(tfjs.backend).toBe("wasm");
    expect(tfjs.installed).toBe(false);
    expect(tfjs.notes).toContain("tfjs' own wasm kernels (WORKBENCH_WASM_KERNELS=tfjs)");
    const ours = run({ WORKBENCH_WASM_KERNELS: "" });
    expect(ours.installed).toBe(true);
  });

  it("takes the XNNPACK route only for unbatched, non-empty matrices", () => {
    expect(unbatchedMatrix([3, 4])).toBe(true);
    expect(unbatchedMatrix([1, 3, 4])).toBe(true);
    expect(unbatchedMatrix([1, 1, 3, 4])).toBe(true);
    expect(unbatchedMatrix([2, 3, 4])).toBe(false); // batched: the backend's loop either way
    expect(unbatchedMatrix([0, 4])).toBe(false); // empty
    expect(unbatchedMatrix([1, 3, 0])).toBe(false);
    expect(unbatchedMatrix([4])).toBe(false);
  });

  it("an empty inner dimension (Xᵀ·∂Y over 0 rows) gives zeros, not whatever was in memory", () => {
    // Fill the heap with non-zeros first, so that an unwritten output would show.
    tf.tidy(() => tf.fill([64, 64], 7).dataSync());
    const out = tf.tidy(() =>
      Array.from(tf.matMul(tf.zeros([0, 3]), tf.zeros([0, 4]), true, false).dataSync()),
    );
    expect(out).toEqual(new Array(12).fill(0));
  });

  it("a transpose that moves no data (a single row) keeps every reference balanced", () => {
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const dataIds = backend.numDataIds();
    const a = tf.tensor2d([1, 2, 3], [1, 3]);
    const b = tf.tensor2d([4, 5], [1, 2]);
    const out = tf.matMul(a, b, true, false); // [3, 1]ᵀ… a's transpose is [3, 1]: the same bytes
    expect(out.shape).toEqual([3, 2]);
    expect(Array.from(out.dataSync())).toEqual([4, 5, 8, 10, 12, 15]);
    // a is still intact and usable after the product.
    expect(Array.from(a.dataSync())).toEqual([1, 2, 3]);
    tf.dispose([a, b, out]);
    expect(backend.numDataIds()).toBe(dataIds);
  });

  it("swaps the last two axes whatever the rank", () => {
    expect(lastTwoSwapped(2)).toEqual([1, 0]);
    expect(lastTwoSwapped(3)).toEqual([0, 2, 1]);
    expect(lastTwoSwapped(4)).toEqual([0, 1, 3, 2]);
  });

  const cases: { name: string; a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [
    { name: "A·B", a: [37, 19], b: [19, 23], ta: false, tb: false },
    { name: "Aᵀ·B (a dense layer's weight gradient)", a: [64, 19], b: [64, 23], ta: true, tb: false },
    { name: "A·Bᵀ (a dense layer's input gradient)", a: [37, 23], b: [19, 23], ta: false, tb: true },
    { name: "Aᵀ·Bᵀ", a: [19, 37], b: [23, 19], ta: true, tb: true },
    { name: "batched Aᵀ·B", a: [3, 11, 5], b: [3, 11, 7], ta: true, tb: false },
    { name: "batch broadcast A·Bᵀ", a: [1, 6, 9], b: [4, 5, 9], ta: false, tb: true },
    { name: "a column vector: Aᵀ·y", a: [256, 88], b: [256, 1], ta: true, tb: false },
  ];
  for (const c of cases)
    it(`${c.name}: equals the float64 product to float32 rounding, and frees its intermediates`, () => {
      const av = random(
        c.a.reduce((x, y) => x * y, 1),
        1,
      );
      const bv = random(
        c.b.reduce((x, y) => x * y, 1),
        2,
      );
      const backend = tf.backend() as unknown as { numDataIds(): number };
      const tensors = tf.memory().numTensors;
      const dataIds = backend.numDataIds();
      const out = tf.tidy(() => tf.matMul(tf.tensor(av, c.a), tf.tensor(bv, c.b), c.ta, c.tb));
      const got = out.dataSync();
      const want = reference(av, c.a, bv, c.b, c.ta, c.tb);
      expect(out.shape).toEqual(want.shape);
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want.values[i]!));
      expect(worst).toBeLessThan(1e-5);
      out.dispose();
      expect(tf.memory().numTensors).toBe(tensors);
      expect(backend.numDataIds()).toBe(dataIds);
    });

  it("a dense layer's gradients equal the cpu backend's", async () => {
    const x = random(128 * 12, 3);
    const w = random(12 * 5, 4);
    const dy = random(128 * 5, 5);
    const grads = () =>
      tf.tidy(() => {
        const g = tf.grads((xs: tf.Tensor, ws: tf.Tensor) =>
          tf.sum(tf.mul(tf.matMul(xs, ws), tf.tensor(dy, [128, 5]))),
        );
        return g([tf.tensor(x, [128, 12]), tf.tensor(w, [12, 5])]).map((t) => t.dataSync());
      });
    const wasm = grads();
    await tf.setBackend("cpu");
    let cpu: Float32Array[];
    try {
      cpu = grads() as Float32Array[];
    } finally {
      await tf.setBackend("wasm");
    }
    for (let g = 0; g < 2; g++) {
      expect(wasm[g]!.length).toBe(cpu[g]!.length);
      for (let i = 0; i < cpu[g]!.length; i++) expect(wasm[g]![i]!).toBeCloseTo(cpu[g]![i]!, 5);
    }
  });

  const gathers: {
    name: string;
    shape: number[];
    indices: number[];
    axis?: number;
    dtype?: "float32" | "int32";
  }[] = [
    { name: "rows of a matrix (a training batch)", shape: [50, 7], indices: [49, 0, 3, 3, 17] },
    { name: "rows of a vector", shape: [20], indices: [5, 19, 0, 5] },
    { name: "int32 rows (token ids)", shape: [9, 4], indices: [8, 1], dtype: "int32" },
    { name: "a matrix of indices (an embedding lookup)", shape: [30, 3, 2], indices: [1, 2, 3, 29, 0, 7] },
    { name: "axis 1 (the original kernel)", shape: [6, 8], indices: [7, 0, 2], axis: 1 },
    { name: "negative axis -2 of a matrix (= axis 0)", shape: [6, 8], indices: [5, 1], axis: -2 },
    { name: "no indices", shape: [6, 8], indices: [] },
  ];
  for (const g of gathers)
    it(`GatherV2, ${g.name}: the same values and shape as the cpu backend, intermediates freed`, async () => {
      const size = g.shape.reduce((x, y) => x * y, 1);
      const values =
        g.dtype === "int32" ? Int32Array.from({ length: size }, (_, i) => i * 3 - 7) : random(size, 7);
      const indexShape = g.name.startsWith("a matrix of indices") ? [2, 3] : [g.indices.length];
      const run = () =>
        tf.tidy(() => {
          const out = tf.gather(
            tf.tensor(values, g.shape, g.dtype ?? "float32"),
            tf.tensor(g.indices, indexShape, "int32"),
            g.axis ?? 0,
          );
          return { shape: out.shape, data: Array.from(out.dataSync()) };
        });
      const backend = tf.backend() as unknown as { numDataIds(): number };
      const tensors = tf.memory().numTensors;
      const dataIds = backend.numDataIds();
      const wasm = run();
      expect(tf.memory().numTensors).toBe(tensors);
      expect(backend.numDataIds()).toBe(dataIds);
      await tf.setBackend("cpu");
      let cpu: ReturnType<typeof run>;
      try {
        cpu = run();
      } finally {
        await tf.setBackend("wasm");
      }
      expect(wasm).toEqual(cpu);
    });

  it("GatherV2 of booleans: the same values as the cpu backend", async () => {
    const run = () =>
      tf.tidy(() =>
        Array.from(
          tf
            .gather(tf.tensor2d([true, false, false, true, true, true], [3, 2], "bool"), [2, 0, 1])
            .dataSync(),
        ),
      );
    const wasm = run();
    await tf.setBackend("cpu");
    let cpu: number[];
    try {
      cpu = run();
    } finally {
      await tf.setBackend("wasm");
    }
    expect(wasm).toEqual(cpu);
    expect(wasm).toEqual([1, 1, 1, 0, 0, 1]);
  });

  it("GatherV2 whose output grows the wasm heap (views taken before the allocation would be detached)", () => {
    const rows = 1_000;
    const cols = 1_000;
    const values = Float32Array.from({ length: rows * cols }, (_, i) => (i % 9973) / 7);
    const index = Int32Array.from({ length: 12_000 }, (_, i) => (i * 7919) % rows);
    const heap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.byteLength;
    const before = heap();
    const got = tf.tidy(() =>
      tf.gather(tf.tensor2d(values, [rows, cols]), tf.tensor1d(index, "int32")).dataSync(),
    );
    expect(got.length).toBe(index.length * cols);
    for (const i of [0, 1, 5_000, 11_999])
      for (const j of [0, 17, cols - 1]) expect(got[i * cols + j]).toBe(values[index[i]! * cols + j]);
    // 48 MB of output on top of a 4 MB input: the heap had to grow (otherwise this test proves nothing).
    expect(heap()).toBeGreaterThan(before);
  });

  it("GatherV2 with an index out of range raises the backend's own error", () => {
    expect(() => tf.tidy(() => tf.gather(tf.zeros([4, 2]), tf.tensor1d([1, 4], "int32")))).toThrow(
      "GatherV2: the index value 4 is not in [0, 3]",
    );
    expect(() => tf.tidy(() => tf.gather(tf.zeros([4, 2]), tf.tensor1d([-1], "int32")))).toThrow(
      "GatherV2: the index value -1 is not in [0, 3]",
    );
  });
});
