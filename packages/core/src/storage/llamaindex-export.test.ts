import { describe, expect, it } from "vitest";
import { SimpleDocumentStore } from "../docstore/index.js";
import { MemoryFileSystem } from "../fs/index.js";
import { createIndexDict, SimpleIndexStore } from "../indexstore/index.js";
import { ImageNode, NodeRelationship, TextNode } from "../schema/index.js";
import { SimpleVectorStore } from "../vector/index.js";
import { StorageContext } from "./index.js";

const src = (doc: string) => ({ [NodeRelationship.SOURCE]: { nodeId: doc } });

/** What VectorStoreIndex leaves with default options: text in the vector store, hash-only docstore entries. */
async function defaultIndexContext() {
  const docStore = new SimpleDocumentStore();
  const indexStore = new SimpleIndexStore();
  const vs = new SimpleVectorStore();
  const chunks = [
    new TextNode({ id: "c1", text: "first chunk", relationships: src("doc-a"), embedding: [1, 0, 0] }),
    new TextNode({ id: "c2", text: "second chunk", metadata: { deep: { k: [1, "ü"] } }, relationships: src("doc-a"), embedding: [0, 1, 0] }),
  ];
  const image = new ImageNode({ id: "img", text: "a lake", relationships: src("doc-b"), embedding: [0, 0, 1] });
  await vs.add([...chunks, image]);
  const bare = (n: TextNode | ImageNode) => Object.assign(n.clone(), { embedding: null });
  await docStore.addDocuments(chunks.map(bare), { storeText: false });
  await docStore.addDocuments([bare(image)]); // image nodes keep their data in the docstore
  const struct = createIndexDict({ indexId: "idx", nodesDict: { img: "img" } });
  await indexStore.addIndexStruct(struct);
  // A row added to the vector store directly belongs to no index.
  await vs.add([new TextNode({ id: "orphan", text: "no index", embedding: [1, 1, 0] })]);
  const ctx = await StorageContext.fromDefaults({ docStore, indexStore, vectorStore: vs });
  return { ctx, docStore, indexStore };
}

async function readJson(fs: MemoryFileSystem, path: string): Promise<Record<string, Record<string, unknown>>> {
  return JSON.parse(new TextDecoder().decode(await fs.read(path)));
}

describe("LlamaIndex export: what Python's retriever needs", () => {
  it("puts every indexed vector row's node in docstore.json and nodes_dict; leaves the live stores and unindexed rows alone", async () => {
    const { ctx, docStore, indexStore } = await defaultIndexContext();
    const fs = new MemoryFileSystem();
    await ctx.persist("out", { fs, format: "llamaindex" });
    const ds = await readJson(fs, "out/docstore.json");
    expect(Object.keys(ds["docstore/data"]!).sort()).toEqual(["c1", "c2", "img"]);
    const c2 = ds["docstore/data"]!["c2"] as { __data__: { text: string; embedding: unknown; metadata: unknown } };
    expect(c2.__data__.text).toBe("second chunk");
    expect(c2.__data__.embedding).toBeNull();
    expect(c2.__data__.metadata).toEqual({ deep: { k: [1, "ü"] } });
    const idx = await readJson(fs, "out/index_store.json");
    const entry = idx["index_store/data"]!["idx"] as { __type__: string; __data__: string };
    expect(entry.__type__).toBe("vector_store");
    expect(JSON.parse(entry.__data__).nodes_dict).toEqual({ img: "img", c1: "c1", c2: "c2" });
    // The live index is unchanged: still hash-only entries and the original nodes_dict.
    expect(await docStore.getNodes(["c1", "c2"])).toEqual([]);
    expect(await docStore.getDocumentHash("c1")).toBeTypeOf("string");
    expect((await indexStore.getIndexStruct("idx"))!.data["nodes_dict"]).toEqual({ img: "img" });
  });

  it("a context whose rows are all mapped (what Python writes) is written from the stores as they are", async () => {
    const { ctx } = await defaultIndexContext();
    const fs = new MemoryFileSystem();
    await ctx.persist("a", { fs, format: "llamaindex" });
    const again = await StorageContext.fromPersistDir("a", { fs });
    await again.persist("b", { fs, format: "llamaindex" });
    // The files the export writes (the vector file is the vector store's own round trip).
    for (const f of ["docstore.json", "index_store.json"]) {
      expect(new TextDecoder().decode(await fs.read(`b/${f}`)), f).toBe(new TextDecoder().decode(await fs.read(`a/${f}`)));
    }
  });
});
