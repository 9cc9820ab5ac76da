// A word vocabulary fitted on the (already normalised) training texts, and the encoding of texts into fixed-length
// id sequences for the sequence models (embedding bag, CNN, GRU). Plain JSON state: what training fitted is exactly
// what serving applies.
//
// Ids: 0 is padding, 1 is out-of-vocabulary (OOV), the vocabulary's words are 2, 3, … from the most frequent down
// (equal counts in code-point order of the word, so a refit on the same texts gives the same ids).
import { z } from "zod";
import { WorkbenchError } from "../../shared/errors.js";
import { wordTokens } from "./normalize.js";

/** The id of padding positions. */
export const PAD_ID = 0;
/** The id of a word outside the vocabulary. */
export const OOV_ID = 1;
/** Ids below this are reserved (padding, OOV); words start here. */
export const FIRST_WORD_ID = 2;

/** How the vocabulary is chosen. */
export interface TokenizerOptions {
  /** A word enters the vocabulary when it occurs at least this often in the training texts (all occurrences). */
  minFrequency: number;
  /** At most this many words, the most frequent first (the two reserved ids not counted). */
  maxSize: number;
}

/** How texts become fixed-length sequences. */
export interface EncodeOptions {
  /** Ids per text: longer texts are truncated, shorter ones padded with PAD_ID. */
  maxLength: number;
  /** Which tokens a long text loses: `end` keeps the first maxLength, `start` keeps the last maxLength. */
  truncation: "end" | "start";
  /** Where padding goes in a short text: after its tokens (`end`) or before them (`start`). */
  padding: "end" | "start";
}

export const DEFAULT_ENCODE: EncodeOptions = { maxLength: 200, truncation: "end", padding: "end" };

/** Texts encoded as a rows × maxLength id matrix, with what the vocabulary missed. */
export interface EncodedTexts {
  /** Row-major, rows × maxLength. */
  ids: Int32Array;
  rows: number;
  maxLength: number;
  /** Word tokens in the texts (before truncation). */
  tokens: number;
  /** Of those, tokens not in the vocabulary. */
  oov: number;
  /** oov / tokens (0 when there are no tokens). */
  oovRate: number;
  /** Texts longer than maxLength tokens. */
  truncated: number;
}

const tokenizerState = z
  .object({
    version: z.literal(1),
    minFrequency: z.number().int().min(1),
    maxSize: z.number().int().min(1),
    vocabulary: z.array(z.string().min(1)),
  })
  .strict();
/** The tokenizer as JSON (saved beside a text model's weights). */
export type TokenizerState = z.infer<typeof tokenizerState>;

function invalid(code: string, message: string, details: Record<string, unknown>): WorkbenchError {
  return new WorkbenchError(code, message, { details });
}

function checkPositiveInt(name: string, value: number, code: string): void {
  if (!Number.isInteger(value) || value < 1)
    throw invalid(code, `Tokenizer: ${name} must be a positive integer (got ${value}).`, {
      param: name,
      value,
    });
}

/** A fitted word vocabulary. */
export class Tokenizer {
  private readonly ids: Map<string, number>;

  private constructor(
    readonly options: TokenizerOptions,
    /** Words in id order: vocabulary[i] has id i + FIRST_WORD_ID. */
    readonly vocabulary: readonly string[],
  ) {
    this.ids = new Map(vocabulary.map((w, i) => [w, i + FIRST_WORD_ID]));
  }

  /**
   * Fits the vocabulary on normalised texts (see normalizeText). Throws TOKENIZER_PARAMS_INVALID for bad options
   * and TOKENIZER_VOCABULARY_EMPTY when no word occurs minFrequency times.
   * @example Tokenizer.fit(["a late fee", "late fee again"], { minFrequency: 2, maxSize: 10 }).vocabulary // ["fee", "late"]
   */
  static fit(texts: readonly string[], options: TokenizerOptions): Tokenizer {
    checkPositiveInt("minFrequency", options.minFrequency, "TOKENIZER_PARAMS_INVALID");
    checkPositiveInt("maxSize", options.maxSize, "TOKENIZER_PARAMS_INVALID");
    const counts = new Map<string, number>();
    for (const text of texts) for (const w of wordTokens(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
    const kept = [...counts].filter(([, c]) => c >= options.minFrequency);
    // Most frequent first; equal counts in code-point order (not localeCompare: the same on every machine).
    kept.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    if (kept.length === 0)
      throw invalid(
        "TOKENIZER_VOCABULARY_EMPTY",
        `Tokenizer: no word occurs ${options.minFrequency} times or more in the ${texts.length} training texts; lower minFrequency or check that the text column is not empty.`,
        { minFrequency: options.minFrequency, texts: texts.length, distinctWords: counts.size },
      );
    return new Tokenizer(
      { ...options },
      kept.slice(0, options.maxSize).map(([w]) => w),
    );
  }

  /** Reads a state written by toJSON; TOKENIZER_STATE_INVALID when it is not one. */
  static fromJSON(state: unknown): Tokenizer {
    const parsed = tokenizerState.safeParse(state);
    if (!parsed.success)
      throw invalid(
        "TOKENIZER_STATE_INVALID",
        `Tokenizer state is invalid (${parsed.error.issues
          .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
          .join("; ")}); the model folder is damaged or was written by another program.`,
        { issues: parsed.error.issues },
      );
    const { minFrequency, maxSize, vocabulary } = parsed.data;
    if (new Set(vocabulary).size !== vocabulary.length || vocabulary.length > maxSize)
      throw invalid(
        "TOKENIZER_STATE_INVALID",
        "Tokenizer state is invalid (duplicate words or more words than maxSize); the model folder is damaged.",
        { words: vocabulary.length, maxSize },
      );
    return new Tokenizer({ minFrequency, maxSize }, vocabulary);
  }

  toJSON(): TokenizerState {
    return {
      version: 1,
      minFrequency: this.options.minFrequency,
      maxSize: this.options.maxSize,
      vocabulary: [...this.vocabulary],
    };
  }

  /** Ids in use, the reserved ones included (an embedding's input dimension). */
  get size(): number {
    return this.vocabulary.length + FIRST_WORD_ID;
  }

  /** The id of a word (OOV_ID when it is not in the vocabulary). */
  id(word: string): number {
    return this.ids.get(word) ?? OOV_ID;
  }

  /** Encodes normalised texts into a rows × maxLength id matrix (TOKENIZER_PARAMS_INVALID for a bad maxLength). */
  encode(texts: readonly string[], options: Partial<EncodeOptions> = {}): EncodedTexts {
    const o = { ...DEFAULT_ENCODE, ...options };
    checkPositiveInt("maxLength", o.maxLength, "TOKENIZER_PARAMS_INVALID");
    for (const name of ["truncation", "padding"] as const)
      if (o[name] !== "end" && o[name] !== "start")
        throw invalid(
          "TOKENIZER_PARAMS_INVALID",
          `Tokenizer: ${name} must be "end" or "start" (got ${JSON.stringify(o[name])}).`,
          { param: name, value: o[name] },
        );
    const L = o.maxLength;
    const ids = new Int32Array(texts.length * L); // PAD_ID = 0 everywhere to start with
    let tokens = 0;
    let oov = 0;
    let truncated = 0;
    texts.forEach((text, row) => {
      const words = wordTokens(text);
      const rowIds = words.map((w) => this.id(w));
      tokens += rowIds.length;
      for (const id of rowIds) if (id === OOV_ID) oov++;
      let kept = rowIds;
      if (rowIds.length > L) {
        truncated++;
        kept = o.truncation === "end" ? rowIds.slice(0, L) : rowIds.slice(rowIds.length - L);
      }
      const offset = row * L + (o.padding === "start" ? L - kept.length : 0);
      ids.set(kept, offset);
    });
    return {
      ids,
      rows: texts.length,
      maxLength: L,
      tokens,
      oov,
      oovRate: tokens === 0 ? 0 : oov / tokens,
      truncated,
    };
  }
}
