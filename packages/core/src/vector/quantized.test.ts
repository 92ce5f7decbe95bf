import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { TextNode } from "../schema/node.js";
import { rng } from "../test-support/prng.js";
import { QUANTIZE_MIN_ROWS, setScanThreads, shutdownScanPool, SimpleVectorStore, VectorMatrix, type DistanceMetric } from "./index.js";
import { PARALLEL_MIN_LISTED_ROWS, PARALLEL_MIN_ROWS, scanPoolSize } from "./scan-pool.js";
import { int8Module } from "./wasm-int8.js";

/**
 * The quantized first pass must never change an answer: every query below runs on a store with
 * the int8 copy and on one without (`scan: "off"`, the float32 scan of every row), and the ids AND
 * similarities must be identical. The bound itself is checked row by row: lower <= the float32
 * kernel's exact score <= upper, including vectors built to sit at the bound.
 */

const nodeOf = (id: string, embedding: ArrayLike<number>, metadata: Record<string, unknown> = {}) =>
  new TextNode({ id, text: "", embedding: Array.from(embedding), metadata });

async function pair(metric: DistanceMetric, vectors: ArrayLike<number>[], metadata?: (i: number) => Record<string, unknown>) {
  const nodes = vectors.map((v, i) => nodeOf(`n${String(i).padStart(6, "0")}`, v, metadata?.(i)));
  const quant = new SimpleVectorStore({ metric });
  const exact = new SimpleVectorStore({ metric, scan: "off" });
  await quant.add(nodes);
  await exact.add(nodes);
  return { quant, exact };
}

async function same(a: SimpleVectorStore, b: SimpleVectorStore, q: Parameters<SimpleVectorStore["query"]>[0]) {
  const x = await a.query(q);
  const y = await b.query(q);
  expect(x.ids).toEqual(y.ids);
  expect(x.similarities).toEqual(y.similarities);
  return x;
}

/** The exact (float32 kernel) score of every row, through the full scan. */
const exactScores = (m: VectorMatrix, q: ArrayLike<number>) => m.scoreAll(q);

function checkBounds(m: VectorMatrix, q: ArrayLike<number>) {
  const b = m.quantizedBounds(q);
  expect(b).toBeDefined();
  const s = exactScores(m, q);
  let worst = Infinity; // smallest slack seen, relative to the bound's width
  for (let i = 0; i < m.size; i++) {
    const lo = b![2 * i]!, hi = b![2 * i + 1]!;
    // A score the float32 kernel overflows (NaN, +-Infinity) comes from a row outside the bound's
    // range: such rows must have infinite bounds (they are always rescored).
    if (!Number.isFinite(s[i]!) && lo === -Infinity && hi === Infinity) continue;
    if (!(lo <= s[i]! && s[i]! <= hi)) throw new Error(`row ${i}: exact ${s[i]} outside [${lo}, ${hi}]`);
    if (hi > lo && Number.isFinite(hi - lo)) worst = Math.min(worst, (s[i]! - lo) / (hi - lo), (hi - s[i]!) / (hi - lo));
  }
  return worst;
}

const randVec = (r: () => number, dim: number) => Array.from({ length: dim }, () => r() * 2 - 1);

afterAll(() => {
  setScanThreads(undefined);
  shutdownScanPool();
});

describe("quantized first pass (int8) + exact rescoring", () => {
  it("the int8 module compiles in this runtime (SIMD128 and shared memory, no flags)", () => {
    expect(int8Module()).not.toBeNull();
  });

  for (const metric of ["cosine", "dot"] as const) {
    it(`${metric}: identical ids and similarities to the full float32 scan (uniform data, k 1..200)`, async () => {
      const r = rng(11);
      const vectors = Array.from({ length: 6000 }, () => randVec(r, 48));
      const { quant, exact } = await pair(metric, vectors, (i) => ({ g: `g${i % 3}` }));
      for (let t = 0; t < 20; t++) {
        const q = randVec(r, 48);
        for (const k of [1, 10, 200]) await same(quant, exact, { embedding: q, topK: k });
        // A filter that keeps a third of the rows: the gather path of the quantized scan.
        await same(quant, exact, { embedding: q, topK: 10, filters: { filters: [{ key: "g", operator: "==", value: "g1" }] } });
        await same(quant, exact, { embedding: q, topK: 10, similarityCutoff: 0.1 });
      }
    });

    it(`${metric}: clustered, low-rank data with many near-ties`, async () => {
      const r = rng(12);
      const dim = 64;
      const basis = Array.from({ length: 4 }, () => randVec(r, dim));
      const vectors = Array.from({ length: 8000 }, (_, i) => {
        const c = basis[i % 4]!;
        // Rows of a cluster differ by perturbations far below the int8 step (1/127 of the largest
        // component): the quantized copy cannot tell them apart, the exact rescoring must.
        return c.map((x, j) => x + (j === i % dim ? 1e-6 * ((i * 7919) % 13) : 0));
      });
      const { quant, exact } = await pair(metric, vectors);
      for (let t = 0; t < 8; t++) {
        const q = basis[t % 4]!.map((x) => x + (r() - 0.5) * 1e-3);
        await same(quant, exact, { embedding: q, topK: 10 });
        await same(quant, exact, { embedding: q, topK: 50 });
      }
      // Exact duplicates: the tie rule (id ascending) decides, as in the full scan.
      const dup = Array.from({ length: 5000 }, () => basis[0]!);
      const d = await pair(metric, dup);
      const res = await same(d.quant, d.exact, { embedding: basis[0]!, topK: 10 });
      expect(res.ids).toEqual(Array.from({ length: 10 }, (_, i) => `n${String(i).padStart(6, "0")}`));
    });
  }

  it("euclidean keeps the full scan (no quantized copy)", async () => {
    const r = rng(13);
    const s = new SimpleVectorStore({ metric: "euclidean" });
    await s.add(Array.from({ length: QUANTIZE_MIN_ROWS + 10 }, (_, i) => nodeOf(`e${i}`, randVec(r, 16))));
    const m = new VectorMatrix({ dim: 4, metric: "euclidean", quantize: true });
    for (let i = 0; i < QUANTIZE_MIN_ROWS + 1; i++) m.push([1, 2, 3, i]);
    expect(m.buildQuantized()).toBe(false);
    expect((await s.query({ embedding: randVec(r, 16), topK: 3 })).ids).toHaveLength(3);
  });

  for (const metric of ["cosine", "dot"] as const) {
    it(`${metric}: every row's exact score lies within its bounds (adversarial magnitudes, zero and tiny rows)`, () => {
      const r = rng(14);
      const dim = 40;
      const m = new VectorMatrix({ dim, metric, quantize: true, initialCapacity: QUANTIZE_MIN_ROWS });
      const rows: number[][] = [];
      for (let i = 0; i < QUANTIZE_MIN_ROWS; i++) {
        const kind = i % 8;
        let v = randVec(r, dim);
        if (kind === 1) v = v.map((x) => x * 1e15); // large norms (inside 2^60)
        if (kind === 2) v = v.map((x) => x * 1e-15); // small norms (inside 2^-60)
        if (kind === 3) v = v.map((x, j) => (j === 0 ? x * 1e6 : x * 1e-6)); // one dominant component
        if (kind === 4) v = v.map(() => 0); // zero vector
        if (kind === 5) v = v.map((x) => x * 1e-25); // norm below 2^-60: never excluded
        if (kind === 6) v = v.map((x) => x * 1e30); // norm above 2^60: never excluded
        if (kind === 7) v = v.map((x, j) => (j % 2 ? x * 1e-38 : x)); // subnormal-ish components
        rows.push(v);
        m.push(v);
      }
      expect(m.buildQuantized()).toBe(true);
      for (let t = 0; t < 12; t++) {
        let q = randVec(r, dim);
        if (t % 3 === 1) q = q.map((x) => x * 1e12);
        if (t % 3 === 2) q = q.map((x, j) => (j < 3 ? x * 1e5 : x));
        checkBounds(m, q);
      }
      // A query outside [2^-60, 2^60] gets no bounds (the store scans exactly).
      expect(m.quantizedBounds(Array.from({ length: dim }, () => 1e-30))).toBeUndefined();
    });
  }

  it("rows built to sit at the bound: the exact score reaches its bound's edge, and stays inside", () => {
    const dim = 64;
    for (const metric of ["dot", "cosine"] as const) {
      const m = new VectorMatrix({ dim, metric, quantize: true, initialCapacity: QUANTIZE_MIN_ROWS });
      const r = rng(15);
      const signs: number[][] = [];
      for (let i = 0; i < QUANTIZE_MIN_ROWS; i++) {
        // x_0 = 127 sets the scale to 1; every other component sits just below a rounding
        // midpoint, so each quantization error is ~±0.5: the largest the scheme allows.
        const sign = Array.from({ length: dim }, (_, j) => (j === 0 ? 0 : r() < 0.5 ? -1 : 1));
        const v = sign.map((sg, j) => (j === 0 ? 127 : Math.floor(r() * 100) + 0.5 - 1e-4 * -sg));
        signs.push(sign);
        m.push(v);
      }
      m.buildQuantized();
      const f = new Float32Array(dim);
      // Scale of this matrix's rows for the check below (cosine rows are divided by their norm).
      const q = signs[0]!.map((sg) => -sg); // y parallel to row 0's quantization error
      for (let j = 0; j < dim; j++) f[j] = q[j]!;
      const worst = checkBounds(m, q);
      // Row 0's error is aligned with the query: its exact score is close to an edge of its bounds.
      const b = m.quantizedBounds(q)!;
      const s0 = m.scoreAll(q)[0]!;
      const width = b[1]! - b[0]!;
      expect(Math.min(s0 - b[0]!, b[1]! - s0) / width).toBeLessThan(0.02);
      expect(worst).toBeGreaterThanOrEqual(0);
    }
  });

  it("stays identical to the full scan through adds, upserts, deletes and growth", async () => {
    const r = rng(16);
    const dim = 32;
    const quant = new SimpleVectorStore();
    const exact = new SimpleVectorStore({ scan: "off" });
    let next = 0;
    for (let round = 0; round < 6; round++) {
      const batch = Array.from({ length: 1500 }, () => nodeOf(`x${next++}`, randVec(r, dim)));
      // Upserts of existing ids with new vectors.
      for (let u = 0; u < 50 && next > 1600; u++) batch.push(nodeOf(`x${Math.floor(r() * (next - 1500))}`, randVec(r, dim)));
      await quant.add(batch);
      await exact.add(batch);
      const del = Array.from({ length: 200 }, () => `x${Math.floor(r() * next)}`);
      await quant.deleteNodes({ ids: del });
      await exact.deleteNodes({ ids: del });
      for (let t = 0; t < 5; t++) await same(quant, exact, { embedding: randVec(r, dim), topK: 10 });
    }
    expect(quant.size).toBeGreaterThan(QUANTIZE_MIN_ROWS);
  });

  it("filtered gather scans (a posting's rows) stay identical to the full scan through writes that change the posting", async () => {
    const r = rng(19);
    const dim = 40;
    // 3 groups of uneven sizes; row lists of every length modulo the gather's group of 16.
    const vectors = Array.from({ length: 3 * QUANTIZE_MIN_ROWS + 37 }, () => randVec(r, dim));
    const { quant, exact } = await pair("cosine", vectors, (i) => ({ g: i % 7 === 0 ? "a" : i % 3 === 0 ? "b" : "c" }));
    const byGroup = (g: string) => ({ filters: [{ key: "g", operator: "==" as const, value: g }] });
    let next = vectors.length;
    for (let round = 0; round < 6; round++) {
      for (const g of ["a", "b", "c"]) {
        const q = randVec(r, dim);
        const res = await same(quant, exact, { embedding: q, topK: 10, filters: byGroup(g) });
        expect(res.ids.length).toBe(10);
        await same(quant, exact, { embedding: q, topK: 10, filters: byGroup(g) }); // the posting's sorted rows, reused
      }
      // Writes that change group "a": a new best row for a known query, moved rows, deletes.
      const q = randVec(r, dim);
      const best = nodeOf(`z${next++}`, q, { g: "a" });
      const moved = Array.from({ length: 5 + round }, (_, i) => nodeOf(`n${String(7 * (round * 11 + i) + 1).padStart(6, "0")}`, randVec(r, dim), { g: "a" }));
      const del = Array.from({ length: 20 }, () => `n${String(7 * Math.floor(r() * (vectors.length / 7))).padStart(6, "0")}`);
      for (const s of [quant, exact]) {
        await s.add([best, ...moved]);
        await s.deleteNodes({ ids: del });
      }
      const res = await same(quant, exact, { embedding: q, topK: 10, filters: byGroup("a") });
      expect(res.ids[0]).toBe(best.id);
      for (const id of del) expect(res.ids).not.toContain(id);
    }
  });

  it("a filter that comes back is scanned from a packed copy of its rows, rebuilt after every write", async () => {
    const r = rng(23);
    const dim = 48;
    const vectors = Array.from({ length: 3 * QUANTIZE_MIN_ROWS }, () => randVec(r, dim));
    // Group "a": every 20th row (5%), far apart in memory.
    const { quant, exact } = await pair("cosine", vectors, (i) => ({ g: i % 20 === 0 ? "a" : "b" }));
    const byA = { filters: [{ key: "g", operator: "==" as const, value: "a" }] };
    const q0 = randVec(r, dim);
    await same(quant, exact, { embedding: q0, topK: 10, filters: byA });
    expect(quant.lastScan).toMatchObject({ rows: Math.ceil(vectors.length / 20), quantized: true, packed: false });
    for (let t = 0; t < 3; t++) {
      const res = await same(quant, exact, { embedding: randVec(r, dim), topK: 10, filters: byA });
      expect(res.ids.length).toBe(10);
      expect(quant.lastScan).toMatchObject({ quantized: true, packed: true });
    }
    // An unfiltered query between two filtered ones leaves the packed copy in place.
    await same(quant, exact, { embedding: q0, topK: 10 });
    expect(quant.lastScan!.packed).toBe(false);
    await same(quant, exact, { embedding: q0, topK: 10, filters: byA });
    expect(quant.lastScan!.packed).toBe(true);
    // Writes: a member of "a" becomes the best match of q, another leaves "a", a row joins it.
    for (let round = 0; round < 3; round++) {
      const q = randVec(r, dim);
      const member = `n${String(20 * (round * 7 + 3)).padStart(6, "0")}`;
      const leaver = `n${String(20 * (round * 7 + 5)).padStart(6, "0")}`;
      const joiner = nodeOf(`j${round}`, q.map((x) => x * 0.9 + 0.01), { g: "a" });
      for (const s of [quant, exact]) await s.add([nodeOf(member, q, { g: "a" }), nodeOf(leaver, randVec(r, dim), { g: "b" }), joiner]);
      let res = await same(quant, exact, { embedding: q, topK: 10, filters: byA });
      expect(quant.lastScan!.packed).toBe(false); // a new row list after the write
      expect(res.ids[0]).toBe(member);
      expect(res.ids).toContain(joiner.id);
      expect(res.ids).not.toContain(leaver);
      res = await same(quant, exact, { embedding: q, topK: 10, filters: byA });
      expect(quant.lastScan!.packed).toBe(true);
      expect(res.ids[0]).toBe(member);
      expect(res.ids).not.toContain(leaver);
    }
    // A filter matching more than an eighth of the rows is never packed.
    const byB = { filters: [{ key: "g", operator: "==" as const, value: "b" }] };
    for (let t = 0; t < 3; t++) {
      await same(quant, exact, { embedding: randVec(r, dim), topK: 10, filters: byB });
      expect(quant.lastScan!.packed).toBe(false);
    }
  });

  it("a row list kept by the caller is not served from a stale packed copy after the rows change", () => {
    const r = rng(29);
    const dim = 32;
    const m = new VectorMatrix({ dim, metric: "cosine", quantize: true });
    for (let i = 0; i < 2 * QUANTIZE_MIN_ROWS; i++) m.push(randVec(r, dim));
    const rows = Int32Array.from({ length: 300 }, (_, i) => i * 25); // (a list of >= QUANTIZE_MIN_LISTED rows)
    const q = randVec(r, dim);
    const best = (cand: Int32Array) => {
      const s = m.scoreRows(q, cand);
      let b = 0;
      for (let i = 1; i < s.length; i++) if (s[i]! > s[b]!) b = i;
      return cand[b]!;
    };
    m.candidates(q, rows, 5);
    m.candidates(q, rows, 5);
    expect(m.lastScanPacked).toBe(true);
    // Row 4950 (= 25 * 198, in the list) becomes the query itself: the same array, packed again from the
    // current rows, must find it.
    m.set(4950, q);
    expect(best(m.candidates(q, rows, 5)!)).toBe(4950);
    expect(m.lastScanPacked).toBe(true);
    m.set(4950, randVec(r, dim).map((x) => -Math.abs(x)));
    m.set(50, q);
    expect(best(m.candidates(q, rows, 5)!)).toBe(50);
  });

  it("a snapshot loaded back builds its copy and answers identically", async () => {
    const r = rng(17);
    const vectors = Array.from({ length: QUANTIZE_MIN_ROWS + 100 }, () => randVec(r, 24));
    const { quant, exact } = await pair("cosine", vectors);
    const loaded = SimpleVectorStore.fromTrustedSnapshot(quant.toSnapshot());
    for (let t = 0; t < 5; t++) {
      const q = randVec(r, 24);
      const a = await same(loaded, exact, { embedding: q, topK: 10 });
      expect(a.ids).toEqual((await quant.query({ embedding: q, topK: 10 })).ids);
    }
  });

  it("worker threads: the parallel scan gives identical answers, and the pool shuts down", async () => {
    setScanThreads(2);
    const r = rng(18);
    const dim = 16;
    const vectors = Array.from({ length: PARALLEL_MIN_ROWS + 3000 }, () => randVec(r, dim));
    const { quant, exact } = await pair("cosine", vectors, (i) => ({ g: i % 2 }));
    for (let t = 0; t < 10; t++) {
      const q = randVec(r, dim);
      await same(quant, exact, { embedding: q, topK: 10 });
      await same(quant, exact, { embedding: q, topK: 100 });
    }
    expect(scanPoolSize()).toBe(1);
    shutdownScanPool();
    expect(scanPoolSize()).toBe(0);
    // The next large query starts the pool again.
    await same(quant, exact, { embedding: randVec(r, dim), topK: 5 });
    expect(scanPoolSize()).toBe(1);
    setScanThreads(1);
    expect(scanPoolSize()).toBe(0);
    await same(quant, exact, { embedding: randVec(r, dim), topK: 5 });
    expect(scanPoolSize()).toBe(0);
  });

  it("worker threads: a large filter, gathered and then packed, gives identical answers", async () => {
    setScanThreads(2);
    const r = rng(31);
    const dim = 8;
    // 160 000 rows; group "a" (every 9th row) has more rows than PARALLEL_MIN_LISTED_ROWS and
    // fewer than an eighth of the capacity, so it is scanned in parallel, first through the list,
    // then from its packed copy.
    const vectors = Array.from({ length: 160_000 }, () => randVec(r, dim));
    const { quant, exact } = await pair("cosine", vectors, (i) => ({ g: i % 9 === 0 ? "a" : "b" }));
    const byA = { filters: [{ key: "g", operator: "==" as const, value: "a" }] };
    expect(Math.ceil(vectors.length / 9)).toBeGreaterThan(PARALLEL_MIN_LISTED_ROWS);
    const seen: boolean[] = [];
    for (let t = 0; t < 4; t++) {
      const q = randVec(r, dim);
      await same(quant, exact, { embedding: q, topK: 10, filters: byA });
      seen.push(quant.lastScan!.packed);
      await same(quant, exact, { embedding: q, topK: 50, filters: byA });
    }
    expect(seen).toEqual([false, true, true, true]);
    expect(scanPoolSize()).toBe(1);
    setScanThreads(1);
  });

  it("worker threads never keep the process alive", () => {
    const here = fileURLToPath(new URL("./index.ts", import.meta.url));
    const script = `
      import { SimpleVectorStore, setScanThreads, scanThreads } from ${JSON.stringify(here)};
      import { TextNode } from ${JSON.stringify(fileURLToPath(new URL("../schema/node.ts", import.meta.url)))};
      setScanThreads(2);
      const s = new SimpleVectorStore();
      const n = ${PARALLEL_MIN_ROWS + 10};
      const nodes = [];
      for (let i = 0; i < n; i++) nodes.push(new TextNode({ id: "n" + i, text: "", embedding: [Math.sin(i), Math.cos(i), i % 7, 1] }));
      await s.add(nodes);
      const res = await s.query({ embedding: [1, 0, 0, 1], topK: 3 });
      console.log("done", res.ids.length, scanThreads());
    `;
    const t0 = Date.now();
    // tsx (a dev dependency of the workspace's conformance kit) runs the TypeScript sources.
    const tsx = pathToFileURL(createRequire(new URL("../../../conformance/package.json", import.meta.url)).resolve("tsx")).href;
    const out = spawnSync(process.execPath, ["--import", tsx, "--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
    expect(out.stderr).toBe("");
    expect(out.stdout.trim()).toBe("done 3 2");
    expect(out.status).toBe(0);
    // Well below the pool's idle shutdown would not matter: exit does not wait for it at all.
    expect(Date.now() - t0).toBeLessThan(60_000);
  });
});
