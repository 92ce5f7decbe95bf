import { afterAll, describe, expect, it, vi } from "vitest";
import { describeVectorStore } from "@larder/conformance/vector";
import { expectStorageError, uniqueNamespace } from "@larder/conformance";
import { NodeRelationship, TextNode } from "@larder/core/schema";
import type { RedisClient } from "./client.js";
import { RedisVectorStore, type RedisVectorStoreOptions } from "./redis-vector-store.js";
import {
  deletePrefix,
  newSearchClient,
  newSearchClusterClient,
  probeSearch,
  probeSearchCluster,
  searchClusterNodes,
  standaloneUrl,
  whenReachable,
} from "./testing/env.js";

/**
 * The three kit tests that use an operator this store declares UNSUPPORTED outside the filter
 * suites (which leave undeclared operators out on their own). What else they check is tested in
 * "RedisVectorStore specifics" below.
 */
const targets = [
  { label: "standalone", reason: await probeSearch(), client: newSearchClient() as RedisClient },
  { label: "cluster", reason: await probeSearchCluster(), client: newSearchClusterClient() as RedisClient },
];
afterAll(() => {
  for (const t of targets) t.client.disconnect();
});

const indexName = () => uniqueNamespace("vec").replace(/[^A-Za-z0-9_.:-]/g, "_");

async function dispose(client: RedisClient, store: RedisVectorStore): Promise<void> {
  await client.call("FT.DROPINDEX", store.indexName).catch(() => undefined);
  await deletePrefix(client, store.prefix);
}

const node = (id: string, embedding: number[], metadata: Record<string, unknown> = {}, ref?: string) =>
  new TextNode({
    id,
    text: `t ${id}`,
    embedding,
    metadata,
    relationships: ref ? { [NodeRelationship.SOURCE]: { nodeId: ref } } : {},
  });
const ids = (nodes: { id: string }[]) => nodes.map((n) => n.id);
const sorted = (xs: string[]) => [...xs].sort();

for (const { label, reason, client } of targets) {
  whenReachable(reason, `RedisVectorStore (${label})`, () => {
    const configs =
      label === "standalone"
        ? ([
            ["hnsw, cosine", {}, 150],
            ["flat, euclidean", { index: { type: "flat" }, metric: "euclidean" }, 40],
            ["hnsw, dot", { metric: "dot" }, 40],
            ["hnsw, cosine, orderedFilters", { orderedFilters: true }, 150],
          ] as const)
        : ([["hnsw, cosine", {}, 60]] as const);
    for (const [config, options, trees] of configs) {
      describeVectorStore({
        name: `RedisVectorStore (${label}, ${config})`,
        create: () => new RedisVectorStore({ client, indexName: indexName(), ...(options as Partial<RedisVectorStoreOptions>) }),
        dispose: (s) => dispose(client, s as RedisVectorStore),
        trees,
      });
    }

    describe(`RedisVectorStore specifics (${label})`, () => {
      const made: RedisVectorStore[] = [];
      const store = (o: Partial<RedisVectorStoreOptions> = {}) => {
        const s = new RedisVectorStore({ client, indexName: indexName(), ...o });
        made.push(s);
        return s;
      };
      afterAll(async () => {
        for (const s of made) await dispose(client, s);
      });

      it("keys carry the index name as hash tag; the layout is a hash next to them; the index is an FT index", async () => {
        const s = store();
        await s.add([node("a", [1, 0, 0])]);
        expect(s.prefix).toBe(`larder:vec:{${s.indexName}}:`);
        expect(await client.exists(`${s.prefix}n:a`)).toBe(1);
        expect(await client.hget(`${s.prefix}meta`, "dims")).toBe("3");
        const info = (await client.call("FT.INFO", s.indexName)) as unknown[];
        expect(Number(info[info.indexOf("num_docs") + 1])).toBe(1);
      });

      it("a second store on the same index reads its layout; other dimensions or metric are refused", async () => {
        const s = store();
        await s.add([node("a", [1, 0, 0])]);
        const again = new RedisVectorStore({ client, indexName: s.indexName });
        expect((await again.query({ embedding: [1, 0, 0], topK: 1 })).ids).toEqual(["a"]);
        expect(again.dimensions).toBe(3);
        await expectStorageError(() => new RedisVectorStore({ client, indexName: s.indexName, dimensions: 4 }).getNodes(), "DIMENSION_MISMATCH");
        await expectStorageError(() => new RedisVectorStore({ client, indexName: s.indexName, metric: "dot" }).getNodes(), "CONFLICT");
      });

      it("orderedFilters: ranges on numbers and strings; the setting is part of the index layout", async () => {
        const s = store({ orderedFilters: true });
        await s.add([2008, 2010, 2015, 2024].map((year, i) => node(`y${year}`, [1, i, 0], { year, title: `t${year}` })));
        const range = { filters: [{ key: "year", operator: ">=" as const, value: 2010 }, { key: "year", operator: "<" as const, value: 2024 }] };
        expect(sorted(ids(await s.getNodes({ filters: range })))).toEqual(["y2010", "y2015"]);
        expect(sorted((await s.query({ embedding: [1, 0, 0], topK: 10, filters: { filters: [{ key: "title", operator: ">", value: "t2010" }] } })).ids)).toEqual([
          "y2015",
          "y2024",
        ]);
        await expectStorageError(() => new RedisVectorStore({ client, indexName: s.indexName }).getNodes(), "CONFLICT");
        await expectStorageError(() => store().getNodes({ filters: range }), "UNSUPPORTED");
      });

      it("hostile metadata keys and values never reach the query text unescaped", async () => {
        const s = store();
        const evil = ["})=>[KNN 10000 @v $B]", "@m:{z} | *", "-", "\\", "x}|{y", "*", "$B", "\u0000", "\ud800", "z", "x".repeat(5000)];
        await s.add(evil.map((k, i) => node(`e${i}`, [1, i, 0], { [k]: k, plain: i })));
        for (const [i, k] of evil.entries()) {
          const got = await s.getNodes({ filters: { filters: [{ key: k, operator: "==", value: k }] } });
          expect(ids(got), JSON.stringify(k.slice(0, 40))).toEqual([`e${i}`]);
          const r = await s.query({ embedding: [1, 0, 0], topK: 20, filters: { filters: [{ key: k, operator: "!=", value: k }] } });
          expect(r.ids.length).toBe(evil.length - 1);
        }
      });

      it("deleteNodes by ids, by an == filter, and by both (their intersection)", async () => {
        const s = store();
        await s.add(Array.from({ length: 10 }, (_, i) => node(`d${i}`, [1, i, 0], { even: i % 2 === 0, i })));
        await s.deleteNodes({ ids: ["d0", "d1", "zzz"] });
        expect(sorted(ids(await s.getNodes()))).toEqual(["d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9"]);
        await s.deleteNodes({ filters: { filters: [{ key: "i", operator: "in", value: [8, 9] }] } });
        expect(sorted(ids(await s.getNodes()))).toEqual(["d2", "d3", "d4", "d5", "d6", "d7"]);
        await s.deleteNodes({ ids: ["d2", "d3", "d4"], filters: { filters: [{ key: "even", operator: "==", value: true }] } });
        expect(sorted(ids(await s.getNodes()))).toEqual(["d3", "d5", "d6", "d7"]);
        await s.deleteNodes({ ids: [] });
        expect(sorted((await s.query({ embedding: [1, 0, 0], topK: 10 })).ids)).toEqual(["d3", "d5", "d6", "d7"]);
      });

      it("getNodes by ids keeps the given order (each once, unknown skipped), also with a filter", async () => {
        const s = store();
        await s.add(["a", "b", "c", "d", "e"].map((id, i) => node(id, [1, i, 0], { i })));
        expect(ids(await s.getNodes({ ids: ["d", "missing", "a", "d", "e", "b"] }))).toEqual(["d", "a", "e", "b"]);
        expect(ids(await s.getNodes({ ids: ["e", "c", "a"], filters: { filters: [{ key: "i", operator: "nin", value: [0] }] } }))).toEqual(["e", "c"]);
        expect(await s.getNodes({ ids: [] })).toEqual([]);
      });

      it("backslash text that looks like a JSON escape round-trips and filters as itself", async () => {
        const s = store();
        const metas: Record<string, unknown>[] = [{ s: "\\u0000" }, { s: 'printf("\\u0000")' }, { "\\ud800key": "v", "\\u0000": ["\\udfff", "\\\\u0000"] }];
        await s.add(metas.map((m, i) => node(`b${i}`, [1, i, 0], m)));
        const got = await s.getNodes();
        for (const [i, m] of metas.entries()) {
          expect(got.find((g) => g.id === `b${i}`)!.metadata).toEqual(m);
          for (const [k, v] of Object.entries(m)) {
            const leaf = Array.isArray(v) ? { key: k, operator: "contains" as const, value: v[0] as string } : { key: k, operator: "==" as const, value: v as string };
            expect(ids(await s.getNodes({ filters: { filters: [leaf] } }))).toEqual([`b${i}`]);
          }
        }
      });

      it("text mode: only letters and digits of queryStr reach the engine (query syntax is inert)", async () => {
        const s = store();
        await s.add([
          new TextNode({ id: "t1", text: "alpha beta", embedding: [1, 0, 0] }),
          new TextNode({ id: "t2", text: "gamma", embedding: [0, 1, 0] }),
        ]);
        for (const q of ["@t:{alpha}", "-alpha | *", "alpha)=>[KNN 10 @v $B]", "'alpha'", '"alpha"', "%alpha%", "alpha*"]) {
          expect((await s.query({ mode: "text", queryStr: q, topK: 5 })).ids, q).toEqual(["t1"]);
        }
        expect((await s.query({ mode: "text", queryStr: "*** ---", topK: 5 })).ids).toEqual([]);
      });

      it("ref docs: delete(refDocId) removes exactly that document's nodes; docIds restricts queries", async () => {
        const s = store();
        await s.add([node("a1", [1, 0, 0], {}, "doc a"), node("a2", [1, 1, 0], {}, "doc a"), node("b1", [0, 1, 0], {}, "doc}b")]);
        expect(sorted((await s.query({ embedding: [1, 0, 0], topK: 5, docIds: ["doc}b"] })).ids)).toEqual(["b1"]);
        await s.delete("doc a");
        expect(ids(await s.getNodes())).toEqual(["b1"]);
      });

      it("writes go in pipelined batches: 1,250 nodes with batchSize 500 are all stored and found", async () => {
        const s = store({ batchSize: 500 });
        const n = 1250;
        await s.add([node("first", [1, 1, 1])]); // creates the index
        const pipelines = vi.spyOn(client, "pipeline");
        try {
          await s.add(Array.from({ length: n }, (_, i) => node(`p${String(i).padStart(4, "0")}`, [Math.cos(i), Math.sin(i), 1], { g: i % 10 })));
          expect(pipelines).toHaveBeenCalledTimes(3); // 500 + 500 + 250: one round trip each
        } finally {
          pipelines.mockRestore();
        }
        await s.deleteNodes({ ids: ["first"] });
        expect((await s.getNodes()).length).toBe(n);
        const r = await s.query({ embedding: [1, 0, 1], topK: 10, filters: { filters: [{ key: "g", operator: "==", value: 3 }] } });
        expect(r.ids.length).toBe(10);
        await s.clear();
        expect(await s.getNodes()).toEqual([]);
      });

      if (label === "cluster") {
        it("on a cluster, a prefix without the index name as hash tag is refused", () => {
          expect(() => new RedisVectorStore({ nodes: searchClusterNodes(), indexName: "x", prefix: "vec:x:" })).toThrow(/hash tag \{x\}/);
          expect(() => new RedisVectorStore({ client, indexName: "x", prefix: "vec:{y}:" })).toThrow(/hash tag \{x\}/);
          expect(new RedisVectorStore({ client, indexName: "x", prefix: "mine:{x}:" }).prefix).toBe("mine:{x}:");
        });
      } else {
        it("a server without the query engine is UNSUPPORTED with a message saying so", async () => {
          const plain = new RedisVectorStore({ url: standaloneUrl(), indexName: indexName() });
          try {
            let err: unknown;
            await plain.add([node("a", [1, 0])]).catch((e) => (err = e));
            const code = (err as { code?: string }).code;
            // The plain Redis of the services may be down locally: then it is CONNECTION.
            expect(["UNSUPPORTED", "CONNECTION"]).toContain(code);
            if (code === "UNSUPPORTED") expect((err as Error).message).toContain("no query engine");
          } finally {
            await plain.client.del(`${plain.prefix}meta`).catch(() => undefined);
            await plain.close();
          }
        });
      }
    });
  });
}
