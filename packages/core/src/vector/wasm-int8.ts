/**
 * A hand-assembled WebAssembly SIMD module for the quantized first pass of an exact query (see
 * `quantized.ts` and `docs/vector.md`, "Exact search over a quantized copy"). It imports a
 * *shared* memory as `env.memory` (so worker threads can scan the same rows) and exports:
 *
 *   qscan(q, base, rows, n, rowBytes, meta, outB, outIdx, idx0, c, alpha, beta, floor) -> count
 *
 * For k in [0, n): r = rows == 0 ? k : rows[k] (i32 row list), I = sum_j q[j] * row_r[j] computed
 * exactly in 32-bit integers (`q` is the query quantized to i16, rows are i8, both zero-padded to
 * `rowBytes`, a multiple of 32), then, in float64, with meta_r = (s, E, N) three f32 at
 * `meta + 12 r`:
 *
 *   a = c * s * I;   b = alpha * E + beta * N
 *
 * i.e. a lower (a - b) and an upper (a + b) bound of the row's exact score (the caller picks c,
 * alpha, beta). Rows whose upper bound is >= `floor` are appended: bounds to `outB` (two f64),
 * `idx0 + k` to `outIdx` (i32); the count appended is returned.
 * `i32x4.dot_i16x8_s` multiplies eight i16 pairs and adds adjacent products into four i32 lanes;
 * the i8 rows are read eight bytes at a time, sign-extended to i16 by the load itself
 * (`v128.load8x8_s`, one instruction on x86 and ARM, where widening a 16-byte load takes two or
 * three). All of this is SIMD128 as shipped (no relaxed-SIMD instruction, which Node 20 does not
 * enable by default).
 */
import { MAX_PAGES, section, sleb, str, uleb, vec, wasmApi, type WasmMemory, type WasmModule } from "./wasm-simd.js";

const I32 = 0x7f, F64 = 0x7c, V128 = 0x7b, VOID = 0x40;
const block = [0x02, VOID], loop = [0x03, VOID], end = [0x0b];
const br = (l: number) => [0x0c, l], brIf = (l: number) => [0x0d, l];
const get = (i: number) => [0x20, i], set = (i: number) => [0x21, i], tee = (i: number) => [0x22, i];
const i32c = (v: number) => [0x41, ...sleb(v)];
const i32add = [0x6a], i32mul = [0x6c], i32geu = [0x4f], i32shl = [0x74], i32eqz = [0x45], i32and = [0x71];
const i32load = (offset = 0) => [0x28, 2, ...uleb(offset)];
const f32load = (offset = 0) => [0x2a, 2, ...uleb(offset)];
const f64store = (offset = 0) => [0x39, 3, ...uleb(offset)];
const f64promote = [0xbb], f64fromI32 = [0xb7], f64mul = [0xa2], f64add = [0xa0], f64sub = [0xa1];
const GROUP = 16;
const i32ltu = [0x49], i32load8u = (offset = 0) => [0x2d, 0, ...uleb(offset)], i32or = [0x72];
const select = [0x1b], f64ge = [0x66], ifVoid = [0x04, VOID], i32store = (offset = 0) => [0x36, 2, ...uleb(offset)];
const simd = (op: number) => [0xfd, ...uleb(op)];
const v128load = (offset: number) => [0xfd, 0x00, 4, ...uleb(offset)];
const load8x8s = (offset: number) => [0xfd, 0x01, 3, ...uleb(offset)];
const dot = simd(0xba), i32x4add = simd(0xae), i32x4splat = simd(0x11);
const lane = (i: number) => [0xfd, 0x1b, i];

/**
 * (func $qscan (param $q $base $rows $n $rowBytes $meta $outB $outIdx $idx0 i32)
 *              (param $c $alpha $beta $floor f64) (result i32) ...)
 */
function qscanBody(): number[] {
  const q = 0, base = 1, rows = 2, n = 3, rowBytes = 4, meta = 5, outB = 6, outIdx = 7, idx0 = 8;
  const c = 9, alpha = 10, beta = 11, floor = 12;
  const k = 13, p = 14, j = 15, r = 16, qj = 17, cnt = 18, acc0 = 19, acc1 = 20, a = 21, b = 22, touch = 23, t = 24, r8 = 25;
  // acc += dot(row bytes [8 i, 8 i + 8) sign-extended to i16, q[8 i .. 8 i + 8))
  const step = (acc: number, i: number) => [
    ...get(acc), ...get(r8), ...load8x8s(8 * i), ...get(qj), ...v128load(16 * i), ...dot, ...i32x4add, ...set(acc),
  ];
  const metaAt = (off: number) => [...get(meta), ...get(r), ...i32c(12), ...i32mul, ...i32add, ...f32load(off), ...f64promote];
  const code = [
    ...block, ...loop,
    ...get(k), ...get(n), ...i32geu, ...brIf(1),
    // r = rows == 0 ? k : rows[k]
    ...get(k), ...get(rows), ...get(k), ...i32c(2), ...i32shl, ...i32add, ...i32load(0),
    ...get(rows), ...i32eqz, ...select, ...set(r),
    // p = base + r * rowBytes
    ...get(base), ...get(r), ...get(rowBytes), ...i32mul, ...i32add, ...set(p),
    // Gather scans (a row list): every GROUP rows, read one byte per 64 of each of the next GROUP
    // rows (and of their meta entries), back to back, so that their cache misses overlap each other
    // and this group's work (wasm has no prefetch instruction). The bytes are summed into $touch
    // and folded into the result as (touch & 0): the loads stay (they may trap).
    ...get(rows), ...ifVoid,
    ...get(k), ...i32c(GROUP - 1), ...i32and, ...i32eqz, ...ifVoid,
    ...get(k), ...i32c(GROUP), ...i32add, ...set(t),
    ...block, ...loop,
    ...get(t), ...get(k), ...i32c(2 * GROUP), ...i32add, ...i32geu, ...brIf(1),
    ...get(t), ...get(n), ...i32geu, ...brIf(1),
    ...get(rows), ...get(t), ...i32c(2), ...i32shl, ...i32add, ...i32load(0), ...tee(j),
    ...get(rowBytes), ...i32mul, ...get(base), ...i32add, ...set(qj),
    ...get(touch), ...get(meta), ...get(j), ...i32c(12), ...i32mul, ...i32add, ...i32load8u(0), ...i32add, ...set(touch),
    ...i32c(0), ...set(j),
    ...block, ...loop,
    ...get(j), ...get(rowBytes), ...i32geu, ...brIf(1),
    ...get(touch), ...get(qj), ...get(j), ...i32add, ...i32load8u(0), ...i32add, ...set(touch),
    ...get(j), ...i32c(64), ...i32add, ...set(j),
    ...br(0), ...end, ...end,
    ...get(t), ...i32c(1), ...i32add, ...set(t),
    ...br(0), ...end, ...end,
    ...end,
    ...end,
    ...i32c(0), ...i32x4splat, ...set(acc0),
    ...i32c(0), ...i32x4splat, ...set(acc1),
    ...i32c(0), ...set(j),
    ...block, ...loop,
    ...get(j), ...get(rowBytes), ...i32geu, ...brIf(1),
    // qj = q + 2 j
    ...get(q), ...get(j), ...i32c(1), ...i32shl, ...i32add, ...set(qj),
    ...get(p), ...get(j), ...i32add, ...set(r8),
    ...step(acc0, 0), ...step(acc1, 1), ...step(acc0, 2), ...step(acc1, 3),
    ...get(j), ...i32c(32), ...i32add, ...set(j),
    ...br(0), ...end, ...end,
    ...get(acc0), ...get(acc1), ...i32x4add, ...tee(acc0), ...lane(0), ...get(acc0), ...lane(1), ...i32add,
    ...get(acc0), ...lane(2), ...get(acc0), ...lane(3), ...i32add, ...i32add,
    // a = c * s * I   (the i32 I is on the stack)
    ...f64fromI32, ...get(c), ...metaAt(0), ...f64mul, ...f64mul, ...set(a),
    // b = alpha * E + beta * N
    ...get(alpha), ...metaAt(4), ...f64mul, ...get(beta), ...metaAt(8), ...f64mul, ...f64add, ...set(b),
    // if (a + b >= floor) { outB[2 cnt] = a - b; outB[2 cnt + 1] = a + b; outIdx[cnt] = idx0 + k; cnt++ }
    ...get(a), ...get(b), ...f64add, ...get(floor), ...f64ge, ...ifVoid,
    ...get(outB), ...get(cnt), ...i32c(4), ...i32shl, ...i32add, ...tee(p),
    ...get(a), ...get(b), ...f64sub, ...f64store(0),
    ...get(p), ...get(a), ...get(b), ...f64add, ...f64store(8),
    ...get(outIdx), ...get(cnt), ...i32c(2), ...i32shl, ...i32add, ...get(idx0), ...get(k), ...i32add, ...i32store(0),
    ...get(cnt), ...i32c(1), ...i32add, ...set(cnt),
    ...end,
    ...get(k), ...i32c(1), ...i32add, ...set(k),
    ...br(0), ...end, ...end,
    ...get(cnt), ...get(touch), ...i32c(0), ...i32and, ...i32or,
    ...end,
  ];
  return [...vec([[6, I32], [2, V128], [2, F64], [3, I32]]), ...code];
}

const f64c = (x: number) => [0x44, ...new Uint8Array(new Float64Array([x]).buffer)];
const f64load = (offset = 0) => [0x2b, 3, ...uleb(offset)];
const f32demote = [0xb6], f64abs = [0x99], f64max = [0xa5], f64min = [0xa4], f64nearest = [0x9e], f64div = [0xa3], f64eq = [0x61];
const i32truncF64 = [0xaa], i32store8 = (offset = 0) => [0x3a, 0, ...uleb(offset)];
const ifF64 = [0x04, F64], els = [0x05];

/**
 * (func $qrows (param $src $n $srcStride $dim $dst $rowBytes $fptr $stats i32) ...)
 *
 * Quantizes n float32 rows (row r at src + r * srcStride bytes) into i8 rows at dst + r * rowBytes,
 * scaled by f_r = fptr == 0 ? 1 : f32[fptr + 4 r], all in float64: with m = max_j |x_j| f_r,
 * s = float32(m / 127), k_j = clamp(nearest(x_j f_r / s), -127, 127) (0 when s = 0), it writes
 * stats[4 r ..] = (sum x_j^2, s, sum (x_j f_r - s k_j)^2, f_r) as float64; the caller derives
 * the error terms from them.
 */
function qrowsBody(): number[] {
  const src = 0, n = 1, srcStride = 2, dim = 3, dst = 4, rowBytes = 5, fptr = 6, stats = 7;
  const r = 8, j = 9, p = 10, d = 11;
  const F = 12, x = 13, raw2 = 14, m = 15, sc = 16, inv = 17, e2 = 18, k = 19;
  const loadX = [...get(p), ...get(j), ...i32c(2), ...i32shl, ...i32add, ...f32load(0), ...f64promote];
  const code = [
    ...block, ...loop,
    ...get(r), ...get(n), ...i32geu, ...brIf(1),
    ...get(src), ...get(r), ...get(srcStride), ...i32mul, ...i32add, ...set(p),
    ...get(dst), ...get(r), ...get(rowBytes), ...i32mul, ...i32add, ...set(d),
    ...get(fptr), ...i32eqz, ...ifF64, ...f64c(1), ...els, ...get(fptr), ...get(r), ...i32c(2), ...i32shl, ...i32add, ...f32load(0), ...f64promote, ...end, ...set(F),
    ...f64c(0), ...set(raw2), ...f64c(0), ...set(m), ...f64c(0), ...set(e2),
    // pass 1: raw2 = sum x^2, m = max |x|
    ...i32c(0), ...set(j),
    ...block, ...loop,
    ...get(j), ...get(dim), ...i32geu, ...brIf(1),
    ...loadX, ...set(x),
    ...get(raw2), ...get(x), ...get(x), ...f64mul, ...f64add, ...set(raw2),
    ...get(m), ...get(x), ...f64abs, ...f64max, ...set(m),
    ...get(j), ...i32c(1), ...i32add, ...set(j),
    ...br(0), ...end, ...end,
    // s = float32(m F / 127); inv = s == 0 ? 0 : 1 / s
    ...get(m), ...get(F), ...f64mul, ...f64c(127), ...f64div, ...f32demote, ...f64promote, ...set(sc),
    ...get(sc), ...f64c(0), ...f64eq, ...ifF64, ...f64c(0), ...els, ...f64c(1), ...get(sc), ...f64div, ...end, ...set(inv),
    // pass 2: k = clamp(nearest(x F inv)), store, e2 += (x F - s k)^2
    ...i32c(0), ...set(j),
    ...block, ...loop,
    ...get(j), ...get(dim), ...i32geu, ...brIf(1),
    ...loadX, ...get(F), ...f64mul, ...set(x),
    ...get(x), ...get(inv), ...f64mul, ...f64nearest, ...f64c(127), ...f64min, ...f64c(-127), ...f64max, ...set(k),
    ...get(d), ...get(j), ...i32add, ...get(k), ...i32truncF64, ...i32store8(0),
    ...get(x), ...get(sc), ...get(k), ...f64mul, ...f64sub, ...tee(x), ...get(x), ...f64mul, ...get(e2), ...f64add, ...set(e2),
    ...get(j), ...i32c(1), ...i32add, ...set(j),
    ...br(0), ...end, ...end,
    // zero padding
    ...block, ...loop,
    ...get(j), ...get(rowBytes), ...i32geu, ...brIf(1),
    ...get(d), ...get(j), ...i32add, ...i32c(0), ...i32store8(0),
    ...get(j), ...i32c(1), ...i32add, ...set(j),
    ...br(0), ...end, ...end,
    // stats
    ...get(stats), ...get(r), ...i32c(5), ...i32shl, ...i32add, ...tee(p),
    ...get(raw2), ...f64store(0),
    ...get(p), ...get(sc), ...f64store(8),
    ...get(p), ...get(e2), ...f64store(16),
    ...get(p), ...get(F), ...f64store(24),
    ...get(r), ...i32c(1), ...i32add, ...set(r),
    ...br(0), ...end, ...end,
    ...end,
  ];
  return [...vec([[4, I32], [8, F64]]), ...code];
}

function buildInt8Module(): Uint8Array {
  const type = [0x60, ...vec([...Array.from({ length: 9 }, () => [I32]), [F64], [F64], [F64], [F64]]), 1, I32];
  const type2 = [0x60, ...vec(Array.from({ length: 8 }, () => [I32])), 0];
  const types = section(1, vec([type, type2]));
  // A shared memory (limits flag 3: min and max), 0 .. 65536 pages.
  const imports = section(2, vec([[...str("env"), ...str("memory"), 0x02, 0x03, ...uleb(1), ...uleb(MAX_PAGES)]]));
  const funcs = section(3, vec([[0], [1]]));
  const exports = section(7, vec([[...str("qscan"), 0x00, 0], [...str("qrows"), 0x00, 1]]));
  const code = section(10, vec([qscanBody(), qrowsBody()].map((body) => [...uleb(body.length), ...body])));
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...imports, ...funcs, ...exports, ...code]);
}

export interface Int8Exports {
  qscan(
    q: number, base: number, rows: number, n: number, rowBytes: number, meta: number, outB: number, outIdx: number, idx0: number,
    c: number, alpha: number, beta: number, floor: number,
  ): number;
  qrows(src: number, n: number, srcStride: number, dim: number, dst: number, rowBytes: number, fptr: number, stats: number): void;
}


let compiled: WasmModule | null | undefined;

/** The compiled module, or `null` when the runtime lacks SIMD or shared memories. */
export function int8Module(): WasmModule | null {
  if (compiled !== undefined) return compiled;
  const api = wasmApi();
  try {
    const bytes = buildInt8Module();
    compiled = api && typeof SharedArrayBuffer === "function" && api.validate(bytes) ? new api.Module(bytes) : null;
  } catch {
    compiled = null;
  }
  return compiled;
}

/** An instance of the module over `memory` (on any thread). */
export function instantiateInt8(module: WasmModule, memory: WasmMemory): Int8Exports {
  const api = wasmApi()!;
  return new api.Instance(module, { env: { memory } }).exports as Int8Exports;
}

/** The module's bytes (for tests and the worker). */
export const int8ModuleBytes = (): Uint8Array => buildInt8Module();
