// TF-IDF over normalised text (normalize.ts), fitted on the training texts and saved as plain JSON (terms + idf), so
// serving weighs exactly the terms training weighed. It computes what scikit-learn's TfidfVectorizer computes with
// lowercase=False (the text is normalised already), token_pattern r"(?u)\b\w\w+\b" (wordTokens), smooth_idf=True
// and norm="l2" (the parity test compares both on complaint narratives):
//
//   tf(t, d)  = count of t in d, or 1 + ln(count) with sublinearTf
//   idf(t)    = ln((1 + n) / (1 + df(t))) + 1         n = training documents, df = documents containing t
//   x(d)      = (tf · idf)(d) / ‖(tf · idf)(d)‖₂       (an empty document stays a zero row)
//
// Vocabulary: every word n-gram (ngramRange, "a b" for a bigram), kept when minDf ≤ df ≤ maxDf, then the
// maxFeatures most frequent by total count over the corpus; columns in code-point order of the terms (scikit-learn's
// vocabulary_ order). Ties at the maxFeatures cut go to the term first in that order (a stable sort; scikit-learn's
// unstable argsort leaves its choice among equal counts to numpy's sort implementation).
//
// minDf / maxDf follow scikit-learn's int-or-float rule written with plain numbers: minDf ≥ 1 is a count of
// documents (an integer), 0 ≤ minDf < 1 a fraction of them; 0 < maxDf ≤ 1 is a fraction (1 = no limit), maxDf > 1 a
// count (an integer).
//
// Character n-grams (charNgramRange) are scikit-learn's analyzer="char_wb": n-grams inside words padded with one
// space each side. They form a second block, fitted and l2-normalised on its own and appended after the word
// columns — what FeatureUnion([word TfidfVectorizer, char_wb TfidfVectorizer]) gives, so a row's norm is √2 then.
// The char block has its own charMaxFeatures (char n-grams outnumber words by far); minDf/maxDf apply to both.
import { WorkbenchError } from "../../shared/errors.js";
import { RowCounts } from "./int-tables.js";
import { wordTokens } from "./normalize.js";
import { CsrBuilder, type CsrMatrix } from "./sparse.js";
import { CharWbTermIndex, type TermIndex, WordTermIndex } from "./term-index.js";

export interface TfidfOptions {
  /** Word n-gram lengths [min, max] (1 ≤ min ≤ max). */
  ngramRange: [number, number];
  /** char_wb n-gram lengths [min, max], or null for word n-grams only. */
  charNgramRange: [number, number] | null;
  /** tf = 1 + ln(count) instead of the count. */
  sublinearTf: boolean;
  /** Terms in fewer documents are dropped: a count (≥ 1, integer) or a fraction of the documents (< 1). */
  minDf: number;
  /** Terms in more documents are dropped: a fraction of the documents (≤ 1; 1 = none) or a count (> 1, integer). */
  maxDf: number;
  /** Keep at most this many word n-grams, the most frequent over the training corpus; null = all. */
  maxFeatures: number | null;
  /** The same for the char n-gram block; null = all. */
  charMaxFeatures: number | null;
}

export const DEFAULT_TFIDF: TfidfOptions = {
  ngramRange: [1, 2],
  charNgramRange: null,
  sublinearTf: true,
  minDf: 2,
  maxDf: 1,
  maxFeatures: null,
  charMaxFeatures: null,
};

export type TfidfAnalyzer = "word" | "char_wb";

/** One fitted block: its analyzer, the terms in column order and their idf. */
export interface TfidfBlockState {
  analyzer: TfidfAnalyzer;
  ngramRange: [number, number];
  terms: string[];
  idf: number[];
}

/** A fitted vectorizer as JSON (what a text model saves beside its weights). */
export interface TfidfState {
  format: "workbench-tfidf";
  version: 1;
  sublinearTf: boolean;
  /** Documents it was fitted on. */
  documents: number;
  blocks: TfidfBlockState[];
}

const FORMAT = "workbench-tfidf";

function paramsError(message: string, details: Record<string, unknown>): WorkbenchError {
  return new WorkbenchError("TFIDF_PARAMS_INVALID", `TF-IDF: ${message}`, { details });
}

/** The word n-grams of a normalised text: its tokens, and their runs of 2 … max tokens joined by a space. */
export function wordNgrams(text: string, range: readonly [number, number]): string[] {
  const tokens = wordTokens(text);
  const [lo, hi] = range;
  const out: string[] = lo === 1 ? tokens.slice() : [];
  for (let i = 0; i < tokens.length; i++) {
    let gram = tokens[i]!;
    for (let n = 2; n <= hi && i + n <= tokens.length; n++) {
      gram += ` ${tokens[i + n - 1]!}`;
      if (n >= lo) out.push(gram);
    }
  }
  return out;
}

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * scikit-learn's char_wb n-grams: per whitespace-separated word w, the n-grams of " w " for n in range, a word
 * shorter than n giving " w " once (and no longer n-grams). Lengths count code points, as Python's do.
 */
export function charWbNgrams(text: string, range: readonly [number, number]): string[] {
  const [lo, hi] = range;
  const out: string[] = [];
  for (const word of text.split(/\s+/)) {
    if (word === "") continue;
    // Code points only matter when the word has a character outside the BMP (a surrogate pair).
    const padded = ` ${word} `;
    const w: string | string[] = SURROGATE.test(word) ? Array.from(padded) : padded;
    const gram =
      typeof w === "string"
        ? (from: number, to: number) => w.slice(from, to)
        : (from: number, to: number) => w.slice(from, to).join("");
    const len = w.length;
    for (let n = lo; n <= hi; n++) {
      let offset = 0;
      out.push(gram(0, n));
      while (offset + n < len) {
        offset++;
        out.push(gram(offset, offset + n));
      }
      if (offset === 0) break;
    }
  }
  return out;
}

function analyze(text: string, analyzer: TfidfAnalyzer, range: readonly [number, number]): string[] {
  return analyzer === "word" ? wordNgrams(text, range) : charWbNgrams(text, range);
}

/** A UTF-16 code unit mapped so that comparing mapped units compares code points (surrogates sort last). */
function unitRank(u: number): number {
  return u >= 0xd800 && u <= 0xdfff ? u + 0x2000 : u >= 0xe000 ? u - 0x800 : u;
}

/** Code-point order of two strings (Python's str order; JS's `<` compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return unitRank(x) - unitRank(y);
  }
  return a.length - b.length;
}

/** minDf / maxDf as document counts for n documents (scikit-learn's max_doc_count / min_doc_count). */
export function documentLimits(minDf: number, maxDf: number, n: number): { min: number; max: number } {
  if (!(minDf >= 0) || (minDf >= 1 && !Number.isInteger(minDf)))
    throw paramsError(`minDf ${minDf} is neither a fraction in [0, 1) nor a whole number of documents ≥ 1.`, {
      minDf,
    });
  if (!(maxDf > 0) || (maxDf > 1 && !Number.isInteger(maxDf)))
    throw paramsError(`maxDf ${maxDf} is neither a fraction in (0, 1] nor a whole number of documents > 1.`, {
      maxDf,
    });
  const min = minDf >= 1 ? minDf : minDf * n;
  const max = maxDf > 1 ? maxDf : maxDf * n;
  if (max < min)
    throw paramsError(
      `maxDf ${maxDf} allows fewer documents (${max}) than minDf ${minDf} requires (${min}) on ${n} documents; lower minDf or raise maxDf.`,
      { minDf, maxDf, documents: n },
    );
  return { min, max };
}

function checkRange(name: string, range: readonly [number, number]): void {
  const [lo, hi] = range;
  if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 1 && hi >= lo))
    throw paramsError(`${name} [${lo}, ${hi}] must be whole numbers with 1 ≤ min ≤ max.`, {
      [name]: range,
    });
}

function fitBlock(
  texts: readonly string[],
  analyzer: TfidfAnalyzer,
  range: [number, number],
  limits: { min: number; max: number },
  maxFeatures: number | null,
): TfidfBlockState {
  const ids = new Map<string, number>();
  const df: number[] = [];
  const tf: number[] = [];
  const seen: number[] = [];
  for (let d = 0; d < texts.length; d++) {
    for (const term of analyze(texts[d]!, analyzer, range)) {
      let id = ids.get(term);
      if (id === undefined) {
        id = df.length;
        ids.set(term, id);
        df.push(0);
        tf.push(0);
        seen.push(-1);
      }
      tf[id]!++;
      if (seen[id] !== d) {
        seen[id] = d;
        df[id]!++;
      }
    }
  }
  const terms = [...ids.keys()].sort(compareCodePoints);
  let kept = terms.filter((t) => {
    const f = df[ids.get(t)!]!;
    return f >= limits.min && f <= limits.max;
  });
  if (maxFeatures !== null && kept.length > maxFeatures) {
    const order = kept.map((_, i) => i);
    order.sort((a, b) => tf[ids.get(kept[b]!)!]! - tf[ids.get(kept[a]!)!]! || a - b);
    const chosen = order.slice(0, maxFeatures).sort((a, b) => a - b);
    kept = chosen.map((i) => kept[i]!);
  }
  const n = texts.length;
  const idf = kept.map((t) => Math.log((1 + n) / (1 + df[ids.get(t)!]!)) + 1);
  return { analyzer, ngramRange: [range[0], range[1]], terms: kept, idf };
}

/** A fitted block ready to transform: its terms as integer lookups (term-index.ts), idf as float64, built once. */
class Block {
  readonly index: TermIndex;
  readonly idf: Float64Array;

  constructor(readonly state: TfidfBlockState) {
    const [lo, hi] = state.ngramRange;
    this.index =
      state.analyzer === "word"
        ? new WordTermIndex(state.terms, lo, hi)
        : new CharWbTermIndex(state.terms, lo, hi);
    this.idf = Float64Array.from(state.idf);
  }
}

/** 1 + ln(k) for small counts k, computed as transform would (so the same float64), to skip most Math.log calls. */
const LOG_TF = Float64Array.from({ length: 64 }, (_, k) => 1 + Math.log(k));

/** The name of a block's column in feature lists (char n-grams quoted, since they carry spaces). */
function featureName(analyzer: TfidfAnalyzer, term: string): string {
  return analyzer === "word" ? term : `char:${JSON.stringify(term)}`;
}

/** A fitted TF-IDF vectorizer (fit once on the training texts; transform anything afterwards). */
export class TfidfVectorizer {
  private readonly blocks: Block[];
  /** Per-row scratch reused by every transform (transform is synchronous, so never shared by two calls). */
  private scratch: RowCounts | undefined;
  private values = new Float64Array(256);

  constructor(readonly state: TfidfState) {
    this.blocks = state.blocks.map((b) => new Block(b));
  }

  /** Fits the vocabulary and idf on `texts` (normalised). Throws TFIDF_PARAMS_INVALID or TFIDF_EMPTY_VOCABULARY. */
  static fit(texts: readonly string[], options: TfidfOptions): TfidfVectorizer {
    checkRange("ngramRange", options.ngramRange);
    if (options.charNgramRange !== null) checkRange("charNgramRange", options.charNgramRange);
    for (const key of ["maxFeatures", "charMaxFeatures"] as const) {
      const v = options[key];
      if (v !== null && !(Number.isInteger(v) && v >= 1))
        throw paramsError(`${key} ${v} must be a whole number ≥ 1 (or null for all terms).`, { [key]: v });
    }
    if (texts.length === 0) throw paramsError("no training texts to fit on.", { documents: 0 });
    const limits = documentLimits(options.minDf, options.maxDf, texts.length);
    const blocks = [fitBlock(texts, "word", options.ngramRange, limits, options.maxFeatures)];
    if (options.charNgramRange !== null)
      blocks.push(fitBlock(texts, "char_wb", options.charNgramRange, limits, options.charMaxFeatures));
    for (const b of blocks)
      if (b.terms.length === 0)
        throw new WorkbenchError(
          "TFIDF_EMPTY_VOCABULARY",
          `TF-IDF: no ${b.analyzer === "word" ? "word" : "char"} n-gram of the ${texts.length} training texts is in at least minDf = ${options.minDf} and at most maxDf = ${options.maxDf} documents; lower minDf or raise maxDf (or check that the text column is not empty).`,
          {
            details: {
              analyzer: b.analyzer,
              documents: texts.length,
              minDf: options.minDf,
              maxDf: options.maxDf,
            },
          },
        );
    return new TfidfVectorizer({
      format: FORMAT,
      version: 1,
      sublinearTf: options.sublinearTf,
      documents: texts.length,
      blocks,
    });
  }

  /** Columns of the matrices `transform` returns. */
  get size(): number {
    return this.state.blocks.reduce((n, b) => n + b.terms.length, 0);
  }

  /** Column names: word n-grams as written, char n-grams as char:"…". */
  featureNames(): string[] {
    return this.state.blocks.flatMap((b) => b.terms.map((t) => featureName(b.analyzer, t)));
  }

  /**
   * The TF-IDF rows of `texts` (terms outside the vocabulary are ignored); with several blocks, each row is the
   * blocks' cells side by side (hstack), each block l2-normalised on its own.
   */
  transform(texts: readonly string[]): CsrMatrix {
    const sublinear = this.state.sublinearTf;
    this.scratch ??= new RowCounts(Math.max(...this.blocks.map((b) => b.state.terms.length)));
    const row = this.scratch;
    const { counts } = row;
    const out = new CsrBuilder(this.size, texts.length * 128);
    let values = this.values;
    for (let r = 0; r < texts.length; r++) {
      let offset = 0;
      for (const block of this.blocks) {
        row.size = 0;
        block.index.count(texts[r]!, row);
        const n = row.size;
        // Columns ascending, as CSR rows are (and as the norm is summed, so values are the reference's bit for bit).
        const columns = row.sortedColumns();
        if (values.length < n) this.values = values = new Float64Array(Math.max(n, values.length * 2));
        const idf = block.idf;
        let norm = 0;
        for (let k = 0; k < n; k++) {
          const c = columns[k]!;
          const count = counts[c]!;
          counts[c] = 0;
          const v =
            (sublinear ? (count < LOG_TF.length ? LOG_TF[count]! : 1 + Math.log(count)) : count) * idf[c]!;
          values[k] = v;
          norm += v * v;
        }
        norm = Math.sqrt(norm);
        for (let k = 0; k < n; k++) out.push(offset + columns[k]!, values[k]! / norm);
        offset += block.state.terms.length;
      }
      out.endRow();
    }
    return out.build();
  }
}

const isRange = (v: unknown): v is [number, number] =>
  Array.isArray(v) &&
  v.length === 2 &&
  v.every((x) => Number.isInteger(x) && (x as number) >= 1) &&
  (v[0] as number) <= (v[1] as number);

/** Checks JSON read from a model directory and returns it as a vectorizer; TFIDF_STATE_INVALID names the problem. */
export function tfidfFromJson(value: unknown, where: string): TfidfVectorizer {
  const fail = (problem: string) =>
    new WorkbenchError(
      "TFIDF_STATE_INVALID",
      `The TF-IDF vocabulary in ${where} cannot be loaded: ${problem}.`,
      {
        details: { where },
      },
    );
  if (value === null || typeof value !== "object") throw fail("it is not a JSON object");
  const s = value as Partial<TfidfState>;
  if (s.format !== FORMAT) throw fail(`it is not a ${FORMAT} file`);
  if (s.version !== 1) throw fail(`format version ${String(s.version)}; this build reads 1`);
  if (typeof s.sublinearTf !== "boolean") throw fail("sublinearTf is not a boolean");
  if (!Number.isInteger(s.documents) || (s.documents as number) < 1) throw fail("documents is not a count");
  if (!Array.isArray(s.blocks) || s.blocks.length === 0) throw fail("it has no blocks");
  for (const [i, b] of s.blocks.entries()) {
    if (b === null || typeof b !== "object") throw fail(`block ${i} is not an object`);
    if (b.analyzer !== "word" && b.analyzer !== "char_wb")
      throw fail(`block ${i} has analyzer ${String(b.analyzer)}`);
    if (!isRange(b.ngramRange)) throw fail(`block ${i} has no valid ngramRange`);
    if (!Array.isArray(b.terms) || !b.terms.every((t) => typeof t === "string"))
      throw fail(`block ${i}'s terms are not strings`);
    if (new Set(b.terms).size !== b.terms.length) throw fail(`block ${i} repeats a term`);
    if (
      !Array.isArray(b.idf) ||
      b.idf.length !== b.terms.length ||
      !b.idf.every((v) => typeof v === "number" && Number.isFinite(v) && v >= 1)
    )
      throw fail(`block ${i} needs one idf ≥ 1 per term`);
  }
  return new TfidfVectorizer(s as TfidfState);
}
