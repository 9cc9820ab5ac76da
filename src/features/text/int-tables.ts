// Integer hash tables and a row counter for TF-IDF's transform (term-index.ts): open addressing in typed arrays,
// one cache line per probe, nothing allocated per lookup.

/** The value of an empty slot, and what a failed lookup returns. */
export const EMPTY = -1;

/** A hash of two non-negative int32 (murmur3's finaliser over a multiplicative mix). */
function pairHash(a: number, b: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ b;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * Open-addressing map (a, b) → value for non-negative int32 keys and values. Linear probing up to a load of 3/4
 * (a small table stays in cache); a slot is three consecutive int32 (a, b, value), so a probe touches one line.
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

export const FNV_OFFSET = 0x811c9dc5 | 0;
export const FNV_PRIME = 0x01000193;

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
