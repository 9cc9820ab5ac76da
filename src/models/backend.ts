// Backend selection for TensorFlow.js in Node: tfjs-node (native) -> wasm (SIMD) -> cpu.
import { createRequire } from "node:module";
import path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu"; // registers "cpu"
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm"; // registers "wasm"
import { installWasmKernels, wasmKernelsInstalled } from "./wasm-kernels.js";

export type BackendName = "tensorflow" | "wasm" | "cpu";

/** Which BatchMatMul/GatherV2 kernels the wasm backend runs (wasm-kernels.ts): products differ in rounding. */
export type WasmKernels = "workbench" | "tfjs";

export interface BackendInfo {
  backend: string;
  wasmSimd?: boolean;
  wasmThreads?: boolean;
  /** Set with the wasm backend: the workbench's kernels, or tfjs' own (WORKBENCH_WASM_KERNELS=tfjs). */
  wasmKernels?: WasmKernels;
  notes: string[];
}

// Not named `require`: notebooks run this file as CommonJS (tslab), where that name is taken.
const requireHere = createRequire(import.meta.url);
// Kept in a variable so TypeScript does not try to resolve the optional package.
const TFJS_NODE: string = "@tensorflow/tfjs-node";

let selected: Promise<BackendInfo> | undefined;

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split("\n")[0] ?? msg;
}

/** Directory holding tfjs-backend-wasm's .wasm files, with a trailing separator. */
export function wasmDir(): string {
  const pkgJson = requireHere.resolve("@tensorflow/tfjs-backend-wasm/package.json");
  return path.join(path.dirname(pkgJson), "dist") + path.sep;
}

async function tryNative(notes: string[]): Promise<boolean> {
  try {
    await import(TFJS_NODE); // registers "tensorflow" on the shared tfjs-core engine
  } catch (e) {
    notes.push(`tfjs-node unavailable: ${firstLine(e)}`);
    return false;
  }
  const ok = await tf.setBackend("tensorflow");
  if (!ok) notes.push("tfjs-node loaded but setBackend('tensorflow') failed");
  return ok;
}

let wasmPathsSet = false;
async function tryWasm(notes: string[]): Promise<boolean> {
  try {
    if (!wasmPathsSet) {
      setWasmPaths(wasmDir()); // plain filesystem path prefix works in Node
      wasmPathsSet = true;
    }
    // Threads need Web Workers; Node reports false anyway, force it to be safe.
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    // Faster transposed products and row gathers (wasm-kernels.ts): networks train ~2× faster.
    // WORKBENCH_WASM_KERNELS=tfjs keeps tfjs' own (a network trained before them, reproduced bit for bit).
    if (process.env.WORKBENCH_WASM_KERNELS === "tfjs")
      notes.push("tfjs' own wasm kernels (WORKBENCH_WASM_KERNELS=tfjs)");
    else installWasmKernels();
    // The Emscripten glue installs process-level 'uncaughtException' and
    // 'unhandledRejection' listeners that rethrow (Node then prints the whole
    // minified wasm JS as the error location). Remove the ones it adds.
    const proc = process as NodeJS.EventEmitter;
    const events = ["uncaughtException", "unhandledRejection"] as const;
    const before = new Map(events.map((ev) => [ev, proc.listeners(ev)] as const));
    let ok: boolean;
    try {
      ok = await tf.setBackend("wasm");
    } finally {
      for (const ev of events) {
        for (const l of proc.listeners(ev)) {
          if (!before.get(ev)?.includes(l)) proc.removeListener(ev, l as (...args: unknown[]) => void);
        }
      }
    }
    if (!ok) notes.push("setBackend('wasm') returned false");
    return ok;
  } catch (e) {
    notes.push(`wasm backend failed: ${firstLine(e)}`);
    return false;
  }
}

/**
 * Pick the fastest available backend once per process.
 * `prefer` (or env TFJS_BACKEND=tensorflow|wasm|cpu) forces a starting point;
 * fallbacks still apply below it (tensorflow -> wasm -> cpu).
 */
export function initTf(prefer?: BackendName): Promise<BackendInfo> {
  selected ??= (async () => {
    const want = (prefer ?? process.env.TFJS_BACKEND ?? "tensorflow") as BackendName;
    const order: BackendName[] = ["tensorflow", "wasm", "cpu"];
    const notes: string[] = [];
    for (const name of order.slice(Math.max(0, order.indexOf(want)))) {
      if (name === "tensorflow" && (await tryNative(notes))) break;
      if (name === "wasm" && (await tryWasm(notes))) break;
      if (name === "cpu" && (await tf.setBackend("cpu"))) break;
    }
    await tf.ready();
    const info: BackendInfo = { backend: tf.getBackend(), notes };
    if (info.backend === "wasm") {
      info.wasmSimd = (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) as boolean;
      info.wasmThreads = (await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT")) as boolean;
      info.wasmKernels = wasmKernelsInstalled() ? "workbench" : "tfjs";
    }
    return info;
  })();
  return selected;
}
