import { describe, expect, it } from "vitest";
import { SimpleDocumentStore } from "../docstore/index.js";
import { MemoryFileSystem } from "../fs/index.js";
import { SimpleKVStore } from "../kv/simple-kv-store.js";
import { Document, NodeRelationship, TextNode, type BaseNode } from "../schema/index.js";
import { SimpleVectorStore } from "../vector/simple-vector-store.js";
import { StorageContext } from "./storage-context.js";

const vec = (i: number, dim = 8) => Array.from({ length: dim }, (_, j) => Math.sin(i * 7 + j) + (j === i % dim ? 2 : 0));

/** Nodes of every stored shape: plain chunk, TextNode with non-default fields, Document, no ref doc. */
function variedNodes(n: number, seed = 0): BaseNode[] {
  const out: BaseNode[] = [];
  for (let i = 0; i < n; i++) {
    const id = `n-${i}`;
    const metadata = { topic: i % 3 === 0 ? "food" : "wine", page: i, tags: ["a", `t${i % 4}`] };
    const embedding = vec(i + seed);
    const kind = i % 4;
    if (kind === 0) out.push(new TextNode({ id, text: `plain ${i} ${seed}`, metadata, embedding, relationships: { [NodeRelationship.SOURCE]: { nodeId: `doc-${i % 5}` } } }));
    else if (kind === 1)
      out.push(
        new TextNode({
          id,
          text: `rich ${i}`,
          metadata,
          embedding,
          excludedLlmMetadataKeys: ["page"],
          startCharIdx: 3,
          relationships: { [NodeRelationship.SOURCE]: { nodeId: `doc-${i % 5}`, nodeType: "4", metadata: { x: 1 }, hash: "h" } },
        }),
      );
    else if (kind === 2) out.push(new Document({ id, text: `document ${i}`, metadata, embedding }));
    else out.push(new TextNode({ id, text: `orphan ${i}`, metadata, embedding }));
  }
  return out;
}

/** Everything observable about a vector store, as plain data. */
async function observe(vs: SimpleVectorStore) {
  const nodes = (await vs.getNodes()).map((n) => ({ ...n.toJSON(), embedding: n.embedding }));
  nodes.sort((a, b) => (a.__data__["id_"] as string).localeCompare(b.__data__["id_"] as string));
  const plain = await vs.query({ embedding: vec(5), topK: 4 });
  const filtered = await vs.query({ embedding: vec(2), topK: 3, filters: { filters: [{ key: "topic", value: "food", operator: "==" }] } });
  const byDoc = await vs.query({ embedding: vec(1), topK: 3, docIds: ["doc-1"] });
  return { size: vs.size, nodes, plain: plain.ids, filtered: filtered.ids, byDoc: byDoc.ids, dict: vs.toDict() };
}

describe("SimpleVectorStore change tracking", () => {
  it("lists rows written and ids deleted since a version, and nothing it cannot tell", async () => {
    const vs = new SimpleVectorStore();
    await vs.add(variedNodes(10));
    const v0 = vs.version;
    expect(vs.changesSince(v0)).toEqual({ rows: [], deleted: [] });
    await vs.add([Object.assign(variedNodes(3, 9)[2]!, {})]); // upsert n-2
    await vs.deleteNodes({ ids: ["n-7"] });
    await vs.add([new TextNode({ id: "fresh", text: "x", embedding: vec(1) })]);
    const c = vs.changesSince(v0)!;
    const ids = c.rows.map((r) => (vs.toSnapshot().ids[r]));
    expect(ids.sort()).toEqual(["fresh", "n-2"]);
    expect(c.deleted).toEqual(["n-7"]);
    // Deleted and added again: a written row, no longer a deletion.
    await vs.add([new TextNode({ id: "n-7", text: "back", embedding: vec(7) })]);
    expect(vs.changesSince(v0)!.deleted).toEqual([]);
    const v1 = vs.version;
    await vs.clear();
    expect(vs.changesSince(v1)).toBeUndefined();
    expect(vs.changesSince(vs.version)).toEqual({ rows: [], deleted: [] });
  });

  it("a store loaded lazily from the Larder format behaves exactly like the one persisted", async () => {
    const fs = new MemoryFileSystem();
    const vs = new SimpleVectorStore();
    await vs.add(variedNodes(40));
    const before = await observe(vs);
    // The serialised rows are the nodes' own LlamaIndex JSON (embedding null).
    const snap = vs.toSnapshot();
    const nodes = await vs.getNodes({ ids: snap.ids });
    snap.nodes.forEach((line, r) => {
      const j = nodes[r]!.toJSON();
      j.__data__["embedding"] = null;
      expect(line).toBe(JSON.stringify(j));
    });
    await (await StorageContext.fromDefaults({ vectorStore: vs })).persist("s", { fs });
    const loaded = (await StorageContext.fromPersistDir("s", { fs })).vectorStore as SimpleVectorStore;
    expect(await observe(loaded)).toEqual(before);
    // Writes on a lazily loaded store: upsert, delete by ref doc, then a second load.
    const fresh = await StorageContext.fromPersistDir("s", { fs });
    const lazy = fresh.vectorStore as SimpleVectorStore;
    await lazy.add(variedNodes(2, 5));
    await lazy.delete("doc-3");
    await vs.add(variedNodes(2, 5));
    await vs.delete("doc-3");
    expect(await observe(lazy)).toEqual(await observe(vs));
    const r = await fresh.persist("s", { fs });
    expect(r.written.some((f) => f.includes("vectors.delta"))).toBe(true);
    expect(await observe((await StorageContext.fromPersistDir("s", { fs })).vectorStore as SimpleVectorStore)).toEqual(await observe(vs));
  });

  it("a lazily loaded row whose JSON does not start with its id falls back to full validation", async () => {
    const vs = new SimpleVectorStore();
    await vs.add(variedNodes(4));
    const snap = vs.toSnapshot();
    const swapped = { ...snap, nodes: [snap.nodes[1]!, snap.nodes[0]!, ...snap.nodes.slice(2)] };
    expect(() => SimpleVectorStore.fromTrustedSnapshot(swapped)).toThrow(/CORRUPT|does not match/);
    const bad = { ...snap, vectors: snap.vectors.slice() };
    bad.vectors[3] = Number.NaN;
    expect(() => SimpleVectorStore.fromTrustedSnapshot(bad)).toThrow();
  });

  it("a mutation while the base files are written leaves a consistent generation", async () => {
    const mem = new MemoryFileSystem();
    const vs = new SimpleVectorStore();
    await vs.add(variedNodes(20));
    let hooked = false;
    // A FileSystem that lets the application add a batch (growing the buffer) mid-write.
    const writeStream = async (path: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options?: object) => {
      if (!hooked && path.endsWith(".rows.jsonl")) {
        hooked = true;
        await vs.add(Array.from({ length: 500 }, (_, i) => new TextNode({ id: `late-${i}`, text: "late", embedding: vec(i) })));
      }
      return mem.writeStream(path, chunks, options);
    };
    const fs = new Proxy(mem, {
      get(target, prop) {
        if (prop === "writeStream") return writeStream;
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const ctx = await StorageContext.fromDefaults({ vectorStore: vs });
    await ctx.persist("s", { fs });
    expect(hooked).toBe(true);
    const loaded = (await StorageContext.fromPersistDir("s", { fs: mem })).vectorStore as SimpleVectorStore;
    expect(await observe(loaded)).toEqual(await observe(vs));
    // Nothing changed since: the next persist reuses everything.
    expect((await ctx.persist("s", { fs })).reused).toContain("vector_store/default");
  });
});

describe("SimpleKVStore change tracking", () => {
  it("lists keys put and deleted since a version; clear() makes it unknowable", async () => {
    const kv = new SimpleKVStore();
    await kv.putAll([["a", { x: 1 }], ["b", { x: 2 }]], "c1");
    const v0 = kv.version;
    await kv.put("a", { x: 3 }, "c1");
    await kv.delete("b", "c1");
    await kv.put("z", { y: 1 }, "c2");
    await kv.deleteMany(["missing"], "c2");
    expect(kv.changesSince(v0)).toEqual([
      ["c1", "a", { x: 3 }],
      ["c1", "b", undefined],
      ["c2", "z", { y: 1 }],
    ]);
    expect(kv.changesSince(kv.version)).toEqual([]);
    const v1 = kv.version;
    await kv.clear();
    expect(kv.changesSince(v1)).toBeUndefined();
  });

  it("a docstore delta after load holds only the changed documents", async () => {
    const fs = new MemoryFileSystem();
    const docStore = new SimpleDocumentStore();
    await docStore.addDocuments(variedNodes(40).map((n) => Object.assign(n, { embedding: null })));
    await (await StorageContext.fromDefaults({ docStore })).persist("s", { fs });
    const ctx = await StorageContext.fromPersistDir("s", { fs });
    await ctx.docStore.addDocuments([new TextNode({ id: "n-1", text: "changed" })]);
    await ctx.docStore.deleteDocument("n-2");
    const r = await ctx.persist("s", { fs });
    const delta = r.written.find((f) => f.includes("docstore.delta"));
    expect(delta).toBeDefined();
    const lines = new TextDecoder().decode(await fs.read(`s/${delta!}`)).trim().split("\n");
    expect(lines.some((l) => l.includes('"n-1"') && l.includes("changed"))).toBe(true);
    expect(lines.some((l) => l.includes('"n-2"'))).toBe(true);
    expect(lines.some((l) => l.includes('"n-3"'))).toBe(false);
    const back = await StorageContext.fromPersistDir("s", { fs });
    expect((await back.docStore.getAllDocumentIds()).sort()).toEqual((await ctx.docStore.getAllDocumentIds()).sort());
    expect((await back.docStore.getDocument("n-1"))?.text).toBe("changed");
  });
});
