import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SimpleDocumentStore } from "../docstore/index.js";
import { isStorageError } from "../errors.js";
import { LocalFileSystem, MemoryFileSystem } from "../fs/index.js";
import type { FileSystem, WriteOptions } from "../fs/types.js";
import { TextNode } from "../schema/index.js";
import { SimpleVectorStore } from "../vector/index.js";
import { TreeAssembler, treeLines } from "./json-stream.js";
import { validateManifest } from "./manifest.js";
import { StorageContext } from "./storage-context.js";

/** Records the biggest chunk handed to the file system, and whether anything used a one-shot write for data. */
class ChunkSpy extends MemoryFileSystem {
  maxChunk = 0;
  wholeWrites: string[] = [];
  override async writeStream(path: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options?: WriteOptions): Promise<void> {
    const self = this;
    async function* spy() {
      for await (const c of chunks) {
        self.maxChunk = Math.max(self.maxChunk, c.byteLength);
        yield c;
      }
    }
    return super.writeStream(path, spy(), options);
  }
  override async write(path: string, data: Uint8Array | string, options?: WriteOptions): Promise<void> {
    if (!path.endsWith("larder.json")) this.wholeWrites.push(path);
    return super.write(path, data, options);
  }
}

describe("Larder format", () => {
  it("streams components in ~1 MiB chunks, never as one string", async () => {
    const fs = new ChunkSpy();
    const docStore = new SimpleDocumentStore();
    const nodes = Array.from({ length: 20_000 }, (_, i) => new TextNode({ id: `n${i}`, text: `text ${i} `.repeat(40), metadata: { i } }));
    await docStore.addDocuments(nodes);
    const vs = new SimpleVectorStore();
    await vs.add(nodes.slice(0, 2000).map((n, i) => Object.assign(n.clone(), { embedding: [i, 1, 2, 3] })));
    const ctx = await StorageContext.fromDefaults({ docStore, vectorStore: vs });
    await ctx.persist("d", { fs: fs as FileSystem });
    const docBytes = (await fs.list("d/")).filter((p) => p.endsWith(".docstore.jsonl")).map(async (p) => (await fs.stat(p))!.size);
    expect(await docBytes[0]).toBeGreaterThan(8 * 1024 * 1024);
    expect(fs.maxChunk).toBeLessThanOrEqual(4 * 1024 * 1024 + 64 * 1024);
    expect(fs.wholeWrites).toEqual([]);
    const loaded = await StorageContext.fromPersistDir("d", { fs });
    expect((await loaded.docStore.getAllDocumentIds()).length).toBe(20_000);
  });

  it("tree lines round-trip nested, empty and awkward values", () => {
    const values: unknown[] = [
      { "docstore/data": {}, "docstore/metadata": { a: { doc_hash: "x" } } },
      { nodes: { "": { x: [1, { y: null }] }, "__proto__x": {} }, triplets: [["a", "b", "c"]], empty: [] },
      { a: { b: "line\nbreak \u2028 ü 🦙" } },
    ];
    for (const v of values) {
      for (const depth of [1, 2, 3]) {
        const t = new TreeAssembler("f");
        for (const line of treeLines(v, depth)) {
          expect(line.endsWith("\n")).toBe(true);
          expect(line.slice(0, -1)).not.toContain("\n");
          t.addLine(line.slice(0, -1));
        }
        expect(t.result()).toEqual(v);
      }
    }
  });

  it("rejects malformed manifests as CORRUPT and newer versions as UNSUPPORTED", () => {
    const ok = {
      format: "larder",
      formatVersion: 1,
      generation: 3,
      createdAt: "x",
      writer: "w",
      components: { docstore: { kind: "docstore", file: "g000003-abcdef01.docstore.jsonl", bytes: 2, sha256: "a".repeat(64), encoding: "json-tree-lines", generation: 3 } },
      skipped: {},
    };
    expect(validateManifest(ok, "larder.json").generation).toBe(3);
    const bad = [
      { ...ok, format: "other" },
      { ...ok, generation: 0 },
      { ...ok, components: { docstore: { ...ok.components.docstore, file: "../etc/passwd" } } },
      { ...ok, components: { docstore: { ...ok.components.docstore, sha256: "nothex" } } },
      { ...ok, components: { docstore: { ...ok.components.docstore, kind: "unknown" } } },
    ];
    for (const b of bad) {
      let err: unknown;
      try {
        validateManifest(b, "larder.json");
      } catch (e) {
        err = e;
      }
      expect(isStorageError(err, "CORRUPT")).toBe(true);
      expect(String((err as Error).message)).toContain("larder.json");
    }
    let err: unknown;
    try {
      validateManifest({ ...ok, formatVersion: 2 }, "larder.json");
    } catch (e) {
      err = e;
    }
    expect(isStorageError(err, "UNSUPPORTED")).toBe(true);
  });

  it("validates namespaces and formats before writing anything", async () => {
    const fs = new MemoryFileSystem();
    const ctx = await StorageContext.fromDefaults();
    ctx.vectorStores["bad__ns"] = new SimpleVectorStore();
    await expect(ctx.persist("x", { fs })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    delete ctx.vectorStores["bad__ns"];
    await expect(ctx.persist("x", { fs, format: "parquet" as "larder" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(await fs.list("")).toEqual([]);
  });

  it("toDict/fromDict use LlamaIndex's StorageContext shape", async () => {
    const ctx = await StorageContext.fromDefaults();
    await ctx.docStore.addDocuments([new TextNode({ id: "a", text: "A" })]);
    await ctx.vectorStore.add([new TextNode({ id: "a", text: "A", embedding: [1, 0] })]);
    const d = ctx.toDict();
    expect(Object.keys(d)).toEqual(["vector_store", "doc_store", "index_store", "graph_store", "property_graph_store", "chat_store"]);
    expect(Object.keys(d.vector_store)).toEqual(["default"]);
    expect(d.graph_store).toEqual({ graph_dict: {} });
    const back = StorageContext.fromDict(JSON.parse(JSON.stringify(d)));
    expect((await back.docStore.getDocument("a"))?.text).toBe("A");
    expect((await back.vectorStore.query({ embedding: [1, 0], topK: 1 })).ids).toEqual(["a"]);
  });
});

describe("Larder format: packed vectors load paths", () => {
  // [name, dim, file system, readInto calls expected on load]
  const cases: [string, number, () => { fs: FileSystem; done?: () => void }, number][] = [
    ["straight into the kernel (LocalFileSystem.readInto, dim 8)", 8, () => localFs(), 1],
    ["padded rows (dim 6: read, then copied)", 6, () => localFs(), 0],
    ["a file system without readInto (dim 8)", 8, () => ({ fs: new MemoryFileSystem() }), 0],
  ];
  for (const [name, dim, make, readIntoCalls] of cases) {
    it(name, async () => {
      const { fs, done } = make();
      try {
        const nodes = Array.from({ length: 300 }, (_, i) => {
          const embedding = Array.from({ length: dim }, (_, j) => Math.fround(Math.sin(i * 7 + j * 3) + (j === i % dim ? 2 : 0)));
          return new TextNode({ id: `n${i}`, text: `t${i}`, metadata: { i }, embedding });
        });
        const vs = new SimpleVectorStore();
        await vs.add(nodes);
        const ctx = await StorageContext.fromDefaults({ vectorStore: vs });
        await ctx.persist("p", { fs });
        const calls = countReadInto(fs);
        const back = (await StorageContext.fromPersistDir("p", { fs })).vectorStore;
        expect(calls()).toBe(readIntoCalls);
        for (const q of [nodes[0]!.embedding!, nodes[137]!.embedding!, Array.from({ length: dim }, (_, j) => j - 2)]) {
          const want = await vs.query({ embedding: q, topK: 7 });
          const got = await back.query({ embedding: q, topK: 7 });
          expect(got.ids).toEqual(want.ids);
          expect(got.similarities).toEqual(want.similarities); // bit-identical norms on both paths
        }
        const [n299] = await back.getNodes!({ ids: ["n299"] });
        expect(n299?.text).toBe("t299");
        // A flipped byte deep in the packed vectors is CORRUPT naming the file, on every path.
        const vecFile = (await fs.list("p")).find((f) => f.endsWith(".f32"))!;
        const bytes = await fs.read(vecFile);
        bytes[bytes.length - 5]! ^= 0x40;
        await fs.write(vecFile, bytes);
        const err = await StorageContext.fromPersistDir("p", { fs }).catch((e: unknown) => e);
        expect(isStorageError(err, "CORRUPT")).toBe(true);
        expect(String((err as Error).message)).toContain(vecFile.split("/").pop()!);
      } finally {
        done?.();
      }
    });
  }
});

/** Counts the file system's readInto calls from now on (the method is wrapped in place). */
function countReadInto(fs: FileSystem): () => number {
  let n = 0;
  const original = fs.readInto?.bind(fs);
  if (original) {
    fs.readInto = (path, target) => {
      n++;
      return original(path, target);
    };
  }
  return () => n;
}

function localFs(): { fs: FileSystem; done: () => void } {
  const root = mkdtempSync(join(tmpdir(), "larder-vec-"));
  return { fs: new LocalFileSystem(root), done: () => rmSync(root, { recursive: true, force: true }) };
}
