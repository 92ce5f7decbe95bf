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
import { encodeManifest, LARDER_FORMAT_VERSION, parseManifest, type LarderManifest, validateManifest } from "./manifest.js";
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
      validateManifest({ ...ok, formatVersion: LARDER_FORMAT_VERSION + 1 }, "larder.json");
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

describe("Larder format: the manifest's own checksum", () => {
  const manifest: LarderManifest = {
    format: "larder",
    formatVersion: LARDER_FORMAT_VERSION,
    generation: 3,
    createdAt: "2025-01-01T00:00:00.000Z",
    writer: "w",
    components: {
      docstore: { kind: "docstore", file: "g000003-abcdef01.docstore.jsonl", bytes: 2, sha256: "a".repeat(64), encoding: "json-tree-lines", generation: 3 },
    },
    skipped: {},
  };
  const corruptOf = (text: string) => {
    try {
      parseManifest(new TextEncoder().encode(text), "larder.json");
    } catch (e) {
      return e;
    }
    return undefined;
  };

  it("is the last member, over every byte before it; parse verifies it", () => {
    const text = encodeManifest(manifest);
    expect(text).toMatch(/,\n {2}"checksum": "[0-9a-f]{64}"\n\}\n$/);
    const parsed = parseManifest(new TextEncoder().encode(text), "larder.json");
    expect(parsed.manifest.generation).toBe(3);
    expect(parsed.manifest.checksum).toMatch(/^[0-9a-f]{64}$/);
    // Re-encoding a parsed manifest gives the same bytes (the checksum member is replaced, not doubled).
    expect(encodeManifest(parsed.manifest)).toBe(text);
  });

  it("a renamed key, a changed value or a damaged checksum is CORRUPT; a v2 manifest without it too", () => {
    const text = encodeManifest(manifest);
    for (const damaged of [
      text.replace('"components"', '"eomponents"'),
      text.replace('"generation": 3', '"generation": 4'),
      text.replace('"docstore": {', '"dosstore": {'),
      text.replace(/"checksum": "(.)/, (_m, c: string) => `"checksum": "${c === "0" ? "1" : "0"}`),
      text.replace(/,\n {2}"checksum": "[0-9a-f]{64}"/, ""),
      text.replace('"formatVersion": 2', '"formatVersion": 3'),
    ]) {
      expect(damaged).not.toBe(text);
      const e = corruptOf(damaged);
      expect(isStorageError(e, "CORRUPT"), damaged.slice(0, 80)).toBe(true);
      expect(String((e as Error).message)).toContain("larder.json");
    }
  });

  it("a version 1 manifest (written before checksums) still loads", async () => {
    const fs = new MemoryFileSystem();
    const ctx = await StorageContext.fromDefaults();
    await ctx.docStore.addDocuments([new TextNode({ id: "a", text: "A" })]);
    await ctx.persist("d", { fs });
    const v2 = JSON.parse(new TextDecoder().decode(await fs.read("d/larder.json"))) as Record<string, unknown>;
    delete v2["checksum"];
    await fs.write("d/larder.json", JSON.stringify({ ...v2, formatVersion: 1 }, null, 2));
    const loaded = await StorageContext.fromPersistDir("d", { fs });
    expect((await loaded.docStore.getDocument("a"))?.text).toBe("A");
    // Persisting on top of it writes the current version, with a checksum.
    await loaded.docStore.addDocuments([new TextNode({ id: "b", text: "B" })]);
    expect((await loaded.persist()).generation).toBe(2);
    const m = parseManifest(await fs.read("d/larder.json"), "larder.json").manifest;
    expect(m.formatVersion).toBe(LARDER_FORMAT_VERSION);
    expect(m.checksum).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("Larder format: concurrency", () => {
  it("a context commits only on top of the generation it loaded or committed; overwrite replaces", async () => {
    const fs = new MemoryFileSystem();
    const base = await StorageContext.fromDefaults();
    await base.docStore.addDocuments([new TextNode({ id: "base", text: "base" })]);
    await base.persist("d", { fs });
    const a = await StorageContext.fromPersistDir("d", { fs });
    const b = await StorageContext.fromPersistDir("d", { fs });
    await b.docStore.addDocuments([new TextNode({ id: "b1", text: "b1" })]);
    expect((await b.persist()).generation).toBe(2);
    await a.docStore.addDocuments([new TextNode({ id: "a1", text: "a1" })]);
    const e = await a.persist().catch((err: unknown) => err);
    expect(isStorageError(e, "CONFLICT")).toBe(true);
    expect(String((e as Error).message)).toMatch(/generation 2.*generation 1/);
    expect((e as { details?: unknown }).details).toMatchObject({ expectedGeneration: 1, currentGeneration: 2 });
    expect((await StorageContext.fromPersistDir("d", { fs }).then((c) => c.docStore.getAllDocumentIds())).sort()).toEqual(["b1", "base"]);
    // b goes on from its own commit; a's overwrite replaces whatever is current.
    await b.docStore.addDocuments([new TextNode({ id: "b2", text: "b2" })]);
    expect((await b.persist()).generation).toBe(3);
    expect((await a.persist(undefined, { overwrite: true })).generation).toBe(4);
    expect((await StorageContext.fromPersistDir("d", { fs }).then((c) => c.docStore.getAllDocumentIds())).sort()).toEqual(["a1", "base"]);
    // b is now stale too.
    await expect(b.persist()).rejects.toMatchObject({ code: "CONFLICT" });
    await expect(a.persist(undefined, { overwrite: "yes" as unknown as boolean })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("a fresh context persisting over an existing store is CONFLICT unless overwrite", async () => {
    const fs = new MemoryFileSystem();
    const first = await StorageContext.fromDefaults();
    await first.docStore.addDocuments([new TextNode({ id: "x", text: "x" })]);
    await first.persist("d", { fs });
    const fresh = await StorageContext.fromDefaults();
    const e = await fresh.persist("d", { fs }).catch((err: unknown) => err);
    expect(isStorageError(e, "CONFLICT")).toBe(true);
    expect(String((e as Error).message)).toContain("overwrite: true");
    expect((e as { details?: unknown }).details).toMatchObject({ expectedGeneration: null, currentGeneration: 1 });
    expect((await fresh.persist("d", { fs, overwrite: true })).generation).toBe(2);
    expect(await StorageContext.fromPersistDir("d", { fs }).then((c) => c.docStore.getAllDocumentIds())).toEqual([]);
  });

  it("fromPersistDir on nothing is NOT_FOUND with reason empty; a missing file is NOT_FOUND naming it, without reason", async () => {
    const fs = new MemoryFileSystem();
    const empty = await StorageContext.fromPersistDir("d", { fs }).catch((err: unknown) => err);
    expect(isStorageError(empty, "NOT_FOUND")).toBe(true);
    expect((empty as { details?: Record<string, unknown> }).details?.["reason"]).toBe("empty");
    const ctx = await StorageContext.fromDefaults();
    await ctx.docStore.addDocuments([new TextNode({ id: "x", text: "x" })]);
    await ctx.persist("d", { fs });
    const file = (await fs.list("d/")).find((f) => f.endsWith(".docstore.jsonl"))!;
    await fs.delete(file);
    const missing = await StorageContext.fromPersistDir("d", { fs }).catch((err: unknown) => err);
    expect(isStorageError(missing, "NOT_FOUND")).toBe(true);
    expect((missing as { details?: Record<string, unknown> }).details?.["reason"]).toBeUndefined();
    expect(String((missing as { details?: Record<string, unknown> }).details?.["file"])).toBe(file);
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
