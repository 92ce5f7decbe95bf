// The adapters one by one, over core's in-memory stores.
import { expectStorageError } from "@larder/conformance";
import {
  SimpleChatStore,
  SimpleDocumentStore,
  SimpleIndexStore,
  SimpleKVStore,
  SimpleVectorStore,
  type VectorStore,
  type VectorStoreCapabilities,
} from "@larder/core";
import { IndexDict, IndexList, KeywordTable } from "@llamaindex/core/data-structs";
import { Document, IndexNode, TextNode } from "@llamaindex/core/schema";
import { describe, expect, it } from "vitest";
import { fromLarderNode, LarderChatStore, LarderDocumentStore, LarderIndexStore, LarderKVStore, LarderVectorStore, toLarderNode } from "./index.js";

function sampleNodes() {
  const doc = new Document({ id_: "doc-1", text: "A document.", metadata: { source: "a.txt", n: 3 } });
  const a = new TextNode({
    id_: "a",
    text: "First chunk.",
    metadata: { source: "a.txt", tags: ["x", "y"], n: 1.5 },
    excludedEmbedMetadataKeys: ["source"],
    excludedLlmMetadataKeys: ["n"],
    relationships: { SOURCE: doc.asRelatedNodeInfo(), NEXT: { nodeId: "b", metadata: {} } } as never,
    startCharIdx: 3,
    endCharIdx: 15,
    embedding: [0.1, 0.2, 0.3],
  });
  const b = new TextNode({ id_: "b", text: "Second chunk.", metadata: { source: "a.txt" }, relationships: { SOURCE: doc.asRelatedNodeInfo(), PREVIOUS: { nodeId: "a", metadata: {} } } as never, embedding: [0.3, 0.2, 0.1] });
  const idx = new IndexNode({ id_: "i", text: "An index node.", indexId: "sub-index", embedding: [0.2, 0.2, 0.2] });
  return { doc, a, b, idx };
}

describe("node conversion", () => {
  it("LlamaIndexTS -> Larder -> LlamaIndexTS keeps every field and the hash", () => {
    for (const n of Object.values(sampleNodes())) {
      const larder = toLarderNode(n);
      expect(larder.hash).toBe(n.hash);
      const back = fromLarderNode(larder);
      expect(back.type).toBe(n.type);
      expect(back.toJSON()).toEqual(n.toJSON());
      expect(back.hash).toBe(n.hash);
    }
  });

  it("maps relationships and types to LlamaIndex's digit codes, and LlamaIndexTS's empty text template to LlamaIndex's", () => {
    const { a } = sampleNodes();
    const json = toLarderNode(a).toJSON();
    expect(json.__type__).toBe("1");
    const rels = json.__data__["relationships"] as Record<string, { node_id: string }>;
    expect(Object.keys(rels).sort()).toEqual(["1", "3"]);
    expect(rels["1"]!.node_id).toBe("doc-1");
    expect(json.__data__["text_template"]).toBe("{metadata_str}\n\n{content}");
    expect(toLarderNode(sampleNodes().doc).toJSON().__type__).toBe("4");
  });

  it("image nodes are UNSUPPORTED; non-nodes INVALID_ARGUMENT", async () => {
    const image = { id_: "img", type: "IMAGE", metadata: {}, relationships: {}, hash: "h" };
    await expectStorageError(() => toLarderNode(image as never), "UNSUPPORTED");
    await expectStorageError(() => toLarderNode({} as never), "INVALID_ARGUMENT");
  });
});

/** A store that declares fewer filter operators (as a backend with a narrower filter language would). */
function narrowStore(inner: VectorStore, capabilities: Partial<VectorStoreCapabilities>): VectorStore & { queries: number } {
  const s = {
    queries: 0,
    storesText: inner.storesText,
    capabilities: { ...inner.capabilities, ...capabilities },
    add: (n) => inner.add(n),
    delete: (id) => inner.delete(id),
    deleteNodes: (a) => inner.deleteNodes(a),
    getNodes: (a) => inner.getNodes(a),
    clear: () => inner.clear(),
    query: async (q) => {
      s.queries++;
      return inner.query(q);
    },
  } satisfies VectorStore & { queries: number };
  return s;
}

describe("LarderVectorStore", () => {
  it("add, query (LlamaIndexTS query shape), getNodes, deleteNodes, delete by ref doc", async () => {
    const vs = new LarderVectorStore({ vectorStore: new SimpleVectorStore() });
    expect(vs.storesText).toBe(true);
    const { a, b, idx } = sampleNodes();
    expect(await vs.add([a, b, idx])).toEqual(["a", "b", "i"]);
    const r = await vs.query({ queryEmbedding: [0.1, 0.2, 0.3], similarityTopK: 2, mode: "default" as never });
    expect(r.ids).toEqual(["a", "i"]);
    expect(r.similarities[0]).toBeCloseTo(1, 6);
    expect(r.nodes!.map((n) => n.type)).toEqual(["TEXT", "INDEX"]);
    const filtered = await vs.query({ queryEmbedding: [0.1, 0.2, 0.3], similarityTopK: 5, mode: "default" as never, filters: { filters: [{ key: "tags", operator: "contains", value: "x" }] } });
    expect(filtered.ids).toEqual(["a"]);
    const only = await vs.query({ queryEmbedding: [0.1, 0.2, 0.3], similarityTopK: 5, mode: "default" as never, customParams: { nodeIds: ["b"] } });
    expect(only.ids).toEqual(["b"]);
    expect((await vs.getNodes({ ids: ["b", "a"] })).map((n) => n.id_)).toEqual(["b", "a"]);
    await expectStorageError(() => vs.deleteNodes({}), "INVALID_ARGUMENT");
    await vs.deleteNodes({ ids: ["i"] });
    await vs.delete("doc-1");
    expect(await vs.getNodes()).toEqual([]);
  });

  it("an operator or nesting the store cannot evaluate is UNSUPPORTED and the store is never asked", async () => {
    const inner = new SimpleVectorStore();
    const narrow = narrowStore(inner, { filterOperators: ["==", "in"], nestedFilters: false });
    const vs = new LarderVectorStore({ vectorStore: narrow });
    await vs.add([sampleNodes().a]);
    const q = { queryEmbedding: [0.1, 0.2, 0.3], similarityTopK: 2, mode: "default" as never };
    await expectStorageError(() => vs.query({ ...q, filters: { filters: [{ key: "source", operator: "text_match", value: "a." }] } }), "UNSUPPORTED");
    await expectStorageError(
      () => vs.query({ ...q, filters: { filters: [{ filters: [{ key: "source", operator: "==", value: "a.txt" }], condition: "or" }] } as never }),
      "UNSUPPORTED",
    );
    expect(narrow.queries).toBe(0);
    expect((await vs.query({ ...q, filters: { filters: [{ key: "source", operator: "==", value: "a.txt" }] } })).ids).toEqual(["a"]);
    expect(narrow.queries).toBe(1);
  });

  it("a node without an embedding is INVALID_ARGUMENT and nothing is added", async () => {
    const inner = new SimpleVectorStore();
    const vs = new LarderVectorStore({ vectorStore: inner });
    const { a } = sampleNodes();
    await expectStorageError(() => vs.add([a, new TextNode({ id_: "no-embedding", text: "x" })]), "INVALID_ARGUMENT");
    expect(await inner.getNodes()).toEqual([]);
  });
});

describe("LarderDocumentStore", () => {
  it("stores nodes with LlamaIndexTS's hashes; hashes map hash -> id; ref-doc info as {nodeIds, extraInfo}", async () => {
    const larder = new SimpleDocumentStore();
    const ds = new LarderDocumentStore(larder);
    const { doc, a, b } = sampleNodes();
    await ds.addDocuments([doc, a, b], true);
    expect(await ds.getDocumentHash("a")).toBe(a.hash);
    expect(await ds.getAllDocumentHashes()).toEqual({ [doc.hash]: "doc-1", [a.hash]: "a", [b.hash]: "b" });
    expect((await ds.getNodes(["b", "a"])).map((n) => n.id_)).toEqual(["b", "a"]);
    expect((await ds.getDocument("a"))!.toJSON()).toEqual({ ...a.toJSON(), embedding: [0.1, 0.2, 0.3] });
    expect((await ds.getRefDocInfo("doc-1"))!.nodeIds).toEqual(["a", "b"]);
    expect(Object.keys(await ds.docs()).sort()).toEqual(["a", "b", "doc-1"]);
    await expectStorageError(() => ds.addDocuments([a], false), "CONFLICT");
    await ds.deleteRefDoc("doc-1");
    expect(await ds.getAllRefDocInfo()).toEqual({});
    expect(await ds.documentExists("a")).toBe(false);
    await expectStorageError(() => ds.getDocument("a"), "NOT_FOUND");
    expect(await ds.getDocument("a", false)).toBeUndefined();
  });
});

describe("LarderIndexStore", () => {
  it("IndexDict is stored as LlamaIndex's vector_store struct and read back with its nodes from the docstore", async () => {
    const larderDocs = new SimpleDocumentStore();
    const { a, b } = sampleNodes();
    await new LarderDocumentStore(larderDocs).addDocuments([a, b], true);
    const larder = new SimpleIndexStore();
    const is = new LarderIndexStore({ indexStore: larder, docStore: larderDocs });
    const dict = new IndexDict("11111111-1111-1111-1111-111111111111" as never);
    dict.addNode(a);
    dict.addNode(b, "vec-b");
    await is.addIndexStruct(dict);
    const stored = await larder.getIndexStruct(dict.indexId);
    expect(stored).toMatchObject({ type: "vector_store", data: { nodes_dict: { a: "a", "vec-b": "b" } } });
    const back = (await is.getIndexStruct()) as IndexDict;
    expect(back.type).toBe("simple_dict");
    expect(Object.keys(back.nodesDict).sort()).toEqual(["a", "vec-b"]);
    expect(back.nodesDict["vec-b"]!.id_).toBe("b");

    const list = new IndexList("22222222-2222-2222-2222-222222222222" as never);
    list.addNode(a);
    const table = new KeywordTable("33333333-3333-3333-3333-333333333333" as never);
    table.addNode(["apple", "pear"], "a");
    await is.addIndexStruct(list);
    await is.addIndexStruct(table);
    const all = await is.getIndexStructs();
    expect(all.map((s) => (s as unknown as { type: string }).type).sort()).toEqual(["keyword_table", "list", "simple_dict"]);
    expect(((await is.getIndexStruct(table.indexId)) as KeywordTable).table.get("pear")).toEqual(new Set(["a"]));
    await expectStorageError(() => is.getIndexStruct(), "CONFLICT");
    await is.deleteIndexStruct(list.indexId);
    expect(await larder.getIndexStruct(list.indexId)).toBeUndefined();
  });
});

describe("LarderKVStore and LarderChatStore", () => {
  it("KV: put/get/getAll/delete, missing is null, non-objects INVALID_ARGUMENT", async () => {
    const kv = new LarderKVStore(new SimpleKVStore());
    await kv.put("k", { a: 1 });
    await kv.put("k2", { b: 2 }, "other");
    expect(await kv.get("k")).toEqual({ a: 1 });
    expect(await kv.get("nope")).toBeNull();
    expect(await kv.getAll("other")).toEqual({ k2: { b: 2 } });
    expect(await kv.delete("k")).toBe(true);
    expect(await kv.delete("k")).toBe(false);
    await expectStorageError(() => kv.put("bad", [1, 2] as never), "INVALID_ARGUMENT");
  });

  it("chat: calls run in order without awaiting; addMessage at an index is UNSUPPORTED", async () => {
    const chat = new LarderChatStore(new SimpleChatStore());
    void chat.addMessage("c", { role: "user", content: "one" });
    void chat.addMessage("c", { role: "assistant", content: "two" });
    expect((await chat.getMessages("c")).map((m) => m.content)).toEqual(["one", "two"]);
    await expectStorageError(() => chat.addMessage("c", { role: "user", content: "x" }, 0), "UNSUPPORTED");
    await expectStorageError(() => chat.addMessage("c", { role: "" as never, content: "x" }), "INVALID_ARGUMENT");
    expect((await chat.getMessages("c")).length).toBe(2);
  });
});
