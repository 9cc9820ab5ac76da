/**
 * A constant-memory sketch of one numeric column. It counts values exactly (an open-addressing hash on one
 * Float64Array of interleaved key/count slots, no Map per value) while the column has at most `maxPoints`
 * distinct values; past that it switches to equal-width bins whose width (a power of two) doubles whenever more
 * than `maxBins` bins are occupied, each bin holding its count and the sum of its values, so a bin's point is
 * its values' mean and the column's mean stays exact. Only occupied bins take memory, so an outlier costs one
 * bin, not the resolution of the bulk. Min, max, mean and the population std come from running sums.
 */
import { compressPoints, mergeTies } from "./points.js";
import type { WeightedValues } from "./types.js";

/** A column's values as the sketch summarises them. */
export interface SketchSummary {
  /** Distinct values (exact) or bin means (compressed), ascending, with their rows. */
  weighted: WeightedValues;
  /** True when `weighted` holds every distinct value. */
  exact: boolean;
  /** Distinct values seen (once compressed: the points kept, a lower bound). */
  distinct: number;
  count: number;
  min: number;
  max: number;
  mean: number;
  /** Population standard deviation. */
  std: number;
}

export interface ValueSketchOptions {
  /** Distinct values counted exactly (default 65,536). */
  maxPoints?: number;
  /**
   * Occupied bins once compressed (default min(maxPoints, 8,192)): small enough that every column's table stays
   * in the CPU cache, fine enough that the Wasserstein distance moves by less than 1e-4 of the column's std.
   */
  maxBins?: number;
  /**
   * Values buffered at most (default 131,072; at least 512). Changes the speed only, never the summary (see
   * MAX_SEGMENT); tests set it to check that.
   */
  maxBuffer?: number;
}

const INITIAL_SLOTS = 64;
/**
 * Values are buffered before they enter the table and counted a segment at a time. A segment holds as many
 * values as the table has slots (512 to 16,384): its min and max are taken before its values are counted, so
 * when the table compresses, the bins depend on the segments; they are fixed by this rule alone, so every
 * sketch of the same values is the same. The buffer holds up to four segments (at most 131,072 values, 1 MiB),
 * so that a large table stays in the CPU cache across consecutive segments instead of being evicted by the
 * other columns' tables between them; the buffer's size changes the speed only, never a count.
 */
const MIN_BUFFER = 512;
const MAX_SEGMENT = 16_384;
const MAX_BUFFER = 131_072;

// Hashing a double by its bits (one shared scratch buffer: a sketch call never yields).
const scratch = new Float64Array(1);
const bits = new Uint32Array(scratch.buffer);

/**
 * 32 bits that identify a double: integers (most table values, every bin index) as themselves, other values by
 * both words of their bits. Slots are then picked by Fibonacci hashing (the top bits of key × 2^32/φ).
 */
function keyBits(x: number): number {
  const i = x | 0;
  if (i === x) return i;
  scratch[0] = x;
  return bits[0]! ^ Math.imul(bits[1]!, 0x85ebca6b);
}

const GOLDEN = 0x9e3779b1;

/**
 * The bins' coordinate: x / L inside [-L, L] (equal-width bins), sign(x) (1 + ln(|x| / L)) outside (bins of equal
 * ratio, as a relative-error sketch keeps them). Continuous and increasing, so a heavy tail costs a few bins per
 * decade instead of the bulk's resolution; halving the scale halves every bin index (coarsening is floor(bin / 2)).
 * One expression everywhere, so a value always finds its bin.
 */
function warp(x: number, L: number, inverse: number): number {
  if (x <= L && x >= -L) return x * inverse;
  // Logs apart: x * inverse can overflow when L is tiny and x huge.
  return x > 0 ? 1 + Math.log(x) + Math.log(inverse) : -1 - Math.log(-x) - Math.log(inverse);
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Streaming value counts of one numeric column (finite values only: the caller drops NaN and infinities). */
export class ValueSketch {
  readonly maxPoints: number;
  readonly maxBins: number;
  readonly maxBuffer: number;
  /** Slots of `stride` numbers: key (NaN = empty), count, and (compressed) the sum of the bin's values. */
  private slots: Float64Array;
  private stride = 2;
  private mask: number;
  /** 32 - log2(capacity): Fibonacci hashing keeps the top bits. */
  private shiftBits: number;
  private size = 0;
  /** Compressed mode: bin = floor(scale * warp(x)), scale a power of two; 0 while exact. */
  private scale = 0;
  /** Where the bins turn from equal widths (|x| <= linear) to equal ratios (see `warp`). */
  private linear = 1;
  private n = 0;
  private buffer = new Float64Array(MIN_BUFFER);
  private pending = 0;
  /** Values per segment (see MAX_SEGMENT): grows with the table, never shrinks. */
  private segment = MIN_BUFFER;
  private shift = 0;
  private s1 = 0;
  private s2 = 0;
  private lo = Number.POSITIVE_INFINITY;
  private hi = Number.NEGATIVE_INFINITY;

  constructor(options: ValueSketchOptions = {}) {
    const maxPoints = options.maxPoints ?? 65_536;
    const maxBins = options.maxBins ?? Math.min(maxPoints, 8192);
    if (!Number.isInteger(maxPoints) || maxPoints < 4)
      throw new RangeError("maxPoints must be an integer >= 4");
    if (!Number.isInteger(maxBins) || maxBins < 4 || maxBins > maxPoints)
      throw new RangeError("maxBins must be an integer in [4, maxPoints]");
    const maxBuffer = options.maxBuffer ?? MAX_BUFFER;
    if (!Number.isInteger(maxBuffer) || maxBuffer < MIN_BUFFER)
      throw new RangeError(`maxBuffer must be an integer >= ${MIN_BUFFER}`);
    this.maxBuffer = maxBuffer;
    this.maxPoints = maxPoints;
    this.maxBins = maxBins;
    this.slots = emptySlots(INITIAL_SLOTS, 2);
    this.mask = INITIAL_SLOTS - 1;
    this.shiftBits = 32 - Math.log2(INITIAL_SLOTS);
  }

  /** The table's slot for a key (before probing). */
  private slotOf(key: number): number {
    return Math.imul(keyBits(key), GOLDEN) >>> this.shiftBits;
  }

  private resize(capacity: number, stride: number): void {
    this.slots = emptySlots(capacity, stride);
    this.stride = stride;
    this.mask = capacity - 1;
    this.shiftBits = 32 - Math.log2(capacity);
    this.size = 0;
  }

  /** Values added. */
  get count(): number {
    return this.n + this.pending;
  }

  /** False once the distinct values outgrew `maxPoints` and the sketch keeps bins. */
  get exact(): boolean {
    this.flush();
    return this.scale === 0;
  }

  get min(): number {
    this.flush();
    return this.n === 0 ? Number.NaN : this.lo;
  }

  get max(): number {
    this.flush();
    return this.n === 0 ? Number.NaN : this.hi;
  }

  /**
   * Adds one finite value. Values wait in a small buffer and enter the table a buffer at a time: with many
   * columns filled row by row, each column's table is then worked on while it is in the CPU cache.
   */
  add(value: number): void {
    this.buffer[this.pending++] = value;
    if (this.pending === this.buffer.length) this.flush(false);
  }

  /**
   * Counts the buffered values a segment at a time: all of them (`partial`: a summary or a getter needs the
   * counts now), or only whole segments, the rest staying buffered (the buffer is full).
   */
  private flush(partial = true): void {
    const count = this.pending;
    if (count === 0) return;
    const buffer = this.buffer;
    let from = 0;
    while (from < count && (partial || count - from >= this.segment)) {
      const to = Math.min(count, from + this.segment);
      this.countSegment(buffer, from, to);
      from = to;
      this.segment = Math.max(this.segment, Math.min(MAX_SEGMENT, Math.max(MIN_BUFFER, this.mask + 1)));
    }
    this.pending = count - from;
    const wanted = Math.max(
      this.segment,
      Math.min(this.maxBuffer, Math.max(MIN_BUFFER, 4 * (this.mask + 1))),
    );
    if (wanted > buffer.length) {
      this.buffer = new Float64Array(wanted);
      this.buffer.set(buffer.subarray(from, count));
    } else if (this.pending > 0) buffer.copyWithin(0, from, count);
  }

  /** Moments, range and counts of buffer[from..to): one segment (see MAX_SEGMENT). */
  private countSegment(buffer: Float64Array, from: number, to: number): void {
    if (this.n === 0) this.shift = buffer[from]! + 0;
    const shift = this.shift;
    let s1 = 0;
    let s2 = 0;
    let lo = this.lo;
    let hi = this.hi;
    for (let j = from; j < to; j++) {
      const x = buffer[j]! + 0; // -0 and 0 are one value
      buffer[j] = x;
      const d = x - shift;
      s1 += d;
      s2 += d * d;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    this.n += to - from;
    this.s1 += s1;
    this.s2 += s2;
    this.lo = lo;
    this.hi = hi;
    let j = from;
    while (j < to) j = this.scale === 0 ? this.countExact(buffer, j, to) : this.countBinned(buffer, j, to);
  }

  /**
   * Counts buffer[from..to) into the exact table; returns where it stopped: `to`, or just after a value whose
   * insertion grew, rehashed or compressed the table (the caller goes on with the new table).
   */
  private countExact(buffer: Float64Array, from: number, to: number): number {
    const slots = this.slots;
    const mask = this.mask;
    const shiftBits = this.shiftBits;
    for (let j = from; j < to; j++) {
      const x = buffer[j]!;
      let i = Math.imul(keyBits(x), GOLDEN) >>> shiftBits;
      for (;;) {
        const k = slots[2 * i]!;
        if (k === x) {
          slots[2 * i + 1]!++;
          break;
        }
        if (Number.isNaN(k)) {
          slots[2 * i] = x;
          slots[2 * i + 1] = 1;
          this.size++;
          if (this.size > this.maxPoints) {
            this.compress();
            return j + 1;
          }
          if (this.size * 2 > mask + 1) {
            this.rehash(2 * (mask + 1));
            return j + 1;
          }
          break;
        }
        i = (i + 1) & mask;
      }
    }
    return to;
  }

  /** Counts buffer[from..to) into the bins; returns where it stopped (as countExact). */
  private countBinned(buffer: Float64Array, from: number, to: number): number {
    const slots = this.slots;
    const mask = this.mask;
    const shiftBits = this.shiftBits;
    const scale = this.scale;
    const L = this.linear;
    const inverse = 1 / L;
    for (let j = from; j < to; j++) {
      const x = buffer[j]!;
      const bin = Math.floor(scale * warp(x, L, inverse));
      let i = Math.imul(keyBits(bin), GOLDEN) >>> shiftBits;
      for (;;) {
        const k = slots[3 * i]!;
        if (k === bin) {
          slots[3 * i + 1]!++;
          slots[3 * i + 2]! += x;
          break;
        }
        if (Number.isNaN(k)) {
          slots[3 * i] = bin;
          slots[3 * i + 1] = 1;
          slots[3 * i + 2] = x;
          this.size++;
          if (this.size > this.maxBins) {
            this.coarsen();
            return j + 1;
          }
          if (this.size * 2 > mask + 1) {
            this.rehash(2 * (mask + 1));
            return j + 1;
          }
          break;
        }
        i = (i + 1) & mask;
      }
    }
    return to;
  }

  /** Adds a bin's count and sum (rehashing and compressing: no growth check, the caller sized the table). */
  private addBinned(bin: number, count: number, sum: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = this.slotOf(bin);
    for (;;) {
      const k = slots[3 * i]!;
      if (k === bin) {
        slots[3 * i + 1]! += count;
        slots[3 * i + 2]! += sum;
        return;
      }
      if (Number.isNaN(k)) break;
      i = (i + 1) & mask;
    }
    slots[3 * i] = bin;
    slots[3 * i + 1] = count;
    slots[3 * i + 2] = sum;
    this.size++;
  }

  /** Moves every occupied slot into a table of `capacity` slots (same stride), re-keyed by `rekey`. */
  private rehash(capacity: number, rekey: (key: number) => number = (k) => k): void {
    const old = this.slots;
    const stride = this.stride;
    this.resize(capacity, stride);
    for (let j = 0; j < old.length; j += stride) {
      const k = old[j]!;
      if (Number.isNaN(k)) continue;
      if (stride === 2) this.insertExact(k, old[j + 1]!);
      else this.addBinned(rekey(k), old[j + 1]!, old[j + 2]!);
    }
  }

  private insertExact(key: number, count: number): void {
    const slots = this.slots;
    let i = this.slotOf(key);
    while (!Number.isNaN(slots[2 * i]!)) i = (i + 1) & this.mask;
    slots[2 * i] = key;
    slots[2 * i + 1] = count;
    this.size++;
  }

  /** Exact counts outgrew maxPoints: the finest power-of-two bins that leave at most half of maxBins occupied. */
  private compress(): void {
    const old = this.slots;
    const keys = new Float64Array(this.size);
    const counts = new Float64Array(this.size);
    let n = 0;
    for (let j = 0; j < old.length; j += 2) {
      if (Number.isNaN(old[j]!)) continue;
      keys[n] = old[j]!;
      counts[n++] = old[j + 1]!;
    }
    // At least 1e-300: 1 / L must stay finite (denormal columns).
    const L = Math.max(1e-300, linearLimit(keys, counts));
    this.linear = L;
    const inverse = 1 / L;
    const low = warp(this.lo, L, inverse);
    const half = Math.max(2, Math.floor(this.maxBins / 2));
    // Bins 64 times finer than the range alone allows, then the finest coarsening of them that fits.
    const fine =
      2 **
      Math.max(-1000, Math.min(1000, Math.floor(Math.log2(half / (warp(this.hi, L, inverse) - low))) + 6));
    const bins = new Float64Array(n);
    for (let i = 0; i < n; i++) bins[i] = Math.floor(fine * warp(keys[i]!, L, inverse));
    const width = coarsening(bins, Math.floor(fine * low), half, 6);
    this.scale = fine / width;
    this.resize(nextPowerOfTwo(this.maxBins + 2), 3);
    for (let i = 0; i < n; i++)
      this.addBinned(Math.floor(bins[i]! / width), counts[i]!, keys[i]! * counts[i]!);
    if (this.size > this.maxBins) this.coarsen();
  }

  /** Too many bins occupied: halve the resolution until at most half of maxBins remain. */
  private coarsen(): void {
    const half = Math.max(2, Math.floor(this.maxBins / 2));
    while (this.size > half) {
      this.scale /= 2;
      this.rehash(this.mask + 1, (k) => Math.floor(k / 2));
    }
  }

  /** Occupied slots sorted by key: values (exact) or bin means (compressed), with their counts. */
  private entries(): { values: Float64Array; counts: Float64Array } {
    const { slots, stride, mask } = this;
    const keys = new Float64Array(this.size);
    let n = 0;
    for (let j = 0; j < slots.length; j += stride) if (!Number.isNaN(slots[j]!)) keys[n++] = slots[j]!;
    keys.sort();
    // Each sorted key's slot is found again by probing (cheaper than sorting slot indices by key).
    const values = new Float64Array(n);
    const counts = new Float64Array(n);
    for (let m = 0; m < n; m++) {
      const k = keys[m]!;
      let i = this.slotOf(k);
      while (slots[stride * i] !== k) i = (i + 1) & mask;
      counts[m] = slots[stride * i + 1]!;
      values[m] = stride === 2 ? k : slots[stride * i + 2]! / counts[m]!;
    }
    return { values, counts };
  }

  /** The column's summary: at most `points` points (default: everything the sketch keeps). */
  summary(points = this.maxPoints): SketchSummary {
    this.flush();
    const { values, counts } = this.entries();
    // Bin means can round onto a neighbour's value at the precision limit: equal points merge.
    const sorted = mergeTies(values, counts);
    const weighted = sorted.values.length > points ? compressPoints(sorted, points) : sorted;
    const mean = this.n === 0 ? Number.NaN : this.shift + this.s1 / this.n;
    const variance = this.n === 0 ? Number.NaN : Math.max(0, this.s2 / this.n - (this.s1 / this.n) ** 2);
    return {
      weighted,
      exact: this.scale === 0 && weighted === sorted,
      distinct: sorted.values.length,
      count: this.n,
      min: this.min,
      max: this.max,
      mean,
      std: Math.sqrt(variance),
    };
  }

  /** Forgets every value. */
  reset(): void {
    this.pending = 0;
    this.buffer = new Float64Array(MIN_BUFFER);
    this.segment = MIN_BUFFER;
    this.resize(INITIAL_SLOTS, 2);
    this.scale = 0;
    this.linear = 1;
    this.size = 0;
    this.n = 0;
    this.s1 = 0;
    this.s2 = 0;
    this.shift = 0;
    this.lo = Number.POSITIVE_INFINITY;
    this.hi = Number.NEGATIVE_INFINITY;
  }
}

/**
 * The smallest power of two (at most 2^levels) that groups the fine bins into at most `half` occupied bins. The
 * fine bins are marked in a bitmap (no sort) and read back in order; gaps and sparse tails count as the empty bins
 * they are.
 */
function coarsening(bins: Float64Array, base: number, half: number, levels: number): number {
  let size = 0;
  for (const b of bins) if (b - base + 1 > size) size = b - base + 1;
  const bitmap = new Uint32Array(Math.ceil(size / 32));
  for (const b of bins) {
    const i = b - base;
    bitmap[i >>> 5]! |= 1 << (i & 31);
  }
  const occupied = new Float64Array(levels + 1);
  const last = new Float64Array(levels + 1).fill(Number.NaN);
  for (let w = 0; w < bitmap.length; w++) {
    let word = bitmap[w]!;
    while (word !== 0) {
      const b = base + w * 32 + 31 - Math.clz32(word & -word);
      word &= word - 1;
      for (let level = 0, width = 1; level <= levels; level++, width *= 2) {
        const group = Math.floor(b / width);
        if (group !== last[level]) {
          occupied[level]!++;
          last[level] = group;
        }
      }
    }
  }
  for (let level = 0; level <= levels; level++) if (occupied[level]! <= half) return 2 ** level;
  return 2 ** levels;
}

/**
 * About the 99th percentile of |x| (the bulk), read off a histogram of log2 |x| in eighth octaves over at most
 * 8,192 of the values (no sort); the largest |x| when that is 0.
 */
function linearLimit(values: Float64Array, counts: Float64Array): number {
  const STEPS = 8;
  const offset = 1100 * STEPS;
  const histogram = new Float64Array(2 * offset);
  const step = Math.max(1, Math.floor(values.length / 8192));
  let total = 0;
  let largest = 0;
  for (let i = 0; i < values.length; i++) {
    const m = Math.abs(values[i]!);
    if (m > largest) largest = m;
  }
  for (let i = 0; i < values.length; i += step) {
    const m = Math.abs(values[i]!);
    total += counts[i]!;
    if (m > 0) histogram[Math.floor(Math.log2(m) * STEPS) + offset]! += counts[i]!;
  }
  let outside = 0;
  for (let b = histogram.length - 1; b >= 0; b--) {
    outside += histogram[b]!;
    if (outside > 0.01 * total) return Math.min(largest, 2 ** ((b + 1 - offset) / STEPS));
  }
  return largest;
}

function emptySlots(capacity: number, stride: number): Float64Array {
  const slots = new Float64Array(capacity * stride);
  for (let j = 0; j < slots.length; j += stride) slots[j] = Number.NaN;
  return slots;
}
