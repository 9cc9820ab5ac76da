// Two kernels of tfjs-backend-wasm 4.22 replaced by faster ones, for training networks (gathers give the same
// bytes; products agree to float32 rounding):
//
// - BatchMatMul: the backend multiplies through XNNPACK only when neither operand is transposed; a transposed
//   operand takes a plain C loop 6–8× slower (credit-default's mlp [128, 64]: 2.1 ms for Aᵀ·B with A 256 × 88,
//   0.26 ms for A·B of the same size). Backpropagation through a dense layer needs exactly those products
//   (∂W = Xᵀ·∂Y, ∂X = ∂Y·Wᵀ), so they were most of a network's training time. The replacement transposes a
//   transposed operand first (the wasm Transpose kernel: a copy), then calls the original kernel untransposed.
//   Products agree with the plain loop to float32 rounding (the summation order differs) and stay deterministic.
//   Only where XNNPACK takes the product: unbatched (every leading dimension 1) and non-empty operands; a batched
//   product runs the plain loop anyway, and XNNPACK leaves the output unwritten for an empty inner dimension.
// - GatherV2 along axis 0 (no batch dims): the backend's element-by-element loop took 1.1 ms to gather 512 rows of
//   88 floats — every training batch of tfjs-layers' fit is such a gather, as is every embedding lookup. The
//   replacement copies whole rows on the wasm heap: the same bytes. Indices out of range, other axes and batch
//   dims go to the original kernel (which also raises its error for a bad index).
//
// installWasmKernels() runs in backend.ts before the wasm backend is set, unless WORKBENCH_WASM_KERNELS=tfjs (to
// reproduce, bit for bit, a network trained before these kernels: the summation order of a product differs).
import {
  type BatchMatMulAttrs,
  type BatchMatMulInputs,
  type DataType,
  type GatherV2Attrs,
  type GatherV2Inputs,
  getKernel,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  registerKernel,
  type TensorInfo,
  unregisterKernel,
} from "@tensorflow/tfjs-core";

const BACKEND = "wasm";
/** Marks an installed kernel, so that installing twice keeps one wrapper. */
export const INSTALLED = Symbol.for("workbench.wasmKernel");

/** What these kernels use of the wasm backend (public methods of BackendWasm). */
interface WasmBackend {
  disposeData(dataId: object, force?: boolean): boolean;
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** The permutation that swaps a rank-`rank` tensor's last two axes. */
export function lastTwoSwapped(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 1] = rank - 2;
  perm[rank - 2] = rank - 1;
  return perm;
}

/** tfjs' own kernels, as found before the first replacement (restoreWasmKernels puts them back). */
const originals = new Map<string, KernelConfig>();

/** Replaces `name`'s wasm kernel by `wrap(original)`; false when the backend (or kernel) is not registered. */
function replaceKernel(name: string, wrap: (original: KernelConfig) => KernelFunc): boolean {
  const original = getKernel(name, BACKEND);
  if (original === undefined) return false;
  if ((original as KernelConfig & { [INSTALLED]?: true })[INSTALLED]) return true;
  originals.set(name, original);
  const kernelFunc = wrap(original);
  unregisterKernel(name, BACKEND);
  // The original's setupFunc (binding its wasm function) still runs when the backend initialises.
  registerKernel({ ...original, kernelFunc, [INSTALLED]: true } as KernelConfig);
  return true;
}

/** True when XNNPACK multiplies `x` untransposed: a matrix (leading dimensions all 1) with no empty dimension. */
export function unbatchedMatrix(shape: readonly number[]): boolean {
  if (shape.length < 2) return false;
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 0) return false;
    if (i < shape.length - 2 && shape[i] !== 1) return false;
  }
  return true;
}

function transposedMatMul(original: KernelConfig): KernelFunc {
  const transpose = getKernel("Transpose", BACKEND);
  return ({ inputs, backend, attrs }) => {
    const { transposeA, transposeB } = attrs as unknown as BatchMatMulAttrs;
    const { a, b } = inputs as unknown as BatchMatMulInputs;
    if (
      (!transposeA && !transposeB) ||
      transpose === undefined ||
      !unbatchedMatrix((a as TensorInfo).shape) ||
      !unbatchedMatrix((b as TensorInfo).shape)
    )
      return original.kernelFunc({ inputs, backend, attrs });
    const temporaries: TensorInfo[] = [];
    const swapped = (x: TensorInfo): TensorInfo => {
      const out = transpose.kernelFunc({
        inputs: { x },
        backend,
        attrs: { perm: lastTwoSwapped(x.shape.length) },
      }) as TensorInfo;
      temporaries.push(out);
      return out;
    };
    try {
      return original.kernelFunc({
        inputs: {
          a: (transposeA ? swapped(a as TensorInfo) : a) as TensorInfo,
          b: (transposeB ? swapped(b as TensorInfo) : b) as TensorInfo,
        },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false } as NamedAttrMap,
      });
    } finally {
      for (const t of temporaries) (backend as unknown as WasmBackend).disposeData(t.dataId);
    }
  };
}

function rowGather(original: KernelConfig): KernelFunc {
  return (args) => {
    const { x, indices } = args.inputs as unknown as GatherV2Inputs & { x: TensorInfo; indices: TensorInfo };
    const { axis, batchDims } = args.attrs as unknown as GatherV2Attrs;
    const rank = x.shape.length;
    const rows = x.shape[0] ?? 0;
    if (
      rank === 0 ||
      (axis !== 0 && axis !== -rank) ||
      (batchDims ?? 0) !== 0 ||
      indices.dtype !== "int32" ||
      !(x.dtype === "float32" || x.dtype === "int32" || x.dtype === "bool")
    )
      return original.kernelFunc(args);
    const backend = args.backend as unknown as WasmBackend;
    let index = backend.typedArrayFromHeap(indices) as Int32Array;
    for (let i = 0; i < index.length; i++) {
      const r = index[i]!;
      if (!(r >= 0 && r < rows)) return original.kernelFunc(args); // raises the backend's own error
    }
    const rowSize = x.shape.slice(1).reduce((p, d) => p * d, 1);
    const out = backend.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
    // makeOutput may grow the heap, which detaches earlier views: take them again.
    index = backend.typedArrayFromHeap(indices) as Int32Array;
    const source = backend.typedArrayFromHeap(x);
    const target = backend.typedArrayFromHeap(out);
    if (rowSize === 1) for (let i = 0; i < index.length; i++) target[i] = source[index[i]!]!;
    else
      for (let i = 0; i < index.length; i++) {
        const from = index[i]! * rowSize;
        target.set(source.subarray(from, from + rowSize), i * rowSize);
      }
    return out;
  };
}

/**
 * Installs the faster BatchMatMul and GatherV2 on the wasm backend (before or after it is initialised; once per
 * process, again is a no-op). Returns false when tfjs-backend-wasm is not loaded (nothing to replace).
 */
export function installWasmKernels(): boolean {
  const matMul = replaceKernel("BatchMatMul", transposedMatMul);
  const gather = replaceKernel("GatherV2", rowGather);
  return matMul && gather;
}

/** True when the wasm backend's BatchMatMul is the workbench's (installWasmKernels, not restored since). */
export function wasmKernelsInstalled(): boolean {
  const kernel = getKernel("BatchMatMul", BACKEND) as (KernelConfig & { [INSTALLED]?: true }) | undefined;
  return kernel?.[INSTALLED] === true;
}

/** Puts tfjs' own BatchMatMul and GatherV2 back (after installWasmKernels; otherwise nothing to do). */
export function restoreWasmKernels(): void {
  for (const [name, original] of originals) {
    if (getKernel(name, BACKEND) === original) continue;
    unregisterKernel(name, BACKEND);
    registerKernel(original);
  }
}
