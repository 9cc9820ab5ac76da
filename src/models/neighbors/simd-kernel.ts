// A WebAssembly SIMD distance kernel for the brute-force neighbour search, assembled here from its opcodes (no
// toolchain, no binary blob): for a tile of query rows × stored rows it writes every squared Euclidean or
// Manhattan distance as a float32, 2 queries × 2 stored rows × 4 features per step in four f32x4
// accumulators. The caller (search.ts) then keeps each query's k best in a bounded heap.
//
// Memory layout the kernel expects (all offsets in bytes, rows padded with zeros to a multiple of 4 features,
// query and stored row counts padded to even numbers):
//   queries: nq × rowBytes at qPtr;  stored: ns × rowBytes at sPtr;  out: nq × ns float32 at outPtr.

/** The WebAssembly memory the kernel works in (typed here: the project's lib settings carry no DOM types). */
export interface KernelMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** The part of the WebAssembly JS API used here. */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

/** The two distance functions a compiled kernel exports. */
export interface SimdKernel {
  memory: KernelMemory;
  /** Squared Euclidean distances: (qPtr, nq, sPtr, ns, rowBytes, outPtr). */
  squared: (qPtr: number, nq: number, sPtr: number, ns: number, rowBytes: number, outPtr: number) => void;
  /** Manhattan distances, same arguments. */
  manhattan: (qPtr: number, nq: number, sPtr: number, ns: number, rowBytes: number, outPtr: number) => void;
}

// Opcodes (WebAssembly core 2.0 + fixed-width SIMD).
const BLOCK = 0x02;
const LOOP = 0x03;
const VOID = 0x40;
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const I32_CONST = 0x41;
const I32_GE_U = 0x4f;
const I32_ADD = 0x6a;
const I32_MUL = 0x6c;
const F32_ADD = 0x92;
const F32_STORE = 0x38;
const I32 = 0x7f;
const V128 = 0x7b;
const SIMD = 0xfd;
const V128_LOAD = [SIMD, 0x00, 4, 0]; // align 2^4, offset 0
const V128_ZERO = [SIMD, 0x0c, ...new Array<number>(16).fill(0)];
const F32X4_ABS = [SIMD, 0xe0, 0x01];
const F32X4_ADD = [SIMD, 0xe4, 0x01];
const F32X4_SUB = [SIMD, 0xe5, 0x01];
const F32X4_MUL = [SIMD, 0xe6, 0x01];
const extractLane = (lane: number) => [SIMD, 0x1f, lane];

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const name = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const vector = (items: number[][]) => [...uleb(items.length), ...items.flat()];

// Locals: parameters 0–5, then i32 scratch (loop counters, row pointers), then v128 accumulators and operands.
const Q = 0;
const NQ = 1;
const S = 2;
const NS = 3;
const ROW = 4;
const OUT = 5;
const I = 6;
const J = 7;
const T = 8;
const O = 9;
const NS4 = 10;
/** Query rows × stored rows per step of the kernel (the caller pads counts to multiples of these). */
export const KERNEL_QUERIES = 2;
export const KERNEL_STORED = 2;
const QP = 11; // KERNEL_QUERIES query-row pointers
const SP = QP + KERNEL_QUERIES; // KERNEL_STORED stored-row pointers
const I32_LOCALS = SP + KERNEL_STORED - I;
const ACC = SP + KERNEL_STORED; // KERNEL_QUERIES × KERNEL_STORED accumulators
const X = ACC + KERNEL_QUERIES * KERNEL_STORED; // query operands
const Y = X + KERNEL_QUERIES; // stored operands
const V128_LOCALS = Y + KERNEL_STORED - ACC;

const get = (l: number) => [LOCAL_GET, l];
const set = (l: number) => [LOCAL_SET, l];
const i32 = (n: number) => [I32_CONST, ...sleb(n)];
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** acc += f(x − y), f = square or abs. */
function accumulate(acc: number, x: number, y: number, manhattan: boolean): number[] {
  const diff = [...get(x), ...get(y), ...F32X4_SUB];
  const term = manhattan ? [...diff, ...F32X4_ABS] : [...diff, ...diff, ...F32X4_MUL];
  return [...get(acc), ...term, ...F32X4_ADD, ...set(acc)];
}

/** Stores the horizontal sum of `acc` at the address `ptr` leaves on the stack. */
function storeSum(ptr: number[], acc: number): number[] {
  const lane = (l: number) => [...get(acc), ...extractLane(l)];
  return [...ptr, ...lane(0), ...lane(1), F32_ADD, ...lane(2), ...lane(3), F32_ADD, F32_ADD, F32_STORE, 2, 0];
}

/** `while (counter < limit) { body; counter += step }` as block/loop/br_if. */
function loop(counter: number, limit: number, step: number, body: number[]): number[] {
  return [
    ...i32(0),
    ...set(counter),
    BLOCK,
    VOID,
    LOOP,
    VOID,
    ...get(counter),
    ...get(limit),
    I32_GE_U,
    BR_IF,
    1,
    ...body,
    ...get(counter),
    ...i32(step),
    I32_ADD,
    ...set(counter),
    BR,
    0,
    END,
    END,
  ];
}

/** ptr[r] = base + (counter + r) · row, for r < n. */
function rowPointers(first: number, n: number, base: number, counter: number): number[] {
  return range(n).flatMap((r) =>
    r === 0
      ? [...get(base), ...get(counter), ...get(ROW), I32_MUL, I32_ADD, ...set(first)]
      : [...get(first + r - 1), ...get(ROW), I32_ADD, ...set(first + r)],
  );
}

function kernelBody(manhattan: boolean): number[] {
  const R = KERNEL_QUERIES;
  const C = KERNEL_STORED;
  const pairs = range(R).flatMap((r) => range(C).map((c) => [r, c] as const));
  const inner = [
    ...range(R).flatMap((r) => [...get(QP + r), ...get(T), I32_ADD, ...V128_LOAD, ...set(X + r)]),
    ...range(C).flatMap((c) => [...get(SP + c), ...get(T), I32_ADD, ...V128_LOAD, ...set(Y + c)]),
    ...pairs.flatMap(([r, c]) => accumulate(ACC + r * C + c, X + r, Y + c, manhattan)),
  ];
  const perStoredBlock = [
    ...rowPointers(SP, C, S, J),
    ...pairs.flatMap(([r, c]) => [...V128_ZERO, ...set(ACC + r * C + c)]),
    ...loop(T, ROW, 16, inner),
    // o = out + i · ns4 + j · 4; out[i + r][j + c] = Σ lanes of acc[r][c]
    ...get(OUT),
    ...get(I),
    ...get(NS4),
    I32_MUL,
    I32_ADD,
    ...get(J),
    ...i32(4),
    I32_MUL,
    I32_ADD,
    ...set(O),
    ...pairs.flatMap(([r, c]) =>
      storeSum(
        [...get(O), ...range(r).flatMap(() => [...get(NS4), I32_ADD]), ...i32(4 * c), I32_ADD],
        ACC + r * C + c,
      ),
    ),
  ];
  const code = [
    ...get(NS),
    ...i32(4),
    I32_MUL,
    ...set(NS4),
    ...loop(I, NQ, R, [...rowPointers(QP, R, Q, I), ...loop(J, NS, C, perStoredBlock)]),
    END,
  ];
  const locals = [...uleb(2), ...uleb(I32_LOCALS), I32, ...uleb(V128_LOCALS), V128];
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

/** The module's bytes: one memory (exported), two functions of type (i32 × 6) → (). */
export function kernelModuleBytes(): Uint8Array {
  const funcType = [0x60, ...uleb(6), I32, I32, I32, I32, I32, I32, ...uleb(0)];
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vector([funcType])),
    ...section(3, vector([uleb(0), uleb(0)])),
    ...section(5, vector([[0x00, ...uleb(1)]])),
    ...section(
      7,
      vector([
        [...name("memory"), 0x02, 0],
        [...name("squared"), 0x00, 0],
        [...name("manhattan"), 0x00, 1],
      ]),
    ),
    ...section(10, vector([kernelBody(false), kernelBody(true)])),
  ];
  return Uint8Array.from(bytes);
}

let compiled: SimdKernel | null | undefined;

/** The kernel, compiled once per thread; null when this runtime has no WebAssembly SIMD. */
export function simdKernel(): SimdKernel | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  try {
    const bytes = kernelModuleBytes();
    if (wasm?.validate(bytes)) {
      const instance = new wasm.Instance(new wasm.Module(bytes), {});
      const e = instance.exports as unknown as SimdKernel;
      compiled = { memory: e.memory, squared: e.squared, manhattan: e.manhattan };
    }
  } catch {
    compiled = null;
  }
  return compiled;
}
