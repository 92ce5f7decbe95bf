import { describe, expect, it } from "vitest";
import { MemoryFileSystem } from "../fs/index.js";
import { TextNode } from "../schema/node.js";
import { SimpleVectorStore } from "../vector/index.js";
import { StorageContext } from "./index.js";
import { exactEmbedding } from "./llamaindex-format.js";

// As Python's json.dumps writes a SimpleVectorStore: doubles that float32 would change, an
// embedding of float32-exact values, one with integer tokens, and -0.0 / exponents.
const VECTORS = [
  '"a": [-0.01848489090922291, 0.1, 1e-05, 0.30000000000000004]',
  '"b": [-0.018484890460968018, 0.5, 0.25, -0.0]',
  '"c": [1, 0.1, 0, 2.5]',
  '"d": [1.0, 0.0, 3.0, -2.0]',
].join(", ");
const PY_VECTOR_FILE =
  `{"embedding_dict": {${VECTORS}}, "text_id_to_ref_doc_id": {"a": "doc", "b": "doc", "c": "None", "d": "doc"}, "metadata_dict": {` +
  ["a", "b", "c", "d"]
    .map((id) => `"${id}": {"n": 1.0, "_node_type": "TextNode", "document_id": "${id === "c" ? "None" : "doc"}", "doc_id": "${id === "c" ? "None" : "doc"}", "ref_doc_id": "${id === "c" ? "None" : "doc"}"}`)
    .join(", ") +
  "}}";
const DOCSTORE = '{"docstore/data": {}, "docstore/metadata": {}, "docstore/ref_doc_info": {}}';
const INDEX_STORE = '{"index_store/data": {}}';

async function pyFolder(fs: MemoryFileSystem, dir: string) {
  const enc = new TextEncoder();
  await fs.write(`${dir}/docstore.json`, enc.encode(DOCSTORE));
  await fs.write(`${dir}/index_store.json`, enc.encode(INDEX_STORE));
  await fs.write(`${dir}/default__vector_store.json`, enc.encode(PY_VECTOR_FILE));
}
const text = async (fs: MemoryFileSystem, path: string) => new TextDecoder().decode(await fs.read(path));

describe("exact embeddings of a LlamaIndex vector store file", () => {
  it("classifies embeddings: float32-exact lists need nothing, others keep doubles or (integer tokens) their text", () => {
    expect(exactEmbedding([0.5, -0.25], () => "[0.5, -0.25]")).toBeUndefined();
    expect(exactEmbedding([1, 0.5], () => "[1.0, 0.5]")).toBeUndefined();
    expect(exactEmbedding([1, 0.5], () => "[1, 0.5]")).toBe("[1, 0.5]");
    expect(exactEmbedding([1e-5, 2], () => "[1e-05, 2.0]")).toEqual(Float64Array.from([1e-5, 2]));
    expect(exactEmbedding([0.1, 2], () => "[0.1, 2]")).toBe("[0.1, 2]");
  });

  it("an unchanged rewrite is byte-identical: LlamaIndex -> LlamaIndex and LlamaIndex -> Larder -> LlamaIndex", async () => {
    const fs = new MemoryFileSystem();
    await pyFolder(fs, "py");
    const ctx = await StorageContext.fromPersistDir("py", { fs });
    await ctx.persist("li", { fs, format: "llamaindex" });
    expect(await text(fs, "li/default__vector_store.json")).toBe(PY_VECTOR_FILE);

    await ctx.persist("larder", { fs });
    const back = await StorageContext.fromPersistDir("larder", { fs });
    await back.persist("li2", { fs, format: "llamaindex" });
    expect(await text(fs, "li2/default__vector_store.json")).toBe(PY_VECTOR_FILE);

    // And again through a second Larder generation written by the reloaded context.
    await back.persist("larder", { fs });
    const again = await StorageContext.fromPersistDir("larder", { fs });
    await again.persist("li3", { fs, format: "llamaindex" });
    expect(await text(fs, "li3/default__vector_store.json")).toBe(PY_VECTOR_FILE);
  });

  it("a row written or deleted since loading is written from the store's float32 values; the others stay exact", async () => {
    const fs = new MemoryFileSystem();
    await pyFolder(fs, "py");
    const ctx = await StorageContext.fromPersistDir("py", { fs });
    await ctx.persist("larder", { fs });
    const back = await StorageContext.fromPersistDir("larder", { fs });
    const store = back.vectorStores["default"] as SimpleVectorStore;
    await store.add([new TextNode({ id: "a", text: "", embedding: [-0.01848489090922291, 0.1, 1e-5, 0.30000000000000004] })]);
    await store.deleteNodes({ ids: ["c"] });
    // An incremental persist (a delta over the base with its exact file), reloaded.
    await back.persist("larder", { fs });
    const reloaded = await StorageContext.fromPersistDir("larder", { fs });
    for (const c of [back, reloaded]) {
      const dir = c === back ? "li-live" : "li-reloaded";
      await c.persist(dir, { fs, format: "llamaindex" });
      const emb = (JSON.parse(await text(fs, `${dir}/default__vector_store.json`)) as { embedding_dict: Record<string, number[]> }).embedding_dict;
      expect(emb["a"]).toEqual(Array.from(Float32Array.from([-0.01848489090922291, 0.1, 1e-5, 0.30000000000000004])));
      expect(emb["c"]).toBeUndefined();
      const file = await text(fs, `${dir}/default__vector_store.json`);
      expect(file).toContain('"b": [-0.018484890460968018, 0.5, 0.25, -0.0]');
      expect(file).toContain('"d": [1.0, 0.0, 3.0, -2.0]');
    }
  });

  it("a store Larder built is written from its float32 values", async () => {
    const fs = new MemoryFileSystem();
    const store = new SimpleVectorStore();
    await store.add([new TextNode({ id: "x", text: "t", embedding: [0.1, 0.2] })]);
    const ctx = await StorageContext.fromDefaults({ vectorStore: store });
    await ctx.persist("li", { fs, format: "llamaindex" });
    expect(await text(fs, "li/default__vector_store.json")).toContain('"x": [0.10000000149011612, 0.20000000298023224]');
  });
});
