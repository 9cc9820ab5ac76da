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

import { EMPTY, FNV_OFFSET, FNV_PRIME, PairMap, type RowCounts, TokenTable } from "./int-tables.js";
import { codePointAt, isJsSpace, isWordCodePoint } from "./normalize.js";

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
