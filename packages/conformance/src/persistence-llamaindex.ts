/**
 * Persistence suite tests for LlamaIndex folders on any FileSystem: folders holding only a chat
 * store or a graph (bytes as Python LlamaIndex writes them), and damage found at load and by
 * `verifyLlamaIndexFolder`.
 */
import { expect } from "vitest";
import { StorageContext, verifyLlamaIndexFolder } from "@larder/core/storage";
import { expectStorageError, type TestBody } from "./harness.js";
import { populatedContext } from "./persistence-fixtures.js";
import type { PersistenceCapabilities, PersistenceTarget } from "./persistence.js";

type Body = TestBody<PersistenceTarget, PersistenceCapabilities>;

const path = (t: PersistenceTarget, file: string) => (t.dir === "" ? file : `${t.dir}/${file}`);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** `chat_store.json` as llama-index-core 0.10.68 writes it: a JSON string holding `json.dumps` of the store. */
const CHAT_010 = JSON.stringify(
  '{"store": {"user-1": [{"role": "user", "content": "O\\u00f9 est la gare? \\ud83d\\ude89", "additional_kwargs": {}}]}, "class_name": "SimpleChatStore"}',
);
/** `property_graph_store.json` as llama-index-core 0.14.25 writes it (quoted name, nested property). */
const GRAPH_014 =
  '{"nodes":{"The  Quoted  Co":{"label":"ORG","embedding":null,"properties":{"address":{"street":"1 Main St","geo":[48.85,2.35]}},"name":"The \\"Quoted\\" Co"},' +
  '"Alice":{"label":"PERSON","embedding":null,"properties":{"age":30},"name":"Alice"}},' +
  '"relations":{"Alice_WORKS_AT_The  Quoted  Co":{"label":"WORKS_AT","source_id":"Alice","target_id":"The  Quoted  Co","properties":{}}},' +
  '"triplets":[["Alice","WORKS_AT","The  Quoted  Co"]]}';

/**
 * `default__vector_store.json` as Python's `json.dumps` writes it: doubles float32 would change,
 * `1e-05`, `-0.0`, integer tokens, and a float32-exact list.
 */
const VECTORS_PY =
  '{"embedding_dict": {"a": [-0.01848489090922291, 0.1, 1e-05], "b": [1, 0.30000000000000004, -0.0], "c": [0.5, -0.25, 2.0]}, ' +
  '"text_id_to_ref_doc_id": {"a": "d1", "b": "d1", "c": "None"}, "metadata_dict": {' +
  '"a": {"n": 1.0, "_node_type": "TextNode", "document_id": "d1", "doc_id": "d1", "ref_doc_id": "d1"}, ' +
  '"b": {"_node_type": "ImageNode", "document_id": "d1", "doc_id": "d1", "ref_doc_id": "d1"}, ' +
  '"c": {"_node_type": "TextNode", "document_id": "None", "doc_id": "None", "ref_doc_id": "None"}}}';

export const llamaIndexFolderTests = {
  "persistence.llamaindex.exact-embeddings": async ({ store }) => {
    const t = await store();
    await t.fs.write(path(t, "docstore.json"), '{"docstore/data": {}}');
    await t.fs.write(path(t, "index_store.json"), '{"index_store/data": {}}');
    await t.fs.write(path(t, "default__vector_store.json"), VECTORS_PY);
    const ctx = await StorageContext.fromPersistDir(t.dir, { fs: t.fs });
    // An unchanged rewrite gives Python's bytes, embeddings and node types included.
    await ctx.persist(t.dir, { fs: t.fs, format: "llamaindex" });
    expect(text(await t.fs.read(path(t, "default__vector_store.json")))).toBe(VECTORS_PY);
    // LlamaIndex -> Larder format -> LlamaIndex too.
    const larder = await store();
    await ctx.persist(larder.dir, { fs: larder.fs });
    const back = await StorageContext.fromPersistDir(larder.dir, { fs: larder.fs });
    const out = await store();
    await back.persist(out.dir, { fs: out.fs, format: "llamaindex" });
    expect(text(await out.fs.read(path(out, "default__vector_store.json")))).toBe(VECTORS_PY);
  },


  "persistence.llamaindex.chat-or-graph-only-folder": async ({ store }) => {
    const t = await store();
    await t.fs.write(path(t, "chat_store.json"), CHAT_010);
    const ctx = await StorageContext.fromPersistDir(t.dir, { fs: t.fs });
    expect(await ctx.chatStore!.getMessages("user-1")).toEqual([{ role: "user", content: "Où est la gare? 🚉", additional_kwargs: {} }]);
    expect(await ctx.docStore.getAllRefDocInfo()).toEqual({});
    await ctx.persist(t.dir, { fs: t.fs, format: "llamaindex" });
    // Kept in 0.10's form (the only one 0.10 reads), byte for byte.
    expect(text(await t.fs.read(path(t, "chat_store.json")))).toBe(CHAT_010);

    const g = await store();
    await g.fs.write(path(g, "property_graph_store.json"), GRAPH_014);
    const gctx = await StorageContext.fromPersistDir(g.dir, { fs: g.fs });
    const [acme] = await gctx.propertyGraphStore!.get({ ids: ['The "Quoted" Co'] });
    expect(acme).toMatchObject({ kind: "entity", name: 'The "Quoted" Co', properties: { address: { street: "1 Main St", geo: [48.85, 2.35] } } });
    await gctx.persist(g.dir, { fs: g.fs, format: "llamaindex" });
    expect(text(await g.fs.read(path(g, "property_graph_store.json")))).toBe(GRAPH_014);
  },

  "persistence.llamaindex.damage-found-at-load": async ({ store }) => {
    const t = await store();
    const ctx = await populatedContext();
    await ctx.persist(t.dir, { fs: t.fs, format: "llamaindex" });
    expect((await verifyLlamaIndexFolder(t.fs, t.dir)).ok).toBe(true);
    const file = path(t, "docstore.json");
    const doc = JSON.parse(text(await t.fs.read(file))) as Record<string, Record<string, Record<string, unknown>>>;
    const collection = Object.keys(doc).find((c) => c.endsWith("/data"))!;
    const key = Object.keys(doc[collection]!)[0]!;
    doc[collection]![key]!["__type__"] = "99";
    await t.fs.write(file, JSON.stringify(doc));
    const err = await expectStorageError(() => StorageContext.fromPersistDir(t.dir, { fs: t.fs }), "CORRUPT");
    expect((err as { details?: unknown }).details).toEqual({ file, collection, key });
    const r = await verifyLlamaIndexFolder(t.fs, t.dir);
    expect(r.ok).toBe(false);
    expect(r.firstDamage).toMatchObject({ file, collection, key });
  },
} satisfies Record<string, Body>;
