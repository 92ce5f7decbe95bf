import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { Document, type MetadataFilters, SimpleVectorStore, TextNode } from "@larder/core";
import { uniqueNamespace } from "@larder/conformance";
import { RedisKVStore, RedisVectorStore } from "@larder/storage-redis";
import { KVVectorStore } from "./kv-vector-store.js";
import { openStorageContext } from "./store-urls.js";
import { loadIndexFromStorage, VectorStoreIndex } from "./vector-store-index.js";

// Which vector store a `redis://` URL gets, against the real servers: the plain Redis of
// tooling/services (no query engine) and the Redis with the query engine (RediSearch).

interface ServicesEnvModule {
  servicesEnv(): Record<string, string>;
  servicesRequired(): boolean;
}
const env = (await import(new URL("../../../tooling/services/env.mjs", import.meta.url).href)) as ServicesEnvModule;
const PLAIN_URL = env.servicesEnv()["LARDER_REDIS_URL"]!;
const SEARCH_URL = env.servicesEnv()["LARDER_REDIS_SEARCH_URL"]!;

/** `undefined` when the server answers; else the reason to skip (with CI set: the file fails). */
async function reachable(name: string, client: Redis, url: string): Promise<string | undefined> {
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (e) {
    const reason = `${name} not reachable at ${url} (${(e as Error).message}); start it with \`bash tooling/services/bin/services.sh up\``;
    if (env.servicesRequired()) throw new Error(`CI is set and ${reason}`);
    return reason;
  }
}

const plain = new Redis(PLAIN_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
const search = new Redis(SEARCH_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
const plainSkip = await reachable("Redis", plain, PLAIN_URL);
const searchSkip = await reachable("Redis with the query engine", search, SEARCH_URL);
const prefixes: [Redis, string][] = [];
const indexes: string[] = [];

/** A fresh key prefix on `client`'s server, deleted (with its index) after the file. */
function freshPrefix(client: Redis, tag: string): string {
  const p = `${uniqueNamespace(tag)}:`;
  prefixes.push([client, p]);
  return p;
}

afterAll(async () => {
  for (const idx of indexes) await search.call("FT.DROPINDEX", idx).catch(() => undefined);
  for (const [client, p] of prefixes) {
    if (client.status !== "ready") continue;
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${p}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await client.unlink(...keys);
    } while (cursor !== "0");
  }
  plain.disconnect();
  search.disconnect();
});

const docs = [
  new Document({ id: "cellar", text: "Root cellars keep vegetables cold through the winter.", metadata: { topic: "food" } }),
  new Document({ id: "hnsw", text: "HNSW graphs answer approximate nearest neighbour queries.", metadata: { topic: "search" } }),
  new Document({ id: "larder", text: "A larder is a cool room where food is stored.", metadata: { topic: "food" } }),
];

describe.skipIf(plainSkip !== undefined)(`redis:// without the query engine${plainSkip ? ` (skipped: ${plainSkip})` : ""}`, () => {
  it("keeps vectors in the KV-backed store and says so once per open", async () => {
    const url = `${PLAIN_URL}?prefix=${freshPrefix(plain, "urlkv")}`;
    const notices: string[] = [];
    const opened = await openStorageContext(url, { onNotice: (m) => notices.push(m) });
    try {
      expect(opened.storageContext.vectorStore).toBeInstanceOf(KVVectorStore);
      expect(opened.parts.vectors).toMatchObject({ backend: "redis", store: "KVVectorStore" });
      expect(notices).toHaveLength(1);
      expect(notices[0]).toContain(PLAIN_URL.replace(/\/$/, ""));
      expect(notices[0]).toMatch(/^vectors at redis:\/\/.* use the KV-backed store: the server has no query engine \(RediSearch\)/);
      // It still works: ingest and query through the KV-backed store.
      await VectorStoreIndex.fromDocuments(docs, { storageContext: opened.storageContext });
      const hits = await (await loadIndexFromStorage(opened.storageContext)).asRetriever({ topK: 1 }).retrieve("cold vegetables in a cellar");
      expect(hits[0]?.node.refDocId).toBe("cellar");
    } finally {
      await opened.close();
    }
  });

  it("by default prints the notice as one Node warning per process, however often the URL is opened", async () => {
    const url = `${PLAIN_URL}?prefix=${freshPrefix(plain, "urlwarn")}`;
    const seen: Error[] = [];
    const listener = (w: Error) => {
      if ((w as Error & { code?: string }).code === "LARDER_REDIS_VECTORS" && w.message.includes(url.split("?")[0]!)) seen.push(w);
    };
    process.on("warning", listener);
    try {
      for (let i = 0; i < 3; i++) await (await openStorageContext(url)).close();
      // Warnings are emitted on the next tick.
      await new Promise((r) => setImmediate(r));
      expect(seen).toHaveLength(1);
      expect(seen[0]!.message).toMatch(/no query engine/);
    } finally {
      process.off("warning", listener);
    }
  });
});

describe.skipIf(searchSkip !== undefined)(`redis:// with the query engine${searchSkip ? ` (skipped: ${searchSkip})` : ""}`, () => {
  beforeAll(async () => {
    // The probe the URL code relies on: this server must answer FT._LIST.
    expect(Array.isArray(await search.call("FT._LIST"))).toBe(true);
  });

  it("uses RedisVectorStore, without a notice, and a new open finds the same vectors", async () => {
    const prefix = freshPrefix(search, "urlrs");
    const url = `${SEARCH_URL}?prefix=${prefix}`;
    indexes.push(`${prefix}larder_vectors`);
    const notices: string[] = [];
    const a = await openStorageContext(url, { onNotice: (m) => notices.push(m) });
    try {
      const vs = a.storageContext.vectorStore;
      expect(vs).toBeInstanceOf(RedisVectorStore);
      expect(a.parts.vectors).toMatchObject({ backend: "redis", store: "RedisVectorStore" });
      expect((vs as RedisVectorStore).indexName).toBe(`${prefix}larder_vectors`);
      expect((vs as RedisVectorStore).prefix.startsWith(prefix)).toBe(true);
      await VectorStoreIndex.fromDocuments(docs, { storageContext: a.storageContext });
    } finally {
      await a.close();
    }
    expect(notices).toEqual([]);
    // Nothing went to the KV-backed hash; the nodes are hashes under the store's prefix.
    expect(await search.exists(`${prefix}vector_store/data`)).toBe(0);
    expect((await search.keys(`${prefix}larder:vec:*`)).length).toBeGreaterThanOrEqual(docs.length);

    const b = await openStorageContext(url, { create: false, onNotice: (m) => notices.push(m) });
    try {
      expect(b.storageContext.vectorStore).toBeInstanceOf(RedisVectorStore);
      const hits = await (await loadIndexFromStorage(b.storageContext)).asRetriever({ topK: 2 }).retrieve("HNSW nearest neighbour graphs");
      expect(hits[0]?.node.refDocId).toBe("hnsw");
      const filtered = await (await loadIndexFromStorage(b.storageContext))
        .asRetriever({ topK: 3, filters: { filters: [{ key: "topic", operator: "==", value: "food" }], condition: "and" } })
        .retrieve("HNSW nearest neighbour graphs");
      expect(filtered.map((h) => h.node.refDocId).sort()).toEqual(["cellar", "larder"]);
    } finally {
      await b.close();
    }
    expect(notices).toEqual([]);
  });

  it("answers filters the query engine cannot express (ordering, text_match) exactly, in the process", async () => {
    const prefix = freshPrefix(search, "urlfb");
    indexes.push(`${prefix}larder_vectors`);
    const opened = await openStorageContext(`${SEARCH_URL}?prefix=${prefix}`, { onNotice: () => undefined });
    try {
      const vs = opened.storageContext.vectorStore;
      expect(vs).toBeInstanceOf(RedisVectorStore);
      expect(vs.constructor).toBe(RedisVectorStore);
      const nodes = Array.from({ length: 40 }, (_, i) =>
        new TextNode({ id: `n${i}`, text: `row ${i}`, metadata: { year: 1990 + i, kind: i % 2 ? "odd" : "even", title: `Title ${i}` }, embedding: [Math.cos(i / 7), Math.sin(i / 7), (i % 5) / 5] }),
      );
      await vs.add(nodes);
      const mem = new SimpleVectorStore();
      await mem.add(nodes.map((n) => new TextNode({ id: n.id, text: n.text, metadata: n.metadata, embedding: n.embedding! })));
      const cases: MetadataFilters[] = [
        { filters: [{ key: "year", operator: ">=", value: 2010 }], condition: "and" },
        { filters: [{ key: "kind", operator: "==", value: "odd" }, { key: "year", operator: "<", value: 2000 }], condition: "and" },
        { filters: [{ key: "kind", operator: "==", value: "even" }, { key: "title", operator: "text_match", value: "Title 3" }], condition: "or" },
      ];
      for (const filters of cases) {
        const q = { embedding: [1, 0.2, 0.4], topK: 5, filters };
        const got = await vs.query(q);
        const want = await mem.query(q);
        expect(got.ids, JSON.stringify(filters)).toEqual(want.ids);
        got.similarities.forEach((s, i) => expect(s).toBeCloseTo(want.similarities[i]!, 5));
      }
      expect(vs.capabilities.filterOperators).toContain(">=");
      // Expressible filters still go to the engine, and malformed ones fail before any I/O.
      expect((await vs.query({ embedding: [1, 0, 0], topK: 3, filters: { filters: [{ key: "kind", operator: "==", value: "odd" }] } })).ids).toHaveLength(3);
      await expect(vs.query({ embedding: [1, 0, 0], topK: 3, filters: { filters: [{ key: "year", operator: "~" as never, value: 1 }] } })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    } finally {
      await opened.close();
    }
  });

  it("keeps a prefix that already holds KV-backed vectors on the KV-backed store, and says so", async () => {
    const prefix = freshPrefix(search, "urlkvold");
    const url = `${SEARCH_URL}?prefix=${prefix}`;
    // Vectors written the earlier way (KV-backed) under this prefix.
    await new KVVectorStore(new RedisKVStore({ client: search, prefix })).add([
      new TextNode({ id: "old-1", text: "old", embedding: [1, 0, 0] }),
      new TextNode({ id: "old-2", text: "old", embedding: [0, 1, 0] }),
    ]);
    expect(await search.exists(`${prefix}vector_store/data`)).toBe(1);

    const notices: string[] = [];
    const opened = await openStorageContext(url, { onNotice: (m) => notices.push(m) });
    try {
      expect(opened.storageContext.vectorStore).toBeInstanceOf(KVVectorStore);
      expect(opened.parts.vectors?.store).toBe("KVVectorStore");
      expect(notices).toHaveLength(1);
      expect(notices[0]).toContain(`${prefix}vector_store/data`);
      expect(notices[0]).toMatch(/stay in the KV-backed store: the server has the query engine, but this prefix already holds KV-backed vectors/);
      const res = await opened.storageContext.vectorStore.query({ embedding: [0, 1, 0], topK: 1 });
      expect(res.ids).toEqual(["old-2"]);
    } finally {
      await opened.close();
    }
    // No index was made for this prefix.
    const names = (await search.call("FT._LIST")) as string[];
    expect(names.filter((n) => n.startsWith(prefix))).toEqual([]);
  });

  it("names the index of a prefix with other characters by a digest", async () => {
    const prefix = freshPrefix(search, "url odd/é");
    const opened = await openStorageContext(`${SEARCH_URL}?prefix=${encodeURIComponent(prefix)}`, { onNotice: () => undefined });
    try {
      const vs = opened.storageContext.vectorStore as RedisVectorStore;
      expect(vs).toBeInstanceOf(RedisVectorStore);
      expect(vs.indexName).toMatch(/^larder_vectors_[0-9a-f]{16}$/);
      expect(vs.prefix.startsWith(prefix)).toBe(true);
    } finally {
      await opened.close();
    }
  });
});
