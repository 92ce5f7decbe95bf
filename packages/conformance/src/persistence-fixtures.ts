/**
 * Data for the persistence suite: a StorageContext holding every store kind, and a comparable
 * "fingerprint" of a context's contents (stored data plus query results).
 */
import { SimpleChatStore } from "@larder/core/chat";
import { SimpleDocumentStore } from "@larder/core/docstore";
import { SimplePropertyGraphStore } from "@larder/core/graph";
import { SimpleIndexStore } from "@larder/core/indexstore";
import { Document, NodeRelationship, TextNode, type BaseNode } from "@larder/core/schema";
import { SimpleGraphStore, StorageContext } from "@larder/core/storage";
import { SimpleVectorStore } from "@larder/core/vector";
import { seededRandom } from "./harness.js";

export const DIM = 8;

export function embedding(rand: () => number, dim = DIM): number[] {
  return Array.from({ length: dim }, () => Math.fround(rand() * 2 - 1));
}

/** `count` text nodes of `docs` source documents, with embeddings, unicode and awkward metadata. */
export function makeNodes(count: number, seed = 7, docs = 3, dim = DIM): BaseNode[] {
  const rand = seededRandom(seed);
  const out: BaseNode[] = [];
  for (let i = 0; i < count; i++) {
    const doc = `doc-${i % docs}`;
    out.push(
      new TextNode({
        id: `node-${i}`,
        text: `Node ${i}: ünïcødé 漢字 🦙 "quoted" \\ back\nslash\u2028 ${"x".repeat(i % 5)}`,
        metadata: { file_name: `f${i % docs}.txt`, page: i, score: i / 3, tags: ["a", i % 2 ? "odd" : "even"], empty: null },
        relationships: { [NodeRelationship.SOURCE]: { nodeId: doc, nodeType: "4", metadata: {}, hash: `h${i % docs}` } },
        embedding: embedding(rand, dim),
        startCharIdx: i,
        endCharIdx: i + 10,
      }),
    );
  }
  return out;
}

/** A context with every kind of store populated. */
export async function populatedContext(nodeCount = 24): Promise<StorageContext> {
  const nodes = makeNodes(nodeCount);
  const docStore = new SimpleDocumentStore();
  await docStore.addDocuments(nodes.map((n) => withoutEmbedding(n)));
  await docStore.addDocuments([new Document({ id: "doc-0", text: "The whole document 🦙", metadata: { file_name: "f0.txt" } })]);
  // Hostile ids must survive both formats.
  await docStore.addDocuments([new TextNode({ id: "__proto__", text: "proto" }), new TextNode({ id: "constructor", text: "ctor" })]);
  const indexStore = new SimpleIndexStore();
  await indexStore.addIndexStruct({
    indexId: "index-1",
    type: "vector_store",
    summary: null,
    data: { nodes_dict: Object.fromEntries(nodes.map((n) => [n.id, n.id])), doc_id_dict: {}, embeddings_dict: {} },
  });
  const vectorStore = new SimpleVectorStore();
  await vectorStore.add(nodes);
  const imageStore = new SimpleVectorStore();
  await imageStore.add(makeNodes(3, 99).map((n) => Object.assign(n, { id: `img-${n.id}` })));
  const propertyGraphStore = new SimplePropertyGraphStore();
  await propertyGraphStore.upsertNodes([
    { kind: "entity", name: "Alice", label: "PERSON", properties: { triplet_source_id: "node-1", age: 30 } },
    { kind: "entity", name: "Acme ünï", label: "ORG", properties: { triplet_source_id: "node-1" } },
    { kind: "chunk", id: "node-1", text: "Alice works at Acme.", label: "text_chunk", properties: { ref_doc_id: "doc-1" }, embedding: [0.5, 0.25] },
  ]);
  await propertyGraphStore.upsertRelations([{ label: "WORKS_AT", sourceId: "Alice", targetId: "Acme ünï", properties: { since: 2020 } }]);
  const graphStore = new SimpleGraphStore();
  await graphStore.upsertTriplet("Alice", "WORKS_AT", "Acme");
  await graphStore.upsertTriplet("Acme", "LOCATED_IN", "Paris");
  const chatStore = new SimpleChatStore();
  await chatStore.addMessages("user-1", [
    { role: "user", content: "Hi 🦙" },
    { role: "assistant", content: "Hello!", additional_kwargs: { tool_calls: [{ id: "t1", name: "lookup" }] } },
  ]);
  return StorageContext.fromDefaults({
    docStore,
    indexStore,
    vectorStores: { default: vectorStore, image: imageStore },
    propertyGraphStore,
    graphStore,
    chatStore,
  });
}

function withoutEmbedding(n: BaseNode): BaseNode {
  const c = n.clone();
  c.embedding = null;
  return c;
}

/** Fixed query embeddings for comparing query results before and after a round trip. */
export function queryEmbeddings(count = 4, dim = DIM): number[][] {
  const rand = seededRandom(4242);
  return Array.from({ length: count }, () => embedding(rand, dim));
}

/**
 * Everything observable about a context's stores, as plain JSON: documents, ref-doc info, hashes,
 * index structs, vector query results (ids, rounded scores, metadata), graphs, chats.
 * `vectorText` compares node text of vector results (false for stores loaded from LlamaIndex's
 * vector files, which keep no text).
 */
export async function fingerprint(ctx: StorageContext, options: { vectorText?: boolean } = {}): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const ds = ctx.docStore;
  const ids = (await ds.getAllDocumentIds()).sort();
  const nodes = await ds.getNodes(ids);
  out["docs"] = nodes.map((n) => n.toJSON());
  out["refDocs"] = await ds.getAllRefDocInfo();
  out["hashes"] = await ds.getAllDocumentHashes();
  out["indexStructs"] = (await ctx.indexStore.indexStructs()).sort((a, b) => (a.indexId < b.indexId ? -1 : 1));
  const vectors: Record<string, unknown> = {};
  for (const [ns, vs] of Object.entries(ctx.vectorStores).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const results = [];
    for (const q of queryEmbeddings()) {
      const r = await vs.query({ embedding: q, topK: 5 });
      results.push({
        ids: r.ids,
        scores: r.similarities.map((s) => Math.round(s * 1e5) / 1e5),
        nodes: (r.nodes ?? []).map((n) => ({ id: n.id, metadata: n.metadata, ref: n.refDocId, ...(options.vectorText === false ? {} : { text: n.text }) })),
      });
    }
    const all = await vs.getNodes();
    vectors[ns] = { results, count: all.length, ids: all.map((n) => n.id).sort() };
  }
  out["vectors"] = vectors;
  out["propertyGraph"] = ctx.propertyGraphStore ? await ctx.propertyGraphStore.get() : null;
  out["triplets"] = ctx.propertyGraphStore ? await ctx.propertyGraphStore.getTriplets({ entityNames: ["Alice"] }) : null;
  out["graph"] = ctx.graphStore ? ctx.graphStore.toDict() : null;
  out["chat"] = ctx.chatStore ? { keys: (await ctx.chatStore.getKeys()).sort(), msgs: await ctx.chatStore.getMessages("user-1") } : null;
  return out;
}
