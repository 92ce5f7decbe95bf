import { afterAll, describe, expect, it } from "vitest";
import { expectStorageError, seededRandom, uniqueNamespace } from "@larder/conformance";
import { describeVectorStore } from "@larder/conformance/vector";
import { matchesFilters, type MetadataFilters } from "@larder/core/filters";
import { NodeRelationship, TextNode } from "@larder/core/schema";
import { PostgresVectorStore, compileFilters, type PostgresVectorStoreOptions } from "./index.js";
import { postgresSkipReason, testPool } from "./test-support/postgres.js";

const skip = await postgresSkipReason();
const pool = testPool();
afterAll(() => pool.end());

const stores: PostgresVectorStore[] = [];
function store(opts: Partial<PostgresVectorStoreOptions> = {}): PostgresVectorStore {
  const s = new PostgresVectorStore({ pool, table: uniqueNamespace("vec"), ...opts });
  stores.push(s);
  return s;
}
afterAll(async () => {
  for (const s of stores.splice(0)) await s.drop();
});

function randomVec(rng: () => number, dim: number): number[] {
  return Array.from({ length: dim }, () => rng() * 2 - 1);
}
function cosine(a: readonly number[], b: readonly number[]): number {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return d / Math.sqrt(na * nb);
}
function node(id: string, embedding: number[], metadata: Record<string, unknown> = {}, text = `text ${id}`, ref?: string): TextNode {
  return new TextNode({ id, embedding, metadata, text, relationships: ref ? { [NodeRelationship.SOURCE]: { nodeId: ref } } : {} });
}

describe.skipIf(skip !== undefined)(`PostgresVectorStore${skip ? ` (skipped: ${skip})` : ""}`, () => {
  // The full differential run (150 trees) on the default configuration; fewer trees on the others
  // keep the package's test time reasonable on a 2-core machine.
  const variants: [string, Partial<PostgresVectorStoreOptions>, number][] = [
    ["cosine, HNSW (float16 graph), schema public", { metric: "cosine" }, 150],
    ["cosine, HNSW over the float32 column", { metric: "cosine", index: { type: "hnsw", quantization: "none" } }, 50],
    ["euclidean, HNSW, non-public schema", { metric: "euclidean", schema: "larder vector schema" }, 50],
    ["dot, HNSW", { metric: "dot" }, 50],
  ];
  for (const [name, opts, trees] of variants) {
    describeVectorStore({
      name: `PostgresVectorStore (${name})`,
      trees,
      create: () => new PostgresVectorStore({ pool, table: uniqueNamespace("vk"), ...opts }),
      dispose: (s) => (s as PostgresVectorStore).drop(),
    });
  }

  it("adds, queries by cosine and returns nodes exactly as added", async () => {
    const s = store();
    const rng = seededRandom(7);
    const nodes = Array.from({ length: 50 }, (_, i) =>
      node(`./data/file ${i}.txt_${i}`, randomVec(rng, 12), { z: 1, a: i, tag: i % 2 ? "odd" : "even" }, `text ${i}`, `doc${i % 5}`),
    );
    expect(await s.add(nodes)).toEqual(nodes.map((n) => n.id));
    const q = randomVec(rng, 12);
    const r = await s.query({ embedding: q, topK: 5 });
    const exact = nodes.map((n) => ({ id: n.id, s: cosine(q, n.embedding!) })).sort((a, b) => b.s - a.s).slice(0, 5);
    expect(r.ids).toEqual(exact.map((e) => e.id));
    r.similarities.forEach((sim, i) => expect(sim).toBeCloseTo(exact[i]!.s, 5));
    const got = r.nodes![0]!;
    const original = nodes.find((n) => n.id === got.id)!;
    expect(got.toJSON()).toEqual({ ...original.toJSON(), __data__: { ...original.toJSON().__data__, embedding: got.embedding } });
    expect(got.hash).toBe(original.hash);
    expect(got.refDocId).toBe(original.refDocId);
    expect(s.dimensions).toBe(12);
    // ref doc delete removes all chunks; docIds restrict
    await s.delete("doc1");
    expect((await s.getNodes()).length).toBe(40);
    const d2 = await s.query({ embedding: q, topK: 100, docIds: ["doc2"] });
    expect(d2.ids.length).toBe(10);
    await expectStorageError(() => s.deleteNodes({}), "INVALID_ARGUMENT");
    await s.deleteNodes({ ids: [nodes[0]!.id] });
    expect((await s.getNodes({ ids: [nodes[0]!.id, nodes[2]!.id] })).map((n) => n.id)).toEqual([nodes[2]!.id]);
    await expectStorageError(() => s.query({ embedding: [1, 2, 3], topK: 2 }), "DIMENSION_MISMATCH");
    await expectStorageError(() => s.add([node("x", [1, 2, 3])]), "DIMENSION_MISMATCH");
  });

  it("builds the default HNSW index with m 16 and ef_construction 64; explicit parameters win", async () => {
    const rng = seededRandom(5);
    const defs: string[] = [];
    for (const s of [store(), store({ index: { type: "hnsw", m: 24, efConstruction: 100 } })]) {
      await s.add(Array.from({ length: 20 }, (_, i) => node(`d${i}`, randomVec(rng, 8))));
      const r = await pool.query(
        `SELECT pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indrelid = $1::regclass AND pg_get_indexdef(indexrelid) LIKE '%USING hnsw%'`,
        [s.qualifiedTable],
      );
      defs.push(...r.rows.map((row) => String(row.def)));
    }
    expect(defs).toHaveLength(2);
    expect(defs[0]).toMatch(/WITH \(m='16', ef_construction='64'\)/);
    expect(defs[1]).toMatch(/WITH \(m='24', ef_construction='100'\)/);
  });

  it("uses the HNSW index, and a filtered HNSW query returns exactly k rows when k match", async () => {
    const s = store({ index: { type: "hnsw", m: 8, efConstruction: 32, efSearch: 40 } });
    const rng = seededRandom(11);
    const nodes = Array.from({ length: 4000 }, (_, i) => node(`n${i}`, randomVec(rng, 16), { rare: i % 400 === 0, bucket: i % 10 }));
    await s.add(nodes);
    const q = randomVec(rng, 16);
    const plan = await pool.connect();
    try {
      await plan.query("BEGIN");
      await plan.query("SET LOCAL hnsw.ef_search = 40");
      // The default cosine index is built over float16 copies of the normalized vectors; the store
      // takes ef_search candidates from it and re-ranks them by the exact distance.
      const ex = await plan.query(
        `EXPLAIN SELECT id FROM (SELECT id, embedding FROM ${s.qualifiedTable}
           ORDER BY (l2_normalize(embedding)::halfvec(16)) <=> (l2_normalize($1::vector)::halfvec(16)) LIMIT 40) c
         ORDER BY embedding <=> $1::vector LIMIT 10`,
        [`[${q.join(",")}]`],
      );
      expect(ex.rows.map((r) => r["QUERY PLAN"]).join("\n")).toMatch(/Index Scan using .*hnsw/);
      await plan.query("COMMIT");
    } finally {
      plan.release();
    }
    // The `==` leaf's containment hint lets Postgres use the GIN index on metadata.
    await pool.query(`ANALYZE ${s.qualifiedTable}`);
    const f = compileFilters({ filters: [{ key: "rare", operator: "==", value: true }] }, { metadata: "metadata", metadataFolded: "metadata_folded" }, 0, "t")!;
    const ex2 = await pool.query(`EXPLAIN SELECT id FROM ${s.qualifiedTable} WHERE ${f.sql}`, f.params);
    expect(ex2.rows.map((r) => r["QUERY PLAN"]).join("\n")).toMatch(/Bitmap Index Scan on "?larder_[0-9a-f]+_meta/);
    // 10 nodes have rare = true: a top-10 with that filter must return all 10.
    const filters: MetadataFilters = { filters: [{ key: "rare", operator: "==", value: true }] };
    const r = await s.query({ embedding: q, topK: 10, filters });
    expect(r.ids.sort()).toEqual(nodes.filter((n) => n.metadata["rare"] === true).map((n) => n.id).sort());
    // k larger than ef_search, with a filter matching 10%: still k rows, and the exact top-k.
    const r2 = await s.query({ embedding: q, topK: 60, filters: { filters: [{ key: "bucket", operator: "==", value: 3 }] } });
    expect(r2.ids).toHaveLength(60);
    const exact = nodes
      .filter((n) => n.metadata["bucket"] === 3)
      .map((n) => ({ id: n.id, s: cosine(q, n.embedding!) }))
      .sort((a, b) => b.s - a.s);
    const overlap = r2.ids.filter((id) => exact.slice(0, 60).some((e) => e.id === id)).length;
    expect(overlap).toBeGreaterThanOrEqual(57);
    // Scores are the exact float32 cosine, not the float16 one the graph was searched with.
    const top = await s.query({ embedding: q, topK: 10 });
    expect(top.ids).toHaveLength(10);
    top.ids.forEach((id, i) => {
      const n = nodes.find((x) => x.id === id)!;
      expect(top.similarities[i]).toBeCloseTo(cosine(q, n.embedding!.map((x) => Math.fround(x))), 6);
    });
  });

  it("index quantization: none builds the graph over the column; a store opens an existing table the way its index was built", async () => {
    const plain = store({ index: { type: "hnsw", quantization: "none" } });
    const rng = seededRandom(13);
    const nodes = Array.from({ length: 1500 }, (_, i) => node(`p${i}`, randomVec(rng, 12), { g: i % 7 }));
    await plain.add(nodes);
    const indexdef = async () =>
      (await pool.query("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1", [plain.table])).rows
        .map((r) => r.indexdef as string)
        .filter((d) => / USING hnsw /.test(d));
    expect(await indexdef()).toEqual([expect.stringMatching(/USING hnsw \(embedding vector_cosine_ops\)/)]);
    // A store with the default options on the same table: queries the float32 graph (no new index).
    const other = new PostgresVectorStore({ pool, table: plain.table });
    const q = randomVec(rng, 12);
    for (const filters of [undefined, { filters: [{ key: "g", operator: "==" as const, value: 3 }] }]) {
      const a = await plain.query({ embedding: q, topK: 15, ...(filters ? { filters } : {}) });
      const b = await other.query({ embedding: q, topK: 15, ...(filters ? { filters } : {}) });
      expect(b.ids).toEqual(a.ids);
      expect(b.ids).toHaveLength(15);
    }
    await other.buildIndex();
    expect(await indexdef()).toHaveLength(1);
    // The float16 graph's top-k on the same rows: the exact ranking (12 dims, 1500 rows: the graph finds them all).
    const half = store();
    await half.add(nodes);
    const exact = nodes.map((n) => ({ id: n.id, s: cosine(q, n.embedding!) })).sort((x, y) => y.s - x.s);
    expect((await half.query({ embedding: q, topK: 10 })).ids).toEqual(exact.slice(0, 10).map((e) => e.id));
    expect(() => new PostgresVectorStore({ pool, table: "t", metric: "dot", index: { type: "hnsw", quantization: "halfvec" } })).toThrow(
      /cosine metric only/,
    );
  });

  it("compiles filters exactly (spot checks against the reference evaluator)", async () => {
    const s = store({ index: { type: "none" } });
    const metas: Record<string, unknown>[] = [
      { a: 1, s: "abc", arr: ["x", 1, true], b: true },
      { a: "1", s: "ABC", arr: [], b: "true" },
      { a: 1.5, s: "", arr: [[1]], n: null },
      { s: "\ue000", arr: ["y"], "a') OR 1=1 --": "k" },
      { s: "😀", a: -0, arr: "x" },
      { s: "ÀÉ Ωmega", a: 1e21 },
    ];
    await s.add(metas.map((m, i) => node(`m${i}`, [1, i + 1], m)));
    const cases: MetadataFilters[] = [
      { filters: [{ key: "a", operator: "==", value: 1 }] },
      { filters: [{ key: "a", operator: "!=", value: 1 }] },
      { filters: [{ key: "a", operator: ">", value: 0 }] },
      { filters: [{ key: "a", operator: ">=", value: "1" }] },
      { filters: [{ key: "s", operator: ">", value: "\ue000" }] },
      { filters: [{ key: "s", operator: "<", value: "a\u0000b" }] },
      { filters: [{ key: "s", operator: ">=", value: "a\u0000" }] },
      { filters: [{ key: "a", operator: "in", value: [1, "x"] }] },
      { filters: [{ key: "a", operator: "nin", value: [1] }] },
      { filters: [{ key: "arr", operator: "any", value: ["x", 1] }] },
      { filters: [{ key: "arr", operator: "all", value: [] }] },
      { filters: [{ key: "arr", operator: "all", value: ["x", true] }] },
      { filters: [{ key: "arr", operator: "contains", value: 1 }] },
      { filters: [{ key: "arr", operator: "contains", value: "a\u0000" }] },
      { filters: [{ key: "s", operator: "text_match", value: "" }] },
      { filters: [{ key: "s", operator: "text_match", value: "b" }] },
      { filters: [{ key: "s", operator: "text_match_insensitive", value: "àé ω" }] },
      { filters: [{ key: "s", operator: "text_match_insensitive", value: "abc" }] },
      { filters: [{ key: "n", operator: "is_empty" }] },
      { filters: [{ key: "arr", operator: "is_empty" }] },
      { filters: [{ key: "s", operator: "is_empty" }] },
      { filters: [{ key: "a') OR 1=1 --", operator: "==", value: "k" }] },
      { filters: [{ key: "nul\u0000key", operator: "is_empty" }] },
      { condition: "not", filters: [{ key: "a", operator: "==", value: 1 }, { key: "b", operator: "==", value: true }] },
      { condition: "or", filters: [] },
      { condition: "or", filters: [{ condition: "not", filters: [] }, { key: "zz", operator: "==", value: 1 }] },
    ];
    for (const f of cases) {
      const expected = metas.map((m, i) => (matchesFilters(m, f) ? `m${i}` : null)).filter((x): x is string => x !== null);
      const got = (await s.getNodes({ filters: f })).map((n) => n.id);
      expect(got, JSON.stringify(f)).toEqual(expected);
      const q = await s.query({ embedding: [1, 0], topK: 100, filters: f });
      expect(q.ids.sort(), JSON.stringify(f)).toEqual(expected);
    }
    await expectStorageError(() => s.query({ embedding: [1, 0], filters: { filters: [{ key: "a", operator: "<>" as "==", value: 1 }] } }), "INVALID_ARGUMENT");
  });

  it("hybrid, text and MMR modes", async () => {
    const s = store();
    const docs = [
      ["apple", [1, 0, 0], "the apple pie recipe"],
      ["apple2", [0.99, 0.01, 0], "apple crumble and pie"],
      ["banana", [0, 1, 0], "banana bread with nuts"],
      ["cherry", [0.7, 0.7, 0], "cherry tart, no apple"],
      ["durian", [0, 0, 1], "a durian smell"],
    ] as const;
    await s.add(docs.map(([id, e, t]) => node(id, [...e], {}, t)));
    const text = await s.query({ mode: "text", queryStr: "banana nuts", topK: 3 });
    expect(text.ids[0]).toBe("banana");
    expect(text.ids).not.toContain("durian");
    const hybrid = await s.query({ mode: "hybrid", embedding: [0, 0, 1], queryStr: "banana", topK: 2, alpha: 0.5 });
    expect(hybrid.ids.sort()).toEqual(["banana", "durian"]);
    const mmr = await s.query({ mode: "mmr", embedding: [1, 0, 0], topK: 2, mmrThreshold: 0.3 });
    expect(mmr.ids[0]).toBe("apple");
    expect(mmr.ids[1]).not.toBe("apple2");
    const plain = await s.query({ embedding: [1, 0, 0], topK: 2 });
    expect(plain.ids).toEqual(["apple", "apple2"]);
    await expectStorageError(() => s.query({ mode: "text", topK: 2 }), "INVALID_ARGUMENT");
    const rrf = new PostgresVectorStore({ pool, table: s.table, hybridFusion: "rrf" });
    const r = await rrf.query({ mode: "hybrid", embedding: [1, 0, 0], queryStr: "apple pie", topK: 2 });
    expect(r.ids).toEqual(["apple", "apple2"]);
  });

  it("dot product and euclidean metrics; halfvec above 2000 dimensions", async () => {
    for (const metric of ["dot", "euclidean"] as const) {
      const s = store({ metric });
      await s.add([node("a", [1, 0]), node("b", [3, 0]), node("c", [0, 1])]);
      const r = await s.query({ embedding: [1, 0], topK: 3 });
      if (metric === "dot") {
        expect(r.ids).toEqual(["b", "a", "c"]);
        expect(r.similarities).toEqual([3, 1, 0]);
      } else {
        expect(r.ids).toEqual(["a", "c", "b"]);
        expect(r.similarities[0]).toBeCloseTo(0);
        expect(r.similarities[1]).toBeCloseTo(-Math.SQRT2);
      }
    }
    const big = store({ dimensions: 2100 });
    const rng = seededRandom(3);
    await big.add([node("h1", randomVec(rng, 2100)), node("h2", randomVec(rng, 2100))]);
    const col = await pool.query(
      `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'embedding'`,
      [big.qualifiedTable],
    );
    expect(col.rows[0].t).toBe("halfvec(2100)");
    expect((await big.query({ embedding: randomVec(rng, 2100), topK: 5 })).ids).toHaveLength(2);
  });

  it("IVFFlat: approximate, but a filtered query still returns k rows when k match", async () => {
    const s = store({ index: { type: "ivfflat", lists: 20, probes: 1 }, indexBuild: "manual" });
    const rng = seededRandom(5);
    const nodes = Array.from({ length: 2000 }, (_, i) => node(`i${i}`, randomVec(rng, 8), { g: i % 100 }));
    await s.add(nodes);
    const indexes = () => pool.query("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1", [s.table]);
    expect((await indexes()).rows.some((r) => /ivfflat/.test(r.indexdef))).toBe(false);
    // Built after loading (IVFFlat learns its lists from the rows).
    await s.buildIndex({ maintenanceWorkMem: "128MB" });
    expect((await indexes()).rows.some((r) => /ivfflat/.test(r.indexdef))).toBe(true);
    const r = await s.query({ embedding: randomVec(rng, 8), topK: 20, filters: { filters: [{ key: "g", operator: "==", value: 42 }] } });
    expect(r.ids.sort()).toEqual(nodes.filter((n) => n.metadata["g"] === 42).map((n) => n.id).sort());
    const all = await s.query({ embedding: randomVec(rng, 8), topK: 10 });
    expect(all.ids).toHaveLength(10);
  });

  it("bulk add (binary COPY) stores exactly what the INSERT path stores, and upserts", async () => {
    const rng = seededRandom(21);
    const mk = (i: number, tag: string) =>
      node(`b${i}`, randomVec(rng, 6), { i, tag, s: "ÀÉ", arr: [1, "x"] }, `text ${tag} ${i}\u0000`, `doc${i % 3}`);
    const viaCopy = store({ copyThreshold: 10 });
    const viaInsert = store({ copyThreshold: 0 });
    const first = Array.from({ length: 30 }, (_, i) => mk(i, "v1"));
    for (const s of [viaCopy, viaInsert]) await s.add(first);
    // The first bulk add went into an empty table: indexes dropped and rebuilt after the COPY.
    const idx = await pool.query("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1", [viaCopy.table]);
    expect(idx.rows.filter((r) => / USING (hnsw \(\(\(l2_normalize\(embedding\)|gin \(metadata )/.test(r.indexdef))).toHaveLength(2);
    // Second batch overwrites 10 ids and adds 20 new ones; a repeated id in the batch: last wins.
    const second = [...Array.from({ length: 30 }, (_, i) => mk(i + 20, "v2")), mk(49, "v3")];
    for (const s of [viaCopy, viaInsert]) await s.add(second);
    const a = await viaCopy.getNodes();
    const b = await viaInsert.getNodes();
    // Same float32 vectors up to one ulp: the text path parses a decimal (strtof), COPY rounds the
    // double itself; the two roundings can differ at an exact float32 midpoint.
    const bare = (n: (typeof a)[number]) => ({ ...n.toJSON(), __data__: { ...n.toJSON().__data__, embedding: null } });
    for (let i = 0; i < a.length; i++) {
      expect(bare(a[i]!), a[i]!.id).toEqual(bare(b[i]!));
      a[i]!.embedding!.forEach((x, j) => expect(Math.abs(x - b[i]!.embedding![j]!)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -22));
    }
    expect(a).toHaveLength(50);
    expect(a.find((n) => n.id === "b25")!.metadata["tag"]).toBe("v2");
    expect(a.find((n) => n.id === "b49")!.metadata["tag"]).toBe("v3");
    expect(a.find((n) => n.id === "b5")!.metadata["tag"]).toBe("v1");
    const q = randomVec(rng, 6);
    const qa = await viaCopy.query({ embedding: q, topK: 5, filters: { filters: [{ key: "s", operator: "text_match_insensitive", value: "àé" }] } });
    const qb = await viaInsert.query({ embedding: q, topK: 5, filters: { filters: [{ key: "s", operator: "text_match_insensitive", value: "àé" }] } });
    expect(qa.ids).toEqual(qb.ids);
    qa.similarities.forEach((x, j) => expect(x).toBeCloseTo(qb.similarities[j]!, 6));
    expect((await viaCopy.query({ mode: "text", queryStr: "v3", topK: 5 })).ids).toEqual(["b49"]);
  });

  it("node text with NUL round-trips; metadata with NUL and ids with NUL are INVALID_ARGUMENT", async () => {
    const s = store();
    await s.add([node("t", [1, 2], { k: "v" }, "pdf\u0000text \ud800")]);
    expect((await s.getNodes({ ids: ["t"] }))[0]!.text).toBe("pdf\u0000text \ud800");
    await expectStorageError(() => s.add([node("u", [1, 2], { k: "a\u0000" })]), "INVALID_ARGUMENT");
    await expectStorageError(() => s.add([node("nul\u0000id", [1, 2])]), "INVALID_ARGUMENT");
    await expectStorageError(() => s.add([node("ok", [1, 2]), new TextNode({ id: "noemb" })]), "INVALID_ARGUMENT");
    expect((await s.getNodes()).map((n) => n.id)).toEqual(["t"]);
  });

  it("an existing table with another layout is CONFLICT; another dimension is DIMENSION_MISMATCH", async () => {
    const table = uniqueNamespace("vlayout");
    await pool.query(`CREATE TABLE "${table}" (id uuid primary key, embeddings vector(3), document text)`);
    try {
      const s = new PostgresVectorStore({ pool, table });
      const err = await expectStorageError(() => s.add([node("a", [1, 2, 3])]), "CONFLICT");
      expect(err.message).toMatch(/missing column ref_doc_id/);
    } finally {
      await pool.query(`DROP TABLE "${table}"`);
    }
    const s3 = store();
    await s3.add([node("a", [1, 2, 3])]);
    const s4 = new PostgresVectorStore({ pool, table: s3.table, dimensions: 4 });
    await expectStorageError(() => s4.add([node("b", [1, 2, 3, 4])]), "DIMENSION_MISMATCH");
  });

  it("a query before anything was added returns nothing; the table appears on first add", async () => {
    const s = store();
    expect(await s.query({ embedding: [1, 2, 3], topK: 3 })).toEqual({ ids: [], similarities: [], nodes: [] });
    expect(await s.getNodes()).toEqual([]);
    await s.add([node("a", [1, 2, 3])]);
    const again = new PostgresVectorStore({ pool, table: s.table });
    expect((await again.query({ embedding: [1, 2, 3], topK: 3 })).ids).toEqual(["a"]);
    expect(again.dimensions).toBe(3);
  });
});
