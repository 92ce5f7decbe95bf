// Exact values between Python llama-index-core and Larder: a folder Python wrote, with numbers at the
// edges (2^53+1, 2^64, -0.0, 1.0, [1.0, -2.0], 1e308, 5e-324), integer-like keys and lone
// surrogates, is rewritten by Larder in both formats without changing a byte of docstore.json or
// index_store.json or the metadata of the vector store file; Larder's hashes equal Python's, and
// Python finds no hash mismatch in what Larder wrote (also after an edit in Larder).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { StorageContext } from "@larder/core";
import { beforeAll, expect, it } from "vitest";
import { describePython, runPython, tempDir } from "./harness.js";

interface Built {
  hashes: Record<string, string | null>;
  types: Record<string, string>;
}

const BUILD = `
from llama_index.core import StorageContext, VectorStoreIndex
from llama_index.core.schema import TextNode, Document, ImageNode
md = {"b": 1, "10": 2, "2": 3, "big": 2**53 + 1, "h": 2**64, "z": -0.0, "o": 1.0, "l": [1.0, -2.0], "m": 1e308, "t": 5e-324, "s": "x\\ud800"}
nodes = [
    TextNode(id_="t1", text="hello \\ud800 world", metadata=md),
    TextNode(id_="t2", text="plain", metadata={"page": 3, "score": 0.5}),
    Document(id_="d1", text="doc text", metadata={"10": 1.0, "a": -0.0}),
    Document(id_="d2", text="", metadata={"k": 2.0}),
    ImageNode(id_="i1", text="caption", image="aGVsbG8=", metadata={"w": 1.0}),
]
vec = TextNode(id_="v1", text="vec", metadata={"b": 1, "10": 2, "2": 3, "big": 2**53 + 1, "z": -0.0, "o": 1.0}, embedding=[0.1, -2.0, 0.3])
ctx = StorageContext.from_defaults()
ctx.docstore.add_documents(nodes)
index = VectorStoreIndex([vec], storage_context=ctx)
index.set_index_id("vec")
ctx.persist(persist_dir=ARGS["dir"])
hashes = {}
for n in nodes + [vec]:
    try:
        hashes[n.id_] = n.hash
    except UnicodeEncodeError:
        hashes[n.id_] = None
emit({"hashes": hashes, "types": {n.id_: type(n).__name__ for n in nodes + [vec]}})
`;

const CHECK = `
from llama_index.core import StorageContext
ctx = StorageContext.from_defaults(persist_dir=ARGS["dir"])
hashes = {}
for node_id, node in ctx.docstore.docs.items():
    try:
        hashes[node_id] = node.hash
    except UnicodeEncodeError:
        hashes[node_id] = None
emit({"mismatches": hash_mismatches(ARGS["dir"])["mismatches"], "hashes": hashes})
`;

const FILES = ["docstore.json", "index_store.json"];
const read = (dir: string, f: string) => readFile(join(dir, f), "utf8");
/** The vector store file from `text_id_to_ref_doc_id` on (embeddings come back as float32). */
const vectorMetadata = async (dir: string) => {
  const t = await read(dir, "default__vector_store.json");
  return t.slice(t.indexOf('"text_id_to_ref_doc_id"'));
};

describePython("exact values", (py) => {
  let dir: string;
  let built: Built;
  beforeAll(async () => {
    dir = await tempDir();
    built = await runPython<Built>(py, BUILD, { dir });
  });

  /** Node ids whose hash Larder reproduces for this version (0.10 hashes Documents and ImageNodes with the TextNode formula). */
  const comparable = () =>
    Object.keys(built.hashes).filter((id) => built.hashes[id] !== null && !(py.parts[1] === 10 && (built.types[id] === "Document" || built.types[id] === "ImageNode")));

  it("Larder's hashes of the nodes it reads equal Python's", async () => {
    const ctx = await StorageContext.fromPersistDir(dir);
    const ids = comparable();
    expect(ids).toContain("t1");
    for (const id of ids) expect((await ctx.docStore.getDocument(id))!.hash, id).toBe(built.hashes[id]);
  });

  it("rewrites keep docstore.json, index_store.json and vector metadata byte for byte (LlamaIndex format, and through the Larder format)", async () => {
    const ctx = await StorageContext.fromPersistDir(dir);
    const out = await tempDir();
    await ctx.persist(out, { format: "llamaindex" });
    const larder = await tempDir();
    await ctx.persist(larder);
    const back = await tempDir();
    await (await StorageContext.fromPersistDir(larder)).persist(back, { format: "llamaindex" });
    for (const target of [out, back]) {
      for (const f of FILES) expect(await read(target, f), f).toBe(await read(dir, f));
      expect(await vectorMetadata(target)).toBe(await vectorMetadata(dir));
    }
    const check = await runPython<{ mismatches: Record<string, unknown>; hashes: Record<string, string | null> }>(py, CHECK, { dir: back });
    expect(check.mismatches).toEqual({});
    for (const id of Object.keys(built.hashes)) expect(check.hashes[id], id).toBe(built.hashes[id]);
  });

  it("after an edit in Larder, Python recomputes the hash Larder stored", async () => {
    const ctx = await StorageContext.fromPersistDir(dir);
    const t1 = (await ctx.docStore.getDocument("t1"))!;
    t1.metadata["page"] = 7;
    const t2 = (await ctx.docStore.getDocument("t2"))!;
    t2.metadata["z"] = -0;
    // JS numbers at the edges and an integer-like key: Python reads what Larder wrote and gets Larder's hash.
    Object.assign(t2.metadata, { e16: 1e16, e21: 1e21, p60: 2 ** 60, tiny: 1e-7, "10": [0.5, -0, 3] });
    await ctx.docStore.addDocuments([t1, t2]);
    await ctx.docStore.setDocumentHash("t1", t1.hash);
    await ctx.docStore.setDocumentHash("t2", t2.hash);
    const larder = await tempDir();
    await ctx.persist(larder);
    const out = await tempDir();
    await (await StorageContext.fromPersistDir(larder)).persist(out, { format: "llamaindex" });
    const check = await runPython<{ mismatches: Record<string, unknown>; hashes: Record<string, string | null> }>(py, CHECK, { dir: out });
    expect(check.mismatches).toEqual({});
    expect(check.hashes["t1"]).toBe(t1.hash);
    expect(check.hashes["t2"]).toBe(t2.hash);
  });
});
