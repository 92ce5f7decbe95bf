/**
 * The int8 copy of a {@link VectorMatrix}'s rows that the first pass of an exact query scans
 * (a quarter of the float32 bytes), with per-row error terms from which every row gets a lower
 * and an upper bound of its exact score. The derivation is in `docs/vector.md` ("Exact search over
 * a quantized copy"); the names below follow it.
 *
 * Row r (cosine: the row scaled by its stored inverse norm, x~ = x * ix; dot: x~ = x) is stored as
 * q_r = round(x~ / s_r) in [-127, 127] with s_r = max|x~_j| / 127 (a float32), plus
 * E_r >= ||x~ - s_r q_r|| and N_r >= ||x~|| (float32, rounded up). Rows whose float32 norm is zero
 * have s = E = N = 0 (their score is exactly 0); rows whose norm lies outside [2^-60, 2^60] get
 * E = +Infinity (never excluded: the floating-point error argument does not cover them).
 *
 * The memory is a shared WebAssembly memory: worker threads scan parts of it (see `scan-pool.ts`).
 */
import { int8Module, instantiateInt8, type Int8Exports } from "./wasm-int8.js";
import { MAX_PAGES, sharedMemory, WASM_PAGE as PAGE, type WasmMemory } from "./wasm-simd.js";

const LO = 2 ** -60;
const ROUND = 6_755_399_441_055_744; // 1.5 * 2^52
const HI = 2 ** 60;
const f32bits = new Float32Array(1);
const u32bits = new Uint32Array(f32bits.buffer);

/** The smallest float32 >= x (x >= 0, finite). */
export function f32Up(x: number): number {
  const f = Math.fround(x);
  if (f >= x) return f;
  f32bits[0] = f;
  u32bits[0] = u32bits[0]! + 1;
  return f32bits[0]!;
}

const align64 = (n: number) => Math.ceil(n / 64) * 64;

/** Query-side constants of the bound (see the doc): a = c s I, b = alpha E + beta N. */
export interface QueryBound {
  c: number;
  alpha: number;
  beta: number;
}

export class QuantizedRows {
  readonly dim: number;
  /** Bytes per quantized row: `dim` rounded up to a multiple of 32. */
  readonly rowBytes: number;
  /** Largest |q_j| of a quantized query: keeps every partial integer sum below 2^31. */
  readonly queryMax: number;
  readonly memory: WasmMemory;
  private readonly wasm: Int8Exports;
  private capacity = 0;
  private metaOff = 0;
  private scratchOff = 0;
  private i8!: Int8Array;
  private meta!: Float32Array;
  /** Bumped by every change of the rows or the layout (a packed copy is valid for one value). */
  private gen = 0;
  /** The row list of the last listed scan, to notice a list that comes back (see {@link prepareScan}). */
  private lastListed: Int32Array | undefined;
  /** The rows of a repeated row list, copied contiguously after the scratch area. */
  private packed: { rows: Int32Array; gen: number; off: number; metaOff: number } | undefined;
  /** How the scan prepared by {@link prepareScan} reads its rows: base of the rows, meta, row list (0: none). */
  private scanSource = { base: 0, meta: 0, rowsPtr: 0 };

  private constructor(dim: number, memory: WasmMemory, wasm: Int8Exports) {
    this.dim = dim;
    this.rowBytes = Math.ceil(dim / 32) * 32;
    this.queryMax = Math.min(32_767, Math.floor((2 ** 31 - 1) / (this.rowBytes * 127)));
    this.memory = memory;
    this.wasm = wasm;
  }

  /** A quantized copy for `dim`-dimensional rows, or undefined without WebAssembly SIMD + shared memory. */
  static create(dim: number, capacity: number): QuantizedRows | undefined {
    const mod = int8Module();
    if (!mod) return undefined;
    // int8 quantization with an i16 query needs dim * 127 * 1 < 2^31 at least.
    if (Math.ceil(dim / 32) * 32 * 127 > 2 ** 31 - 1) return undefined;
    try {
      const memory = sharedMemory(1);
      const q = new QuantizedRows(dim, memory, instantiateInt8(mod, memory));
      return q.reserve(capacity) ? q : undefined;
    } catch {
      return undefined;
    }
  }

  /** Bytes per row held here (quantized row + three float32). */
  get bytesPerRow(): number {
    return this.rowBytes + 12;
  }

  /** Bytes of quantized rows and their error terms (capacity, not size). */
  get byteLength(): number {
    return this.capacity * this.bytesPerRow;
  }

  /** Query + row list + bounds for `rows` rows. */
  private scratchBytes(rows: number): number {
    return align64(this.rowBytes * 2) + align64(rows * 4) + rows * 16 + 64;
  }

  /** Room for `rows` rows; false when the shared memory cannot hold them (4 GiB). */
  reserve(rows: number): boolean {
    if (rows <= this.capacity) return true;
    const cap = Math.max(rows, Math.min(this.capacity * 2, rows + (1 << 20)));
    const metaOff = cap * this.rowBytes;
    const scratchOff = align64(metaOff + cap * 12);
    const need = scratchOff + this.scratchBytes(cap);
    if (!this.ensureBytes(need)) return false;
    const buf = this.memory.buffer;
    // Move the error terms up (the rows region grew under them).
    new Uint8Array(buf).copyWithin(metaOff, this.metaOff, this.metaOff + this.capacity * 12);
    this.capacity = cap;
    this.metaOff = metaOff;
    this.scratchOff = scratchOff;
    this.gen++;
    this.views();
    return true;
  }

  private ensureBytes(need: number): boolean {
    const have = this.memory.buffer.byteLength;
    if (need <= have) return true;
    const pages = Math.ceil((need - have) / PAGE);
    if (have / PAGE + pages > MAX_PAGES) return false;
    this.memory.grow(pages);
    return true;
  }

  private views(): void {
    const buf = this.memory.buffer;
    this.i8 = new Int8Array(buf, 0, this.capacity * this.rowBytes);
    this.meta = new Float32Array(buf, this.metaOff, this.capacity * 3);
  }

  /**
   * Quantizes rows `from .. from + n` from `data` (row i at `data[(from + i) * stride ..]`, `dim`
   * floats); `inv` holds each row's stored float32 inverse norm for cosine (rows are quantized
   * scaled by it), `undefined` for the dot product. The float64 work runs in the wasm `qrows`
   * on blocks of rows copied into the scratch area; the error terms are finished here.
   */
  setRows(from: number, n: number, data: Float32Array, stride: number, inv: Float32Array | undefined): void {
    this.gen++;
    const B = 512;
    const stage = this.scratchOff + align64(this.rowBytes * 2);
    const fOff = stage + B * stride * 4;
    const statsOff = align64(fOff + B * 4);
    if (!this.ensureBytes(statsOff + B * 32)) throw new RangeError("quantized copy: out of memory");
    const buf = this.memory.buffer;
    const stageF = new Float32Array(buf, stage, B * stride);
    const fs = new Float32Array(buf, fOff, B);
    const stats = new Float64Array(buf, statsOff, B * 4);
    const meta = this.meta;
    for (let at = 0; at < n; at += B) {
      const m = Math.min(B, n - at);
      const row0 = from + at;
      stageF.set(data.subarray(row0 * stride, (row0 + m) * stride));
      if (inv) fs.set(inv.subarray(row0, row0 + m));
      this.wasm.qrows(stage, m, stride * 4, this.dim, row0 * this.rowBytes, this.rowBytes, inv ? fOff : 0, statsOff);
      for (let i = 0; i < m; i++) {
        const raw2 = stats[4 * i]!, sc = stats[4 * i + 1]!, e2 = stats[4 * i + 2]!, f = stats[4 * i + 3]!;
        const k = (row0 + i) * 3;
        const rawNorm = Math.sqrt(raw2);
        if (raw2 === 0) {
          meta[k] = 0;
          meta[k + 1] = 0;
          meta[k + 2] = 0;
        } else if (!(rawNorm >= LO && rawNorm <= HI) || !(f >= LO && f <= HI) || !(sc > 0)) {
          meta[k] = 0;
          meta[k + 1] = Infinity;
          meta[k + 2] = 0;
        } else {
          const norm = rawNorm * f;
          meta[k] = sc;
          // Rounding slack of the float64 arithmetic (see the doc): relative 2^-20, absolute 2^-48 ||x~||.
          meta[k + 1] = f32Up(Math.sqrt(e2) * (1 + 2 ** -20) + norm * 2 ** -48);
          meta[k + 2] = f32Up(norm * (1 + 2 ** -20));
        }
      }
    }
  }

  copyRow(from: number, to: number): void {
    this.gen++;
    const rb = this.rowBytes;
    this.i8.copyWithin(to * rb, from * rb, (from + 1) * rb);
    this.meta.copyWithin(to * 3, from * 3, from * 3 + 3);
  }

  /**
   * Quantizes the query into the scratch area and returns the bound's query constants, or
   * `undefined` when the query's norm is outside [2^-60, 2^60] (the caller scans exactly).
   * `scoreScale` is the factor the exact score applies after the dot product (cosine: the query's
   * inverse norm; dot: 1).
   */
  prepareQuery(query: ArrayLike<number>, scoreScale: number): QueryBound | undefined {
    const dim = this.dim;
    let y2 = 0;
    let max = 0;
    for (let j = 0; j < dim; j++) {
      const v = Math.fround(query[j]!);
      y2 += v * v;
      const a = v < 0 ? -v : v;
      if (a > max) max = a;
    }
    const ynorm = Math.sqrt(y2);
    if (!(ynorm >= LO && ynorm <= HI)) return undefined;
    const t = max / this.queryMax;
    const tInv = 1 / t;
    const qmax = this.queryMax;
    const qv = new Int16Array(this.memory.buffer, this.scratchOff, this.rowBytes);
    let e2 = 0;
    let qq = 0;
    for (let j = 0; j < dim; j++) {
      const v = Math.fround(query[j]!);
      let k = v * tInv + ROUND - ROUND;
      k = k > qmax ? qmax : k;
      k = k < -qmax ? -qmax : k;
      qv[j] = k | 0;
      const e = v - t * k;
      e2 += e * e;
      qq += k * k;
    }
    qv.fill(0, dim);
    // G: twice the textbook bound (dim + 2) 2^-24 on the float32 kernel's error, relative to
    // ||y|| ||x~||, plus the terms listed in the doc.
    const G = (dim + 24) * 2 ** -23;
    const slack = 1 + 2 ** -40;
    return {
      c: scoreScale * t,
      alpha: scoreScale * t * Math.sqrt(qq) * slack,
      beta: scoreScale * (Math.sqrt(e2) + (G + 2 ** -48) * ynorm) * slack,
    };
  }

  /** Where a scan's entries go: bounds (two float64 per row) and indices (int32 per row). */
  private outOff(n: number): number {
    return this.scratchOff + align64(this.rowBytes * 2) + align64(n * 4);
  }
  private idxOff(n: number): number {
    return this.outOff(n) + n * 16;
  }
  private rowsOff(): number {
    return this.scratchOff + align64(this.rowBytes * 2);
  }

  /** Reserves scratch for a scan of `n` rows (a query's list of allowed rows may exceed nothing, but
   * the entries need 20 bytes per row). */
  private scratchFor(n: number): boolean {
    return this.ensureBytes(this.idxOff(n) + n * 4 + 64);
  }

  /**
   * The arguments of {@link scanPart} for rows `[lo, hi)` of the scan of `n` rows last prepared by
   * {@link prepareScan}, for this thread or a worker.
   */
  partArgs(lo: number, hi: number, n: number, k: number, b: QueryBound): PartArgs {
    const src = this.scanSource;
    return [this.scratchOff, src.rowsPtr, src.base, lo, hi, this.rowBytes, src.meta, this.outOff(n), this.idxOff(n), b.c, b.alpha, b.beta, k];
  }

  /**
   * Prepares a scan of `n` rows: every row (`rows` null), or the listed rows, read through the
   * list (a gather) or, when the same list comes back unchanged, from a packed copy. Returns
   * false when out of memory.
   *
   * A list given twice in a row (the same array object — the store hands out one array per
   * filter posting until its next write — and no change of the rows in between) is copied once,
   * rows and error terms, into a contiguous block after the scratch area, and later scans of it
   * read that block sequentially: a selective filter's rows lie far apart, and reading them
   * through the list costs about twice as much per row (cache and TLB misses). Only one list is
   * kept, and only when it holds at most an eighth of the capacity (memory: that many rows'
   * `rowBytes + 12` bytes).
   */
  prepareScan(n: number, rows: Int32Array | null): boolean {
    if (!this.scratchFor(n)) return false;
    if (!rows) {
      this.scanSource = { base: 0, meta: this.metaOff, rowsPtr: 0 };
      return true;
    }
    const p = this.packed;
    if (p && p.rows === rows && p.gen === this.gen) {
      this.scanSource = { base: p.off, meta: p.metaOff, rowsPtr: 0 };
      return true;
    }
    if (rows === this.lastListed && rows.length <= this.capacity / 8 && this.pack(rows)) {
      const q = this.packed!;
      this.scanSource = { base: q.off, meta: q.metaOff, rowsPtr: 0 };
      return true;
    }
    this.lastListed = rows;
    new Int32Array(this.memory.buffer, this.rowsOff(), rows.length).set(rows);
    this.scanSource = { base: 0, meta: this.metaOff, rowsPtr: this.rowsOff() };
    return true;
  }

  /** Whether the last prepared scan reads a packed copy (tests and statistics). */
  get scanIsPacked(): boolean {
    return this.scanSource.rowsPtr === 0 && this.scanSource.base !== 0;
  }

  /** Copies the rows of `rows` (and their error terms) after the largest scratch any scan uses. */
  private pack(rows: Int32Array): boolean {
    const rb = this.rowBytes, n = rows.length;
    const off = align64(this.scratchOff + align64(rb * 2) + align64(this.capacity * 4) + this.capacity * 20 + 64);
    const metaOff = align64(off + n * rb);
    if (!this.ensureBytes(metaOff + n * 12)) return false;
    const i8 = new Int8Array(this.memory.buffer);
    const f32 = new Float32Array(this.memory.buffer);
    const m0 = this.metaOff / 4, p0 = metaOff / 4;
    for (let i = 0; i < n; i++) {
      const r = rows[i]!;
      i8.copyWithin(off + i * rb, r * rb, (r + 1) * rb);
      f32[p0 + 3 * i] = f32[m0 + 3 * r]!;
      f32[p0 + 3 * i + 1] = f32[m0 + 3 * r + 1]!;
      f32[p0 + 3 * i + 2] = f32[m0 + 3 * r + 2]!;
    }
    this.packed = { rows, gen: this.gen, off, metaOff };
    return true;
  }

  /** Every row's bounds `[lower, upper]` at 2i, 2i + 1 for rows `[0, n)` (tests and tooling). */
  allBounds(query: ArrayLike<number>, scoreScale: number, n: number): Float64Array | undefined {
    const b = this.prepareQuery(query, scoreScale);
    if (!b || !this.scratchFor(n)) return undefined;
    const got = this.wasm.qscan(this.scratchOff, 0, 0, n, this.rowBytes, this.metaOff, this.outOff(n), this.idxOff(n), 0, b.c, b.alpha, b.beta, -Infinity);
    if (got !== n) throw new Error("unreachable: a scan with floor -Infinity keeps every row");
    return new Float64Array(this.memory.buffer, this.outOff(n), 2 * n).slice();
  }

  /** Runs {@link scanPart} on this thread. */
  scanHere(args: PartArgs): number {
    return scanPart(this.wasm.qscan, this.memory.buffer, args);
  }

  /**
   * The candidates of a scan of `n` rows whose parts `[lo, hi)` left `counts` entries: L = the
   * k-th largest lower bound among the entries, then every entry whose upper bound is >= L, as
   * ascending indices into the scanned rows.
   */
  collect(n: number, k: number, parts: readonly { lo: number; count: number }[]): Int32Array {
    const buf = this.memory.buffer;
    const bounds = new Float64Array(buf, this.outOff(n), 2 * n);
    const idx = new Int32Array(buf, this.idxOff(n), n);
    // L: the k-th largest lower bound among the entries.
    const heap = new Float64Array(k);
    let size = 0;
    for (const { lo, count } of parts) for (let i = lo; i < lo + count; i++) size = offerTopK(heap, size, k, bounds[2 * i]!);
    const L = size === k ? heap[0]! : -Infinity;
    const out: number[] = [];
    for (const { lo, count } of parts) for (let i = lo; i < lo + count; i++) if (bounds[2 * i + 1]! >= L) out.push(idx[i]!);
    return Int32Array.from(out);
  }
}

/**
 * Offers `v` to `heap`, a min-heap of the `k` largest values offered so far (`size` of them held;
 * `heap[0]` is the k-th largest once `size === k`). Returns the new size.
 *
 * Self-contained (no closure, no nested function): its source also runs in the worker threads.
 */
export function offerTopK(heap: Float64Array, size: number, k: number, v: number): number {
  if (size < k) {
    let p = size;
    heap[p] = v;
    while (p > 0) {
      const up = (p - 1) >> 1;
      if (heap[up]! <= heap[p]!) break;
      const t = heap[up]!;
      heap[up] = heap[p]!;
      heap[p] = t;
      p = up;
    }
    return size + 1;
  }
  if (v > heap[0]!) {
    heap[0] = v;
    let p = 0;
    for (;;) {
      const l = 2 * p + 1, r = l + 1;
      let m = p;
      if (l < k && heap[l]! < heap[m]!) m = l;
      if (r < k && heap[r]! < heap[m]!) m = r;
      if (m === p) break;
      const t = heap[m]!;
      heap[m] = heap[p]!;
      heap[p] = t;
      p = m;
    }
  }
  return size;
}

/** [q, rowsPtr (0: rows in order from base), base, lo, hi, rowBytes, meta, outB, outIdx, c, alpha, beta, k] */
export type PartArgs = [number, number, number, number, number, number, number, number, number, number, number, number, number];

/**
 * Scans rows `[lo, hi)` with the wasm `qscan` in blocks, keeping `floor` = the k-th largest lower
 * bound seen so far: a row whose upper bound is below it cannot be in the top k (k rows are
 * already known to score at least `floor`), so the kernel does not even write it. The entries
 * (bounds + index) of the rows kept are compacted at `lo` of the output arrays; returns their count.
 *
 * Self-contained apart from {@link offerTopK} (no closure, no nested function): its source also
 * runs in the worker threads, next to offerTopK's.
 */
export function scanPart(qscan: (...a: number[]) => number, buffer: ArrayBufferLike, a: PartArgs): number {
  const q = a[0], rowsPtr = a[1], base = a[2], lo = a[3], hi = a[4], rowBytes = a[5], meta = a[6], outB = a[7], outIdx = a[8];
  const c = a[9], alpha = a[10], beta = a[11], k = a[12];
  const seq = rowsPtr === 0 ? 1 : 0;
  const bounds = new Float64Array(buffer, outB, (outIdx - outB) / 8);
  const idx = new Int32Array(buffer, outIdx, (outIdx - outB) / 16);
  const heap = new Float64Array(k);
  let size = 0;
  let floor = -Infinity;
  let count = 0;
  // The first block is short, so that a floor exists early and the kernel writes few entries.
  const BLOCK = 8192;
  const FIRST = k * 16 > 512 ? k * 16 : 512;
  for (let start = lo; start < hi; ) {
    const len = start === lo ? FIRST : BLOCK;
    const end = start + len < hi ? start + len : hi;
    const at = lo + count;
    // Rows in order from `base` (seq = 1) or through the list at `rowsPtr` (seq = 0): one
    // expression for both, so that optimized code made on one kind of scan has the type feedback
    // of the other (a branch never taken deoptimizes the function when a filter first comes).
    const got = qscan(q, seq * (base + start * rowBytes), rowsPtr + (1 - seq) * start * 4, end - start, rowBytes, meta + seq * start * 12, outB + at * 16, outIdx + at * 4, start, c, alpha, beta, floor);
    for (let i = at; i < at + got; i++) size = offerTopK(heap, size, k, bounds[2 * i]!);
    count += got;
    if (size === k) floor = heap[0]!;
    // Drop the entries the floor now rules out.
    let w = lo;
    for (let i = lo; i < lo + count; i++) {
      if (bounds[2 * i + 1]! >= floor) {
        if (w !== i) {
          bounds[2 * w] = bounds[2 * i]!;
          bounds[2 * w + 1] = bounds[2 * i + 1]!;
          idx[w] = idx[i]!;
        }
        w++;
      }
    }
    count = w - lo;
    start = end;
  }
  return count;
}

