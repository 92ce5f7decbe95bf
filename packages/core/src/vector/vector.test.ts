import { describe, expect, it } from "vitest";
import { isStorageError } from "../errors.js";
import { createFilterPredicate, type MetadataFilters } from "../filters/index.js";
import { NodeRelationship, TextNode } from "../schema/node.js";
import { checkEmbedding, selectTopK, SimpleVectorStore, VectorMatrix, type DistanceMetric } from "./index.js";
import { simdModule } from "./wasm-simd.js";
import { rng } from "../test-support/prng.js";
import { textNodeCorpus } from "../test-support/text-nodes.js";

const randVec = (r: () => number, dim: number) => Array.from({ length: dim }, () => r() * 2 - 1);

function refSim(metric: DistanceMetric, a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0, na = 0, nb = 0, l2 = 0;
  for (let i = 0; i < a.length; i++) {
    const x = Math.fround(a[i]!), y = Math.fround(b[i]!);
    dot += x * y;
    na += x * x;
    nb += y * y;
    l2 += (x - y) ** 2;
  }
  if (metric === "dot") return dot;
  if (metric === "euclidean") return -Math.sqrt(l2);
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

async function code(fn: () => unknown): Promise<string | undefined> {
  try {
    await fn();
  } catch (e) {
    if (isStorageError(e)) return e.code;
    throw e;
  }
  return undefined;
}

const node = (id: string, embedding: number[], metadata: Record<string, unknown> = {}, ref?: string) =>
  new TextNode({ id, text: `t ${id}`, embedding, metadata, relationships: ref ? { [NodeRelationship.SOURCE]: { nodeId: ref } } : {} });

describe("VectorMatrix kernels", () => {
  it("WebAssembly SIMD is available in this runtime (Node 20+)", () => {
    expect(simdModule()).not.toBeNull();
    expect(new VectorMatrix({ dim: 4 }).kernel).toBe("wasm");
  });

  for (const metric of ["cosine", "dot", "euclidean"] as const) {
    for (const dim of [1, 3, 4, 5, 16, 17, 33, 384]) {
      it(`${metric}, dim ${dim}: wasm and js agree with a float64 reference, for all rows and gathered rows`, () => {
        const r = rng(dim * 7 + metric.length);
        const wasm = new VectorMatrix({ dim, metric, kernel: "wasm", initialCapacity: 2 });
        const js = new VectorMatrix({ dim, metric, kernel: "js", initialCapacity: 2 });
        const rows = Array.from({ length: 70 }, () => randVec(r, dim));
        rows.push(new Array<number>(dim).fill(0)); // zero vector: cosine 0
        for (const v of rows) {
          wasm.push(v);
          js.push(v);
        }
        const q = randVec(r, dim);
        const a = wasm.scoreAll(q), b = js.scoreAll(q);
        rows.forEach((v, i) => {
          const ref = refSim(metric, q, v);
          expect(a[i]!).toBeCloseTo(ref, 4);
          expect(b[i]!).toBeCloseTo(ref, 4);
        });
        const pick = [70, 3, 0, 41, 41];
        const g = wasm.scoreRows(q, pick);
        pick.forEach((row, k) => expect(g[k]).toBe(a[row]));
        expect(Array.from(js.scoreRows(q, pick))).toEqual(pick.map((row) => b[row]));
      });
    }
  }

  it("grows by doubling past many memory pages and swap-removes without holes", () => {
    const m = new VectorMatrix({ dim: 384, initialCapacity: 1 });
    const r = rng(5);
    const vs = Array.from({ length: 3000 }, () => randVec(r, 384));
    for (const v of vs) m.push(v);
    expect(m.size).toBe(3000);
    expect(m.swapRemove(10)).toBe(2999);
    expect(Array.from(m.row(10))).toEqual(Array.from(Float32Array.from(vs[2999]!)));
    expect(m.swapRemove(2998)).toBe(-1);
    expect(m.size).toBe(2998);
    const q = randVec(r, 384);
    const s = m.scoreAll(q);
    expect(s.length).toBe(2998);
    expect(s[10]!).toBeCloseTo(refSim("cosine", q, vs[2999]!), 4);
    expect(m.packed().length).toBe(2998 * 384);
  });
});

describe("selectTopK", () => {
  it("total order: score desc, then id asc by code point; cutoff; NaN last", () => {
    const scores = [0.5, 0.9, 0.9, NaN, 0.1, 0.9, 0.7];
    const ids = ["e", "c", "a", "z", "d", "\u{1F999}", "\uFF21"];
    expect(selectTopK(scores, 4, (i) => ids[i]!)).toEqual([2, 1, 5, 6]);
    expect(selectTopK(scores, 10, (i) => ids[i]!)).toEqual([2, 1, 5, 6, 0, 4, 3]);
    expect(selectTopK(scores, 10, (i) => ids[i]!, { cutoff: 0.7 })).toEqual([2, 1, 5, 6]);
    expect(selectTopK(scores, 0, (i) => ids[i]!)).toEqual([]);
  });

  it("matches a full sort on random input with many ties", () => {
    const r = rng(11);
    const scores = Array.from({ length: 5000 }, () => Math.floor(r() * 50) / 50);
    const ids = scores.map((_, i) => `id${Math.floor(r() * 1e6)}-${i}`);
    const all = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || (ids[a]! < ids[b]! ? -1 : 1));
    expect(selectTopK(scores, 25, (i) => ids[i]!)).toEqual(all.slice(0, 25));
  });
});

describe("checkEmbedding", () => {
  it("refuses non-finite, empty, missing; DIMENSION_MISMATCH for a wrong length", async () => {
    expect(await code(() => checkEmbedding([1, NaN], undefined, "v"))).toBe("INVALID_ARGUMENT");
    expect(await code(() => checkEmbedding([1, 1e39], undefined, "v"))).toBe("INVALID_ARGUMENT");
    expect(await code(() => checkEmbedding(["1"], undefined, "v"))).toBe("INVALID_ARGUMENT");
    expect(await code(() => checkEmbedding([], undefined, "v"))).toBe("INVALID_ARGUMENT");
    expect(await code(() => checkEmbedding(null, undefined, "v"))).toBe("INVALID_ARGUMENT");
    expect(await code(() => checkEmbedding([1, 2], 3, "v"))).toBe("DIMENSION_MISMATCH");
    expect(await code(() => checkEmbedding(new Float32Array([1, 2, 3]), 3, "v"))).toBe(undefined);
  });

  it("add refuses a batch with a bad vector in any position, of any array kind, and keeps what was stored", async () => {
    const store = new SimpleVectorStore();
    const good = (id: string, v: number[]) => new TextNode({ id, text: "", embedding: v });
    await store.add([good("a", [1, 0, 0, 0, 0]), good("b", [0, 1, 0, 0, 0])]);
    const bad: unknown[][] = [
      [1, 0, 0, 0, NaN],
      [1e39, 0, 0, 0, 0], // finite as a double, infinite as a float32
      [0, 0, "1", 0, 0],
      [0, { valueOf: () => 1 }, 0, 0, 0],
      [0, 0, 0, 0, null],
    ];
    const kinds = [...bad, new Float32Array([0, Infinity, 0, 0, 0]), new Float32Array([0, 0, 0, 0, NaN]), new Float64Array([0, 0, NaN, 0, 0])];
    for (const v of kinds) {
      const n = new TextNode({ id: "c", text: "", embedding: v as number[] });
      expect(await code(() => store.add([good("a", [0, 0, 1, 0, 0]), n]))).toBe("INVALID_ARGUMENT");
      expect(store.size).toBe(2);
      const res = await store.query({ embedding: [1, 0, 0, 0, 0], topK: 3 });
      expect(res.ids).toEqual(["a", "b"]);
      expect(res.similarities[0]).toBe(1);
    }
    await store.add([good("c", Array.from(new Float32Array([0.5, 0.5, 0, 0, 0])))]);
    await store.add([new TextNode({ id: "d", text: "", embedding: new Float32Array([0.5, 0.5, 0, 0, 0]) as unknown as number[] })]);
    const res = await store.query({ embedding: [1, 1, 0, 0, 0], topK: 2 });
    expect(res.similarities).toEqual([res.similarities[0], res.similarities[0]]);
    expect(res.similarities[0]).toBeCloseTo(1, 6);
  });
});

describe("SimpleVectorStore", () => {
  it("stays consistent with a naive model under random adds, upserts and deletes", async () => {
    const r = rng(21);
    const store = new SimpleVectorStore({ metric: "dot" });
    const model = new Map<string, { v: number[]; m: Record<string, unknown>; ref: string }>();
    const colors = ["red", "green", "blue"];
    for (let step = 0; step < 300; step++) {
      const op = r();
      if (op < 0.6) {
        const batch = Array.from({ length: 1 + Math.floor(r() * 8) }, () => {
          const id = `n${Math.floor(r() * 150)}`;
          const v = randVec(r, 6);
          const m = { color: colors[Math.floor(r() * 3)]!, k: Math.floor(r() * 5), tags: [colors[Math.floor(r() * 3)]!] };
          const ref = `d${Math.floor(r() * 20)}`;
          return { id, v, m, ref };
        });
        await store.add(batch.map((b) => node(b.id, b.v, b.m, b.ref)));
        for (const b of batch) model.set(b.id, { v: b.v, m: b.m, ref: b.ref });
      } else if (op < 0.75) {
        const ref = `d${Math.floor(r() * 20)}`;
        await store.delete(ref);
        for (const [id, e] of model) if (e.ref === ref) model.delete(id);
      } else if (op < 0.9) {
        const filters: MetadataFilters = { filters: [{ key: "color", operator: "==", value: colors[Math.floor(r() * 3)]! }, { key: "k", operator: ">", value: 2 }] };
        await store.deleteNodes({ filters });
        const p = createFilterPredicate(filters);
        for (const [id, e] of model) if (p(e.m)) model.delete(id);
      } else {
        const ids = Array.from({ length: 5 }, () => `n${Math.floor(r() * 150)}`);
        await store.deleteNodes({ ids });
        for (const id of ids) model.delete(id);
      }
      expect(store.size).toBe(model.size);
      if (step % 10 === 0 && model.size > 0) {
        const q = randVec(r, 6);
        const filters: MetadataFilters = { condition: "or", filters: [{ key: "tags", operator: "contains", value: "red" }, { key: "color", operator: "in", value: ["blue"] }] };
        const p = createFilterPredicate(filters);
        const expected = [...model]
          .filter(([, e]) => p(e.m))
          .map(([id, e]) => ({ id, s: refSim("dot", q, e.v) }))
          .sort((a, b) => b.s - a.s || (a.id < b.id ? -1 : 1))
          .slice(0, 5);
        const res = await store.query({ embedding: q, topK: 5, filters });
        expect(res.ids).toEqual(expected.map((e) => e.id));
        const docRes = await store.query({ embedding: q, topK: 1000, docIds: ["d1", "d2"] });
        expect(new Set(docRes.ids)).toEqual(new Set([...model].filter(([, e]) => e.ref === "d1" || e.ref === "d2").map(([id]) => id)));
        const all = await store.getNodes();
        for (const n of all) {
          const e = model.get(n.id)!;
          expect(n.metadata).toEqual(e.m);
          expect(n.refDocId).toBe(e.ref);
          n.embedding!.forEach((x, i) => expect(x).toBe(Math.fround(e.v[i]!)));
        }
      }
    }
  });

  it("prunes with the metadata index: a selective equality filter scores only the candidates", async () => {
    const store = new SimpleVectorStore();
    const r = rng(3);
    await store.add(Array.from({ length: 1000 }, (_, i) => node(`p${i}`, randVec(r, 8), { grp: `g${i % 50}`, n: i })));
    const matrix = (store as unknown as { matrix: VectorMatrix }).matrix;
    let scored = 0;
    const orig = matrix.scoreRows.bind(matrix);
    matrix.scoreRows = (q, rows) => ((scored += rows.length), orig(q, rows));
    const res = await store.query({ embedding: randVec(r, 8), topK: 5, filters: { filters: [{ key: "grp", operator: "==", value: "g7" }] } });
    expect(res.ids.length).toBe(5);
    expect(scored).toBe(20);
    scored = 0;
    await store.query({ embedding: randVec(r, 8), topK: 5, filters: { filters: [{ key: "grp", operator: "in", value: ["g1", "g2"] }, { key: "n", operator: "<", value: 500 }] } });
    expect(scored).toBe(20);
  });

  it("does not keep references to the caller's nodes or metadata", async () => {
    const store = new SimpleVectorStore();
    const meta = { a: 1, arr: ["x"] };
    const n = node("x", [1, 2, 3], meta);
    await store.add([n]);
    meta.a = 2;
    meta.arr.push("y");
    n.embedding![0] = 99;
    const [got] = await store.getNodes({ ids: ["x"] });
    expect(got!.metadata).toEqual({ a: 1, arr: ["x"] });
    expect(got!.embedding).toEqual([1, 2, 3]);
    got!.metadata["a"] = 5;
    expect((await store.getNodes({ filters: { filters: [{ key: "a", operator: "==", value: 1 }] } })).length).toBe(1);
  });

  it("a result's nodes show the rows as they were at query time, in every mode, even when read after writes", async () => {
    const store = new SimpleVectorStore();
    await store.add([node("a", [1, 0, 0], { v: 1 }, "doc-a"), node("b", [0.9, 0.1, 0], { v: 2 }), node("c", [0, 0, 1], { v: 3 })]);
    const results = {
      default: await store.query({ embedding: [1, 0, 0], topK: 2 }),
      mmr: await store.query({ embedding: [1, 0, 0], topK: 2, mode: "mmr" }),
      text: await store.query({ queryStr: "t a", topK: 1, mode: "text" }),
      hybrid: await store.query({ embedding: [1, 0, 0], queryStr: "t a", topK: 2, mode: "hybrid" }),
    };
    // Upsert a (new vector, text and metadata), delete b, then add rows that reuse their places.
    await store.add([node("a", [0, 1, 0], { v: 10 })]);
    await store.deleteNodes({ ids: ["b"] });
    await store.add([node("d", [5, 5, 5], { v: 4 }), node("e", [6, 6, 6], { v: 5 })]);
    for (const [mode, res] of Object.entries(results)) {
      expect(res.nodes!.map((n) => n.id), mode).toEqual(res.ids);
      const a = res.nodes!.find((n) => n.id === "a")!;
      expect(a.embedding, mode).toEqual([1, 0, 0]);
      expect(a.metadata, mode).toEqual({ v: 1 });
      expect(a.refDocId, mode).toBe("doc-a");
      const b = res.nodes!.find((n) => n.id === "b");
      if (b) expect([b.text, b.metadata, b.embedding!.map((x) => Math.fround(x))], mode).toEqual(["t b", { v: 2 }, [Math.fround(0.9), Math.fround(0.1), 0]]);
    }
    // Read once, the same array is kept; it can be replaced; JSON carries it.
    const r = results.default;
    expect(r.nodes).toBe(r.nodes);
    expect(JSON.parse(JSON.stringify(r)).nodes).toHaveLength(2);
    r.nodes![0]!.metadata["v"] = 99; // the caller's copy, not the store's
    expect((await store.query({ embedding: [0, 1, 0], topK: 1 })).nodes![0]!.metadata).toEqual({ v: 10 });
    r.nodes = [];
    expect(r.nodes).toEqual([]);
    expect({ ...results.mmr }.nodes).toHaveLength(2);
  });

  it("metadata that is not JSON is refused with the path, never changed; deep nesting too", async () => {
    const store = new SimpleVectorStore();
    await expect(store.add([node("ok", [1, 0], { d: 1 }), node("j", [1, 0], { a: { nan: NaN } })])).rejects.toThrow(
      'node "j" metadata.a.nan is NaN, which JSON cannot represent',
    );
    await expect(store.add([node("u", [1, 0], { u: undefined })])).rejects.toThrow('node "u" metadata.u is undefined, which JSON cannot represent');
    expect(await code(() => store.add([node("c", [1, 0], { big: 1n })]))).toBe("INVALID_ARGUMENT");
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 20_000; i++) deep = { d: deep };
    await expect(store.add([node("deep", [1, 0], deep)])).rejects.toThrow("nested more than 100 levels");
    expect(store.size).toBe(0);
    // The limit counts the node JSON: metadata itself may nest MAX_JSON_DEPTH - 2 = 98 levels.
    let edge: Record<string, unknown> = { x: 1 };
    for (let i = 1; i < 98; i++) edge = { d: edge };
    await store.add([node("edge", [1, 0], edge)]);
    expect(await code(() => store.add([node("over", [1, 0], { d: edge })]))).toBe("INVALID_ARGUMENT");
    expect((await store.getNodes()).map((n) => n.id)).toEqual(["edge"]);
  });

  it("text mode: BM25 ranking, restricted by filters; needs queryStr", async () => {
    const store = new SimpleVectorStore();
    const t = (id: string, text: string, metadata: Record<string, unknown> = {}) => new TextNode({ id, text, embedding: [1, 0], metadata });
    await store.add([
      t("a", "The llama is a domesticated South American camelid."),
      t("b", "Llamas and alpacas: llama wool, llama milk, llama trekking.", { lang: "en" }),
      t("c", "Vicuña and guanaco are wild relatives.", { lang: "en" }),
      t("d", "LLAMA LLAMA", { lang: "de" }),
    ]);
    const r = await store.query({ mode: "text", queryStr: "Llama", topK: 10 });
    expect(r.ids).toEqual(["d", "b", "a"]); // c has no query term
    expect(r.similarities[0]!).toBeGreaterThan(r.similarities[1]!);
    const f = await store.query({ mode: "text", queryStr: "llama", topK: 10, filters: { filters: [{ key: "lang", operator: "==", value: "en" }] } });
    expect(f.ids).toEqual(["b"]);
    expect((await store.query({ mode: "text", queryStr: "vicuña guanaco", topK: 10 })).ids).toEqual(["c"]);
    expect((await store.query({ mode: "text", queryStr: "", topK: 10 })).ids).toEqual([]);
    expect(await code(() => store.query({ mode: "text", topK: 1 }))).toBe("INVALID_ARGUMENT");
    expect(await code(() => store.query({ mode: "hybrid", queryStr: "x", topK: 1 }))).toBe("INVALID_ARGUMENT"); // no embedding
    expect(await code(() => store.query({ mode: "hybrid", embedding: [1, 0], queryStr: "x", alpha: 2 }))).toBe("INVALID_ARGUMENT");
    expect(await code(() => store.query({ mode: "svm" as never, embedding: [1, 0] }))).toBe("INVALID_ARGUMENT");
  });

  it("hybrid mode: alpha 1 is the dense order, alpha 0 the BM25 order", async () => {
    const store = new SimpleVectorStore();
    await store.add([
      new TextNode({ id: "v", text: "nothing relevant", embedding: [1, 0] }),
      new TextNode({ id: "t", text: "llama llama", embedding: [0, 1] }),
      new TextNode({ id: "m", text: "a llama", embedding: [0.7, 0.7] }),
    ]);
    const q = { embedding: [1, 0], queryStr: "llama", topK: 3 };
    expect((await store.query({ ...q, mode: "hybrid", alpha: 1 })).ids).toEqual((await store.query(q)).ids);
    expect((await store.query({ ...q, mode: "hybrid", alpha: 0 })).ids).toEqual(["t", "m", "v"]);
    const mid = await store.query({ ...q, mode: "hybrid", alpha: 0.5 });
    expect(mid.ids[0]).toBe("m");
    expect(mid.similarities[0]!).toBeLessThanOrEqual(1);
  });

  it("the BM25 index stays equal to a fresh one across upserts and deletes", async () => {
    const r = rng(77);
    const words = ["llama", "alpaca", "wool", "andes", "camel", "milk"];
    const sentence = () => Array.from({ length: 1 + Math.floor(r() * 6) }, () => words[Math.floor(r() * words.length)]!).join(" ");
    const store = new SimpleVectorStore();
    const mk = (i: number) => new TextNode({ id: `n${i}`, text: sentence(), embedding: randVec(r, 3), relationships: { [NodeRelationship.SOURCE]: { nodeId: `d${i % 7}` } } });
    await store.add(Array.from({ length: 60 }, (_, i) => mk(i)));
    await store.query({ mode: "text", queryStr: "llama", topK: 1 }); // builds the index
    await store.add(Array.from({ length: 20 }, (_, i) => mk(i * 3)));
    await store.delete("d3");
    await store.deleteNodes({ ids: ["n1", "n2", "n59"] });
    const fresh = new SimpleVectorStore();
    await fresh.add(await store.getNodes());
    for (const queryStr of ["llama", "wool andes", "camel milk alpaca"]) {
      const a = await store.query({ mode: "text", queryStr, topK: 100 });
      const b = await fresh.query({ mode: "text", queryStr, topK: 100 });
      expect(a.ids).toEqual(b.ids);
      a.similarities.forEach((x, i) => expect(x).toBeCloseTo(b.similarities[i]!, 9));
    }
  });

  it("a fixed dim refuses other dimensions even when empty; clear() resets a learned dim", async () => {
    const fixed = new SimpleVectorStore({ dim: 3 });
    expect(await code(() => fixed.add([node("a", [1, 0])]))).toBe("DIMENSION_MISMATCH");
    const learned = new SimpleVectorStore();
    await learned.add([node("a", [1, 0])]);
    await learned.clear();
    await learned.add([node("b", [1, 0, 0])]);
    expect(learned.dim).toBe(3);
  });

  it("snapshot round trip", async () => {
    const store = new SimpleVectorStore({ metric: "euclidean" });
    const r = rng(8);
    await store.add(Array.from({ length: 50 }, (_, i) => node(`s${i}`, randVec(r, 5), { i, tag: i % 2 ? "odd" : "even" }, `d${i % 7}`)));
    await store.deleteNodes({ ids: ["s3", "s10"] });
    const snap = store.toSnapshot();
    expect(snap.ids.length).toBe(48);
    expect(snap.vectors.length).toBe(48 * 5);
    const back = SimpleVectorStore.fromSnapshot(snap);
    expect(back.metric).toBe("euclidean");
    const q = randVec(r, 5);
    const f: MetadataFilters = { filters: [{ key: "tag", operator: "==", value: "odd" }] };
    const json = (x: unknown) => JSON.parse(JSON.stringify(x)) as unknown;
    expect(json(await back.query({ embedding: q, topK: 7, filters: f }))).toEqual(json(await store.query({ embedding: q, topK: 7, filters: f })));
    await back.delete("d1");
    await store.delete("d1");
    expect((await back.getNodes()).map((n) => n.id).sort()).toEqual((await store.getNodes()).map((n) => n.id).sort());
    expect(() => SimpleVectorStore.fromSnapshot({ ...snap, ids: snap.ids.slice(1) })).toThrow(/CORRUPT/);
    expect(() => SimpleVectorStore.fromSnapshot({ ...snap, vectors: snap.vectors.slice(1) })).toThrow(/CORRUPT/);
    const empty = SimpleVectorStore.fromSnapshot(new SimpleVectorStore().toSnapshot());
    expect(empty.size).toBe(0);
  });

  it("reads and writes LlamaIndex's vector_store.json dict", async () => {
    const py = {
      embedding_dict: { "node-1": [0.0123, -0.0456, 0.0789], "node-2": [0.1, 0.2, 0.3] },
      text_id_to_ref_doc_id: { "node-1": "doc-1", "node-2": "None" },
      metadata_dict: {
        "node-1": { file_name: "a.txt", _node_type: "TextNode", document_id: "doc-1", doc_id: "doc-1", ref_doc_id: "doc-1" },
        "node-2": { _node_type: "TextNode", document_id: "None", doc_id: "None", ref_doc_id: "None" },
      },
    };
    const store = SimpleVectorStore.fromDict(py);
    const nodes = await store.getNodes({ ids: ["node-1", "node-2"] });
    expect(nodes[0]!.metadata).toEqual({ file_name: "a.txt" });
    expect(nodes[0]!.refDocId).toBe("doc-1");
    expect(nodes[1]!.refDocId).toBeUndefined();
    const out = store.toDict();
    expect(Object.keys(out.embedding_dict)).toEqual(["node-1", "node-2"]);
    expect(out.text_id_to_ref_doc_id).toEqual(py.text_id_to_ref_doc_id);
    expect(out.metadata_dict).toEqual(py.metadata_dict);
    out.embedding_dict["node-1"]!.forEach((x, i) => expect(x).toBeCloseTo(py.embedding_dict["node-1"][i]!, 6));
    expect(() => SimpleVectorStore.fromDict({ embedding_dict: { a: [1, NaN as number] }, text_id_to_ref_doc_id: {} })).toThrow(/CORRUPT/);
    expect(() => SimpleVectorStore.fromDict({ embedding_dict: { a: [1], b: [1, 2] }, text_id_to_ref_doc_id: {} })).toThrow(/CORRUPT/);
  });

  it("MMR penalises the maximum similarity over all picks, not only the last", async () => {
    // q is equally close to A1, A2 (a pair) and B; after picking A1 then B, a last-pick-only
    // penalty would take A2 (dissimilar to B); the max-over-picks penalty must take C instead.
    const store = new SimpleVectorStore({ metric: "dot" });
    await store.add([
      node("A1", [1, 0, 0, 0]),
      node("A2", [0.99, 0.01, 0, 0]),
      node("B", [0, 0.9, 0, 0]),
      node("C", [0, 0, 0.5, 0]),
    ]);
    const res = await store.query({ embedding: [1, 0.9, 0.5, 0], topK: 3, mode: "mmr", mmrThreshold: 0.5 });
    expect(res.ids).toEqual(["A1", "B", "C"]);
    // Similarities are the query similarities of the picks.
    expect(res.similarities[0]).toBeCloseTo(1, 5);
    expect(res.similarities[1]).toBeCloseTo(0.81, 5);
  });
});

describe("SimpleVectorStore inputs", () => {
  it("accepts Float32Array embeddings, including as the first vector", async () => {
    const store = new SimpleVectorStore();
    const n = new TextNode({ id: "f", embedding: new Float32Array([1, 0, 0]) as unknown as number[] });
    await store.add([n]);
    expect(store.dim).toBe(3);
    expect((await store.query({ embedding: new Float32Array([1, 0, 0]), topK: 1 })).ids).toEqual(["f"]);
  });

  it("keeps a non-bare SOURCE relationship and other relationships intact", async () => {
    const store = new SimpleVectorStore();
    const n = new TextNode({
      id: "r",
      embedding: [1, 0],
      relationships: {
        [NodeRelationship.SOURCE]: { nodeId: "doc", hash: "h1", metadata: { a: 1 } },
        [NodeRelationship.NEXT]: { nodeId: "r2" },
      },
    });
    const plain = new TextNode({ id: "p", embedding: [0, 1], relationships: { [NodeRelationship.SOURCE]: { nodeId: "doc" } } });
    await store.add([n, plain]);
    const [got, gotPlain] = await store.getNodes({ ids: ["r", "p"] });
    expect(got!.toJSON()).toEqual({ ...n.toJSON(), __data__: { ...n.toJSON().__data__, embedding: [1, 0] } });
    expect(gotPlain!.toJSON()).toEqual({ ...plain.toJSON(), __data__: { ...plain.toJSON().__data__, embedding: [0, 1] } });
    const snap = SimpleVectorStore.fromSnapshot(store.toSnapshot());
    expect((await snap.getNodes({ ids: ["r"] }))[0]!.toJSON()).toEqual(got!.toJSON());
  });

  it("stores other node classes through their LlamaIndex JSON", async () => {
    const { Document } = await import("../schema/node.js");
    const store = new SimpleVectorStore();
    const d = new Document({ id: "doc", text: "whole", embedding: [1, 1], metadata: { k: "v" } });
    await store.add([d]);
    const [got] = await store.getNodes();
    expect(got!.className).toBe("Document");
    expect(got!.text).toBe("whole");
    expect(store.toDict().metadata_dict!["doc"]!["_node_type"]).toBe("Document");
  });
});

describe("SimpleVectorStore and prototype-named ids", () => {
  it("keeps __proto__ / constructor as ordinary ids and keys through toDict/fromDict and snapshots", async () => {
    const store = new SimpleVectorStore();
    const meta = JSON.parse('{"__proto__": "p", "constructor": 1}') as Record<string, unknown>;
    await store.add([node("__proto__", [1, 0], meta, "constructor"), node("constructor", [0, 1], {}, "__proto__")]);
    const dict = JSON.parse(JSON.stringify(store.toDict())) as ReturnType<SimpleVectorStore["toDict"]>;
    expect(Object.keys(dict.embedding_dict).sort()).toEqual(["__proto__", "constructor"]);
    const back = SimpleVectorStore.fromDict(dict);
    const hit = await back.getNodes({ filters: { filters: [{ key: "__proto__", operator: "==", value: "p" }] } });
    expect(hit.map((n) => n.id)).toEqual(["__proto__"]);
    expect((await back.getNodes({ ids: ["constructor"] }))[0]!.refDocId).toBe("__proto__");
    const snap = SimpleVectorStore.fromSnapshot(store.toSnapshot());
    await snap.delete("constructor");
    expect((await snap.getNodes()).map((n) => n.id)).toEqual(["constructor"]);
  });
});

describe("SimpleVectorStore persisted node JSON", () => {
  it("writes a plain TextNode's line exactly as TextNode.toJSON() serialises it", async () => {
    const cases = textNodeCorpus();
    const store = new SimpleVectorStore();
    await store.add(cases.map((n, i) => Object.assign(n.clone(), { embedding: [i + 1, 1] })));
    const lines = store.toSnapshot().nodes;
    const rows = store.snapshotRows(null);
    cases.forEach((n, i) => {
      const expected = JSON.stringify(new TextNode({ ...n, embedding: null }).toJSON());
      expect(lines[i]).toBe(expected);
      expect(rows.node(i)).toBe(expected);
    });
  });
});

describe("node construction", () => {
  it("TextNode text must be a string (INVALID_ARGUMENT), never silently \"\"", async () => {
    for (const text of [123, {}, ["a"], true]) {
      expect(await code(async () => new TextNode({ id: "t", text: text as unknown as string }))).toBe("INVALID_ARGUMENT");
    }
    expect(new TextNode({ id: "t" }).text).toBe("");
  });
});
