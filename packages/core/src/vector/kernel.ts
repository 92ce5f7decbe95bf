import { StorageError } from "../errors.js";
import { compareByCodePoint } from "../filters/evaluate.js";
import type { DistanceMetric } from "./types.js";
import { QuantizedRows } from "./quantized.js";
import { scanParallel } from "./scan-pool.js";
import { instantiateSimd, MAX_PAGES, simdModule, WASM_PAGE as PAGE, type SimdExports, type WasmMemory } from "./wasm-simd.js";

/**
 * Exact-search building blocks shared by the in-memory stores (SimpleVectorStore, and
 * SimplePropertyGraphStore for entity embeddings):
 *
 * - {@link VectorMatrix}: fixed-dimension float32 rows in ONE contiguous buffer (inside a
 *   WebAssembly memory when SIMD is available), grown by doubling, deleted by swap-remove so
 *   there are never holes, scored by a SIMD kernel (or a JavaScript fallback).
 * - {@link selectTopK}: bounded-heap top-k with a total order (score desc, then id asc by code point).
 * - {@link checkEmbedding}: the one validation of an embedding (finite, non-empty, dimension).
 */

export type KernelKind = "wasm" | "js";

export interface VectorMatrixOptions {
  dim: number;
  /** Default "cosine". */
  metric?: DistanceMetric;
  /** "auto" (default) uses WebAssembly SIMD when the runtime has it, else JavaScript. */
  kernel?: "auto" | KernelKind;
  /** Rows to reserve up front (default 64). */
  initialCapacity?: number;
  /**
   * Keep an int8 copy of the rows for the quantized first pass of {@link VectorMatrix.candidates}
   * (cosine and dot only). Default false.
   */
  quantize?: boolean;
}

/** Below this many rows the quantized copy is not built: the float32 scan is as fast. */
export const QUANTIZE_MIN_ROWS = 4096;
/** A filtered query (a list of allowed rows) uses the quantized copy from this many allowed rows. */
export const QUANTIZE_MIN_LISTED = 256;


/**
 * Sum of squares of `d[off .. off+dim)` in float64, with four partial sums (shorter dependency
 * chains for the JIT). Every path that stores a row's norm uses this one function, so a row added
 * and the same row loaded back get bit-identical norms.
 */
function sumOfSquares(d: Float32Array, off: number, dim: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 4 <= dim; j += 4) {
    const a = d[off + j]!;
    const b = d[off + j + 1]!;
    const c = d[off + j + 2]!;
    const e = d[off + j + 3]!;
    s0 += a * a;
    s1 += b * b;
    s2 += c * c;
    s3 += e * e;
  }
  for (; j < dim; j++) {
    const v = d[off + j]!;
    s0 += v * v;
  }
  return s0 + s1 + s2 + s3;
}

function align16(n: number): number {
  return (n + 15) & ~15;
}

/**
 * Float32 rows of a fixed dimension, padded to a multiple of 4 floats (`stride`), stored in one
 * buffer. Similarities are "higher is better": cosine (raw vectors kept, inverse norms stored at
 * insert so queries never recompute them; a zero vector scores 0), dot product, or negative
 * Euclidean distance.
 */
export class VectorMatrix {
  readonly dim: number;
  readonly stride: number;
  readonly metric: DistanceMetric;
  private kind: KernelKind;
  private count = 0;
  private capacity: number;
  private memory: WasmMemory | undefined;
  private simd: SimdExports | undefined;
  private data: Float32Array;
  private invNorms: Float32Array;
  private quantWanted: boolean;
  private quant: QuantizedRows | undefined;
  /** `dim` doubles, copied by {@link rowArray}. */
  #doubles: number[] | undefined;

  constructor(options: VectorMatrixOptions) {
    const { dim } = options;
    if (!Number.isInteger(dim) || dim <= 0) throw new StorageError("INVALID_ARGUMENT", `dimension must be a positive integer, got ${dim}`);
    this.dim = dim;
    this.stride = (dim + 3) & ~3;
    this.metric = options.metric ?? "cosine";
    this.capacity = Math.max(1, options.initialCapacity ?? 64);
    const wanted = options.kernel ?? "auto";
    const mod = wanted === "js" ? null : simdModule();
    if (wanted === "wasm" && !mod) throw new StorageError("UNSUPPORTED", "WebAssembly SIMD is not available in this runtime");
    this.kind = mod ? "wasm" : "js";
    if (mod) {
      const bytes = this.capacity * this.stride * 4;
      const inst = instantiateSimd(mod, Math.ceil((bytes + this.scratchBytes(this.capacity)) / PAGE));
      this.memory = inst.memory;
      this.simd = inst.exports;
      this.data = new Float32Array(this.memory.buffer, 0, this.capacity * this.stride);
    } else {
      this.data = new Float32Array(this.capacity * this.stride);
    }
    this.invNorms = new Float32Array(this.metric === "cosine" ? this.capacity : 0);
    this.quantWanted = options.quantize === true && this.metric !== "euclidean";
  }

  /** Turns the quantized copy on (cosine and dot; built once the matrix holds enough rows). */
  enableQuantized(): void {
    this.quantWanted = this.metric !== "euclidean";
  }

  /** Bytes held by the quantized copy (0 when there is none). */
  get quantizedByteLength(): number {
    return this.quant?.byteLength ?? 0;
  }

  /** Whether the quantized copy exists. */
  get hasQuantized(): boolean {
    return this.quant !== undefined;
  }

  /**
   * Builds the quantized copy now if it is wanted and the matrix is large enough (otherwise the
   * first query that can use it builds it). Returns whether it exists.
   */
  buildQuantized(): boolean {
    if (this.quant) return true;
    if (!this.quantWanted || this.count < QUANTIZE_MIN_ROWS) return false;
    const q = QuantizedRows.create(this.dim, this.capacity);
    if (!q) {
      this.quantWanted = false;
      return false;
    }
    q.setRows(0, this.count, this.data, this.stride, this.metric === "cosine" ? this.invNorms : undefined);
    this.quant = q;
    return true;
  }

  private quantRows(from: number, n: number): void {
    this.quant?.setRows(from, n, this.data, this.stride, this.metric === "cosine" ? this.invNorms : undefined);
  }

  /** Which kernel scores this matrix. */
  get kernel(): KernelKind {
    return this.kind;
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held for vectors (capacity, not size), plus norms. */
  get byteLength(): number {
    return this.data.byteLength + this.invNorms.byteLength;
  }

  private scratchBytes(rows: number): number {
    // query + a row list + an output array, each 16-byte aligned.
    return align16(this.stride * 4) + 2 * align16(rows * 4) + 64;
  }

  /** Makes room for `rows` rows (and the scratch a query over them needs). */
  reserve(rows: number): void {
    if (rows <= this.capacity) return;
    // Doubling keeps appends amortised O(1); a bulk load that needs more than double gets exactly
    // what it asked for (no 2x slack on a 100k-row batch).
    const cap = rows > this.capacity * 2 ? rows : this.capacity * 2;
    if (this.kind === "wasm") {
      const need = cap * this.stride * 4 + this.scratchBytes(cap);
      const have = this.memory!.buffer.byteLength;
      if (need > have) {
        const pages = Math.ceil((need - have) / PAGE);
        if (have / PAGE + pages > MAX_PAGES) {
          this.toJs(cap);
          return;
        }
        this.memory!.grow(pages);
      }
      this.data = new Float32Array(this.memory!.buffer, 0, cap * this.stride);
    } else {
      const next = new Float32Array(cap * this.stride);
      next.set(this.data.subarray(0, this.count * this.stride));
      this.data = next;
    }
    if (this.metric === "cosine") {
      const norms = new Float32Array(cap);
      norms.set(this.invNorms.subarray(0, this.count));
      this.invNorms = norms;
    }
    this.capacity = cap;
    if (this.quant && !this.quant.reserve(cap)) this.quant = undefined;
  }

  /** Past wasm32's 4 GiB, keep going in a plain ArrayBuffer with the JavaScript kernel. */
  private toJs(cap: number): void {
    const next = new Float32Array(cap * this.stride);
    next.set(this.data.subarray(0, this.count * this.stride));
    this.data = next;
    this.memory = undefined;
    this.simd = undefined;
    this.kind = "js";
    if (this.metric === "cosine") {
      const norms = new Float32Array(cap);
      norms.set(this.invNorms.subarray(0, this.count));
      this.invNorms = norms;
    }
    this.capacity = cap;
    if (this.quant && !this.quant.reserve(cap)) this.quant = undefined;
  }

  /** Appends a row (the caller validated it with {@link checkEmbedding}); returns its index. */
  push(vector: ArrayLike<number>): number {
    this.reserve(this.count + 1);
    const row = this.count++;
    this.set(row, vector);
    return row;
  }

  /** Overwrites row `row` (< size). */
  set(row: number, vector: ArrayLike<number>): void {
    if (this.write(row, vector) !== -1) throw new RangeError("vector has a non-finite component");
  }

  /**
   * Validates and writes in one pass: `vector` (exactly `dim` long) goes into row `row`, which may
   * lie in the reserved space past `size` (staging, see {@link commitAppend}). Returns -1, or the
   * index of the first component that is not a finite float32 (the row is then garbage, which is
   * harmless for a staged row and must not happen for a live one).
   */
  write(row: number, vector: ArrayLike<number>): number {
    if (row >= this.capacity) throw new RangeError(`row ${row} beyond capacity ${this.capacity}`);
    const off = row * this.stride;
    const d = this.data;
    const dim = this.dim;
    if (vector.length === dim && (vector instanceof Float32Array || Array.isArray(vector))) {
      // Float32Array: a copy, then one pass for finiteness and the norm (as #finishRows).
      // Arrays: every element must be a number (Float32Array would coerce strings and objects).
      if (Array.isArray(vector)) {
        for (let j = 0; j < dim; j++) if (typeof vector[j] !== "number") return j;
      }
      d.set(vector, off);
      for (let j = dim; j < this.stride; j++) d[off + j] = 0;
      const sq = sumOfSquares(d, off, dim);
      if (sq - sq !== 0) {
        for (let j = 0; j < dim; j++) if (d[off + j]! - d[off + j]! !== 0) return j;
      }
      if (this.metric === "cosine") this.invNorms[row] = sq > 0 ? 1 / Math.sqrt(sq) : 0;
      if (this.quant) this.quantRows(row, 1);
      return -1;
    }
    // One pass: copy, check, and the same four partial sums as {@link sumOfSquares} (so a row
    // written here and the same row loaded through writePacked get bit-identical norms).
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    const full = dim - (dim & 3);
    for (let j = 0; j < dim; j++) {
      const x = vector[j];
      d[off + j] = x as number;
      const v = d[off + j]!;
      // typeof guards against strings/objects that Float32Array would coerce.
      if (v - v !== 0 || typeof x !== "number") return j;
      const lane = j & 3;
      const q = v * v;
      if (j >= full) s0 += q; // the tail past the last full group of 4
      else if (lane === 0) s0 += q;
      else if (lane === 1) s1 += q;
      else if (lane === 2) s2 += q;
      else s3 += q;
    }
    for (let j = dim; j < this.stride; j++) d[off + j] = 0;
    if (this.metric === "cosine") {
      const sq = s0 + s1 + s2 + s3;
      this.invNorms[row] = sq > 0 ? 1 / Math.sqrt(sq) : 0;
    }
    if (this.quant) this.quantRows(row, 1);
    return -1;
  }

  /**
   * Bulk {@link write} of `n` packed rows (`dim` floats each, no padding) to rows `from`...: one
   * copy, then one pass for finiteness and norms. Returns the first offending row (relative to
   * `from`) holding a non-finite value, or -1.
   */
  writePacked(from: number, packed: Float32Array, n: number): number {
    if (from + n > this.capacity) throw new RangeError(`rows ${from}+${n} beyond capacity ${this.capacity}`);
    const { dim, stride } = this;
    const d = this.data;
    if (stride === dim) d.set(packed.subarray(0, n * dim), from * dim);
    else {
      for (let r = 0; r < n; r++) {
        const off = (from + r) * stride;
        d.set(packed.subarray(r * dim, (r + 1) * dim), off);
        d.fill(0, off + dim, off + stride);
      }
    }
    return this.#finishRows(from, n);
  }

  /**
   * For a bulk load straight into the matrix: makes room for `n` rows in an empty matrix and
   * returns a byte view of rows `0..n` to be filled with packed little-endian float32 (then call
   * {@link adoptPacked}), or `undefined` when rows are padded (`dim` not a multiple of 4) or the
   * matrix is not empty (use {@link writePacked}). Nothing else may touch the matrix in between.
   */
  packedTarget(n: number): Uint8Array | undefined {
    if (this.count !== 0 || this.stride !== this.dim) return undefined;
    this.reserve(n);
    return new Uint8Array(this.data.buffer, this.data.byteOffset, n * this.dim * 4);
  }

  /** Rows `0..n` of a matrix filled through {@link packedTarget}, as floats (a view). */
  packedTargetView(n: number): Float32Array {
    return this.data.subarray(0, n * this.dim);
  }

  /** Rows `0..n` filled through {@link packedTarget}: checked and normed like {@link writePacked}. */
  adoptPacked(n: number): number {
    if (n > this.capacity) throw new RangeError(`rows ${n} beyond capacity ${this.capacity}`);
    return this.#finishRows(0, n);
  }

  /** The finiteness check and norms of rows `from..from+n` already in place. */
  #finishRows(from: number, n: number): number {
    const { dim, stride } = this;
    const d = this.data;
    const cosine = this.metric === "cosine";
    const inv = this.invNorms;
    for (let r = 0; r < n; r++) {
      const off = (from + r) * stride;
      const sq = sumOfSquares(d, off, dim);
      // A NaN or an infinity anywhere makes the sum NaN or +Infinity (float64 cannot overflow here).
      if (sq - sq !== 0) return r;
      if (cosine) inv[from + r] = sq > 0 ? 1 / Math.sqrt(sq) : 0;
    }
    if (this.quant) this.quantRows(from, n);
    return -1;
  }

  /** Makes `k` rows written past `size` with {@link write} part of the matrix. */
  commitAppend(k: number): void {
    if (this.count + k > this.capacity) throw new RangeError("commit beyond capacity");
    this.count += k;
  }

  /** Copies row `from` over row `to` (both < capacity). */
  copyRow(from: number, to: number): void {
    this.data.copyWithin(to * this.stride, from * this.stride, (from + 1) * this.stride);
    if (this.metric === "cosine") this.invNorms[to] = this.invNorms[from]!;
    this.quant?.copyRow(from, to);
  }

  /**
   * Row `row`'s `dim` components as a plain array (a copy). A counted loop: `Array.from` on a typed
   * array goes through the iterator protocol and costs ~20x more.
   */
  rowArray(row: number): number[] {
    const off = row * this.stride;
    const d = this.data;
    // A copy of an array of doubles is born with double elements (no transition on the first
    // store) and packed, unlike `new Array(dim)`.
    const out = (this.#doubles ??= new Array<number>(this.dim).fill(0.5)).slice();
    for (let j = 0; j < this.dim; j++) out[j] = d[off + j]!;
    return out;
  }

  /** A copy of row `row`'s `dim` components. */
  row(row: number): Float32Array {
    const off = row * this.stride;
    return this.data.slice(off, off + this.dim);
  }

  /**
   * Removes row `row` by moving the last row into its place. Returns the old index of the row that
   * moved (so callers can update their id -> row maps), or -1 when `row` was the last one.
   */
  swapRemove(row: number): number {
    const last = this.count - 1;
    if (row < 0 || row > last) throw new RangeError(`row ${row} out of range`);
    this.count = last;
    if (row === last) return -1;
    this.data.copyWithin(row * this.stride, last * this.stride, (last + 1) * this.stride);
    if (this.metric === "cosine") this.invNorms[row] = this.invNorms[last]!;
    this.quant?.copyRow(last, row);
    return last;
  }

  clear(): void {
    this.count = 0;
  }

  /** The rows packed without padding: `size * dim` floats (a copy). */
  /**
   * The rows as one packed view without copying, when rows carry no padding (`dim` a multiple of
   * 4); else undefined. The view is only valid until the next write, delete or growth.
   */
  packedView(): Float32Array | undefined {
    return this.stride === this.dim ? this.data.subarray(0, this.count * this.dim) : undefined;
  }

  packed(): Float32Array {
    if (this.stride === this.dim) return this.data.slice(0, this.count * this.dim);
    const out = new Float32Array(this.count * this.dim);
    for (let r = 0; r < this.count; r++) out.set(this.data.subarray(r * this.stride, r * this.stride + this.dim), r * this.dim);
    return out;
  }

  /**
   * The quantized first pass of an exact top-`k` query: rows (of `rows`, or of the whole matrix
   * when `rows` is null) whose score's upper bound reaches the k-th largest lower bound, ascending.
   * This set contains every row of the exact top k under any tie rule (see `docs/vector.md`), so
   * scoring just these rows exactly ({@link scoreRows}) and selecting gives the exact answer.
   * `undefined` when the quantized pass does not apply (no copy, too few rows, a query outside the
   * bound's range): then score every row.
   */
  candidates(query: ArrayLike<number>, rows: Int32Array | null, k: number): Int32Array | undefined {
    const n = rows ? rows.length : this.count;
    if (n < (rows ? QUANTIZE_MIN_LISTED : QUANTIZE_MIN_ROWS) || k * 4 >= n || !this.buildQuantized()) return undefined;
    const q = this.quant!;
    const scale = this.queryScale(query);
    const bound = q.prepareQuery(query, scale);
    if (!bound || !(scale > 0)) return undefined;
    if (!q.prepareScan(n, rows)) return undefined;
    const picked = q.collect(n, k, scanParallel(q, n, rows !== null, k, bound));
    if (rows) for (let i = 0; i < picked.length; i++) picked[i] = rows[picked[i]!]!;
    return picked;
  }

  /** Whether the last {@link candidates} scan read a packed copy of its row list (see `QuantizedRows.prepareScan`). */
  get lastScanPacked(): boolean {
    return this.quant?.scanIsPacked ?? false;
  }

  /** The factor a query is scaled by before quantizing: 1 / its float32 norm for cosine (0 for a zero query), else 1. */
  private queryScale(query: ArrayLike<number>): number {
    if (this.metric !== "cosine") return 1;
    let qq = 0;
    for (let j = 0; j < this.dim; j++) {
      const v = Math.fround(query[j]!);
      qq += v * v;
    }
    return qq > 0 ? 1 / Math.sqrt(qq) : 0;
  }

  /**
   * Every row's lower and upper bound from the quantized copy (at 2i and 2i + 1), for tests of the
   * bound; `undefined` when there is no copy or the query is outside the bound's range.
   */
  quantizedBounds(query: ArrayLike<number>): Float64Array | undefined {
    if (!this.buildQuantized()) return undefined;
    const scale = this.queryScale(query);
    return this.quant!.allBounds(query, scale, this.count);
  }

  /** Similarity of `query` (validated, `dim` long) to every row, in row order. */
  scoreAll(query: ArrayLike<number>): Float32Array {
    return this.score(query, null);
  }

  /** Similarity of `query` to the listed rows, aligned with `rows`. */
  scoreRows(query: ArrayLike<number>, rows: ArrayLike<number>): Float32Array {
    return this.score(query, rows);
  }

  private score(query: ArrayLike<number>, rows: ArrayLike<number> | null): Float32Array {
    const n = rows ? rows.length : this.count;
    const out = new Float32Array(n);
    if (n === 0) return out;
    const metricCode = this.metric === "euclidean" ? 1 : 0;
    if (this.kind === "wasm") {
      const dataBytes = this.capacity * this.stride * 4;
      const qPtr = dataBytes;
      const rowsPtr = qPtr + align16(this.stride * 4);
      const outPtr = rowsPtr + align16(n * 4);
      const need = outPtr + n * 4;
      const buf = this.memory!.buffer;
      if (need > buf.byteLength) {
        this.memory!.grow(Math.ceil((need - buf.byteLength) / PAGE));
        this.data = new Float32Array(this.memory!.buffer, 0, this.capacity * this.stride);
      }
      const mem = this.memory!.buffer;
      const q = new Float32Array(mem, qPtr, this.stride);
      for (let j = 0; j < this.dim; j++) q[j] = query[j]!;
      q.fill(0, this.dim);
      if (rows) {
        new Int32Array(mem, rowsPtr, n).set(rows);
        this.simd!.score_rows(qPtr, 0, rowsPtr, n, this.stride, outPtr, metricCode);
      } else {
        this.simd!.score_all(qPtr, 0, n, this.stride, outPtr, metricCode);
      }
      out.set(new Float32Array(mem, outPtr, n));
    } else {
      const q = new Float32Array(this.stride);
      for (let j = 0; j < this.dim; j++) q[j] = query[j]!;
      jsScore(this.data, q, this.stride, rows, n, out, metricCode === 1);
    }
    if (this.metric === "cosine") {
      let qq = 0;
      for (let j = 0; j < this.dim; j++) {
        const v = Math.fround(query[j]!);
        qq += v * v;
      }
      const qInv = qq > 0 ? 1 / Math.sqrt(qq) : 0;
      const norms = this.invNorms;
      if (rows) for (let i = 0; i < n; i++) out[i] = out[i]! * norms[rows[i]!]! * qInv;
      else for (let i = 0; i < n; i++) out[i] = out[i]! * norms[i]! * qInv;
    }
    return out;
  }
}

/** The JavaScript kernel: four accumulators over the padded stride, float32 rows. */
function jsScore(
  data: Float32Array,
  q: Float32Array,
  stride: number,
  rows: ArrayLike<number> | null,
  n: number,
  out: Float32Array,
  l2: boolean,
): void {
  for (let i = 0; i < n; i++) {
    const off = (rows ? rows[i]! : i) * stride;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    if (l2) {
      for (let j = 0; j < stride; j += 4) {
        const d0 = q[j]! - data[off + j]!, d1 = q[j + 1]! - data[off + j + 1]!;
        const d2 = q[j + 2]! - data[off + j + 2]!, d3 = q[j + 3]! - data[off + j + 3]!;
        a0 += d0 * d0; a1 += d1 * d1; a2 += d2 * d2; a3 += d3 * d3;
      }
      out[i] = -Math.sqrt(a0 + a1 + a2 + a3);
    } else {
      for (let j = 0; j < stride; j += 4) {
        a0 += q[j]! * data[off + j]!;
        a1 += q[j + 1]! * data[off + j + 1]!;
        a2 += q[j + 2]! * data[off + j + 2]!;
        a3 += q[j + 3]! * data[off + j + 3]!;
      }
      out[i] = a0 + a1 + a2 + a3;
    }
  }
}

/**
 * Throws unless `vector` is a non-empty array (or typed array) of numbers that stay finite as
 * float32, and (when `dim` is given) has `dim` components. `what` names it in the message.
 */
export function checkEmbedding(vector: unknown, dim: number | undefined, what: string, store?: string): asserts vector is ArrayLike<number> {
  const isArr = Array.isArray(vector) || vector instanceof Float32Array || vector instanceof Float64Array;
  if (!isArr) throw new StorageError("INVALID_ARGUMENT", `${what} has no embedding (got ${vector === null ? "null" : typeof vector})`, { store });
  const v = vector as ArrayLike<unknown>;
  if (v.length === 0) throw new StorageError("INVALID_ARGUMENT", `${what} has an empty embedding`, { store });
  for (let j = 0; j < v.length; j++) {
    const x = v[j];
    if (typeof x !== "number" || !Number.isFinite(Math.fround(x))) {
      throw new StorageError(
        "INVALID_ARGUMENT",
        `${what}: embedding component ${j} is ${typeof x === "number" ? String(x) : typeof x}; components must be finite float32 numbers`,
        { store },
      );
    }
  }
  if (dim !== undefined && v.length !== dim) {
    throw new StorageError("DIMENSION_MISMATCH", `${what} has dimension ${v.length}, the store holds dimension ${dim}`, { store, details: { expected: dim, actual: v.length } });
  }
}

/**
 * Indices of the `k` best scores, best first, in a total order: higher score first, equal scores
 * by `idOf` ascending (Unicode code point order). NaN scores rank last. With `cutoff`, scores
 * below it are dropped. O(n log k).
 */
export function selectTopK(
  scores: ArrayLike<number>,
  k: number,
  idOf: (index: number) => string,
  options: { cutoff?: number } = {},
): number[] {
  const n = scores.length;
  if (k <= 0 || n === 0) return [];
  const cutoff = options.cutoff;
  const s = (i: number) => {
    const v = scores[i]!;
    return v === v ? v : -Infinity;
  };
  // worse(a, b): a ranks after b.
  const worse = (a: number, b: number) => {
    const sa = s(a), sb = s(b);
    return sa < sb || (sa === sb && compareByCodePoint(idOf(a), idOf(b)) > 0);
  };
  const heap: number[] = []; // min-heap by rank: heap[0] is the worst kept
  const siftDown = (i: number) => {
    const len = heap.length;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < len && worse(heap[l]!, heap[m]!)) m = l;
      if (r < len && worse(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  const siftUp = (i: number) => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!worse(heap[i]!, heap[p]!)) return;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  };
  let floor = -Infinity; // score of the worst kept once the heap is full
  for (let i = 0; i < n; i++) {
    const v = s(i);
    if (cutoff !== undefined && !(v >= cutoff)) continue;
    if (heap.length < k) {
      heap.push(i);
      siftUp(heap.length - 1);
      if (heap.length === k) floor = s(heap[0]!);
    } else if (v >= floor && worse(heap[0]!, i)) {
      heap[0] = i;
      siftDown(0);
      floor = s(heap[0]!);
    }
  }
  return heap.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
}
