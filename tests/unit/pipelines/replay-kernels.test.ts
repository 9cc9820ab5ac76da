// A replay tells when the original run and the replay trained networks on different wasm kernels.
import { describe, expect, it } from "vitest";
import { kernelsDiffer, kernelsNote } from "../../../src/pipelines/replay.js";

describe("replay: wasm kernels of the original and of the replay", () => {
  it("a recipe without the field predates the workbench's kernels: tfjs' own", () => {
    expect(kernelsDiffer({ backend: "wasm" }, { backend: "wasm", wasmKernels: "workbench" })).toEqual({
      original: "tfjs",
      replay: "workbench",
    });
    expect(kernelsDiffer({ backend: "wasm" }, { backend: "wasm", wasmKernels: "tfjs" })).toBeUndefined();
  });

  it("the same kernels, or another backend on either side: nothing to say", () => {
    const ours = { backend: "wasm", wasmKernels: "workbench" as const };
    expect(kernelsDiffer({ backend: "wasm", wasmKernels: "workbench" }, ours)).toBeUndefined();
    expect(kernelsDiffer({ backend: "tensorflow" }, ours)).toBeUndefined();
    expect(kernelsDiffer({ backend: "wasm", wasmKernels: "tfjs" }, { backend: "cpu" })).toBeUndefined();
    expect(
      kernelsDiffer({ backend: "wasm", wasmKernels: "workbench" }, { backend: "wasm", wasmKernels: "tfjs" }),
    ).toEqual({ original: "workbench", replay: "tfjs" });
  });

  it("the note names both sides and the setting that reproduces the original", () => {
    expect(kernelsNote({ original: "tfjs", replay: "workbench" })).toBe(
      "the original trained on TensorFlow.js's own wasm kernels, this replay on the workbench's wasm kernels: networks differ in the last float digits; replay with WORKBENCH_WASM_KERNELS=tfjs to reproduce them bit for bit",
    );
    expect(kernelsNote({ original: "workbench", replay: "tfjs" })).toBe(
      "the original trained on the workbench's wasm kernels, this replay on TensorFlow.js's own wasm kernels: networks differ in the last float digits; replay with WORKBENCH_WASM_KERNELS unset to reproduce them bit for bit",
    );
  });
});
