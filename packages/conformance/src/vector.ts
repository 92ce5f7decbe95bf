import { afterAll, expect } from "vitest";
import { compareByCodePoint, createFilterPredicate, FILTER_OPERATORS, type FilterOperator, type MetadataFilters } from "@larder/core/filters";
import { NodeRelationship, TextNode, type BaseNode } from "@larder/core/schema";
import { MAX_TOP_K, type DistanceMetric, type VectorStore, type VectorStoreQueryResult } from "@larder/core/vector";
import { defineSuite, expectStorageError, seededRandom, type SuiteContext, type SuiteOptions } from "./harness.js";
import { HOSTILE_STRINGS } from "./hostile.js";
import { CORPUS_KEYS, makeCorpus, randomFilterTree, randomLeaf, type CorpusNode } from "./vector-corpus.js";
import { filterSpecVectorCases, hostileVectorDifferential } from "./filter-differential.js";

export * from "./vector-corpus.js";
export * from "./filter-hostile.js";
export * from "./filter-spec.js";
export { filterSpecVectorCases, hostileVectorDifferential } from "./filter-differential.js";

/** Optional knobs of the vector suite (things the store cannot tell about itself). */
export interface VectorSuiteCapabilities {
  /** The metric the store scores with; default: `store.capabilities.metrics[0]`, else cosine. */
  metric: DistanceMetric;
  /** Largest `topK` one query may ask for (the differential query test uses the corpus size). */
  maxTopK: number;
}

export interface VectorSuiteOptions extends SuiteOptions<VectorStore, VectorTestId, VectorSuiteCapabilities> {
  /** Nodes in the shared differential corpus (default 2,000). */
  corpusSize?: number;
  /** Random filter trees per differential test (default 150). */
  trees?: number;
  /** Seed of the corpus and the trees (default 1234). Print it when reporting a failure. */
  seed?: number;
}

type Ctx = SuiteContext<VectorStore, VectorSuiteCapabilities>;

const DIM = 8;

function node(id: string, embedding: number[], opts: { ref?: string; metadata?: Record<string, unknown>; text?: string } = {}): TextNode {
  return new TextNode({
    id,
    text: opts.text ?? `text of ${id}`,
    embedding,
    metadata: opts.metadata ?? {},
    relationships: opts.ref ? { [NodeRelationship.SOURCE]: { nodeId: opts.ref } } : {},
  });
}

function vec(rng: () => number, dim = DIM): number[] {
  return Array.from({ length: dim }, () => Math.round((rng() * 2 - 1) * 1e4) / 1e4);
}

/** float64 reference similarity, higher is better. */
export function referenceSimilarity(metric: DistanceMetric, a: readonly number[], b: readonly number[]): number {
  let dot = 0, na = 0, nb = 0, l2 = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
    l2 += (x - y) * (x - y);
  }
  if (metric === "dot") return dot;
  if (metric === "euclidean") return -Math.sqrt(l2);
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

const sortedIds = (xs: readonly { id: string }[] | readonly string[]) =>
  (xs as readonly (string | { id: string })[]).map((x) => (typeof x === "string" ? x : x.id)).sort(compareByCodePoint);

function metricOf(ctx: Ctx, store: VectorStore): DistanceMetric {
  return ctx.capabilities.metric ?? store.capabilities.metrics[0] ?? "cosine";
}

function supportedOps(store: VectorStore): FilterOperator[] {
  const s = new Set(store.capabilities.filterOperators);
  return FILTER_OPERATORS.filter((o) => s.has(o));
}

/** Asserts similarities descend, ties by id ascending (code points). */
function expectOrdered(r: VectorStoreQueryResult): void {
  expect(r.similarities.length).toBe(r.ids.length);
  for (let i = 1; i < r.ids.length; i++) {
    const a = r.similarities[i - 1]!, b = r.similarities[i]!;
    if (a === b) expect(compareByCodePoint(r.ids[i - 1]!, r.ids[i]!), `tie at ${i} not ordered by id`).toBeLessThan(0);
    else expect(a, `similarities not descending at ${i}`).toBeGreaterThan(b);
  }
}

function describeTree(tree: MetadataFilters): string {
  const s = JSON.stringify(tree);
  return s.length > 600 ? `${s.slice(0, 600)}...` : s;
}

function diff(expected: string[], actual: string[]): string {
  const e = new Set(expected), a = new Set(actual);
  const missing = expected.filter((x) => !a.has(x)).slice(0, 5);
  const extra = actual.filter((x) => !e.has(x)).slice(0, 5);
  return `expected ${expected.length} ids, got ${actual.length}; missing e.g. ${JSON.stringify(missing)}, extra e.g. ${JSON.stringify(extra)}`;
}

// ------------------------------------------------------------------------------------------------
// The shared, read-only differential corpus: inserted once per describeVectorStore call.

interface SharedCorpus {
  store: VectorStore;
  nodes: CorpusNode[];
}

interface CorpusHolder {
  get(): Promise<SharedCorpus>;
  dispose(): Promise<void>;
}

function corpusHolder(opts: VectorSuiteOptions): CorpusHolder {
  let pending: Promise<SharedCorpus> | undefined;
  const get = (): Promise<SharedCorpus> => {
    pending ??= (async () => {
      const store = await opts.create();
      const nodes = makeCorpus(seededRandom(opts.seed ?? 1234), opts.corpusSize ?? 2000, DIM);
      // One batch: the store decides how to chunk it (and must do it without one round trip per node).
      await store.add(nodes.map((n) => node(n.id, n.embedding, { ref: n.refDocId, metadata: n.metadata })));
      return { store, nodes };
    })();
    return pending;
  };
  const dispose = async () => {
    if (!pending) return;
    const { store } = await pending.catch(() => ({ store: undefined }));
    pending = undefined;
    if (store) await opts.dispose?.(store);
  };
  return { get, dispose };
}

// ------------------------------------------------------------------------------------------------

function buildTests(corpus: CorpusHolder, opts: VectorSuiteOptions): Record<VectorTestId, (ctx: Ctx) => Promise<void>> {
  const trees = opts.trees ?? 150;
  const seed = opts.seed ?? 1234;

  return {
    "vector.add.round-trip": async (ctx: Ctx) => {
      const store = await ctx.store();
      const rng = seededRandom(1);
      const nodes = [
        node("n1", vec(rng), { ref: "d1", metadata: { a: 1, s: "x", arr: ["p", 2, true], nil: null, nested: { k: "v" } }, text: "hello" }),
        node("n2", vec(rng), { ref: "d1" }),
        node("n3", vec(rng)),
      ];
      const ids = await store.add(nodes);
      expect(ids).toEqual(["n1", "n2", "n3"]);
      const got = await store.getNodes({ ids: ["n3", "n1", "missing"] });
      expect(sortedIds(got)).toEqual(["n1", "n3"]);
      const n1 = got.find((n) => n.id === "n1")!;
      expect(n1.metadata).toEqual(nodes[0]!.metadata);
      expect(n1.refDocId).toBe("d1");
      if (store.storesText) expect(n1.text).toBe("hello");
      if (n1.embedding) n1.embedding.forEach((x, i) => expect(x).toBeCloseTo(nodes[0]!.embedding![i]!, 4));
      expect(sortedIds(await store.getNodes())).toEqual(["n1", "n2", "n3"]);
      expect(await store.add([])).toEqual([]);
    },
    "vector.getNodes.given-order": async (ctx: Ctx) => {
      // The contract: by ids, in the order given (each id once, at its first place), unknown ids skipped — also with a filter.
      const store = await ctx.store();
      const rng = seededRandom(11);
      await store.add(["a", "b", "c", "d", "e"].map((id, i) => node(id, vec(rng), { metadata: { i } })));
      expect((await store.getNodes({ ids: ["d", "missing", "a", "d", "e", "b"] })).map((n) => n.id)).toEqual(["d", "a", "e", "b"]);
      expect((await store.getNodes({ ids: ["e", "c", "a"], filters: { filters: [{ key: "i", operator: "!=", value: 0 }] } })).map((n) => n.id)).toEqual([
        "e",
        "c",
      ]);
      expect(await store.getNodes({ ids: [] })).toEqual([]);
    },

    "vector.add.upsert": async (ctx: Ctx) => {
      const store = await ctx.store();
      await store.add([node("a", [1, 0, 0, 0], { ref: "d1", metadata: { v: 1 } }), node("b", [0, 1, 0, 0])]);
      await store.add([node("a", [0, 0, 1, 0], { ref: "d2", metadata: { v: 2 } })]);
      const all = await store.getNodes();
      expect(sortedIds(all)).toEqual(["a", "b"]);
      expect(all.find((n) => n.id === "a")!.metadata).toEqual({ v: 2 });
      const r = await store.query({ embedding: [0, 0, 1, 0], topK: 1 });
      expect(r.ids).toEqual(["a"]);
      expect(sortedIds(await store.getNodes({ filters: { filters: [{ key: "v", operator: "==", value: 1 }] } }))).toEqual([]);
      await store.delete("d1");
      expect(sortedIds(await store.getNodes())).toEqual(["a", "b"]);
      await store.delete("d2");
      expect(sortedIds(await store.getNodes())).toEqual(["b"]);
    },

    "vector.query.score-order": async (ctx: Ctx) => {
      const store = await ctx.store();
      const metric = metricOf(ctx, store);
      const rng = seededRandom(2);
      const nodes = Array.from({ length: 60 }, (_, i) => node(`s${i}`, vec(rng)));
      await store.add(nodes);
      for (let t = 0; t < 5; t++) {
        const q = vec(rng);
        const r = await store.query({ embedding: q, topK: 7 });
        expect(r.ids.length).toBe(7);
        expectOrdered(r);
        const ref = new Map(nodes.map((n) => [n.id, referenceSimilarity(metric, q, n.embedding!)]));
        r.ids.forEach((id, i) => expect(r.similarities[i]!, `similarity of ${id}`).toBeCloseTo(ref.get(id)!, 3));
        const kth = Math.min(...r.ids.map((id) => ref.get(id)!));
        const bestLeftOut = Math.max(...[...ref].filter(([id]) => !r.ids.includes(id)).map(([, s]) => s));
        expect(kth).toBeGreaterThanOrEqual(bestLeftOut - 1e-4);
        if (store.storesText && r.nodes) expect(r.nodes.map((n) => n.id)).toEqual(r.ids);
      }
    },

    "vector.query.ties-by-id": async (ctx: Ctx) => {
      const store = await ctx.store();
      const same = [0.5, -0.25, 1, 0, 0.75, 0.1, -0.3, 0.2];
      await store.add([node("t-b", same), node("t-c", same), node("t-a", same), node("other", [1, 0, 0, 0, 0, 0, 0, 0])]);
      const r = await store.query({ embedding: same, topK: 3 });
      expect(r.ids).toEqual(["t-a", "t-b", "t-c"]);
      expectOrdered(r);
    },

    "vector.query.topk-bounds": async (ctx: Ctx) => {
      const store = await ctx.store();
      const rng = seededRandom(3);
      await store.add(Array.from({ length: 5 }, (_, i) => node(`k${i}`, vec(rng))));
      expect((await store.query({ embedding: vec(rng), topK: 50 })).ids.length).toBe(5);
      expect((await store.query({ embedding: vec(rng), topK: 0 })).ids).toEqual([]);
      expect((await store.query({ embedding: vec(rng) })).ids.length).toBe(2); // default topK 2
      await expectStorageError(() => store.query({ embedding: vec(rng), topK: -1 }), "INVALID_ARGUMENT");
      await expectStorageError(() => store.query({ embedding: vec(rng), topK: 1.5 }), "INVALID_ARGUMENT");
      // MAX_TOP_K is the ceiling on every store, refused before any I/O (never an unbounded candidate list).
      expect((await store.query({ embedding: vec(rng), topK: MAX_TOP_K })).ids.length).toBe(5);
      for (const topK of [MAX_TOP_K + 1, 1e9, Number.POSITIVE_INFINITY, Number.NaN]) {
        const e = await expectStorageError(() => store.query({ embedding: vec(rng), topK }), "INVALID_ARGUMENT");
        expect(e.message).toContain(`topK must be an integer in [0, ${MAX_TOP_K}]`);
      }
      for (const mode of store.capabilities.modes) {
        await expectStorageError(() => store.query({ embedding: vec(rng), queryStr: "x", mode, topK: MAX_TOP_K + 1 }), "INVALID_ARGUMENT");
      }
    },

    "vector.query.zero-vector": async (ctx: Ctx) => {
      // One rule on every store: cosine similarity with a zero vector (stored or query) is 0 (dot
      // product and Euclidean distance need no rule); ties by id as always.
      const store = await ctx.store();
      const metric = metricOf(ctx, store);
      const e = (i: number, x = 1) => Array.from({ length: DIM }, (_, j) => (j === i ? x : 0));
      const zero = e(0, 0);
      const nodes = [node("a-zero", zero), node("b-orth", e(1)), node("c-neg", e(0, -1)), node("d-pos", e(0))];
      await store.add(nodes);
      const check = (r: VectorStoreQueryResult, q: number[]) => {
        expectOrdered(r);
        r.ids.forEach((id, i) => {
          const s = r.similarities[i]!;
          expect(Number.isNaN(s), `similarity of ${id} is NaN`).toBe(false);
          expect(s, `similarity of ${id}`).toBeCloseTo(referenceSimilarity(metric, q, nodes.find((n) => n.id === id)!.embedding!), 5);
        });
      };
      // With every metric: d-pos first, then a-zero (cosine/dot: 0, tied with b-orth, smaller id).
      const q = e(0);
      const top2 = await store.query({ embedding: q, topK: 2 });
      expect(top2.ids).toEqual(["d-pos", "a-zero"]);
      check(top2, q);
      const all = await store.query({ embedding: q, topK: 4 });
      expect(all.ids.length).toBe(4);
      check(all, q);
      const filtered = await store.query({ embedding: q, topK: 2, docIds: undefined, nodeIds: ["a-zero", "b-orth", "c-neg", "d-pos"] });
      expect(filtered.ids).toEqual(["d-pos", "a-zero"]);
      // A zero query: every similarity is 0 for cosine and dot (Euclidean: a-zero is nearest).
      const z = await store.query({ embedding: zero, topK: 2 });
      expect(z.ids).toEqual(["a-zero", "b-orth"]);
      check(z, zero);
      check(await store.query({ embedding: zero, topK: 4 }), zero);
    },

    "vector.query.similarity-cutoff": async (ctx: Ctx) => {
      const store = await ctx.store();
      const metric = metricOf(ctx, store);
      const rng = seededRandom(4);
      const nodes = Array.from({ length: 30 }, (_, i) => node(`c${i}`, vec(rng)));
      await store.add(nodes);
      const q = vec(rng);
      const sims = nodes.map((n) => referenceSimilarity(metric, q, n.embedding!)).sort((a, b) => b - a);
      const cutoff = (sims[4]! + sims[5]!) / 2;
      const r = await store.query({ embedding: q, topK: 30, similarityCutoff: cutoff });
      expect(r.ids.length).toBe(5);
      for (const s of r.similarities) expect(s).toBeGreaterThanOrEqual(cutoff);
    },

    "vector.query.node-and-doc-ids": async (ctx: Ctx) => {
      const store = await ctx.store();
      const rng = seededRandom(5);
      await store.add(Array.from({ length: 12 }, (_, i) => node(`r${i}`, vec(rng), { ref: `d${i % 3}` })));
      const q = vec(rng);
      const byNode = await store.query({ embedding: q, topK: 10, nodeIds: ["r1", "r4", "r7", "nope"] });
      expect(sortedIds(byNode.ids)).toEqual(["r1", "r4", "r7"]);
      const byDoc = await store.query({ embedding: q, topK: 10, docIds: ["d2"] });
      expect(sortedIds(byDoc.ids)).toEqual(["r11", "r2", "r5", "r8"]);
      const both = await store.query({ embedding: q, topK: 10, docIds: ["d1"], nodeIds: ["r1", "r2", "r4"] });
      expect(sortedIds(both.ids)).toEqual(["r1", "r4"]);
      const filtered = await store.query({ embedding: q, topK: 10, docIds: ["d0", "d1"], filters: { filters: [{ key: "missing", operator: "is_empty" }] } });
      expect(filtered.ids.length).toBe(8);
    },

    "vector.query.mmr": async (ctx: Ctx) => {
      const store = await ctx.store();
      if (!store.capabilities.modes.includes("mmr")) {
        await expectStorageError(() => store.query({ embedding: [1, 0, 0, 0, 0, 0, 0, 0], topK: 2, mode: "mmr" }), "UNSUPPORTED");
        return;
      }
      // A tight cluster that is the most relevant, a diverse node slightly less relevant, a far one.
      // Textbook MMR (lambda 0.5) must pick the best, then the diverse node (any metric).
      const base = [1, 0, 0.5, 0, 0, 0, 0, 0];
      await store.add([
        node("dup1", [1, 0, 0.05, 0, 0, 0, 0, 0]),
        node("dup2", [1, 0.02, 0.04, 0, 0, 0, 0, 0]),
        node("dup3", [1, -0.02, 0.03, 0, 0, 0, 0, 0]),
        node("diverse", [0.6, 0, 0.8, 0, 0, 0, 0, 0]),
        node("far", [0, 0, 0, 1, 0, 0, 0, 0]),
      ]);
      const r = await store.query({ embedding: base, topK: 2, mode: "mmr" });
      expect(r.ids).toEqual(["dup1", "diverse"]);
      const plain = await store.query({ embedding: base, topK: 5 });
      expect(plain.ids.slice(0, 3)).toEqual(["dup1", "dup2", "dup3"]);
      const relevanceOnly = await store.query({ embedding: base, topK: 3, mode: "mmr", mmrThreshold: 1 });
      expect(relevanceOnly.ids).toEqual((await store.query({ embedding: base, topK: 3 })).ids);
      await expectStorageError(() => store.query({ embedding: base, topK: 2, mode: "mmr", mmrThreshold: 2 }), "INVALID_ARGUMENT");
    },

    "vector.query.modes": async (ctx: Ctx) => {
      const store = await ctx.store();
      const modes = store.capabilities.modes;
      // Undeclared modes are refused, never approximated; an unknown mode is malformed.
      await store.add([node("m", [0, 0, 0, 0, 0, 0, 0, 1])]);
      for (const mode of ["default", "mmr", "hybrid", "text"] as const) {
        if (modes.includes(mode)) continue;
        await expectStorageError(() => store.query({ embedding: [1, 0, 0, 0, 0, 0, 0, 0], queryStr: "x", topK: 1, mode }), "UNSUPPORTED");
      }
      await expectStorageError(() => store.query({ embedding: [1, 0, 0, 0, 0, 0, 0, 0], topK: 1, mode: "svm" as never }), "INVALID_ARGUMENT");
      // Declared text modes: only nodes with a query word (case-insensitive), restrictions apply.
      const t = (id: string, text: string, metadata: Record<string, unknown> = {}) => node(id, [1, 0, 0, 0, 0, 0, 0, 0], { text, metadata });
      await store.add([
        t("x1", "The llama is a domesticated camelid.", { k: 1 }),
        t("x2", "Llamas and alpacas; llama wool.", { k: 2 }),
        t("x3", "Vicuña and guanaco are wild relatives.", { k: 1 }),
      ]);
      if (modes.includes("text")) {
        const r = await store.query({ mode: "text", queryStr: "llama", topK: 10 });
        expect(sortedIds(r.ids)).toEqual(["x1", "x2"]); // "m" has no text match
        expectOrdered(r);
        const f = await store.query({ mode: "text", queryStr: "llama", topK: 10, filters: { filters: [{ key: "k", operator: "==", value: 2 }] } });
        expect(f.ids).toEqual(["x2"]);
        await expectStorageError(() => store.query({ mode: "text", topK: 1 }), "INVALID_ARGUMENT");
      }
      if (modes.includes("hybrid")) {
        const r = await store.query({ mode: "hybrid", embedding: [1, 0, 0, 0, 0, 0, 0, 0], queryStr: "guanaco", topK: 3, nodeIds: ["x1", "x2", "x3"] });
        expect(r.ids.length).toBe(3);
        expectOrdered(r);
        expect(r.ids[0]).toBe("x3"); // equal vectors: the text decides
      }
    },

    "vector.delete.ref-doc-whole": async (ctx: Ctx) => {
      const store = await ctx.store();
      const rng = seededRandom(6);
      await store.add([
        ...Array.from({ length: 5 }, (_, i) => node(`A${i}`, vec(rng), { ref: "docA" })),
        ...Array.from({ length: 3 }, (_, i) => node(`B${i}`, vec(rng), { ref: "docB" })),
        node("lonely", vec(rng)),
      ]);
      await store.delete("docA");
      expect(sortedIds(await store.getNodes())).toEqual(["B0", "B1", "B2", "lonely"]);
      const r = await store.query({ embedding: vec(rng), topK: 20 });
      expect(sortedIds(r.ids)).toEqual(["B0", "B1", "B2", "lonely"]);
      await store.delete("no-such-doc");
      expect((await store.getNodes()).length).toBe(4);
    },

    "vector.delete-nodes.neither-refused": async (ctx: Ctx) => {
      const store = await ctx.store();
      await store.add([node("x1", [1, 0, 0, 0]), node("x2", [0, 1, 0, 0])]);
      await expectStorageError(() => store.deleteNodes({}), "INVALID_ARGUMENT");
      await expectStorageError(() => store.deleteNodes({ ids: undefined, filters: undefined }), "INVALID_ARGUMENT");
      await expectStorageError(() => store.deleteNodes(undefined as never), "INVALID_ARGUMENT");
      // A filter tree without any condition matches every node: refused too (use clear()).
      const empty: MetadataFilters[] = [
        { filters: [] },
        { filters: [], condition: "or" },
        { filters: [], condition: "not" },
        { filters: [{ filters: [] }, { filters: [{ filters: [] }], condition: "not" }], condition: "and" },
      ];
      for (const filters of empty) {
        await expectStorageError(() => store.deleteNodes({ filters }), "INVALID_ARGUMENT");
        await expectStorageError(() => store.deleteNodes({ ids: ["x1"], filters }), "INVALID_ARGUMENT");
      }
      expect(sortedIds(await store.getNodes())).toEqual(["x1", "x2"]);
      // Reading with an empty tree is fine (it matches everything); an empty ids list deletes nothing.
      expect(sortedIds(await store.getNodes({ filters: { filters: [] } }))).toEqual(["x1", "x2"]);
      await store.deleteNodes({ ids: [] });
      expect(sortedIds(await store.getNodes())).toEqual(["x1", "x2"]);
    },

    "vector.delete-nodes.ids-filters-both": async (ctx: Ctx) => {
      const store = await ctx.store();
      const rng = seededRandom(7);
      await store.add(Array.from({ length: 10 }, (_, i) => node(`d${i}`, vec(rng), { metadata: { even: i % 2 === 0, i } })));
      await store.deleteNodes({ ids: ["d0", "d1", "zzz"] });
      expect(sortedIds(await store.getNodes())).toEqual(["d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9"]);
      await store.deleteNodes({ filters: { filters: [{ key: "i", operator: "in", value: [8, 9] }] } });
      expect(sortedIds(await store.getNodes())).toEqual(["d2", "d3", "d4", "d5", "d6", "d7"]);
      await store.deleteNodes({ ids: ["d2", "d3", "d4"], filters: { filters: [{ key: "even", operator: "==", value: true }] } });
      expect(sortedIds(await store.getNodes())).toEqual(["d3", "d5", "d6", "d7"]);
      await store.deleteNodes({ ids: [] });
      expect((await store.getNodes()).length).toBe(4);
      const r = await store.query({ embedding: vec(rng), topK: 10 });
      expect(sortedIds(r.ids)).toEqual(["d3", "d5", "d6", "d7"]);
    },

    "vector.clear": async (ctx: Ctx) => {
      const store = await ctx.store();
      await store.add([node("c1", [1, 0, 0, 0], { ref: "d" })]);
      await store.clear();
      expect(await store.getNodes()).toEqual([]);
      expect((await store.query({ embedding: [1, 0, 0, 0], topK: 3 })).ids).toEqual([]);
      await store.add([node("c2", [0, 1, 0, 0])]);
      expect(sortedIds(await store.getNodes())).toEqual(["c2"]);
    },

    "vector.refuse.dimension-mismatch": async (ctx: Ctx) => {
      const store = await ctx.store();
      await store.add([node("ok", [1, 0, 0, 0])]);
      await expectStorageError(() => store.add([node("fine", [0, 1, 0, 0]), node("bad", [1, 2, 3])]), "DIMENSION_MISMATCH");
      await expectStorageError(() => store.add([node("ok", [1, 0, 0, 0, 0])]), "DIMENSION_MISMATCH");
      expect(sortedIds(await store.getNodes())).toEqual(["ok"]);
      expect(await store.getNodes({ ids: ["fine", "bad"] })).toEqual([]);
      const kept = (await store.getNodes({ ids: ["ok"] }))[0]!;
      if (kept.embedding) expect(kept.embedding).toEqual([1, 0, 0, 0]);
      await expectStorageError(() => store.query({ embedding: [1, 0], topK: 1 }), "DIMENSION_MISMATCH");
      const fresh = await ctx.store();
      await expectStorageError(() => fresh.add([node("p", [1, 0]), node("q", [1, 0, 0])]), "DIMENSION_MISMATCH");
      expect(await fresh.getNodes()).toEqual([]);
    },

    "vector.refuse.invalid-embedding": async (ctx: Ctx) => {
      const store = await ctx.store();
      await store.add([node("ok", [1, 0, 0, 0])]);
      for (const bad of [[NaN, 0, 0, 0], [Infinity, 0, 0, 0], [0, -Infinity, 0, 0], [1e39, 0, 0, 0], []]) {
        await expectStorageError(() => store.add([node("new", [0, 1, 0, 0]), node("bad", bad)]), "INVALID_ARGUMENT");
      }
      const missing = new TextNode({ id: "noemb", text: "x" });
      await expectStorageError(() => store.add([missing]), "INVALID_ARGUMENT");
      expect(sortedIds(await store.getNodes())).toEqual(["ok"]);
      await expectStorageError(() => store.query({ embedding: [NaN, 0, 0, 0], topK: 1 }), "INVALID_ARGUMENT");
      await expectStorageError(() => store.query({ topK: 1 }), "INVALID_ARGUMENT");
    },

    "vector.hostile.ids": async (ctx: Ctx) => {
      const store = await ctx.store();
      const rng = seededRandom(8);
      const accepted: string[] = [];
      for (const id of HOSTILE_STRINGS) {
        try {
          await store.add([node(id, vec(rng), { ref: `ref:${id}` })]);
          accepted.push(id);
        } catch (e) {
          // Refusing is allowed, with INVALID_ARGUMENT and nothing else touched.
          await expectStorageError(() => Promise.reject(e), "INVALID_ARGUMENT");
        }
      }
      expect(accepted.length, "a store must accept at least the printable hostile ids").toBeGreaterThan(HOSTILE_STRINGS.length / 2);
      expect(sortedIds(await store.getNodes())).toEqual(sortedIds(accepted));
      for (const id of accepted) expect((await store.getNodes({ ids: [id] })).map((n) => n.id)).toEqual([id]);
      const victim = accepted.find((id) => id.includes("DROP")) ?? accepted[0]!;
      await store.delete(`ref:${victim}`);
      expect(sortedIds(await store.getNodes())).toEqual(sortedIds(accepted.filter((x) => x !== victim)));
    },

    "vector.hostile.metadata": async (ctx: Ctx) => {
      const store = await ctx.store();
      const rng = seededRandom(9);
      const keys = HOSTILE_STRINGS.filter((s) => s.length < 1000);
      const nodes = keys.map((k, i) => node(`h${i}`, vec(rng), { metadata: { [k]: HOSTILE_STRINGS[(i + 3) % HOSTILE_STRINGS.length], plain: k } }));
      let stored: BaseNode[] = [];
      try {
        await store.add(nodes);
        stored = await store.getNodes();
      } catch (e) {
        await expectStorageError(() => Promise.reject(e), "INVALID_ARGUMENT");
        // A store refusing some key must refuse the batch whole; add the accepted ones one by one.
        expect(await store.getNodes()).toEqual([]);
        for (const n of nodes) await store.add([n]).catch(() => undefined);
        stored = await store.getNodes();
      }
      expect(stored.length).toBeGreaterThan(keys.length / 2);
      for (const s of stored) {
        const original = nodes.find((n) => n.id === s.id)!;
        expect(s.metadata).toEqual(original.metadata);
        const [k, v] = Object.entries(original.metadata)[0]!;
        const tree: MetadataFilters = { filters: [{ key: k, operator: "==", value: v as string }] };
        const match = createFilterPredicate(tree);
        const hits = await store.getNodes({ filters: tree });
        expect(sortedIds(hits), `filter on hostile key ${JSON.stringify(k)}`).toEqual(sortedIds(stored.filter((x) => match(x.metadata))));
        expect(hits.some((h) => h.id === s.id)).toBe(true);
      }
    },

    "vector.refuse.non-json-metadata": async (ctx: Ctx) => {
      // The rule of every store of every kind (core's assertJsonObject): metadata that JSON cannot
      // represent is INVALID_ARGUMENT for the whole batch, with the same message everywhere; it is
      // never changed silently (NaN -> null, Date -> string, Map -> {}, undefined dropped).
      const store = await ctx.store();
      await store.add([node("kept", [1, 0, 0, 0], { metadata: { v: 1 } })]);
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic["self"] = cyclic;
      let deep: Record<string, unknown> = { end: true };
      for (let i = 0; i < 20_000; i++) deep = { d: deep };
      class Point {
        x = 1;
      }
      const cases: [string, Record<string | symbol, unknown>, string][] = [
        ["NaN", { v: Number.NaN }, "metadata.v is NaN, which JSON cannot represent"],
        ["Infinity", { v: Number.POSITIVE_INFINITY }, "metadata.v is Infinity, which JSON cannot represent"],
        ["-Infinity in an array", { v: [1, Number.NEGATIVE_INFINITY] }, "metadata.v[1] is -Infinity, which JSON cannot represent"],
        ["undefined", { v: undefined }, "metadata.v is undefined, which JSON cannot represent"],
        ["nested undefined", { v: { w: undefined } }, "metadata.v.w is undefined, which JSON cannot represent"],
        ["function", { v: () => 1 }, "metadata.v is a function, which JSON cannot represent"],
        ["symbol", { v: Symbol("s") }, "metadata.v is a symbol, which JSON cannot represent"],
        ["symbol key", { [Symbol("k")]: 1 }, "metadata has symbol keys"],
        ["bigint", { v: 10n }, "metadata.v is bigint 10, which JSON cannot represent"],
        ["Date", { v: new Date(0) }, "metadata.v is an instance of Date, not a plain JSON object"],
        ["Map", { v: new Map([["a", 1]]) }, "metadata.v is an instance of Map, not a plain JSON object"],
        ["class instance", { v: new Point() }, "metadata.v is an instance of Point, not a plain JSON object"],
        ["sparse array", { v: [1, , 3] }, "metadata.v[1] is a hole in a sparse array"],
        ["cycle", { v: cyclic }, "metadata.v.self is a circular reference"],
        ["20,000 levels", { v: deep }, "nested more than 100 levels"],
      ];
      for (const [what, metadata, message] of cases) {
        const bad = new TextNode({ id: "bad", text: "x", embedding: [0, 1, 0, 0], metadata: metadata as Record<string, unknown> });
        const e = await expectStorageError(() => store.add([node("fine", [0, 0, 1, 0]), bad]), "INVALID_ARGUMENT");
        expect(e.message, what).toContain(message.startsWith("metadata") ? `node "bad" ${message}` : message);
      }
      expect(sortedIds(await store.getNodes())).toEqual(["kept"]);
      // The depth limit counts the node JSON (metadata is its level 3): 98 levels of metadata are fine.
      let edge: Record<string, unknown> = { end: true };
      for (let i = 1; i < 98; i++) edge = { d: edge };
      await store.add([node("edge", [0, 0, 0, 1], { metadata: edge })]);
      expect((await store.getNodes({ ids: ["edge"] }))[0]!.metadata).toEqual(edge);
      await expectStorageError(() => store.add([node("over", [0, 0, 0, 1], { metadata: { d: edge } })]), "INVALID_ARGUMENT");
    },

    "vector.metadata.backslash-text": async (ctx: Ctx) => {
      // Text that merely looks like a JSON escape is an ordinary string, accepted by every store.
      const store = await ctx.store();
      const metas: Record<string, unknown>[] = [
        { s: "\\u0000" },
        { s: 'printf("\\u0000")' },
        { path: "C:\\ud800\\x" },
        { "\\ud800key": "v", "\\u0000": ["\\udfff", "\\\\u0000"] },
        { s: "\\\\ud83d\\ude00" },
      ];
      const nodes = metas.map((m, i) => node(`b${i}`, [1, i, 0, 0], { metadata: m }));
      await store.add(nodes);
      const got = await store.getNodes();
      expect(sortedIds(got)).toEqual(nodes.map((n) => n.id));
      for (const n of nodes) {
        expect(got.find((g) => g.id === n.id)!.metadata).toEqual(n.metadata);
        for (const [k, v] of Object.entries(n.metadata)) {
          const tree: MetadataFilters = { filters: [Array.isArray(v) ? { key: k, operator: "contains", value: v[0] as string } : { key: k, operator: "==", value: v as string }] };
          expect(sortedIds(await store.getNodes({ filters: tree })), JSON.stringify(tree)).toEqual([n.id]);
        }
      }
      const textMatch: MetadataFilters = { filters: [{ key: "s", operator: "text_match", value: "\\u0000" }] };
      // text_match only where the store declares it; elsewhere it must be refused, not ignored.
      if (store.capabilities.filterOperators.includes("text_match")) expect(sortedIds(await store.getNodes({ filters: textMatch }))).toEqual(["b0", "b1"]);
      else await expectStorageError(() => store.getNodes({ filters: textMatch }), "UNSUPPORTED");
    },

    "vector.filters.lone-surrogates": async (ctx: Ctx) => {
      // A filter key or value holding a lone surrogate has an answer (the reference evaluator's),
      // on every store: stored data here is well-formed, so such a key is missing and such a value
      // is equal to nothing and no substring (a lone surrogate is a code point of its own, never
      // half of a stored pair; ordering puts it between U+D7FF and U+E000).
      const store = await ctx.store();
      const metas: Record<string, unknown>[] = [
        { k: "a\u{10000}b" },
        { k: "\u{1F600}" },
        { k: "x" },
        { k: "\uFFFD" },
        { k: "a" },
        { k: ["\uFFFD", "\u{1F600}"] },
        {},
        { k: "" },
        { "\uFFFDk": "val" },
        { k: "b\u{10400}" },
        { k: "\u{1F600}X" },
      ];
      const nodes = metas.map((m, i) => node(`s${String(i).padStart(2, "0")}`, [1, i / 10, 0, 0], { metadata: m }));
      await store.add(nodes);
      const ops = new Set(store.capabilities.filterOperators);
      const leaves: MetadataFilters["filters"] = [
        { key: "\ud800k", operator: "==", value: "val" },
        { key: "\ud800k", operator: "!=", value: "val" },
        { key: "k\udc00", operator: "is_empty" },
        { key: "k\udc00", operator: "nin", value: ["x"] },
        { key: "k", operator: "==", value: "\ud800" },
        { key: "k", operator: "!=", value: "\ud83d" },
        { key: "k", operator: "in", value: ["\ud800", "x"] },
        { key: "k", operator: "nin", value: ["\udc00", "a"] },
        { key: "k", operator: "contains", value: "\ud83d" },
        { key: "k", operator: "any", value: ["\ude00", "\uFFFD"] },
        { key: "k", operator: "all", value: ["\uFFFD", "\ud83d"] },
        { key: "k", operator: "text_match", value: "\udc00" },
        { key: "k", operator: "text_match", value: "\ud83d" },
        { key: "k", operator: "text_match", value: "a\ud800" },
        { key: "k", operator: "text_match", value: "\udc00b" },
        { key: "k", operator: "text_match", value: "\ude00X" },
        { key: "k", operator: "text_match", value: "\ud800b" },
        { key: "k", operator: "text_match", value: "b\ud801" },
        { key: "k", operator: "text_match_insensitive", value: "A\ud800" },
        { key: "k", operator: "text_match_insensitive", value: "\ude00x" },
        { key: "k", operator: "<", value: "\ud800" },
        { key: "k", operator: ">=", value: "\ud83d" },
        { key: "k", operator: "<=", value: "\ud83d\ude00" },
        { key: "k", operator: ">", value: "a\udc00" },
        { key: "k", operator: "<", value: "a\udc00" },
        { key: "k", operator: "<=", value: "b\ud801" },
        { key: "k", operator: ">", value: "\uffff\udfff" },
        { key: "k", operator: "<", value: "\ud800\u0000" },
      ];
      let compared = 0;
      for (const leaf of leaves) {
        if (!("operator" in leaf) || !ops.has(leaf.operator)) continue;
        const tree: MetadataFilters = { filters: [leaf] };
        const match = createFilterPredicate(tree);
        const expected = sortedIds(nodes.filter((n) => match(n.metadata)));
        expect(sortedIds(await store.getNodes({ filters: tree })), describeTree(tree)).toEqual(expected);
        const r = await store.query({ embedding: [1, 0, 0, 0], topK: nodes.length, filters: tree });
        expect(sortedIds(r.ids), `query ${describeTree(tree)}`).toEqual(expected);
        compared++;
      }
      expect(compared).toBeGreaterThan(0);
      // The same trees in a deleteNodes: exactly the matching nodes go.
      const del: MetadataFilters = { filters: [{ key: "k", operator: "<", value: "b\udc00" }] };
      if (ops.has("<")) {
        const match = createFilterPredicate(del);
        await store.deleteNodes({ filters: del });
        expect(sortedIds(await store.getNodes())).toEqual(sortedIds(nodes.filter((n) => !match(n.metadata))));
      }
    },

    "vector.filters.invalid-refused": async (ctx: Ctx) => {
      const store = await ctx.store();
      await store.add([node("f1", [1, 0, 0, 0], { metadata: { a: 1 } })]);
      const bad: unknown[] = [
        { filters: [{ key: "a", operator: "~~", value: 1 }] },
        { filters: [{ key: "a", operator: "in", value: 1 }] },
        { filters: [{ key: "", operator: "==", value: 1 }] },
        { filters: [{ key: "a", operator: "==", value: null }] },
        { filters: [{ key: "a", operator: ">", value: true }] },
        { filters: [{ key: "a", operator: "text_match", value: 3 }] },
        { filters: [{ key: "a", operator: "is_empty", value: "x" }] },
        { filters: [], condition: "xor" },
        { filters: "a" },
      ];
      for (const f of bad) {
        const filters = f as MetadataFilters;
        await expectStorageError(() => store.query({ embedding: [1, 0, 0, 0], topK: 1, filters }), "INVALID_ARGUMENT");
        await expectStorageError(() => store.getNodes({ filters }), "INVALID_ARGUMENT");
        await expectStorageError(() => store.deleteNodes({ filters }), "INVALID_ARGUMENT");
      }
      expect(sortedIds(await store.getNodes())).toEqual(["f1"]);
    },

    "vector.filters.unsupported-refused": async (ctx: Ctx) => {
      const store = await ctx.store();
      await store.add([node("u1", [1, 0, 0, 0], { metadata: { a: 1, t: ["x"] } })]);
      const supported = new Set(store.capabilities.filterOperators);
      const rng = seededRandom(10);
      let checked = 0;
      for (const op of FILTER_OPERATORS) {
        if (supported.has(op)) continue;
        const filters: MetadataFilters = { filters: [randomLeaf(rng, op)] };
        await expectStorageError(() => store.query({ embedding: [1, 0, 0, 0], topK: 1, filters }), "UNSUPPORTED");
        await expectStorageError(() => store.getNodes({ filters }), "UNSUPPORTED");
        await expectStorageError(() => store.deleteNodes({ filters }), "UNSUPPORTED");
        checked++;
      }
      if (!store.capabilities.nestedFilters) {
        const filters: MetadataFilters = { filters: [{ filters: [{ key: "a", operator: supportedOps(store)[0] ?? "==", value: 1 }] }] };
        await expectStorageError(() => store.getNodes({ filters }), "UNSUPPORTED");
        checked++;
      }
      expect(sortedIds(await store.getNodes())).toEqual(["u1"]);
      // Nothing unsupported: the declaration itself is what this test checks.
      if (checked === 0) expect(supported.size).toBe(FILTER_OPERATORS.length);
    },

    "vector.filters.each-operator": async () => {
      const { store, nodes } = await corpus.get();
      const rng = seededRandom(seed + 1);
      for (const op of supportedOps(store)) {
        for (let i = 0; i < 12; i++) {
          const tree: MetadataFilters = { filters: [randomLeaf(rng, op)], condition: "and" };
          const match = createFilterPredicate(tree);
          const expected = sortedIds(nodes.filter((n) => match(n.metadata)));
          const actual = sortedIds(await store.getNodes({ filters: tree }));
          expect(actual, `${describeTree(tree)}: ${diff(expected, actual)}`).toEqual(expected);
        }
      }
    },

    "vector.filters.differential.get-nodes": async () => {
      const { store, nodes } = await corpus.get();
      const rng = seededRandom(seed + 2);
      const operators = supportedOps(store);
      for (let t = 0; t < trees; t++) {
        const tree = randomFilterTree(rng, { operators, nested: store.capabilities.nestedFilters });
        const match = createFilterPredicate(tree);
        const expected = sortedIds(nodes.filter((n) => match(n.metadata)));
        const actual = sortedIds(await store.getNodes({ filters: tree }));
        expect(actual, `tree #${t} (seed ${seed}) ${describeTree(tree)}: ${diff(expected, actual)}`).toEqual(expected);
      }
    },

    "vector.filters.differential.query": async (ctx: Ctx) => {
      const { store, nodes } = await corpus.get();
      const rng = seededRandom(seed + 3);
      const operators = supportedOps(store);
      const topK = Math.min(nodes.length, ctx.capabilities.maxTopK ?? nodes.length);
      let compared = 0;
      for (let t = 0; t < trees; t++) {
        const tree = randomFilterTree(rng, { operators, nested: store.capabilities.nestedFilters });
        const match = createFilterPredicate(tree);
        const expected = sortedIds(nodes.filter((n) => match(n.metadata)));
        if (expected.length > topK) continue; // only with a maxTopK below the corpus size
        compared++;
        const r = await store.query({ embedding: nodes[t % nodes.length]!.embedding, topK, filters: tree });
        const actual = sortedIds(r.ids);
        expect(actual, `tree #${t} (seed ${seed}) ${describeTree(tree)}: ${diff(expected, actual)}`).toEqual(expected);
        expectOrdered(r);
      }
      expect(compared, `maxTopK ${topK} leaves too few trees to compare`).toBeGreaterThanOrEqual(Math.ceil(trees / 4));
    },

    "vector.filters.hostile-differential": async (ctx: Ctx) => {
      // Hostile keys and values (numbers at the edges of doubles, -0, numeric strings, code points
      // around the surrogates, case folding across Unicode versions, SQL/Cypher/JS syntax as keys).
      await hostileVectorDifferential(await ctx.store(), { seed: seed + 5, trees, maxTopK: ctx.capabilities.maxTopK });
    },

    "vector.filters.spec-cases": async (ctx: Ctx) => {
      // The filters.spec.* cases of packages/core/docs/filters.md, one fresh store per case.
      await filterSpecVectorCases(() => ctx.store());
    },

    "vector.filters.k-results-when-selective": async (ctx: Ctx) => {
      const { store, nodes } = await corpus.get();
      const metric = metricOf(ctx, store);
      const rng = seededRandom(seed + 4);
      const ops = new Set(store.capabilities.filterOperators);
      const selective: MetadataFilters[] = [];
      if (ops.has("==")) selective.push({ filters: [{ key: CORPUS_KEYS.group, operator: "==", value: "g7" }] });
      if (ops.has("in")) selective.push({ filters: [{ key: CORPUS_KEYS.group, operator: "in", value: ["g3", "g44"] }] });
      if (ops.has("==") && ops.has(">")) {
        selective.push({ filters: [{ key: CORPUS_KEYS.group, operator: "==", value: "g21" }, { key: CORPUS_KEYS.num, operator: ">", value: -1000 }] });
      }
      for (const tree of selective) {
        const match = createFilterPredicate(tree);
        const matching = nodes.filter((n) => match(n.metadata));
        expect(matching.length).toBeGreaterThanOrEqual(10);
        const q = vec(rng);
        const r = await store.query({ embedding: q, topK: 10, filters: tree });
        expect(r.ids.length, describeTree(tree)).toBe(10);
        expectOrdered(r);
        const allowed = new Set(matching.map((n) => n.id));
        for (const id of r.ids) expect(allowed.has(id)).toBe(true);
        const ref = matching.map((n) => referenceSimilarity(metric, q, n.embedding)).sort((a, b) => b - a);
        expect(r.similarities[0]!).toBeCloseTo(ref[0]!, 3);
        expect(r.similarities[9]!).toBeCloseTo(ref[9]!, 3);
      }
    },
  };
}

/** The suite's test ids (the keys of `skip`). */
export type VectorTestId =
  | "vector.add.round-trip"
  | "vector.getNodes.given-order"
  | "vector.add.upsert"
  | "vector.query.score-order"
  | "vector.query.ties-by-id"
  | "vector.query.topk-bounds"
  | "vector.query.similarity-cutoff"
  | "vector.query.node-and-doc-ids"
  | "vector.query.mmr"
  | "vector.query.modes"
  | "vector.delete.ref-doc-whole"
  | "vector.query.zero-vector"
  | "vector.delete-nodes.neither-refused"
  | "vector.delete-nodes.ids-filters-both"
  | "vector.clear"
  | "vector.refuse.dimension-mismatch"
  | "vector.refuse.invalid-embedding"
  | "vector.hostile.ids"
  | "vector.hostile.metadata"
  | "vector.refuse.non-json-metadata"
  | "vector.metadata.backslash-text"
  | "vector.filters.lone-surrogates"
  | "vector.filters.invalid-refused"
  | "vector.filters.unsupported-refused"
  | "vector.filters.each-operator"
  | "vector.filters.differential.get-nodes"
  | "vector.filters.differential.query"
  | "vector.filters.hostile-differential"
  | "vector.filters.spec-cases"
  | "vector.filters.k-results-when-selective";

/**
 * The suite's test bodies by id, for running one rule on its own (e.g. against a deliberately
 * broken store); the differential filter tests fill a corpus store made with `opts.create`.
 */
export function vectorStoreTests(opts: VectorSuiteOptions): Record<VectorTestId, (ctx: SuiteContext<VectorStore, VectorSuiteCapabilities>) => Promise<void>> {
  return buildTests(corpusHolder(opts), opts);
}

/**
 * The vector store suite. `create` returns a fresh, isolated store per test; the differential
 * filter tests share ONE store holding the seeded corpus (created through `create`, filled once,
 * only read, disposed after the suite), so remote stores insert the corpus once.
 *
 * ```ts
 * describeVectorStore({ name: "SimpleVectorStore", create: () => new SimpleVectorStore() });
 * ```
 */
export function describeVectorStore(opts: VectorSuiteOptions): void {
  const corpus = corpusHolder(opts);
  afterAll(() => corpus.dispose());
  const tests = buildTests(corpus, opts);
  defineSuite<VectorStore, VectorTestId, VectorSuiteCapabilities>("vector", tests, { timeout: 120_000 })(opts);
}
