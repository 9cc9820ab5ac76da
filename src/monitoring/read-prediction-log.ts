/**
 * The prediction-log side of readCurrent: src/serving/prediction-log.ts's JSONL records (inputs, outputs and the
 * shadow challenger's outputs), a file or the log's directory with its rotated files, oldest first.
 */
import { open, readdir } from "node:fs/promises";
import path from "node:path";
import { StringDecoder } from "node:string_decoder";
import { DataValidationError } from "../shared/errors.js";
import type { ReadCurrentOptions, ScoredRow } from "./read-current.js";
import type { ReadState } from "./read-state.js";

/**
 * The prediction log's files oldest first: predictions.<n>.jsonl from the highest n down, then
 * predictions.jsonl (the log rotates the current file to .1 and shifts the others up).
 */
export async function predictionLogFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  const rotated = names
    .map((f) => /^predictions\.(\d+)\.jsonl$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(b[1]) - Number(a[1]))
    .map((m) => m[0]);
  const files = [...rotated, ...(names.includes("predictions.jsonl") ? ["predictions.jsonl"] : [])];
  if (files.length === 0)
    throw new DataValidationError(
      "MONITOR_INPUT_UNREADABLE",
      `${dir} holds no prediction log (predictions.jsonl or rotated predictions.<n>.jsonl files). Point --current at the service's prediction log directory or at a CSV file.`,
    );
  return files.map((f) => path.join(dir, f));
}

/** A prediction-log output: label and probabilities by class. */
interface LogOutput {
  label: string;
  probabilities: Record<string, unknown>;
}

function isOutput(value: unknown): value is LogOutput {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof (value as LogOutput).label === "string" &&
    (value as LogOutput).probabilities !== null &&
    typeof (value as LogOutput).probabilities === "object"
  );
}

function modelOf(value: unknown): { name: string; version: string | undefined } | undefined {
  if (value === null || typeof value !== "object") return undefined;
  const { name, version } = value as { name?: unknown; version?: unknown };
  if (typeof name !== "string") return undefined;
  return { name, version: typeof version === "string" ? version : undefined };
}

/** The record's problem in words, or undefined when it is a prediction record (src/serving/prediction-log.ts). */
function recordProblem(record: unknown): string | undefined {
  if (record === null || typeof record !== "object" || Array.isArray(record))
    return "not a JSON object (a prediction record has inputs and outputs)";
  const { inputs, outputs, shadow } = record as { inputs?: unknown; outputs?: unknown; shadow?: unknown };
  if (!Array.isArray(inputs)) return "no inputs array";
  if (!Array.isArray(outputs)) return "no outputs array";
  if (inputs.length !== outputs.length)
    return `${inputs.length} inputs but ${outputs.length} outputs (each input row has one output)`;
  if (inputs.some((r) => r === null || typeof r !== "object" || Array.isArray(r)))
    return "an input row that is not an object of column → value";
  if (!outputs.every(isOutput)) return "an output without a label and probabilities";
  if (shadow !== undefined) {
    const s = shadow as { outputs?: unknown; model?: unknown };
    if (s === null || typeof s !== "object" || !Array.isArray(s.outputs) || modelOf(s.model) === undefined)
      return "a shadow entry without model and outputs";
    if (s.outputs.length !== inputs.length) return "a shadow entry whose outputs do not match the inputs";
    if (!s.outputs.every(isOutput)) return "a shadow output without a label and probabilities";
  }
  return undefined;
}

/** Reads one prediction-log file into the accumulator. */
export async function readJsonlInto(
  file: string,
  options: ReadCurrentOptions,
  state: ReadState,
  progress: (bytes: number) => void,
): Promise<void> {
  const classes = options.classes ?? [];
  state.predictionSource = classes.length > 0 ? "log" : "none";
  let line = 0;
  const vector = (p: Record<string, unknown>): Float64Array | undefined => {
    const out = new Float64Array(classes.length);
    for (let c = 0; c < classes.length; c++) {
      const v = p[classes[c]!];
      if (typeof v !== "number" || !Number.isFinite(v)) return undefined;
      out[c] = v;
    }
    return out;
  };
  const onLine = (text: string) => {
    line++;
    if (text.trim() === "") return;
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch (error) {
      state.badLine(file, line, `not JSON (${(error as Error).message})`);
      return;
    }
    const problem = recordProblem(record);
    if (problem !== undefined) {
      state.badLine(file, line, problem);
      return;
    }
    state.units++;
    const r = record as {
      model?: unknown;
      inputs: Record<string, unknown>[];
      outputs: LogOutput[];
      shadow?: { model: unknown; outputs: LogOutput[] };
    };
    const model = modelOf(r.model);
    const shadowModel = r.shadow === undefined ? undefined : modelOf(r.shadow.model)!;
    for (let i = 0; i < r.inputs.length; i++) {
      const input = r.inputs[i]!;
      state.rowsRead++;
      options.accumulator.addRecord(input);
      if (classes.length === 0) continue;
      const output = r.outputs[i]!;
      const probabilities = vector(output.probabilities);
      if (probabilities === undefined) {
        state.unscoredRow(
          file,
          line,
          `output ${i + 1} lacks a probability for one of the classes ${classes.join(", ")}`,
        );
        continue;
      }
      let id: string | undefined;
      if (options.idColumn !== undefined) {
        const raw = input[options.idColumn];
        if (raw === undefined || raw === null || String(raw).trim() === "") state.missingIds++;
        else id = String(raw).trim();
      }
      const scored: ScoredRow = { id, probabilities, label: output.label, ...(model ? { model } : {}) };
      const shadowOutput = r.shadow?.outputs[i];
      if (shadowOutput !== undefined && shadowModel !== undefined) {
        const p = vector(shadowOutput.probabilities);
        if (p !== undefined)
          scored.shadow = { model: shadowModel, probabilities: p, label: shadowOutput.label };
      }
      state.prediction(scored);
    }
  };
  const handle = await open(file, "r");
  try {
    const decoder = new StringDecoder("utf8");
    const block = Buffer.allocUnsafe(1 << 20);
    let carry = "";
    let bytes = 0;
    for (;;) {
      const { bytesRead } = await handle.read(block, 0, block.length, null);
      if (bytesRead === 0) break;
      bytes += bytesRead;
      const text = carry + decoder.write(block.subarray(0, bytesRead));
      let from = 0;
      for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", from)) {
        onLine(text.slice(from, nl));
        from = nl + 1;
      }
      carry = text.slice(from);
      progress(bytes);
    }
    carry += decoder.end();
    if (carry !== "") onLine(carry);
  } finally {
    await handle.close();
  }
}
