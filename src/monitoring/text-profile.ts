// The profile side of text monitoring: a text column's reference profile (length and token distributions, the most
// frequent words, a seeded sample of texts) built from a stream, and its streaming counterpart on current data
// (constant memory: a reservoir, count tables, OOV counts). text.ts compares the two.
//
// A text is missing when it is empty or only whitespace (a CSV's empty cell). Lengths count characters (code points,
// as Python's len does); tokens are the project's word tokens of the normalised text (normalize.ts), the tokens the
// text models see. Samples are reservoirs (Algorithm R, seeded): every text has the same chance to be in them
// whatever the stream's length; a sampled text keeps its first MAX_SAMPLED_CHARS characters.
import { DEFAULT_TEXT_NORMALIZE, normalizeText, wordTokens } from "../features/text/normalize.js";
import { WorkbenchError } from "../shared/errors.js";
import { createRng, deriveSeed } from "../shared/random.js";
import type { SerializedWeightedValues, TextColumnProfile, WeightedValues } from "./types.js";

export interface TextProfileOptions {
  /** Texts kept for the domain classifier (0 disables it: the profile then only checks lengths and OOV). */
  sampleSize: number;
  /** Words kept in the vocabulary (the most frequent by document frequency). */
  vocabularySize: number;
  seed: number;
  /** Distinct words counted exactly before the rarest half is dropped (default max(200,000, 10 × vocabularySize)). */
  trackedWords?: number;
}

export const DEFAULT_TEXT_PROFILE: TextProfileOptions = {
  sampleSize: 1000,
  vocabularySize: 20_000,
  seed: 42,
};

/** Characters a sampled text keeps (bounds the profile's size; the classifier reads the start of long texts). */
export const MAX_SAMPLED_CHARS = 10_000;

/** The word tokens of a raw text as profiles count them. */
export function textWords(text: string): string[] {
  return wordTokens(normalizeText(text, DEFAULT_TEXT_NORMALIZE));
}

const HIGH_SURROGATE = /[\uD800-\uDBFF]/;

/** Characters of a text in code points (a surrogate pair is one character). */
export function characters(text: string): number {
  if (!HIGH_SURROGATE.test(text)) return text.length;
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function clip(text: string): string {
  if (text.length <= MAX_SAMPLED_CHARS) return text;
  const end = HIGH_SURROGATE.test(text[MAX_SAMPLED_CHARS - 1]!) ? MAX_SAMPLED_CHARS - 1 : MAX_SAMPLED_CHARS;
  return text.slice(0, end);
}

/** TEXT_OPTIONS_INVALID with the message `Text monitoring: …`. */
export function optionsError(message: string, details: Record<string, unknown>): WorkbenchError {
  return new WorkbenchError("TEXT_OPTIONS_INVALID", `Text monitoring: ${message}`, { details });
}

/** Throws TEXT_OPTIONS_INVALID unless `value` is a whole number ≥ min. */
export function checkCount(name: string, value: number, min: number): void {
  if (!(Number.isInteger(value) && value >= min))
    throw optionsError(`${name} must be a whole number ≥ ${min}, got ${value}.`, { [name]: value });
}

/** A Map of value → count as a WeightedValues (values ascending). */
function weighted(counts: ReadonlyMap<number, number>): WeightedValues {
  const values = Float64Array.from(counts.keys()).sort();
  const c = Float64Array.from(values, (v) => counts.get(v)!);
  let total = 0;
  for (const x of c) total += x;
  return { values, counts: c, total };
}

/** A WeightedValues as JSON (a profile's length and token distributions). */
export function serializeWeighted(w: WeightedValues): SerializedWeightedValues {
  return { values: Array.from(w.values), counts: Array.from(w.counts) };
}

/** A profile's JSON distribution back as a WeightedValues. */
export function deserializeWeighted(s: SerializedWeightedValues): WeightedValues {
  const counts = Float64Array.from(s.counts);
  let total = 0;
  for (const x of counts) total += x;
  return { values: Float64Array.from(s.values), counts, total };
}

/** What both sides count: rows, missing, lengths, tokens per text and a reservoir of texts. */
class TextSide {
  rows = 0;
  missing = 0;
  /** Tokens over every non-missing text. */
  tokens = 0;
  protected lengths = new Map<number, number>();
  protected tokenCounts = new Map<number, number>();
  protected reservoir: string[] = [];
  private present = 0;
  private rng: () => number;

  constructor(
    private readonly sampleSize: number,
    private readonly seed: number,
  ) {
    checkCount("sampleSize", sampleSize, 0);
    this.rng = createRng(seed);
  }

  /** Counts a text; returns its word tokens, or undefined when it is missing. */
  protected count(text: string): string[] | undefined {
    this.rows++;
    if (text.trim() === "") {
      this.missing++;
      return undefined;
    }
    const words = textWords(text);
    const length = characters(text);
    this.lengths.set(length, (this.lengths.get(length) ?? 0) + 1);
    this.tokenCounts.set(words.length, (this.tokenCounts.get(words.length) ?? 0) + 1);
    this.tokens += words.length;
    if (this.sampleSize > 0) {
      if (this.reservoir.length < this.sampleSize) this.reservoir.push(clip(text));
      else {
        const j = Math.floor(this.rng() * (this.present + 1));
        if (j < this.sampleSize) this.reservoir[j] = clip(text);
      }
    }
    this.present++;
    return words;
  }

  addMissing(): void {
    this.rows++;
    this.missing++;
  }

  /** The sampled texts (at most sampleSize, non-missing). */
  get sample(): readonly string[] {
    return this.reservoir;
  }

  lengthDistribution(): WeightedValues {
    return weighted(this.lengths);
  }

  tokenDistribution(): WeightedValues {
    return weighted(this.tokenCounts);
  }

  reset(): void {
    this.rows = 0;
    this.missing = 0;
    this.tokens = 0;
    this.present = 0;
    this.lengths.clear();
    this.tokenCounts.clear();
    this.reservoir = [];
    this.rng = createRng(this.seed);
  }
}

/**
 * Builds a text column's reference profile from a stream of texts. Document frequencies are exact until more than
 * `trackedWords` (default vocabularySize × 10, at least 200,000) distinct words were seen; then the rarest half is dropped (lossy counting: a
 * word dropped and seen again restarts from 0), which leaves the frequent words — the vocabulary — exact enough.
 */
export class TextProfiler extends TextSide {
  private readonly ids = new Map<string, number>();
  private df: number[] = [];
  private tf: number[] = [];
  private lastDoc: number[] = [];
  private docs = 0;
  private readonly cap: number;

  constructor(private readonly options: TextProfileOptions = DEFAULT_TEXT_PROFILE) {
    super(options.sampleSize, options.seed);
    checkCount("vocabularySize", options.vocabularySize, 1);
    if (options.trackedWords !== undefined)
      checkCount("trackedWords", options.trackedWords, options.vocabularySize);
    this.cap = options.trackedWords ?? Math.max(200_000, 10 * options.vocabularySize);
  }

  add(text: string): void {
    const words = this.count(text);
    if (words === undefined) return;
    const doc = ++this.docs;
    for (const w of words) {
      let id = this.ids.get(w);
      if (id === undefined) {
        id = this.df.length;
        this.ids.set(w, id);
        this.df.push(0);
        this.tf.push(0);
        this.lastDoc.push(0);
      }
      this.tf[id]!++;
      if (this.lastDoc[id] !== doc) {
        this.lastDoc[id] = doc;
        this.df[id]!++;
      }
    }
    if (this.ids.size > this.cap) this.prune();
  }

  /** Distinct words counted now (at most trackedWords). */
  get tracked(): number {
    return this.ids.size;
  }

  private prune(): void {
    const sorted = Float64Array.from(this.df).sort();
    const cut = sorted[Math.floor(sorted.length / 2)]!;
    const keep = [...this.ids].filter(([, id]) => this.df[id]! > cut);
    const df = keep.map(([, id]) => this.df[id]!);
    const tf = keep.map(([, id]) => this.tf[id]!);
    const last = keep.map(([, id]) => this.lastDoc[id]!);
    this.ids.clear();
    for (const [i, [w]] of keep.entries()) this.ids.set(w, i);
    this.df = df;
    this.tf = tf;
    this.lastDoc = last;
  }

  /** The profile of everything added so far. */
  toProfile(name: string): TextColumnProfile {
    const ranked = [...this.ids]
      .map(([word, id]) => ({ word, df: this.df[id]!, tf: this.tf[id]! }))
      .sort((a, b) => b.df - a.df || (a.word < b.word ? -1 : a.word > b.word ? 1 : 0))
      .slice(0, this.options.vocabularySize);
    // Leave-one-out OOV of the reference: a token is out of the vocabulary that the other texts would build when
    // its word is not in the vocabulary, or only its own text has it (df = 1).
    let covered = 0;
    for (const t of ranked) if (t.df > 1) covered += t.tf;
    return {
      name,
      type: "text",
      rows: this.rows,
      missing: this.missing,
      length: serializeWeighted(this.lengthDistribution()),
      tokens: serializeWeighted(this.tokenDistribution()),
      vocabulary: ranked.map(({ word, df }) => ({ word, df })),
      sample: [...this.reservoir],
      oov: this.tokens === 0 ? 0 : 1 - covered / this.tokens,
    };
  }
}

/** The reference profile of a text column. Throws TEXT_OPTIONS_INVALID for a bad option. */
export function profileText(
  name: string,
  values: readonly string[],
  options: Partial<TextProfileOptions> = {},
): TextColumnProfile {
  const profiler = new TextProfiler({ ...DEFAULT_TEXT_PROFILE, ...options });
  for (const v of values) profiler.add(v);
  return profiler.toProfile(name);
}

/** A text column's current data, streaming: constant memory (a reservoir, count tables, OOV counts). */
export class TextAccumulator extends TextSide {
  /** Tokens whose word is not in the profile's vocabulary. */
  oovTokens = 0;
  private readonly vocabulary: ReadonlySet<string>;

  constructor(
    readonly profile: TextColumnProfile,
    options: { sampleSize?: number; seed?: number } = {},
  ) {
    super(
      // Texts but no sample in the reference (the classifier was turned off): no current sample is needed either.
      options.sampleSize ??
        (profile.sample.length === 0 && profile.rows > profile.missing
          ? 0
          : Math.max(profile.sample.length, DEFAULT_TEXT_PROFILE.sampleSize)),
      options.seed ?? deriveSeed(DEFAULT_TEXT_PROFILE.seed, "text-current"),
    );
    this.vocabulary = new Set(profile.vocabulary.map((v) => v.word));
  }

  add(text: string): void {
    const words = this.count(text);
    if (words === undefined) return;
    for (const w of words) if (!this.vocabulary.has(w)) this.oovTokens++;
  }

  override reset(): void {
    super.reset();
    this.oovTokens = 0;
  }
}
