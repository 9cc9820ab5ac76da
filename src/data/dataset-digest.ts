import { createHash } from "node:crypto";

/**
 * MLflow's dataset digest of a pandas DataFrame (mlflow/data/digest_utils.py `compute_pandas_digest`), in
 * TypeScript: the first 8 hex characters of an md5 over `pd.util.hash_pandas_object` of the first 10,000
 * rows (string and numeric columns only, in `Index.union` order), the row count (int64) and every column
 * name. The row hashes follow pandas 3 (pandas/core/util/hashing.py: SipHash-2-4 of UTF-8 strings with the
 * key "0123456789123456", the 64-bit bits of numbers, a splitmix finalizer, CPython's tuple-hash combine,
 * and the RangeIndex as a last column).
 */

/** One DataFrame column with the dtype pandas gives it. */
export type FrameColumn =
  | { name: string; dtype: "int64"; values: ArrayLike<number> }
  | { name: string; dtype: "float64"; values: ArrayLike<number> }
  /** An object/str column; `null` is a missing value (such a column is not hashed, as in MLflow). */
  | { name: string; dtype: "str"; values: readonly (string | null)[] };

const MAX_ROWS = 10_000;
const U64 = (1n << 64n) - 1n;
const HASH_KEY = Buffer.from("0123456789123456", "utf8");

function rotl(x: bigint, b: bigint): bigint {
  return ((x << b) | (x >> (64n - b))) & U64;
}

/** SipHash-2-4 (the reference algorithm, as pandas/_libs/src/klib's siphash). */
function siphash(data: Uint8Array, key: Uint8Array = HASH_KEY): bigint {
  const k = Buffer.from(key);
  const k0 = k.readBigUInt64LE(0);
  const k1 = k.readBigUInt64LE(8);
  let v0 = 0x736f6d6570736575n ^ k0;
  let v1 = 0x646f72616e646f6dn ^ k1;
  let v2 = 0x6c7967656e657261n ^ k0;
  let v3 = 0x7465646279746573n ^ k1;
  const round = () => {
    v0 = (v0 + v1) & U64;
    v1 = rotl(v1, 13n) ^ v0;
    v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & U64;
    v3 = rotl(v3, 16n) ^ v2;
    v0 = (v0 + v3) & U64;
    v3 = rotl(v3, 21n) ^ v0;
    v2 = (v2 + v1) & U64;
    v1 = rotl(v1, 17n) ^ v2;
    v2 = rotl(v2, 32n);
  };
  const full = data.length - (data.length % 8);
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < full; i += 8) {
    const m = view.readBigUInt64LE(i);
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  let last = BigInt(data.length & 0xff) << 56n;
  for (let i = data.length - 1; i >= full; i--) last |= BigInt(data[i]!) << BigInt(8 * (i - full));
  v3 ^= last;
  round();
  round();
  v0 ^= last;
  v2 ^= 0xffn;
  round();
  round();
  round();
  round();
  return v0 ^ v1 ^ v2 ^ v3;
}

/** pandas' finalizer over the 64-bit value of each element. */
function mix(x: bigint): bigint {
  let v = x;
  v ^= v >> 30n;
  v = (v * 0xbf58476d1ce4e5b9n) & U64;
  v ^= v >> 27n;
  v = (v * 0x94d049bb133111ebn) & U64;
  v ^= v >> 31n;
  return v;
}

const scratch = new DataView(new ArrayBuffer(8));

function float64Bits(value: number): bigint {
  // pandas canonicalizes NaN (any payload) and -0.0 (GH#28363).
  if (Number.isNaN(value)) return 0x7ff8000000000000n;
  scratch.setFloat64(0, value === 0 ? 0 : value, true);
  return scratch.getBigUint64(0, true);
}

function hashColumn(column: FrameColumn, rows: number): bigint[] {
  const out = new Array<bigint>(rows);
  if (column.dtype === "str") {
    const cache = new Map<string, bigint>();
    for (let i = 0; i < rows; i++) {
      const value = column.values[i] ?? "";
      let h = cache.get(value);
      if (h === undefined) {
        h = mix(siphash(Buffer.from(value, "utf8")));
        cache.set(value, h);
      }
      out[i] = h;
    }
    return out;
  }
  // Columns repeat values (codes, counts): each distinct value is hashed once.
  const cache = new Map<number, bigint>();
  for (let i = 0; i < rows; i++) {
    const value = column.values[i]!;
    let h = cache.get(value);
    if (h === undefined) {
      h = mix(column.dtype === "int64" ? BigInt.asUintN(64, BigInt(value)) : float64Bits(value));
      cache.set(value, h);
    }
    out[i] = h;
  }
  return out;
}

/** pandas' combine_hash_arrays (CPython's tuple hash). */
function combine(arrays: bigint[][], rows: number): bigint[] {
  const out = new Array<bigint>(rows).fill(0x345678n);
  let mult = 1000003n;
  arrays.forEach((a, i) => {
    const inverse = BigInt(arrays.length - i);
    for (let r = 0; r < rows; r++) out[r] = ((out[r]! ^ a[r]!) * mult) & U64;
    mult = (mult + 82520n + inverse + inverse) & U64;
  });
  return out.map((v) => (v + 97531n) & U64);
}

/** The columns MLflow hashes: all-str and numeric ones, ordered like pandas' `Index.union` (sorted, unless one side is empty). */
function hashedColumns(columns: readonly FrameColumn[]): FrameColumn[] {
  const strings = columns.filter((c) => c.dtype === "str" && c.values.every((v) => v !== null));
  const numbers = columns.filter((c) => c.dtype !== "str");
  if (strings.length === 0) return numbers;
  if (numbers.length === 0) return strings;
  return [...strings, ...numbers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * MLflow's digest of the DataFrame with these columns (in this order) and a RangeIndex: equal to
 * `mlflow.data.from_pandas(df).digest` for the same frame.
 * @example pandasDigest([{ name: "a", dtype: "int64", values: [1, 2, 3] }], 3)
 */
export function pandasDigest(columns: readonly FrameColumn[], rowCount: number): string {
  const rows = Math.min(rowCount, MAX_ROWS);
  const hashed = hashedColumns(columns).map((c) => hashColumn(c, rows));
  const index = Array.from({ length: rows }, (_, i) => mix(BigInt(i)));
  const rowHashes = combine([...hashed, index], rows);
  const bytes = Buffer.alloc(rows * 8 + 8);
  for (const [i, h] of rowHashes.entries()) bytes.writeBigUInt64LE(h, i * 8);
  bytes.writeBigInt64LE(BigInt(rowCount), rows * 8);
  const md5 = createHash("md5").update(bytes);
  for (const c of columns) md5.update(Buffer.from(c.name, "utf8"));
  return md5.digest("hex").slice(0, 8);
}
