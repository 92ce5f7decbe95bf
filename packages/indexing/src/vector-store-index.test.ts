import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type BaseNode,
  createIndexDict,
  Document,
  IndexNode,
  isIndexDict,
  isStorageError,
  SimpleKVStore,
  SimpleVectorStore,
  StorageContext,
  TextNode,
  type VectorStore,
  type VectorStoreQuery,
} from "@larder/core";
import { afterEach, describe, expect, it } from "vitest";
import { type Embedder, HashEmbedder } from "./embedder.js";
import { KVVectorStore } from "./kv-vector-store.js";
import { SentenceSplitter } from "./splitter.js";
import { loadIndexFromStorage, VectorStoreIndex } from "./vector-store-index.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "larder-indexing-"));
  dirs.push(d);
  return d;
}

/** Counts how many texts were embedded. */
class CountingEmbedder implements Embedder {
  readonly inner = new HashEmbedder({ dimensions: 64, batchSize: 4 });
  readonly model = this.inner.model;
  readonly dimensions = this.inner.dimensions;
  readonly batchSize = this.inner.batchSize;
  texts: string[] = [];
  calls = 0;
  async embedDocuments(texts: readonly string[]) {
    this.calls++;
    this.texts.push(...texts);
    return this.inner.embedDocuments(texts);
  }
  embedQuery(text: string) {
    return this.inner.embedQuery(text);
  }
}

/** A vector store that keeps only ids and vectors (storesText false), like many vector databases. */
class IdsOnlyVectorStore implements VectorStore {
  readonly storesText = false;
  readonly inner = new SimpleVectorStore();
  get capabilities() {
    return this.inner.capabilities;
  }
  add(nodes: readonly BaseNode[]) {
    return this.inner.add(nodes);
  }
  delete(id: string) {
    return this.inner.delete(id);
  }
  deleteNodes(a: Parameters<VectorStore["deleteNodes"]>[0]) {
    return this.inner.deleteNodes(a);
  }
  getNodes(a?: Parameters<VectorStore["getNodes"]>[0]) {
    return this.inner.getNodes(a);
  }
  clear() {
    return this.inner.clear();
  }
  async query(q: VectorStoreQuery) {
    const r = await this.inner.query(q);
    return { ids: r.ids, similarities: r.similarities };
  }
}

const corpus = () => [
  new Document({ id: "persist", text: "Persist a storage context to a local folder or to S3. The manifest is written last.", metadata: { topic: "persistence", year: 2024 } }),
  new Document({ id: "filters", text: "Metadata filters compare numbers with numbers. The filter language has and, or, not.", metadata: { topic: "filters", year: 2021 } }),
  new Document({ id: "graph", text: "Neo4j holds the property graph: entities, relations and chunks with Cypher queries.", metadata: { topic: "graph", year: 2019 } }),
  new Document({ id: "chat", text: "Chat stores keep messages in order, with roles and tool calls, in Redis or Postgres.", metadata: { topic: "chat", year: 2023 } }),
];
const splitter = new SentenceSplitter({ chunkSize: 12, chunkOverlap: 2 });

describe("VectorStoreIndex", () => {
  it("with a text-keeping vector store, the docstore gets hash entries, and index nodes whole without embedding", async () => {
    const ctx = await StorageContext.fromDefaults();
    expect(ctx.vectorStore.storesText).toBe(true);
    const index = await VectorStoreIndex.fromDocuments([], { storageContext: ctx, embedder: new HashEmbedder({ dimensions: 16 }) });
    const text = new TextNode({ id: "t1", text: "a chunk of text", metadata: { k: 1 } });
    const sub = new IndexNode({ id: "i1", text: "a summary of another index", indexId: "other" });
    await index.insertNodes([text, sub]);
    // The caller's nodes are left as they were.
    expect(text.embedding).toBeNull();
    expect(sub.embedding).toBeNull();
    expect(await ctx.docStore.getDocumentHash("t1")).toBe(text.hash);
    expect(await ctx.docStore.getDocument("t1")).toBeUndefined();
    const stored = await ctx.docStore.getDocument("i1", true);
    expect(stored).toBeInstanceOf(IndexNode);
    expect(stored!.embedding).toBeNull();
    expect((stored as IndexNode).indexId).toBe("other");
    expect(Object.values(index.indexStruct.data.nodes_dict)).toEqual(["i1"]);
    const hits = await index.asRetriever({ topK: 2 }).retrieve("a chunk of text");
    expect(hits.map((h) => h.node.id).sort()).toEqual(["i1", "t1"]);
  });

  it("fromDocuments -> persist -> reload -> the same retrieve results", async () => {
    const dir = await tempDir();
    const ctx = await StorageContext.fromDefaults();
    const index = await VectorStoreIndex.fromDocuments(corpus(), { storageContext: ctx, splitter, indexId: "main" });
    const before = await index.asRetriever({ topK: 3 }).retrieve("where is the manifest written when persisting to S3?");
    expect(before[0]!.node.refDocId).toBe("persist");
    expect(before).toHaveLength(3);
    expect(before[0]!.score).toBeGreaterThanOrEqual(before[1]!.score);
    await ctx.persist(dir);

    const loaded = await StorageContext.fromPersistDir(dir);
    const again = await loadIndexFromStorage(loaded, { indexId: "main" });
    expect(again.embedModel).toBe("larder-hash-v1-384");
    const after = await again.asRetriever({ topK: 3 }).retrieve("where is the manifest written when persisting to S3?");
    expect(after.map((r) => [r.node.id, r.node.text, r.score])).toEqual(before.map((r) => [r.node.id, r.node.text, r.score]));

    // Hashes and ref-doc info are in the docstore even though the vector store keeps the text.
    expect(await loaded.docStore.getDocumentHash("persist")).toBe(corpus()[0]!.hash);
    const info = await loaded.docStore.getRefDocInfo("graph");
    expect(info?.nodeIds.length).toBeGreaterThan(0);
    expect(await loaded.docStore.getDocument(info!.nodeIds[0]!)).toBeUndefined(); // text not duplicated
  });

  it("applies filters and topK in retrieval", async () => {
    const index = await VectorStoreIndex.fromDocuments(corpus(), { splitter });
    const r = await index
      .asRetriever({ topK: 10, filters: { filters: [{ key: "year", operator: ">=", value: 2023 }] } })
      .retrieve("storage");
    expect(r.length).toBeGreaterThan(0);
    expect(new Set(r.map((x) => x.node.refDocId))).toEqual(new Set(["persist", "chat"]));
    expect(() => index.asRetriever({ filters: { filters: [{ key: "year", operator: "~~" as never, value: 1 }] } })).toThrow(/INVALID_ARGUMENT/);
  });

  it("refreshRefDocs re-embeds only new and changed documents", async () => {
    const embedder = new CountingEmbedder();
    const ctx = await StorageContext.fromDefaults();
    const index = await VectorStoreIndex.fromDocuments(corpus(), { storageContext: ctx, embedder, splitter });
    const nodesBefore = (await ctx.vectorStore.getNodes()).length;
    embedder.texts = [];
    const docs = corpus();
    docs[1] = new Document({ id: "filters", text: "Filters now also support text_match_insensitive on strings.", metadata: { topic: "filters", year: 2025 } });
    docs.push(new Document({ id: "new", text: "A brand new document about migrations between stores.", metadata: { year: 2026 } }));
    const result = await index.refreshRefDocs(docs);
    expect(result).toEqual([false, true, false, false, true]);
    expect(embedder.texts.every((t) => /text_match|migrations/.test(t))).toBe(true);
    expect(embedder.texts.length).toBeGreaterThan(0);
    // Old chunks of the changed document are gone from the vector store and the docstore.
    const all = await ctx.vectorStore.getNodes();
    expect(all.filter((n) => n.refDocId === "filters").every((n) => n.text.includes("text_match") || n.text.includes("Filters") || n.text.includes("strings"))).toBe(true);
    expect(all.some((n) => n.text.includes("compare numbers"))).toBe(false);
    expect(all.length).toBeGreaterThan(nodesBefore - 10);
    const info = await ctx.docStore.getRefDocInfo("filters");
    expect(new Set(info!.nodeIds)).toEqual(new Set(all.filter((n) => n.refDocId === "filters").map((n) => n.id)));
    // Nothing changed: nothing re-embedded.
    embedder.texts = [];
    expect(await index.refreshRefDocs(docs)).toEqual([false, false, false, false, false]);
    expect(embedder.texts).toEqual([]);
  });

  it("batches embedder calls by the embedder's batchSize", async () => {
    const embedder = new CountingEmbedder();
    await VectorStoreIndex.fromDocuments(corpus(), { embedder, splitter });
    expect(embedder.calls).toBe(Math.ceil(embedder.texts.length / 4));
  });

  it("deleteRefDoc removes the document everywhere", async () => {
    const ctx = await StorageContext.fromDefaults();
    const index = await VectorStoreIndex.fromDocuments(corpus(), { storageContext: ctx, splitter });
    await index.deleteRefDoc("graph");
    expect((await ctx.vectorStore.getNodes()).some((n) => n.refDocId === "graph")).toBe(false);
    expect(await ctx.docStore.getRefDocInfo("graph")).toBeUndefined();
    expect(await ctx.docStore.getDocumentHash("graph")).toBeUndefined();
    const r = await index.asRetriever({ topK: 10 }).retrieve("Neo4j property graph");
    expect(r.some((x) => x.node.refDocId === "graph")).toBe(false);
  });

  it("with a vector store that does not store text: nodes go to the docstore and nodes_dict", async () => {
    const vs = new IdsOnlyVectorStore();
    const ctx = await StorageContext.fromDefaults({ vectorStore: vs });
    const index = await VectorStoreIndex.fromDocuments(corpus(), { storageContext: ctx, splitter });
    const nd = index.indexStruct.data.nodes_dict;
    expect(Object.keys(nd).length).toBe(vs.inner.size);
    const stored = await ctx.indexStore.getIndexStruct(index.indexId);
    expect(stored && isIndexDict(stored) && Object.keys(stored.data.nodes_dict).length).toBe(vs.inner.size);
    const r = await index.asRetriever({ topK: 2 }).retrieve("chat messages roles tool calls");
    expect(r[0]!.node.refDocId).toBe("chat");
    expect(r[0]!.node.embedding).toBeNull();
    await index.deleteRefDoc("chat");
    expect(Object.values(index.indexStruct.data.nodes_dict).length).toBe(vs.inner.size);
  });

  it("fromVectorStore queries an existing vector store", async () => {
    const first = await VectorStoreIndex.fromDocuments(corpus(), { splitter });
    const index = await VectorStoreIndex.fromVectorStore(first.vectorStore);
    expect((await index.asRetriever({ topK: 1 }).retrieve("Neo4j Cypher"))[0]!.node.refDocId).toBe("graph");
  });

  it("loadIndexFromStorage: NOT_FOUND without an index, INVALID_ARGUMENT on another model", async () => {
    const ctx = await StorageContext.fromDefaults();
    expect(isStorageError(await loadIndexFromStorage(ctx).catch((e: unknown) => e), "NOT_FOUND")).toBe(true);
    await VectorStoreIndex.fromDocuments(corpus(), { storageContext: ctx, splitter, indexId: "x" });
    const err = await loadIndexFromStorage(ctx, { embedder: new HashEmbedder({ dimensions: 32 }) }).catch((e: unknown) => e);
    expect(isStorageError(err, "INVALID_ARGUMENT")).toBe(true);
  });
});

describe("KVVectorStore", () => {
  it("writes through to the KV store and reloads from it", async () => {
    const kv = new SimpleKVStore();
    const ctx = await StorageContext.fromDefaults({ vectorStore: new KVVectorStore(kv) });
    await VectorStoreIndex.fromDocuments(corpus(), { storageContext: ctx, splitter, indexId: "kv" });
    const reopened = new KVVectorStore(kv);
    const ctx2 = await StorageContext.fromDefaults({ vectorStore: reopened, docStore: ctx.docStore, indexStore: ctx.indexStore });
    const a = await (await loadIndexFromStorage(ctx, { indexId: "kv" })).asRetriever({ topK: 3 }).retrieve("filters numbers");
    const b = await (await loadIndexFromStorage(ctx2, { indexId: "kv" })).asRetriever({ topK: 3 }).retrieve("filters numbers");
    expect(b.map((x) => [x.node.id, x.score])).toEqual(a.map((x) => [x.node.id, x.score]));
    await reopened.delete("graph");
    expect((await new KVVectorStore(kv).getNodes()).some((n) => n.refDocId === "graph")).toBe(false);
    await expect(reopened.deleteNodes({})).rejects.toThrow(/INVALID_ARGUMENT/);
    const bad = new Document({ id: "bad", text: "x", embedding: [1, 2] });
    await expect(reopened.add([bad])).rejects.toThrow(/DIMENSION_MISMATCH/);
    expect(await kv.get("bad", "vector_store/data")).toBeUndefined();
  });
});

describe("VectorStoreIndex: nodes kept in the docstore (LlamaIndex's layout when the vector store keeps no text)", () => {
  /**
   * What Python's VectorStoreIndex leaves: nodes in the docstore, `nodes_dict` filled, vector rows
   * without text (as SimpleVectorStore.fromDict loads them from `default__vector_store.json`).
   */
  async function pythonLikeIndex() {
    const built = await VectorStoreIndex.fromDocuments(
      [new Document({ id: "d1", text: "Alpine glaciers retreat every summer." }), new Document({ id: "d2", text: "Harbour cranes unload containers at night." })],
      { storeNodesOverride: true },
    );
    const dir = await tempDir();
    await built.storageContext.persist(dir, { format: "llamaindex" });
    const ctx = await StorageContext.fromPersistDir(dir);
    const index = await loadIndexFromStorage(ctx);
    return { index, ctx };
  }

  it("retrieval fills each hit from the docstore with one batched read", async () => {
    const { index } = await pythonLikeIndex();
    // The rows the vector store holds carry no text, as in a Python folder.
    const rows = await index.vectorStore.getNodes();
    expect(rows.every((n) => n.getContent() === "")).toBe(true);
    let calls = 0;
    const ds = index.docStore;
    const orig = ds.getNodes.bind(ds);
    ds.getNodes = (ids, raise) => {
      calls++;
      return orig(ids, raise);
    };
    const hits = await index.asRetriever({ topK: 2 }).retrieve("glaciers summer");
    expect(calls).toBe(1);
    expect(hits.map((h) => h.node.getContent())).toEqual(["Alpine glaciers retreat every summer.", "Harbour cranes unload containers at night."]);
  });

  it("a row another index maps (no text in the vector store) is read from the docstore too", async () => {
    const { ctx } = await pythonLikeIndex();
    const other = VectorStoreIndex.fromIndexStruct(createIndexDict({ indexId: "other" }), { storageContext: ctx });
    const [hit] = await other.asRetriever({ topK: 1 }).retrieve("glaciers summer");
    expect(hit!.node.getContent()).toBe("Alpine glaciers retreat every summer.");
  });

  it("a hit whose node is in neither store is NOT_FOUND naming it, never an empty text", async () => {
    const { index } = await pythonLikeIndex();
    const [first] = await index.asRetriever({ topK: 1 }).retrieve("glaciers");
    await index.docStore.deleteDocument(first!.node.id);
    const err = await index.asRetriever({ topK: 1 }).retrieve("glaciers").catch((e: unknown) => e);
    expect(isStorageError(err, "NOT_FOUND")).toBe(true);
    expect(String((err as Error).message)).toContain(first!.node.id);
  });

  it("insert and deleteRefDoc keep the docstore and nodes_dict in step (what Python's retriever reads)", async () => {
    const { index } = await pythonLikeIndex();
    expect(index.keepsNodesInDocstore).toBe(true);
    await index.insert(new Document({ id: "d3", text: "Desert dunes shift with the wind." }));
    const info = await index.docStore.getRefDocInfo("d3");
    expect(info?.nodeIds.length).toBeGreaterThan(0);
    const nd = index.indexStruct.data.nodes_dict;
    for (const id of info!.nodeIds) {
      expect(nd[id]).toBe(id);
      expect((await index.docStore.getDocument(id))?.getContent()).toContain("dunes");
    }
    const [hit] = await index.asRetriever({ topK: 1 }).retrieve("desert dunes wind");
    expect(hit!.node.getContent()).toBe("Desert dunes shift with the wind.");
    await index.deleteRefDoc("d3");
    for (const id of info!.nodeIds) {
      expect(nd[id]).toBeUndefined();
      expect(await index.docStore.getDocument(id)).toBeUndefined();
    }
    expect((await index.asRetriever({ topK: 5 }).retrieve("desert dunes")).map((h) => h.node.getContent())).not.toContain("Desert dunes shift with the wind.");
  });

  it("default options: the live index keeps text in the vector store; its LlamaIndex export maps every node", async () => {
    const index = await VectorStoreIndex.fromDocuments([new Document({ id: "d1", text: "Alpine glaciers retreat every summer." })]);
    expect(index.keepsNodesInDocstore).toBe(false);
    expect(index.indexStruct.data.nodes_dict).toEqual({});
    const dir = await tempDir();
    await index.storageContext.persist(dir, { format: "llamaindex" });
    expect(index.indexStruct.data.nodes_dict).toEqual({});
    const reloaded = await loadIndexFromStorage(await StorageContext.fromPersistDir(dir));
    const ids = Object.keys(reloaded.indexStruct.data.nodes_dict);
    expect(ids.length).toBe(1);
    expect((await reloaded.docStore.getDocument(ids[0]!))?.getContent()).toBe("Alpine glaciers retreat every summer.");
    const [hit] = await reloaded.asRetriever({ topK: 1 }).retrieve("glaciers");
    expect(hit!.node.getContent()).toBe("Alpine glaciers retreat every summer.");
  });
});
