/**
 * Values Python wrote come back exactly: docstore and index store entries nobody changed are
 * written back byte for byte (LlamaIndex format and Larder format), numbers at the edges and
 * integer-like keys included; hashes of nodes read back equal Python's. The fixtures are files
 * Python LlamaIndex 0.14 wrote (hashes printed by it); tooling/python-interop checks the same
 * against real Python.
 */
import { describe, expect, it } from "vitest";
import { MemoryFileSystem } from "../fs/index.js";
import { parseJsonKeepingSource, TextNode } from "../schema/index.js";
import { SimpleVectorStore } from "../vector/index.js";
import type { SimpleKVStore } from "../kv/simple-kv-store.js";
import type { JsonObject } from "../kv/types.js";
import { StorageContext } from "./index.js";
import { pyJsonFromJsonText } from "./json-stream.js";

/** `docstore.json` as Python LlamaIndex 0.14.25 persisted it (see the test names for the values). */
export const PY_DOCSTORE = String.raw`{"docstore/ref_doc_info": {"d1": {"node_ids": ["n2"], "metadata": {"k": 1.5}}}, "docstore/data": {"n1": {"__data__": {"id_": "n1", "embedding": null, "metadata": {"b": 1, "10": 2, "2": 3, "big": 9007199254740993, "h": 18446744073709551616, "z": -0.0, "o": 1.0, "l": [1.0, -2.0], "m": 1e+308, "t": 5e-324, "neg": -1180591620717411303424, "u": "caf\u00e9 \ud83d\ude00"}, "excluded_embed_metadata_keys": [], "excluded_llm_metadata_keys": [], "relationships": {}, "metadata_template": "{key}: {value}", "metadata_separator": "\n", "text": "hello \ud800 world", "mimetype": "text/plain", "start_char_idx": null, "end_char_idx": null, "text_template": "{metadata_str}\n\n{content}", "class_name": "TextNode"}, "__type__": "1"}, "d1": {"__data__": {"id_": "d1", "embedding": null, "metadata": {"10": 1.0, "a": -0.0}, "excluded_embed_metadata_keys": [], "excluded_llm_metadata_keys": [], "relationships": {}, "metadata_template": "{key}: {value}", "metadata_separator": "\n", "text_resource": {"embeddings": null, "text": "doc text", "path": null, "url": null, "mimetype": null}, "image_resource": null, "audio_resource": null, "video_resource": null, "text_template": "{metadata_str}\n\n{content}", "class_name": "Document", "text": "doc text"}, "__type__": "4"}, "n2": {"__data__": {"id_": "n2", "embedding": null, "metadata": {"k": 1.5}, "excluded_embed_metadata_keys": [], "excluded_llm_metadata_keys": [], "relationships": {"1": {"node_id": "d1", "node_type": null, "metadata": {"9": 2.0}, "hash": null, "class_name": "RelatedNodeInfo"}}, "metadata_template": "{key}: {value}", "metadata_separator": "\n", "text": "x", "mimetype": "text/plain", "start_char_idx": null, "end_char_idx": null, "text_template": "{metadata_str}\n\n{content}", "class_name": "TextNode"}, "__type__": "1"}}, "docstore/metadata": {"n1": {"doc_hash": "a5910b3b6b82a7cf7e0a5cf2b1240a76f5a094051028804c519072c23c678b7b"}, "d1": {"doc_hash": "3f128b6f80bddb10de620c6510a79dbed0f25d9383e8888fa95d7e7a1f53e32c"}, "n2": {"doc_hash": "9555e8d50032782cee29ad7248bf681126041525d6ef79c8337a2d3d52f8641a", "ref_doc_id": "d1"}}}`;
/** An `index_store.json` in Python's form, with an extra float member and integer-like keys. */
export const PY_INDEX_STORE = String.raw`{"index_store/data": {"idx": {"__type__": "vector_store", "__data__": "{\"index_id\": \"idx\", \"summary\": null, \"nodes_dict\": {\"n1\": \"n1\", \"10\": \"10\", \"2\": \"2\"}, \"doc_id_dict\": {}, \"embeddings_dict\": {}}", "extra": 1.0}}}`;
/** `TextNode.hash` / `Document.hash` Python printed for n1, d1, n2. */
export const PY_HASHES = {
  n1: "a5910b3b6b82a7cf7e0a5cf2b1240a76f5a094051028804c519072c23c678b7b",
  d1: "3f128b6f80bddb10de620c6510a79dbed0f25d9383e8888fa95d7e7a1f53e32c",
  n2: "9555e8d50032782cee29ad7248bf681126041525d6ef79c8337a2d3d52f8641a",
};

/** `default__vector_store.json` as Python LlamaIndex 0.14.25 persisted it (VectorStoreIndex of one node). */
export const PY_VECTOR_STORE = String.raw`{"embedding_dict": {"n1": [0.1, -2.0]}, "text_id_to_ref_doc_id": {"n1": "None"}, "metadata_dict": {"n1": {"b": 1, "10": 2, "2": 3, "big": 9007199254740993, "z": -0.0, "o": 1.0, "_node_type": "TextNode", "document_id": "None", "doc_id": "None", "ref_doc_id": "None"}}}`;

async function pythonFolder(): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem();
  await fs.write("py/docstore.json", new TextEncoder().encode(PY_DOCSTORE));
  await fs.write("py/index_store.json", new TextEncoder().encode(PY_INDEX_STORE));
  return fs;
}

const text = async (fs: MemoryFileSystem, path: string) => new TextDecoder().decode(await fs.read(path));

describe("exact values (Python-written folders)", () => {
  it("LlamaIndex format -> LlamaIndex format: unchanged docstore and index store bytes (2^53+1, 2^64, -2^70, -0.0, 1.0, [1.0, -2.0], 1e308, 5e-324, keys b/10/2)", async () => {
    const fs = await pythonFolder();
    const ctx = await StorageContext.fromPersistDir("py", { fs });
    await ctx.persist("out", { fs, format: "llamaindex" });
    expect(await text(fs, "out/docstore.json")).toBe(PY_DOCSTORE);
    expect(await text(fs, "out/index_store.json")).toBe(PY_INDEX_STORE);
  });

  it("LlamaIndex format -> Larder format -> LlamaIndex format: the same bytes", async () => {
    const fs = await pythonFolder();
    const ctx = await StorageContext.fromPersistDir("py", { fs });
    await ctx.persist("larder", { fs });
    // The Larder files hold Python's value text as it was.
    const files = await fs.list("larder/");
    const docFile = files.find((f) => f.includes("docstore"));
    expect(docFile).toBeDefined();
    const larderText = await text(fs, docFile!);
    for (const v of ['"z": -0.0', '"big": 9007199254740993', '"h": 18446744073709551616', '"o": 1.0', '"l": [1.0, -2.0]', '"m": 1e+308', '"t": 5e-324', '{"b": 1, "10": 2, "2": 3,']) {
      expect(larderText).toContain(v);
    }
    const again = await StorageContext.fromPersistDir("larder", { fs });
    await again.persist("out", { fs, format: "llamaindex" });
    expect(await text(fs, "out/docstore.json")).toBe(PY_DOCSTORE);
    expect(await text(fs, "out/index_store.json")).toBe(PY_INDEX_STORE);
    // And a Larder -> Larder persist keeps them too.
    await again.persist("larder2", { fs });
    const third = await StorageContext.fromPersistDir("larder2", { fs });
    await third.persist("out2", { fs, format: "llamaindex" });
    expect(await text(fs, "out2/docstore.json")).toBe(PY_DOCSTORE);
  });

  it("an entry changed in JavaScript is written from its JS value; the others keep their bytes", async () => {
    const fs = await pythonFolder();
    const ctx = await StorageContext.fromPersistDir("py", { fs });
    const n2 = await ctx.docStore.getDocument("n2");
    n2!.metadata["k"] = 2.5;
    await ctx.docStore.addDocuments([n2!]);
    await ctx.persist("out", { fs, format: "llamaindex" });
    const out = await text(fs, "out/docstore.json");
    const n1Entry = /"n1": \{"__data__": .*?"__type__": "1"\}/.exec(PY_DOCSTORE)![0];
    expect(out).toContain(n1Entry);
    expect(out).toContain('"metadata": {"k": 2.5}');
    expect(out).not.toContain('"metadata": {"k": 1.5}, "excluded');
  });

  it("a node read and added again unchanged keeps its metadata exact (hash, LlamaIndex and Larder files)", async () => {
    const fs = await pythonFolder();
    const ctx = await StorageContext.fromPersistDir("py", { fs });
    const again0 = await ctx.docStore.getNodes(["n1", "d1", "n2"]);
    await ctx.docStore.addDocuments(again0);
    expect((await ctx.docStore.getDocument("n1"))!.hash).toBe(PY_HASHES.n1);
    await ctx.persist("out", { fs, format: "llamaindex" });
    expect(await text(fs, "out/docstore.json")).toBe(PY_DOCSTORE);
    await ctx.persist("larder", { fs });
    const again = await StorageContext.fromPersistDir("larder", { fs });
    expect((await again.docStore.getDocument("n1"))!.hash).toBe(PY_HASHES.n1);
    await again.persist("out2", { fs, format: "llamaindex" });
    expect(await text(fs, "out2/docstore.json")).toBe(PY_DOCSTORE);
  });

  it("vector store file: unchanged metadata_dict entries are written back as Python wrote them", async () => {
    const fs = await pythonFolder();
    await fs.write("py/default__vector_store.json", new TextEncoder().encode(PY_VECTOR_STORE));
    const ctx = await StorageContext.fromPersistDir("py", { fs });
    await ctx.persist("out", { fs, format: "llamaindex" });
    const out = await text(fs, "out/default__vector_store.json");
    const metadataPart = PY_VECTOR_STORE.slice(PY_VECTOR_STORE.indexOf('"text_id_to_ref_doc_id"'));
    expect(out.slice(out.indexOf('"text_id_to_ref_doc_id"'))).toBe(metadataPart);
    // Embeddings read from the file are written back exactly (the store scores their float32 values).
    expect(out).toBe(PY_VECTOR_STORE);
    // Through the Larder format and back: the same metadata_dict text.
    await ctx.persist("larder", { fs });
    const rowsFile = (await fs.list("larder/")).find((f) => f.endsWith(".rows.jsonl"));
    expect(await text(fs, rowsFile!)).toContain('"metadata":{"b":1,"10":2,"2":3,"big":9007199254740993,"z":-0.0,"o":1.0}');
    const again = await StorageContext.fromPersistDir("larder", { fs });
    await again.persist("out3", { fs, format: "llamaindex" });
    const out3 = await text(fs, "out3/default__vector_store.json");
    expect(out3.slice(out3.indexOf('"text_id_to_ref_doc_id"'))).toBe(metadataPart);
    // An edited node's entry is written from its JS values.
    const vs = ctx.vectorStores["default"]!;
    const [node] = await vs.getNodes({ ids: ["n1"] });
    node!.metadata["o"] = 2;
    await vs.add([node!]);
    await ctx.persist("out2", { fs, format: "llamaindex" });
    expect(await text(fs, "out2/default__vector_store.json")).toContain('"metadata_dict": {"n1": {"2": 3, "10": 2, "b": 1, "big": 9007199254740992, "z": -0.0, "o": 2, "_node_type": "TextNode"');
  });

  it("an edit elsewhere in a node (not its metadata) keeps the metadata exact; a value set back after the edit was seen stays a JS value", async () => {
    const fs = await pythonFolder();
    const ctx = await StorageContext.fromPersistDir("py", { fs });
    const n1 = (await ctx.docStore.getDocument("n1"))!;
    n1.text = "changed";
    await ctx.docStore.addDocuments([n1]);
    await ctx.persist("out", { fs, format: "llamaindex" });
    const out = await text(fs, "out/docstore.json");
    expect(out).toContain('"text": "changed"');
    expect(out).toContain('"metadata": {"b": 1, "10": 2, "2": 3, "big": 9007199254740993, "h": 18446744073709551616, "z": -0.0, "o": 1.0,');
    const n2 = (await ctx.docStore.getDocument("n1"))!;
    n2.metadata["o"] = 5;
    expect(n2.exactMetadata()).toBeUndefined(); // the edit is seen: the JS values are the truth now
    n2.metadata["o"] = 1;
    await ctx.docStore.addDocuments([n2]);
    expect((await ctx.docStore.getDocument("n1"))!.hash).toBe(n2.hash);
    await ctx.persist("out2", { fs, format: "llamaindex" });
    expect(await text(fs, "out2/docstore.json")).toContain('"o": 1, ');
  });

  it("values copied from store to store unchanged keep their text (as larder migrate copies a docstore)", async () => {
    const fs = await pythonFolder();
    const ctx = await StorageContext.fromPersistDir("py", { fs });
    const target = await StorageContext.fromDefaults();
    const from = (ctx.docStore as unknown as { kvStore: SimpleKVStore }).kvStore;
    const to = (target.docStore as unknown as { kvStore: SimpleKVStore }).kvStore;
    for (const c of await from.collections()) {
      const entries: [string, JsonObject][] = [];
      for await (const e of from.scan(c)) entries.push([e[0], e[1]]);
      await to.putAll(entries, c);
    }
    const edited = (await from.get("n2", "docstore/data"))!;
    (edited["__data__"] as Record<string, unknown>)["text"] = "y";
    await to.put("n2", edited, "docstore/data");
    await target.persist("out", { fs, format: "llamaindex" });
    const out = await text(fs, "out/docstore.json");
    expect(out).toContain(/"n1": \{"__data__": .*?"__type__": "1"\}/.exec(PY_DOCSTORE)![0]);
    expect(out).toContain('"text": "y"');
    // Text over several lines is never kept (the Larder format stores one value per line).
    await to.put("multi", parseJsonKeepingSource('{\n"a": 1.0\n}') as JsonObject, "docstore/data");
    await target.persist("larder", { fs });
    const reloaded = await StorageContext.fromPersistDir("larder", { fs });
    expect(await (reloaded.docStore as unknown as { kvStore: SimpleKVStore }).kvStore.get("multi", "docstore/data")).toEqual({ a: 1 });
  });

  it("reads a Python docstore whose values are indented (kept as parsed values)", async () => {
    const fs = new MemoryFileSystem();
    const pretty = JSON.stringify(JSON.parse(PY_DOCSTORE), null, 2);
    await fs.write("py/docstore.json", new TextEncoder().encode(pretty));
    await fs.write("py/index_store.json", new TextEncoder().encode(PY_INDEX_STORE));
    const ctx = await StorageContext.fromPersistDir("py", { fs });
    expect((await ctx.docStore.getDocument("n2"))?.metadata).toEqual({ k: 1.5 });
    await ctx.persist("larder", { fs });
    const again = await StorageContext.fromPersistDir("larder", { fs });
    expect((await again.docStore.getDocument("n1"))?.text).toBe("hello \ud800 world");
  });

  it("damaged entry values are CORRUPT naming the file", async () => {
    const fs = new MemoryFileSystem();
    await fs.write("py/docstore.json", new TextEncoder().encode('{"docstore/data": {"a": [1]}}'));
    await fs.write("py/index_store.json", new TextEncoder().encode(PY_INDEX_STORE));
    await expect(StorageContext.fromPersistDir("py", { fs })).rejects.toMatchObject({ code: "CORRUPT", message: expect.stringContaining("py/docstore.json") });
    await fs.write("py/docstore.json", new TextEncoder().encode('{"docstore/data": {"a": {"x": 1}, }}'));
    await expect(StorageContext.fromPersistDir("py", { fs })).rejects.toMatchObject({ code: "CORRUPT" });
  });
});

describe("exact values (JavaScript-made nodes, Larder format)", () => {
  it("-0.0 and integer-like keys survive docstore and vector store round trips, and so does the hash", async () => {
    const fs = new MemoryFileSystem();
    const metadata = { b: "x", "10": 1, "2": [-0, 1.5], z: -0, big: 2 ** 53 - 1 };
    const node = new TextNode({ id: "a", text: "t", metadata, embedding: [0.5, -0.25] });
    const hash = node.hash;
    expect(hash).toBe(new TextNode({ text: "t", metadata: { ...metadata } }).hash);
    const vectors = new SimpleVectorStore();
    await vectors.add([node]);
    const ctx = await StorageContext.fromDefaults({ vectorStore: vectors });
    await ctx.docStore.addDocuments([node]);
    await ctx.persist("larder", { fs });
    const again = await StorageContext.fromPersistDir("larder", { fs });
    const back = (await again.docStore.getDocument("a"))!;
    expect(Object.is(back.metadata["z"], -0)).toBe(true);
    expect(Object.is((back.metadata["2"] as number[])[0], -0)).toBe(true);
    expect(back.hash).toBe(hash);
    const [fromVectors] = await again.vectorStores["default"]!.getNodes({ ids: ["a"] });
    expect(Object.is(fromVectors!.metadata["z"], -0)).toBe(true);
    expect(fromVectors!.hash).toBe(hash);
    // LlamaIndex format: -0 is the float -0.0 there too.
    await again.persist("li", { fs, format: "llamaindex" });
    expect(await text(fs, "li/docstore.json")).toContain('"metadata": {"2": [-0.0, 1.5], "10": 1, "b": "x", "z": -0.0, "big": 9007199254740991}');
  });
});

describe("pyJsonFromJsonText: numbers as Python reads and writes them", () => {
  it("keeps Python's text byte for byte", () => {
    const t = '{"a": 9007199254740993, "b": 18446744073709551616, "c": -0.0, "d": 1.0, "e": [1.0, -2.0], "f": 1e+308, "g": 5e-324, "embedding": [1, 2.0], "10": 0, "2": -1}';
    expect(pyJsonFromJsonText(t)).toBe(t);
  });
  it("writes JSON.stringify text's numbers as Python would write the values it reads", () => {
    expect(pyJsonFromJsonText('{"a":1E5,"b":-0,"c":1e-7,"d":123456789012345680000,"e":1e21,"embedding":[1,0]}')).toBe(
      '{"a": 100000.0, "b": 0, "c": 1e-07, "d": 123456789012345680000, "e": 1e+21, "embedding": [1.0, 0.0]}',
    );
  });
});

describe("hashes equal Python's", () => {
  it("of nodes read from a Python docstore (exact metadata, lone surrogate in the text)", async () => {
    const fs = await pythonFolder();
    const ctx = await StorageContext.fromPersistDir("py", { fs });
    for (const id of ["n1", "d1", "n2"] as const) {
      expect((await ctx.docStore.getDocument(id))!.hash, id).toBe(PY_HASHES[id]);
    }
  });
  it("of a node whose text has a lone surrogate (Python encodes it with surrogatepass)", () => {
    // Python 0.14: TextNode(text="a\ud800b", metadata={"k": "\udfff"}).hash
    expect(new TextNode({ text: "a\ud800b", metadata: { k: "\udfff" } }).hash).toBe(SURROGATE_HASH);
  });
});

const SURROGATE_HASH = "c57a04c2f4cbb10b5fd59b50445dfe94f4c0f7cc36fe55f1f8702e22548f2e16";
