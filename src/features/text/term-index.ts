// The vocabulary of a fitted TF-IDF block as integer lookups, so that transform counts a text's terms without
// building a string per n-gram (building and hashing ~30,000 n-gram strings per 100 narratives was most of the
// serving time of a text model).
//
//   word n-grams  The text is scanned once for tokens (wordTokens' rule); each token is found in a table of the
//                 vocabulary's tokens by a hash of its UTF-16 units (no substring made), an unknown token ending
//                 every n-gram through it. An n-gram is a path in a trie keyed by (node, token id): node t < T is
//                 the unigram of token t, longer prefixes get nodes of their own, and a node that is a term holds
//                 its column.
//   char_wb       The same trie keyed by (node, code point) from a root, walked from every position of each
//                 space-padded word, as charWbNgrams enumerates them.
//
// Only counts per column come out (n-gram order does not matter to TF-IDF), so the result is what counting the
// strings of wordNgrams / charWbNgrams against the term → column map gives; tests/unit/features/text/
// tfidf-fast.test.ts checks that on random texts.

import { codePointAt, isJsSpace, isWordCodePoint } from "./normalize.js";

const EMPTY = -1;

/** A hash of two non-negative int32 (murmur3's finaliser over a multiplicative mix). */
function pairHash(a: number, b: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ b;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * Open-addressing map (a, b) → value for non-negative int32 keys and values (linear probing, load ≤ 3/4: a small table stays in cache). A slot
 * is three consecutive int32 (a, b, value), so a probe touches one cache line.
 */
export class PairMap {
  private slots = new Int32Array(3 * 16).fill(EMPTY);
  private mask = 15;
  private size = 0;

  /** The value of (a, b), or -1. */
  get(a: number, b: number): number {
    const slots = this.slots;
    const mask = this.mask;
    let slot = pairHash(a, b) & mask;
    for (;;) {
      const at = 3 * slot;
      const k = slots[at]!;
      if (k === a && slots[at + 1] === b) return slots[at + 2]!;
      if (k === EMPTY) return EMPTY;
      slot = (slot + 1) & mask;
    }
  }

  set(a: number, b: number, value: number): void {
    if (4 * (this.size + 1) > 3 * (this.mask + 1)) this.grow();
    const slots = this.slots;
    let slot = pairHash(a, b) & this.mask;
    for (;;) {
      const at = 3 * slot;
      if (slots[at] === EMPTY) {
        slots[at] = a;
        slots[at + 1] = b;
        slots[at + 2] = value;
        this.size++;
        return;
      }
      if (slots[at] === a && slots[at + 1] === b) {
        slots[at + 2] = value;
        return;
      }
      slot = (slot + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2).fill(EMPTY);
    this.mask = (this.mask + 1) * 2 - 1;
    this.size = 0;
    for (let at = 0; at < old.length; at += 3)
      if (old[at] !== EMPTY) this.set(old[at]!, old[at + 1]!, old[at + 2]!);
  }
}

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** FNV-1a over UTF-16 units `from` … `to` of `s` (the scanner computes the same hash as it reads a token). */
function unitsHash(s: string, from: number, to: number): number {
  let h = FNV_OFFSET;
  for (let i = from; i < to; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h;
}

/** Distinct strings → ids 0, 1, …, looked up by a range of another string's units without slicing it. */
export class TokenTable {
  private count = 0;
  /** The strings' UTF-16 units end to end. */
  private units = new Uint16Array(256);
  private used = 0;
  /** Four int32 per slot: hash, id (-1: empty), offset of the units, length; one cache line per probe. */
  private slots = new Int32Array(4 * 16).fill(EMPTY);
  private mask = 15;

  get size(): number {
    return this.count;
  }

  /** The id of `s`, added if new. */
  add(s: string): number {
    const h = unitsHash(s, 0, s.length);
    const found = this.find(s, 0, s.length, h);
    if (found !== EMPTY) return found;
    if (2 * (this.count + 1) > this.mask + 1) this.grow();
    while (this.used + s.length > this.units.length) {
      const grown = new Uint16Array(this.units.length * 2);
      grown.set(this.units);
      this.units = grown;
    }
    for (let i = 0; i < s.length; i++) this.units[this.used + i] = s.charCodeAt(i);
    this.place(h, this.count, this.used, s.length);
    this.used += s.length;
    return this.count++;
  }

  /** The id of the string text[from, to) whose unitsHash is `hash`, or -1. */
  find(text: string, from: number, to: number, hash: number): number {
    const { slots, mask, units } = this;
    const length = to - from;
    let slot = hash & mask;
    for (;;) {
      const at = 4 * slot;
      const id = slots[at + 1]!;
      if (id === EMPTY) return EMPTY;
      if (slots[at] === hash && slots[at + 3] === length) {
        const offset = slots[at + 2]!;
        let i = 0;
        while (i < length && units[offset + i] === text.charCodeAt(from + i)) i++;
        if (i === length) return id;
      }
      slot = (slot + 1) & mask;
    }
  }

  private place(hash: number, id: number, offset: number, length: number): void {
    let slot = hash & this.mask;
    while (this.slots[4 * slot + 1] !== EMPTY) slot = (slot + 1) & this.mask;
    this.slots.set([hash, id, offset, length], 4 * slot);
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2).fill(EMPTY);
    this.mask = this.slots.length / 4 - 1;
    for (let at = 0; at < old.length; at += 4)
      if (old[at + 1] !== EMPTY) this.place(old[at]!, old[at + 1]!, old[at + 2]!, old[at + 3]!);
  }
}

/** Term counts of one row: counts per column (reset by the reader) and the columns touched, in first-seen order. */
export class RowCounts {
  readonly counts: Int32Array;
  touched = new Int32Array(256);
  size = 0;
  private spare = new Int32Array(256);
  private readonly buckets = new Int32Array(256);
  /** Bits of the largest column (radix passes of 8 bits cover them). */
  private readonly bits: number;

  constructor(columns: number) {
    this.counts = new Int32Array(columns);
    this.bits = 32 - Math.clz32(Math.max(1, columns - 1));
  }

  add(column: number): void {
    const seen = this.counts[column]!;
    this.counts[column] = seen + 1;
    if (seen === 0) {
      if (this.size === this.touched.length) {
        const grown = new Int32Array(this.size * 2);
        grown.set(this.touched);
        this.touched = grown;
        this.spare = new Int32Array(this.size * 2);
      }
      this.touched[this.size++] = column;
    }
  }

  /** The touched columns ascending (LSD radix sort on bytes: a row has hundreds of distinct columns). */
  sortedColumns(): Int32Array {
    const n = this.size;
    let a = this.touched;
    if (n <= 32) {
      for (let i = 1; i < n; i++) {
        const v = a[i]!;
        let j = i - 1;
        while (j >= 0 && a[j]! > v) {
          a[j + 1] = a[j]!;
          j--;
        }
        a[j + 1] = v;
      }
      return a.subarray(0, n);
    }
    let b = this.spare;
    const buckets = this.buckets;
    for (let shift = 0; shift < this.bits; shift += 8) {
      buckets.fill(0);
      for (let i = 0; i < n; i++) {
        const d = (a[i]! >>> shift) & 255;
        buckets[d] = buckets[d]! + 1;
      }
      if (buckets[(a[0]! >>> shift) & 255] === n) continue; // every column has this byte: nothing to move
      let sum = 0;
      for (let k = 0; k < 256; k++) {
        const t = buckets[k]!;
        buckets[k] = sum;
        sum += t;
      }
      for (let i = 0; i < n; i++) {
        const v = a[i]!;
        const d = (v >>> shift) & 255;
        const to = buckets[d]!;
        buckets[d] = to + 1;
        b[to] = v;
      }
      const t = a;
      a = b;
      b = t;
    }
    this.touched = a;
    this.spare = b;
    return a.subarray(0, n);
  }
}

/** Counts a text's vocabulary terms into a RowCounts. */
export interface TermIndex {
  count(text: string, into: RowCounts): void;
}

/** A trie's node → column (-1 for a prefix that is no term), grown as nodes are made. */
class Columns {
  values = new Int32Array(64).fill(EMPTY);

  set(node: number, column: number): void {
    while (node >= this.values.length) {
      const grown = new Int32Array(this.values.length * 2).fill(EMPTY);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[node] = column;
  }
}

/** Word n-grams (terms are tokens joined by one space) of lengths lo … hi. */
export class WordTermIndex implements TermIndex {
  private readonly tokens = new TokenTable();
  private readonly children = new PairMap();
  private readonly columns: Int32Array;
  private ids = new Int32Array(256);

  constructor(
    terms: readonly string[],
    private readonly lo: number,
    private readonly hi: number,
  ) {
    // Token ids first (they are the unigram nodes), then the nodes of longer prefixes.
    const parts = terms.map((t) => t.split(" ").map((p) => this.tokens.add(p)));
    const columns = new Columns();
    let nodes = this.tokens.size;
    parts.forEach((ids, column) => {
      let node = ids[0]!;
      for (let k = 1; k < ids.length; k++) {
        let child = this.children.get(node, ids[k]!);
        if (child === EMPTY) {
          child = nodes++;
          this.children.set(node, ids[k]!, child);
        }
        node = child;
      }
      columns.set(node, column);
    });
    columns.set(nodes, EMPTY);
    this.columns = columns.values;
  }

  /** The token ids of `text` (-1 for a token outside the vocabulary), in order; returns how many. */
  private scan(text: string): number {
    let ids = this.ids;
    let n = 0;
    const length = text.length;
    let i = 0;
    while (i < length) {
      const c = text.charCodeAt(i);
      // ASCII letters, digits and _ inline; anything else through the code-point class.
      const ascii = c < 0x80;
      const cp = ascii ? c : codePointAt(text, i);
      if (
        ascii
          ? !((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || c === 0x5f)
          : !isWordCodePoint(cp)
      ) {
        i += cp > 0xffff ? 2 : 1;
        continue;
      }
      const start = i;
      let points = 0;
      let h = FNV_OFFSET;
      while (i < length) {
        const u = text.charCodeAt(i);
        if (u < 0x80) {
          if (
            !((u >= 0x61 && u <= 0x7a) || (u >= 0x30 && u <= 0x39) || (u >= 0x41 && u <= 0x5a) || u === 0x5f)
          )
            break;
          h = Math.imul(h ^ u, FNV_PRIME);
          i++;
        } else {
          const p = codePointAt(text, i);
          if (!isWordCodePoint(p)) break;
          h = Math.imul(h ^ u, FNV_PRIME);
          if (p > 0xffff) h = Math.imul(h ^ text.charCodeAt(i + 1), FNV_PRIME);
          i += p > 0xffff ? 2 : 1;
        }
        points++;
      }
      if (points < 2) continue;
      if (n === ids.length) {
        const grown = new Int32Array(n * 2);
        grown.set(ids);
        this.ids = ids = grown;
      }
      ids[n++] = this.tokens.find(text, start, i, h);
    }
    return n;
  }

  count(text: string, into: RowCounts): void {
    const n = this.scan(text);
    const { ids, columns, children, lo, hi } = this;
    for (let i = 0; i < n; i++) {
      let node = ids[i]!;
      if (node === EMPTY) continue;
      if (lo <= 1 && columns[node]! !== EMPTY) into.add(columns[node]!);
      const last = Math.min(n, i + hi);
      for (let j = i + 1; j < last; j++) {
        const t = ids[j]!;
        if (t === EMPTY) break;
        node = children.get(node, t);
        if (node === EMPTY) break;
        if (j - i + 1 >= lo && columns[node]! !== EMPTY) into.add(columns[node]!);
      }
    }
  }
}

/** char_wb n-grams of lengths lo … hi (code points), as charWbNgrams enumerates them. */
export class CharWbTermIndex implements TermIndex {
  private readonly children = new PairMap();
  private readonly columns: Int32Array;
  private points = new Int32Array(64);

  constructor(
    terms: readonly string[],
    private readonly lo: number,
    private readonly hi: number,
  ) {
    const columns = new Columns();
    let nodes = 1; // node 0 is the root (the empty prefix)
    terms.forEach((term, column) => {
      let node = 0;
      for (const ch of term) {
        const cp = ch.codePointAt(0)!;
        let child = this.children.get(node, cp);
        if (child === EMPTY) {
          child = nodes++;
          this.children.set(node, cp, child);
        }
        node = child;
      }
      if (node !== 0) columns.set(node, column);
    });
    columns.set(nodes, EMPTY);
    this.columns = columns.values;
  }

  count(text: string, into: RowCounts): void {
    const length = text.length;
    let i = 0;
    while (i < length) {
      if (isJsSpace(text.charCodeAt(i))) {
        i++;
        continue;
      }
      // One word: its code points padded with a space each side.
      let points = this.points;
      let L = 1;
      points[0] = 0x20;
      while (i < length && !isJsSpace(text.charCodeAt(i))) {
        const cp = codePointAt(text, i);
        i += cp > 0xffff ? 2 : 1;
        if (L + 2 > points.length) {
          const grown = new Int32Array(points.length * 2);
          grown.set(points);
          this.points = points = grown;
        }
        points[L++] = cp;
      }
      points[L++] = 0x20;
      this.countWord(points, L, into);
    }
  }

  /**
   * charWbNgrams' n-grams of one padded word of L code points: for lo ≤ n < L every window of n points, and the
   * whole word once when hi ≥ L (even when L < lo) — i.e. the window from s of d points when lo ≤ d < L, or d = L.
   */
  private countWord(points: Int32Array, L: number, into: RowCounts): void {
    const { children, columns, lo, hi } = this;
    for (let s = 0; s < L; s++) {
      const last = Math.min(hi, L - s);
      let node = 0;
      for (let d = 1; d <= last; d++) {
        node = children.get(node, points[s + d - 1]!);
        if (node === EMPTY) break;
        if (((d >= lo && d < L) || d === L) && columns[node]! !== EMPTY) into.add(columns[node]!);
      }
    }
  }
}
