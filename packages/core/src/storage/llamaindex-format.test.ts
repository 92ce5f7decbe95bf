import { execFileSync } from "node:child_process";
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { SimpleDocumentStore } from "../docstore/index.js";
import { isStorageError } from "../errors.js";
import { LocalFileSystem, MemoryFileSystem } from "../fs/index.js";
import { SimpleIndexStore } from "../indexstore/index.js";
import { Document, NodeRelationship, TextNode } from "../schema/index.js";
import { SimpleVectorStore } from "../vector/index.js";
import { parseJsonBytes, pyFloat, pyJson } from "./json-stream.js";
import { SimpleGraphStore, StorageContext } from "./index.js";

const FIXTURES = fileURLToPath(new URL("../../test/fixtures/llamaindex/", import.meta.url));
const tmp: string[] = [];
afterEach(async () => {
  for (const d of tmp.splice(0)) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "larder-li-"));
  tmp.push(d);
  return d;
}

function hasPython(): boolean {
  try {
    execFileSync("python3", ["-c", "import json"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const PYTHON = hasPython();

/** Shape of a JSON value: keys and nesting, with leaves replaced by their type. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.length ? [shape(v[0])] : [];
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]));
  return v === null ? "null" : typeof v;
}

/** The reference's example: Document doc-1 split into node-1, as VectorStoreIndex.from_documents leaves it. */
async function referenceExampleContext(): Promise<StorageContext> {
  const doc = new Document({ id: "doc-1", text: "Hello world. 🦙", metadata: { file_name: "a.txt", title: "Café 漢字" } });
  const node = new TextNode({
    id: "node-1",
    text: "Hello world. 🦙",
    metadata: { file_name: "a.txt", title: "Café 漢字" },
    relationships: { [NodeRelationship.SOURCE]: { nodeId: "doc-1", nodeType: "4", metadata: { file_name: "a.txt" }, hash: doc.hash } },
    startCharIdx: 0,
    endCharIdx: 12,
  });
  const docStore = new SimpleDocumentStore();
  await docStore.setDocumentHash("doc-1", doc.hash);
  await docStore.addDocuments([node]);
  const indexStore = new SimpleIndexStore();
  await indexStore.addIndexStruct({
    indexId: "6f0c2a4e-1b7d-4c8e-9f3a-2d5b6c7e8f90",
    type: "vector_store",
    summary: null,
    data: { nodes_dict: { "node-1": "node-1" }, doc_id_dict: {}, embeddings_dict: {} },
  });
  const vs = new SimpleVectorStore();
  const withEmb = node.clone();
  withEmb.embedding = [0.0123, -0.0456, 0.0789];
  await vs.add([withEmb]);
  const orphan = new TextNode({ id: "orphan", text: "no source", embedding: [1, 0, 0] });
  const image = new SimpleVectorStore();
  const graphStore = new SimpleGraphStore();
  await graphStore.upsertTriplet("Alice", "WORKS_AT", "Acme");
  await graphStore.upsertTriplet("Acme", "LOCATED_IN", "Paris");
  const ctx = await StorageContext.fromDefaults({ docStore, indexStore, vectorStores: { default: vs, image }, graphStore });
  await vs.add([orphan]);
  return ctx;
}

describe("LlamaIndex format: writing", () => {
  it("writes the reference's files with exactly its keys and nesting", async () => {
    const dir = await tempDir();
    const ctx = await referenceExampleContext();
    const r = await ctx.persist(dir, { format: "llamaindex" });
    expect(r.written.sort()).toEqual(["default__vector_store.json", "docstore.json", "graph_store.json", "image__vector_store.json", "index_store.json"]);
    for (const file of ["docstore.json", "index_store.json", "image__vector_store.json", "graph_store.json"]) {
      const ours = JSON.parse(await readFile(join(dir, file), "utf8"));
      const ref = JSON.parse(await readFile(join(FIXTURES, "py-0.12", file), "utf8"));
      expect(shape(ours), file).toEqual(shape(ref));
    }
    const vec = JSON.parse(await readFile(join(dir, "default__vector_store.json"), "utf8"));
    const refVec = JSON.parse(await readFile(join(FIXTURES, "py-0.12", "default__vector_store.json"), "utf8"));
    expect(Object.keys(vec)).toEqual(["embedding_dict", "text_id_to_ref_doc_id", "metadata_dict"]);
    expect(shape(vec.metadata_dict["node-1"])).toEqual(shape(refVec.metadata_dict["node-1"]));
    // Python writes the string "None" for a node without a source document.
    expect(vec.text_id_to_ref_doc_id).toEqual({ "node-1": "doc-1", orphan: "None" });
    expect(vec.metadata_dict.orphan).toMatchObject({ doc_id: "None", ref_doc_id: "None", document_id: "None" });
  });

  it("writes text the way Python's json.dumps does (separators, ensure_ascii, float repr, double-encoded structs)", async () => {
    const dir = await tempDir();
    await (await referenceExampleContext()).persist(dir, { format: "llamaindex" });
    const doc = await readFile(join(dir, "docstore.json"), "utf8");
    expect(doc).toMatch(/^\{"docstore\/[a-z_]+": \{/);
    expect(doc).toContain('"title": "Caf\\u00e9 \\u6f22\\u5b57"');
    expect(doc).toContain("Hello world. \\ud83e\\udd99");
    expect(/[^\x00-\x7f]/.test(doc)).toBe(false);
    const idx = JSON.parse(await readFile(join(dir, "index_store.json"), "utf8"));
    const struct = idx["index_store/data"]["6f0c2a4e-1b7d-4c8e-9f3a-2d5b6c7e8f90"];
    expect(Object.keys(struct)).toEqual(["__type__", "__data__"]);
    expect(typeof struct.__data__).toBe("string");
    expect(JSON.parse(struct.__data__)).toEqual({
      index_id: "6f0c2a4e-1b7d-4c8e-9f3a-2d5b6c7e8f90",
      summary: null,
      nodes_dict: { "node-1": "node-1" },
      doc_id_dict: {},
      embeddings_dict: {},
    });
    const vec = await readFile(join(dir, "default__vector_store.json"), "utf8");
    expect(vec).toContain('"orphan": [1.0, 0.0, 0.0]');
  });

  it.skipIf(!PYTHON)("is byte-for-byte what Python's json.dumps writes for the same data", async () => {
    const dir = await tempDir();
    await (await referenceExampleContext()).persist(dir, { format: "llamaindex" });
    for (const file of ["docstore.json", "index_store.json", "default__vector_store.json", "image__vector_store.json", "graph_store.json"]) {
      const same = execFileSync("python3", ["-c", "import json,sys; t=open(sys.argv[1]).read(); print(json.dumps(json.loads(t)) == t)", join(dir, file)], {
        encoding: "utf8",
      });
      expect(same.trim(), file).toBe("True");
    }
    // The double-encoded index struct is dataclasses-json's to_json(), i.e. json.dumps too.
    const inner = execFileSync(
      "python3",
      ["-c", "import json,sys; d=json.load(open(sys.argv[1])); print(all(v['__data__'] == json.dumps(json.loads(v['__data__'])) for v in d['index_store/data'].values()))", join(dir, "index_store.json")],
      { encoding: "utf8" },
    );
    expect(inner.trim()).toBe("True");
  });

  it("refuses to write LlamaIndex files over a Larder-format directory (it would keep loading the Larder one)", async () => {
    const fs = new MemoryFileSystem();
    const ctx = await referenceExampleContext();
    await ctx.persist("s", { fs });
    await expect(ctx.persist("s", { fs, format: "llamaindex" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});

describe("LlamaIndex format: loading Python-written directories", () => {
  it("loads the reference's example files (0.12)", async () => {
    const dir = await tempDir();
    await cp(join(FIXTURES, "py-0.12"), dir, { recursive: true });
    const ctx = await StorageContext.fromPersistDir(dir);
    const node = await ctx.docStore.getDocument("node-1");
    expect(node?.text).toBe("Hello world. 🦙");
    expect(node?.metadata).toEqual({ file_name: "a.txt", title: "Café 漢字" });
    expect(node?.refDocId).toBe("doc-1");
    expect(await ctx.docStore.getRefDocInfo("doc-1")).toEqual({ nodeIds: ["node-1"], metadata: { file_name: "a.txt" } });
    const struct = await ctx.indexStore.getIndexStruct();
    expect(struct).toMatchObject({ indexId: "6f0c2a4e-1b7d-4c8e-9f3a-2d5b6c7e8f90", type: "vector_store" });
    expect(struct?.data["nodes_dict"]).toEqual({ "node-1": "node-1" });
    expect(Object.keys(ctx.vectorStores).sort()).toEqual(["default", "image"]);
    const q = await ctx.vectorStore.query({ embedding: [0.0123, -0.0456, 0.0789], topK: 1 });
    expect(q.ids).toEqual(["node-1"]);
    expect(q.similarities[0]).toBeCloseTo(1, 5);
    expect(q.nodes?.[0]?.metadata).toEqual({ file_name: "a.txt", title: "Café 漢字" });
    const triplets = await ctx.propertyGraphStore!.getTriplets({ entityNames: ["Alice"] });
    expect(triplets.map(([s, r, o]) => [s.kind === "entity" ? s.name : s.id, r.label, o.kind === "entity" ? o.name : o.id])).toEqual([["Alice", "WORKS_AT", "Acme"]]);
    expect(ctx.graphStore?.toDict()).toEqual({ graph_dict: { Alice: [["WORKS_AT", "Acme"]], Acme: [["LOCATED_IN", "Paris"]] } });
  });

  it("loads older variants: plain vector_store.json, metadata_seperator, legacy extra_info nodes, object __data__", async () => {
    const dir = await tempDir();
    await cp(join(FIXTURES, "py-0.10-legacy"), dir, { recursive: true });
    const ctx = await StorageContext.fromPersistDir(dir);
    const a = await ctx.docStore.getDocument("node-a");
    expect(a?.metadataSeparator).toBe(" | ");
    expect(a?.refDocId).toBe("doc-a");
    const old = await ctx.docStore.getDocument("node-old");
    expect(old?.text).toBe("Pre-metadata node.");
    expect(old?.metadata).toEqual({ author: "René" });
    expect(old?.refDocId).toBe("doc-old");
    expect((await ctx.indexStore.getIndexStruct("idx-legacy"))?.data["nodes"]).toEqual(["node-a", "node-old"]);
    expect(Object.keys(ctx.vectorStores)).toEqual(["default"]);
    const q = await ctx.vectorStore.query({ embedding: [0, 1], topK: 1 });
    expect(q.ids).toEqual(["node-old"]);
    expect(q.nodes?.[0]?.refDocId).toBeUndefined();
  });

  it("round-trips a Python directory through Larder's writer unchanged in meaning", async () => {
    const dir = await tempDir();
    await cp(join(FIXTURES, "py-0.12"), dir, { recursive: true });
    const ctx = await StorageContext.fromPersistDir(dir);
    const out = await tempDir();
    await ctx.persist(out, { format: "llamaindex" });
    for (const file of ["docstore.json", "index_store.json", "graph_store.json", "image__vector_store.json"]) {
      const a = JSON.parse(await readFile(join(dir, file), "utf8"));
      const b = JSON.parse(await readFile(join(out, file), "utf8"));
      expect(b, file).toEqual(a);
    }
    const va = JSON.parse(await readFile(join(dir, "default__vector_store.json"), "utf8"));
    const vb = JSON.parse(await readFile(join(out, "default__vector_store.json"), "utf8"));
    expect(vb.metadata_dict).toEqual(va.metadata_dict);
    expect(vb.text_id_to_ref_doc_id).toEqual(va.text_id_to_ref_doc_id);
    // Stored as float32: equal to 7 significant digits.
    vb.embedding_dict["node-1"].forEach((x: number, i: number) => expect(x).toBeCloseTo(va.embedding_dict["node-1"][i], 6));
  });

  it("names a damaged Python file in a CORRUPT error", async () => {
    const dir = await tempDir();
    await cp(join(FIXTURES, "py-0.12"), dir, { recursive: true });
    const fs = new LocalFileSystem(dir);
    await fs.write("docstore.json", '{"docstore/data": {"node-1": {"__data__": ');
    const err = await StorageContext.fromPersistDir("", { fs }).catch((e: unknown) => e);
    expect(isStorageError(err, "CORRUPT")).toBe(true);
    expect(String((err as Error).message)).toContain("docstore.json");
  });
});

describe("JSON helpers", () => {
  it("formats floats like Python's repr", () => {
    expect([1, 0, -0, 0.1, 1e-5, 1.5e-7, 1e16, 123456789012345680000, 0.0001, 2.5e-5].map(pyFloat)).toEqual([
      "1.0",
      "0.0",
      "-0.0",
      "0.1",
      "1e-05",
      "1.5e-07",
      "1e+16",
      "1.2345678901234568e+20",
      "0.0001",
      "2.5e-05",
    ]);
    expect(pyJson({ a: [1, "é\u007f"], embedding: [1, 2] })).toBe('{"a": [1, "\\u00e9\\u007f"], "embedding": [1.0, 2.0]}');
  });

  it("parses JSON bigger than one string allows, value by value", () => {
    const text = JSON.stringify({ "docstore/data": { a: { x: [1, { y: "}\"{" }] }, b: "ü" }, other: [1, 2, { z: null }], empty: {} }).replace('"a":', '"__proto__":');
    const bytes = new TextEncoder().encode(text);
    // A tiny limit forces the value-by-value path.
    const parsed = parseJsonBytes(bytes, "t.json", 2, 0) as Record<string, Record<string, unknown>>;
    expect(parsed).toEqual(JSON.parse(text));
    expect(Object.keys(parsed["docstore/data"]!)).toEqual(["__proto__", "b"]);
    expect(() => parseJsonBytes(bytes.subarray(0, 20), "t.json", 2, 0)).toThrow(/t\.json/);
  });
});
