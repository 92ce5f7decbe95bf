import { describe, expect, it } from "vitest";
import { SimpleDocumentStore } from "../docstore/index.js";
import { isStorageError } from "../errors.js";
import { MemoryFileSystem } from "../fs/index.js";
import { TextNode } from "../schema/index.js";
import { SimpleVectorStore } from "../vector/index.js";
import { Utf8LineSplitter } from "./json-stream.js";
import { AsyncHashingCounter, sha256Hex } from "./sha256.js";
import { StorageContext } from "./storage-context.js";

describe("off-thread SHA-256", () => {
  it("hashes big chunks on the worker without touching the caller's bytes", async () => {
    const whole = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < whole.length; i++) whole[i] = (i * 31 + 7) & 0xff;
    const counter = new AsyncHashingCounter();
    // Buffer views of one allocation (what utf8Chunks yields): they must stay attached and intact.
    // A small header chunk first (held until the stream proves big), then big ones.
    const parts = [whole.subarray(0, 100), whole.subarray(100, 1 << 20), whole.subarray(1 << 20, 3 << 20), whole.subarray(3 << 20)];
    for (const p of parts) counter.update(p);
    expect(await counter.digest()).toBe(sha256Hex(whole));
    expect(counter.bytes).toBe(whole.length);
    expect(parts.map((p) => p.byteLength)).toEqual([100, (1 << 20) - 100, 2 << 20, 17]);
    expect(whole[12345]).toBe((12345 * 31 + 7) & 0xff);
  });

  it("hashes small streams on the main thread with the same result", async () => {
    const counter = new AsyncHashingCounter();
    counter.update(new TextEncoder().encode("abc"));
    expect(await counter.digest()).toBe(sha256Hex("abc"));
    expect(await new AsyncHashingCounter().digest()).toBe(sha256Hex(""));
    const many = new AsyncHashingCounter();
    const bytes = new Uint8Array(200_000).map((_, i) => i % 251);
    for (let off = 0; off < bytes.length; off += 1000) many.update(bytes.subarray(off, off + 1000));
    expect(await many.digest()).toBe(sha256Hex(bytes));
  });

  it.each(["docstore", "vectors"])("a flipped byte deep in a big %s file fails the load with CORRUPT", async (which) => {
    const fs = new MemoryFileSystem();
    const nodes = Array.from({ length: 3000 }, (_, i) => new TextNode({ id: `n${i}`, text: `text ${i} `.repeat(30), embedding: [i, 1, 2, 3, 4, 5, 6, 7] }));
    const docStore = new SimpleDocumentStore();
    await docStore.addDocuments(nodes.map((n) => Object.assign(n.clone(), { embedding: null })));
    const vectorStore = new SimpleVectorStore();
    await vectorStore.add(nodes);
    const ctx = await StorageContext.fromDefaults({ docStore, vectorStore });
    await ctx.persist("p", { fs });
    const file = (await fs.list("p/")).find((f) => (which === "docstore" ? f.endsWith(".docstore.jsonl") : f.endsWith(".f32")))!;
    const bytes = Buffer.from(await fs.read(file));
    expect(bytes.length).toBeGreaterThan(64 * 1024);
    const at = Math.floor(bytes.length * 0.7);
    // Keep the docstore file valid JSON text so only the checksum can tell.
    bytes[at] = which === "docstore" ? (bytes[at] === 0x78 ? 0x79 : 0x78) : bytes[at]! ^ 1;
    await fs.write(file, bytes);
    const err = await StorageContext.fromPersistDir("p", { fs }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStorageError(err, "CORRUPT")).toBe(true);
    expect(String((err as Error).message)).toContain(file);
  });
});

describe("loading line files", () => {
  it("splits lines exactly wherever a chunk boundary cuts a character", () => {
    const text = 'héllo\nwörld €𝄞\n\n"x"\nlast';
    const bytes = Buffer.from(text, "utf8");
    for (let cut = 0; cut <= bytes.length; cut++) {
      const lines: string[] = [];
      const s = new Utf8LineSplitter((l) => lines.push(l));
      s.push(bytes.subarray(0, cut));
      s.push(bytes.subarray(cut));
      s.end();
      expect(lines).toEqual(["héllo", "wörld €𝄞", "", '"x"', "last"]);
    }
  });

  it("round-trips docstore keys with escapes, quotes and non-ASCII", async () => {
    const fs = new MemoryFileSystem();
    const ids = ["plain", 'q"uote', "back\\slash", "tab\tnl\n", "ünï€𝄞", "\u0001ctl"];
    const docStore = new SimpleDocumentStore();
    await docStore.addDocuments(ids.map((id) => new TextNode({ id, text: `t ${id}` })));
    await (await StorageContext.fromDefaults({ docStore })).persist("k", { fs });
    const loaded = await StorageContext.fromPersistDir("k", { fs });
    expect((await loaded.docStore.getAllDocumentIds()).sort()).toEqual([...ids].sort());
    for (const id of ids) expect((await loaded.docStore.getDocument(id))?.id).toBe(id);
  });
});
