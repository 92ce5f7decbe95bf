import { describe, expect, it } from "vitest";
import { MemoryFileSystem } from "../fs/index.js";
import { Document, ImageNode, IndexNode, TextNode } from "../schema/node.js";
import { StorageContext } from "../storage/index.js";
import { SimpleVectorStore, type LlamaIndexVectorStoreDict } from "./index.js";

const entry = (type: string, ref: string) => ({ source: "x", _node_type: type, document_id: ref, doc_id: ref, ref_doc_id: ref });

const dict: LlamaIndexVectorStoreDict = {
  embedding_dict: { img: [1, 0], idx: [0, 1], doc: [1, 1], txt: [0.5, 0.5], imgdoc: [0.25, 1], odd: [1, 0.25] },
  text_id_to_ref_doc_id: { img: "d1", idx: "d1", doc: "d2", txt: "d2", imgdoc: "d3", odd: "d3" },
  metadata_dict: {
    img: entry("ImageNode", "d1"),
    idx: entry("IndexNode", "d1"),
    doc: entry("Document", "d2"),
    txt: entry("TextNode", "d2"),
    imgdoc: entry("ImageDocument", "d3"),
    odd: entry("SomethingElse", "d3"),
  },
};

const types = (d: LlamaIndexVectorStoreDict) => Object.fromEntries(Object.entries(d.metadata_dict ?? {}).map(([id, m]) => [id, m["_node_type"]]));

describe("SimpleVectorStore.fromDict keeps each row's node class (_node_type)", () => {
  it("loads rows as the class their _node_type names and writes it back", async () => {
    const store = SimpleVectorStore.fromDict(dict);
    const byId = new Map((await store.getNodes()).map((n) => [n.id, n]));
    expect(byId.get("img")).toBeInstanceOf(ImageNode);
    expect(byId.get("idx")).toBeInstanceOf(IndexNode);
    expect(byId.get("doc")).toBeInstanceOf(Document);
    expect(byId.get("txt")).toBeInstanceOf(TextNode);
    expect(byId.get("odd")?.className).toBe("TextNode");
    expect(byId.get("img")?.metadata).toEqual({ source: "x" });
    expect(byId.get("img")?.refDocId).toBe("d1");
    expect(types(store.toDict())).toEqual({
      img: "ImageNode",
      idx: "IndexNode",
      doc: "Document",
      txt: "TextNode",
      imgdoc: "ImageNode", // Python's ImageDocument has no class of its own here
      odd: "TextNode", // a class this library does not have
    });
  });

  it("keeps it through the Larder format and back to LlamaIndex's file", async () => {
    const fs = new MemoryFileSystem();
    const ctx = await StorageContext.fromDefaults({ vectorStores: { image: SimpleVectorStore.fromDict(dict) } });
    await ctx.persist("larder", { fs });
    const back = await StorageContext.fromPersistDir("larder", { fs });
    const store = back.vectorStores["image"] as SimpleVectorStore;
    expect(types(store.toDict())).toMatchObject({ img: "ImageNode", idx: "IndexNode", doc: "Document", txt: "TextNode" });
    await back.persist("li", { fs, format: "llamaindex" });
    const file = JSON.parse(new TextDecoder().decode(await fs.read("li/image__vector_store.json"))) as LlamaIndexVectorStoreDict;
    expect(types(file)).toMatchObject({ img: "ImageNode", idx: "IndexNode", doc: "Document", txt: "TextNode" });
  });
});
