/**
 * LlamaIndex folders holding graphs and chats, the chat store's per-version forms, and damage
 * found at load time and by `verifyLlamaIndexFolder`. Fixtures under
 * test/fixtures/llamaindex/chat-graph/ were written by the real Python llama-index-core
 * (0.10.68, 0.12.52, 0.14.25); see the README there.
 */
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { SimpleChatStore } from "../chat/index.js";
import { isStorageError, type StorageError } from "../errors.js";
import { LocalFileSystem } from "../fs/index.js";
import { entityNode, relation, SimplePropertyGraphStore } from "../graph/index.js";
import { StorageContext, verifyLlamaIndexFolder } from "./index.js";

const FIXTURES = fileURLToPath(new URL("../../test/fixtures/llamaindex/", import.meta.url));
const VERSIONS = [
  ["0.10", "py-0.10.68"],
  ["0.12", "py-0.12.52"],
  ["0.14", "py-0.14.25"],
] as const;

const tmp: string[] = [];
afterEach(async () => {
  for (const d of tmp.splice(0)) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "larder-li-folders-"));
  tmp.push(d);
  return d;
}
async function copyFixture(name: string, only?: string[]): Promise<string> {
  const dir = await tempDir();
  const src = join(FIXTURES, name);
  for (const f of await readdir(src)) if (!only || only.includes(f)) await cp(join(src, f), join(dir, f));
  return dir;
}
async function rejection(p: Promise<unknown>): Promise<StorageError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isStorageError(err)) throw new Error(`expected a StorageError, got ${String(err)}`);
  return err;
}

describe("folders with only a chat store or only a graph store", () => {
  it("loads a folder holding only Python's chat_store.json (empty document and index stores)", async () => {
    for (const [, fixture] of VERSIONS) {
      const dir = await copyFixture(`chat-graph/${fixture}`, ["chat_store.json"]);
      const ctx = await StorageContext.fromPersistDir(dir);
      expect((await ctx.chatStore!.getKeys()).sort(), fixture).toEqual(["user-1", "user-2"]);
      const [first] = await ctx.chatStore!.getMessages("user-1");
      expect(JSON.stringify(first), fixture).toContain("Où est la gare? 🚉");
      expect(await ctx.docStore.getAllRefDocInfo()).toEqual({});
      expect(await ctx.indexStore.indexStructs()).toEqual([]);
    }
  });

  it("loads a folder holding only a property graph, or only a legacy graph store", async () => {
    const pg = await copyFixture("chat-graph/py-0.14.25", ["property_graph_store.json"]);
    const ctx = await StorageContext.fromPersistDir(pg);
    expect(ctx.propertyGraphStore).toBeInstanceOf(SimplePropertyGraphStore);
    expect(ctx.chatStore).toBeUndefined();
    const legacy = await tempDir();
    await writeFile(join(legacy, "graph_store.json"), '{"graph_dict": {"Alice": [["WORKS_AT", "Acme"]]}}');
    const ctx2 = await StorageContext.fromPersistDir(legacy);
    expect(await ctx2.graphStore!.get("Alice")).toEqual([["WORKS_AT", "Acme"]]);
  });

  it("still requires docstore.json and index_store.json when the folder holds index data", async () => {
    const dir = await copyFixture("py-0.12", ["default__vector_store.json", "index_store.json"]);
    const err = await rejection(StorageContext.fromPersistDir(dir));
    expect(err.code).toBe("NOT_FOUND");
    expect(err.message).toContain("docstore.json");
  });
});

describe("property graphs: nested properties and quoted names (Python-written files)", () => {
  for (const [version, fixture] of VERSIONS) {
    it(`loads ${fixture}'s nested property values and the entity named The "Quoted" Co`, async () => {
      const dir = await copyFixture(`chat-graph/${fixture}`, ["property_graph_store.json"]);
      const ctx = await StorageContext.fromPersistDir(dir);
      const g = ctx.propertyGraphStore!;
      const [acme] = await g.get({ ids: ['The "Quoted" Co'] });
      expect(acme).toMatchObject({ kind: "entity", name: 'The "Quoted" Co', label: "ORG" });
      expect(acme!.properties).toEqual({ address: { street: "1 Main St", geo: [48.85, 2.35], tags: { hq: true } } });
      const [t] = await g.getTriplets({ relationNames: ["WORKS_AT"] });
      expect(t![1]).toEqual({ label: "WORKS_AT", sourceId: "Alice", targetId: 'The "Quoted" Co', properties: { meta: { since: 2020 } } });
      expect(t![2]).toBe(acme);
      expect(g instanceof SimplePropertyGraphStore && g.size).toEqual({ nodes: 2, relations: 1 });
    });

    it(`writes ${fixture}'s graph back byte-identical, names and nested values unchanged, in its form`, async () => {
      const dir = await copyFixture(`chat-graph/${fixture}`, ["property_graph_store.json"]);
      const ctx = await StorageContext.fromPersistDir(dir);
      const out = await tempDir();
      await ctx.persist(out, { format: "llamaindex" });
      const py = await readFile(join(dir, "property_graph_store.json"), "utf8");
      const ours = await readFile(join(out, "property_graph_store.json"), "utf8");
      // 0.10 wrote this file with json.dumps separators (kept), 0.12 and 0.14 compact.
      expect(ours).toBe(py);
      expect(ours.startsWith('{"nodes": {')).toBe(version === "0.10");
      // The caller's llamaIndexVersion chooses the form.
      const other = await tempDir();
      await ctx.persist(other, { format: "llamaindex", llamaIndexVersion: version === "0.10" ? "0.14" : "0.10" });
      const switched = await readFile(join(other, "property_graph_store.json"), "utf8");
      expect(switched.startsWith('{"nodes": {')).toBe(version !== "0.10");
      expect(JSON.parse(switched)).toEqual(JSON.parse(py));
      // ... and through the Larder format too.
      const larder = await tempDir();
      await ctx.persist(larder);
      const back = await StorageContext.fromPersistDir(larder);
      const [acme] = await back.propertyGraphStore!.get({ ids: ['The "Quoted" Co'] });
      expect(acme?.properties).toEqual({ address: { street: "1 Main St", geo: [48.85, 2.35], tags: { hq: true } } });
    });
  }

  it("keys a quoted name like Python unless that key is another node's, and never merges two nodes", async () => {
    const g = new SimplePropertyGraphStore();
    await g.upsertNodes([entityNode({ name: 'a"b' }), entityNode({ name: "a b" }), entityNode({ name: 'x"y' })]);
    await g.upsertRelations([relation({ label: "R", sourceId: 'a"b', targetId: "a b" }), relation({ label: "R", sourceId: 'x"y', targetId: 'a"b' })]);
    const d = g.toDict();
    expect(Object.keys(d.nodes)).toEqual(['a"b', "a b", "x y"]);
    expect(d.nodes["x y"]).toMatchObject({ name: 'x"y' });
    expect(Object.values(d.relations).map((r) => [r.source_id, r.target_id])).toEqual([
      ['a"b', "a b"],
      ["x y", 'a"b'],
    ]);
    const back = SimplePropertyGraphStore.fromDict(JSON.parse(JSON.stringify(d)));
    expect((await back.get()).map((n) => (n.kind === "entity" ? n.name : n.id)).sort()).toEqual(['a"b', "a b", 'x"y'].sort());
    expect((await back.getTriplets()).map(([s, , t]) => [s.kind === "entity" && s.name, t.kind === "entity" && t.name])).toEqual([
      ['a"b', "a b"],
      ['x"y', 'a"b'],
    ]);
  });

  it("keeps upserts strict: a nested value is INVALID_ARGUMENT there, and merging keeps loaded nested values", async () => {
    const dir = await copyFixture("chat-graph/py-0.14.25", ["property_graph_store.json"]);
    const g = (await StorageContext.fromPersistDir(dir)).propertyGraphStore!;
    const err = await rejection(g.upsertNodes([{ kind: "entity", name: "n", label: "L", properties: { nested: { a: 1 } as never } }]));
    expect(err.code).toBe("INVALID_ARGUMENT");
    await g.upsertNodes([entityNode({ name: 'The "Quoted" Co', label: "ORG", properties: { employees: 12 } })]);
    const [acme] = await g.get({ ids: ['The "Quoted" Co'] });
    expect(acme!.properties).toEqual({ address: { street: "1 Main St", geo: [48.85, 2.35], tags: { hq: true } }, employees: 12 });
    expect(Object.isFrozen((acme!.properties["address"] as unknown as { tags: object }).tags)).toBe(true);
  });

  it("refuses two nodes with the same name (CORRUPT)", () => {
    const doc = {
      nodes: { "a b": { label: "L", embedding: null, properties: {}, name: 'a"b' }, k2: { label: "L", embedding: null, properties: {}, name: 'a"b' } },
      relations: {},
    };
    expect(() => SimplePropertyGraphStore.fromDict(doc)).toThrow(expect.objectContaining({ code: "CORRUPT" }));
  });
});

describe("chat_store.json: the form of each LlamaIndex version", () => {
  for (const [version, fixture] of VERSIONS) {
    it(`rewrites ${fixture}'s chat_store.json in its own form, byte-identical`, async () => {
      const dir = await copyFixture(`chat-graph/${fixture}`, ["chat_store.json"]);
      const ctx = await StorageContext.fromPersistDir(dir);
      const out = await tempDir();
      await ctx.persist(out, { format: "llamaindex" });
      const py = await readFile(join(dir, "chat_store.json"));
      const ours = await readFile(join(out, "chat_store.json"));
      expect(ours.toString("utf8"), version).toBe(py.toString("utf8"));
      // The form survives an edit.
      await ctx.chatStore!.addMessage("user-2", { role: "assistant", content: "hello" });
      await ctx.persist(out, { format: "llamaindex" });
      const text = await readFile(join(out, "chat_store.json"), "utf8");
      if (version === "0.10") expect(text.startsWith('"{\\"store\\": {')).toBe(true);
      else if (version === "0.12") expect(text.startsWith('{"store": {')).toBe(true);
      else expect(text.startsWith('{"store":{')).toBe(true);
    });
  }

  it("keeps the loaded form through the Larder format", async () => {
    for (const [version, fixture] of VERSIONS) {
      const dir = await copyFixture(`chat-graph/${fixture}`);
      const larder = await tempDir();
      await (await StorageContext.fromPersistDir(dir)).persist(larder);
      const back = await StorageContext.fromPersistDir(larder);
      const out = await tempDir();
      await back.persist(out, { format: "llamaindex" });
      for (const file of ["chat_store.json", "property_graph_store.json"]) {
        expect(await readFile(join(out, file), "utf8"), `${version} ${file}`).toBe(await readFile(join(dir, file), "utf8"));
      }
    }
  });

  it("writes the form the caller chooses with llamaIndexVersion (default 0.14)", async () => {
    const chatStore = new SimpleChatStore();
    await chatStore.setMessages("k", [{ role: "user", content: "Où?", additional_kwargs: {} }]);
    const dict = { store: { k: [{ role: "user", content: "Où?", additional_kwargs: {} }] }, class_name: "SimpleChatStore" };
    const ctx = await StorageContext.fromDefaults({ chatStore });
    const texts: Record<string, string> = {};
    for (const v of [undefined, "0.10", "0.12", "0.14"] as const) {
      const out = await tempDir();
      await ctx.persist(out, { format: "llamaindex", ...(v ? { llamaIndexVersion: v } : {}) });
      texts[v ?? "default"] = await readFile(join(out, "chat_store.json"), "utf8");
    }
    expect(texts["default"]).toBe(texts["0.14"]);
    expect(texts["0.14"]).toBe('{"store":{"k":[{"role":"user","content":"Où?","additional_kwargs":{}}]},"class_name":"SimpleChatStore"}');
    expect(texts["0.12"]).toBe('{"store": {"k": [{"role": "user", "content": "O\\u00f9?", "additional_kwargs": {}}]}, "class_name": "SimpleChatStore"}');
    expect(JSON.parse(texts["0.10"]!)).toBe(texts["0.12"]);
    for (const t of Object.values(texts)) {
      const back = SimpleChatStore.fromDict(JSON.parse(t));
      expect(back.toDict()).toEqual(dict);
    }
  });

  it("an explicit llamaIndexVersion wins over the loaded form; a bad one is INVALID_ARGUMENT before any write", async () => {
    const dir = await copyFixture("chat-graph/py-0.10.68", ["chat_store.json"]);
    const ctx = await StorageContext.fromPersistDir(dir);
    const out = await tempDir();
    await ctx.persist(out, { format: "llamaindex", llamaIndexVersion: "0.14" });
    expect((await readFile(join(out, "chat_store.json"), "utf8")).startsWith('{"store":{')).toBe(true);
    const empty = await tempDir();
    const err = await rejection(ctx.persist(empty, { format: "llamaindex", llamaIndexVersion: "0.11" as never }));
    expect(err.code).toBe("INVALID_ARGUMENT");
    expect(await readdir(empty)).toEqual([]);
  });
});

describe("damaged LlamaIndex files: load fails eagerly, verify names file, collection and key", () => {
  const cases: [string, string, (doc: Record<string, Record<string, Record<string, unknown>>>) => void, string, string, string][] = [
    ["unknown node __type__", "docstore.json", (d) => (d["docstore/data"]!["node-1"]!["__type__"] = "99"), "docstore/data", "node-1", "unknown node type"],
    ["__data__ not an object", "docstore.json", (d) => (d["docstore/data"]!["node-1"]!["__data__"] = 42), "docstore/data", "node-1", "__data__"],
    ["__data__ not valid JSON", "docstore.json", (d) => (d["docstore/data"]!["node-1"]!["__data__"] = '{"id_": '), "docstore/data", "node-1", "not JSON"],
    ["metadata not an object", "docstore.json", (d) => ((d["docstore/data"]!["node-1"]!["__data__"] as Record<string, unknown>)["metadata"] = [1]), "docstore/data", "node-1", "metadata"],
    ["ref_doc_info node_ids", "docstore.json", (d) => (d["docstore/ref_doc_info"]!["doc-1"]!["node_ids"] = "node-1"), "docstore/ref_doc_info", "doc-1", "node_ids"],
    ["index struct __data__ not JSON", "index_store.json", (d) => (d["index_store/data"]![Object.keys(d["index_store/data"]!)[0]!]!["__data__"] = "{oops"), "index_store/data", "", "not valid JSON"],
  ];
  for (const [what, file, damage, collection, key0, text] of cases) {
    it(`${what}: CORRUPT at load and in verify`, async () => {
      const dir = await copyFixture("py-0.12");
      const doc = JSON.parse(await readFile(join(dir, file), "utf8"));
      const key = key0 || Object.keys(doc[collection])[0];
      damage(doc);
      await writeFile(join(dir, file), JSON.stringify(doc));
      const err = await rejection(StorageContext.fromPersistDir(dir));
      expect(err.code).toBe("CORRUPT");
      expect(err.details).toEqual({ file, collection, key });
      expect(err.message).toContain(file);
      expect(err.message).toContain(text);
      const r = await verifyLlamaIndexFolder(new LocalFileSystem(dir), "");
      expect(r.ok).toBe(false);
      expect(r.firstDamage).toMatchObject({ file, collection, key });
      expect(r.files.find((f) => f.file === file)?.ok).toBe(false);
      expect(r.files.filter((f) => f.file !== file).every((f) => f.ok)).toBe(true);
    });
  }

  it("a node of Python's multimodal Node class (__type__ 5) is not damage: the folder loads", async () => {
    const dir = await copyFixture("py-0.12");
    const doc = JSON.parse(await readFile(join(dir, "docstore.json"), "utf8"));
    doc["docstore/data"]["mm-1"] = { __data__: { id_: "mm-1", text_resource: { text: "hi" }, class_name: "Node" }, __type__: "5" };
    await writeFile(join(dir, "docstore.json"), JSON.stringify(doc));
    const ctx = await StorageContext.fromPersistDir(dir);
    expect(await ctx.docStore.documentExists("mm-1")).toBe(true);
    expect((await verifyLlamaIndexFolder(new LocalFileSystem(dir), "")).ok).toBe(true);
    doc["docstore/data"]["mm-1"].__data__ = "{not json";
    await writeFile(join(dir, "docstore.json"), JSON.stringify(doc));
    expect((await rejection(StorageContext.fromPersistDir(dir))).details).toEqual({ file: "docstore.json", collection: "docstore/data", key: "mm-1" });
  });

  it("verify passes every Python-written fixture folder and finds damage in the other files", async () => {
    for (const name of ["py-0.12", "py-0.10-legacy", ...VERSIONS.map(([, f]) => `chat-graph/${f}`)]) {
      const r = await verifyLlamaIndexFolder(new LocalFileSystem(join(FIXTURES, name)), "");
      expect(r.ok, name).toBe(true);
      expect(r.files.length, name).toBeGreaterThan(0);
    }
    const dir = await copyFixture("py-0.12");
    const fs = new LocalFileSystem(dir);
    const vec = JSON.parse(await readFile(join(dir, "default__vector_store.json"), "utf8"));
    vec.embedding_dict["node-1"] = [0.1, "x"];
    await writeFile(join(dir, "default__vector_store.json"), JSON.stringify(vec));
    expect((await verifyLlamaIndexFolder(fs, "")).firstDamage).toMatchObject({ file: "default__vector_store.json", collection: "embedding_dict", key: "node-1" });
    await cp(join(FIXTURES, "py-0.12", "default__vector_store.json"), join(dir, "default__vector_store.json"));
    await writeFile(join(dir, "chat_store.json"), JSON.stringify({ store: { k: [{ content: "no role" }] }, class_name: "SimpleChatStore" }));
    expect((await verifyLlamaIndexFolder(fs, "")).firstDamage).toMatchObject({ file: "chat_store.json", collection: "store", key: "k" });
    await writeFile(join(dir, "chat_store.json"), "{");
    expect((await verifyLlamaIndexFolder(fs, "")).firstDamage).toMatchObject({ file: "chat_store.json" });
    await rm(join(dir, "chat_store.json"));
    const pg = JSON.parse(await readFile(join(dir, "property_graph_store.json"), "utf8"));
    pg.nodes["Acme"].label = "";
    await writeFile(join(dir, "property_graph_store.json"), JSON.stringify(pg));
    expect((await verifyLlamaIndexFolder(fs, "")).firstDamage).toMatchObject({ file: "property_graph_store.json", collection: "nodes", key: "Acme" });
    const empty = await tempDir();
    expect((await rejection(verifyLlamaIndexFolder(new LocalFileSystem(empty), ""))).code).toBe("NOT_FOUND");
  });
});

describe("a custom metadata separator is written under both keys", () => {
  it("TextNode, Document, the field-by-field writer, and docstore.json (Python 0.10/0.12 read metadata_seperator)", async () => {
    const { Document, TextNode, textNodeJsonText, jsonToNode } = await import("../schema/index.js");
    const node = new TextNode({ id: "n", text: "t", metadata: { a: 1, b: 2 }, metadataSeparator: " | " });
    const data = node.toJSON().__data__ as Record<string, unknown>;
    expect(data["metadata_separator"]).toBe(" | ");
    expect(data["metadata_seperator"]).toBe(" | ");
    // Where Python 0.12 writes it: after end_char_idx.
    const keys = Object.keys(data);
    expect(keys.indexOf("metadata_seperator")).toBe(keys.indexOf("end_char_idx") + 1);
    expect(textNodeJsonText(node)).toBe(JSON.stringify(node.toJSON()));
    const doc = new Document({ id: "d", text: "t", metadata: { a: 1 }, metadataSeparator: ";" });
    expect(doc.toJSON().__data__).toMatchObject({ metadata_separator: ";", metadata_seperator: ";" });
    // The default separator is written once, as Python 0.14 does.
    const plain = new TextNode({ id: "p", text: "t" });
    expect(Object.keys(plain.toJSON().__data__ as object)).not.toContain("metadata_seperator");
    expect(textNodeJsonText(plain)).toBe(JSON.stringify(plain.toJSON()));
    // Reading either spelling, and both, gives the separator back.
    expect(jsonToNode(node.toJSON()).metadataSeparator).toBe(" | ");
    expect(jsonToNode(JSON.parse(textNodeJsonText(node))).getContent("all" as never)).toBe(node.getContent("all" as never));

    const { SimpleDocumentStore } = await import("../docstore/index.js");
    const docStore = new SimpleDocumentStore();
    await docStore.addDocuments([node]);
    const ctx = await StorageContext.fromDefaults({ docStore });
    const out = await tempDir();
    await ctx.persist(out, { format: "llamaindex" });
    const text = await readFile(join(out, "docstore.json"), "utf8");
    expect(text).toContain('"metadata_separator": " | "');
    expect(text).toContain('"end_char_idx": null, "metadata_seperator": " | "');
  });
});
