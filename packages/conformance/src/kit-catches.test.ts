/**
 * "Kit catches X": each important rule of the kit is shown to bite. A deliberately broken store
 * (one bug each, modelled on real bugs of the Python/TS originals) is run through the kit's own
 * test body, which must reject; the same body passes against the correct store.
 */
import { describe, expect, it } from "vitest";
import { SimpleKVStore, type JsonObject, type KVStore } from "@larder/core/kv";
import { KVDocumentStore, SimpleDocumentStore, type DocStore } from "@larder/core/docstore";
import { SimpleIndexStore, indexStructToJson, type IndexStore, type IndexStruct } from "@larder/core/indexstore";
import { SimpleChatStore, type ChatMessage, type ChatStore } from "@larder/core/chat";
import { StorageError } from "@larder/core/errors";
import { MemoryFileSystem, validatePath, type FileStat, type FileSystem, type WriteOptions } from "@larder/core/fs";
import type { SuiteContext, TestBody } from "./harness.js";
import { kvTests, type KVTestId } from "./kv.js";
import { docStoreTests, type DocStoreTestId } from "./docstore.js";
import { indexStoreTests, type IndexStoreTestId } from "./indexstore.js";
import { chatStoreTests, type ChatStoreTestId } from "./chat.js";
import { fileSystemTests, type FileSystemTestId } from "./fs.js";

function ctxFor<S>(create: () => S): SuiteContext<S, never> {
  return { store: async () => create(), capabilities: {} as never };
}

/** The body must pass on the good store and fail on the broken one. */
async function catches<S>(body: TestBody<S, never>, good: () => S, broken: () => S): Promise<void> {
  await body(ctxFor(good));
  let failure: unknown;
  try {
    await body(ctxFor(broken));
  } catch (e) {
    failure = e;
  }
  expect(failure, "the broken store passed the kit test").toBeDefined();
  if (process.env["LARDER_SHOW_CATCHES"]) console.log(String(failure).split("\n")[0]);
}

// ---------------------------------------------------------------- KV
class NullForMissingKV extends SimpleKVStore {
  override async get(key: string, collection?: string) {
    return ((await super.get(key, collection)) ?? null) as unknown as JsonObject | undefined;
  }
}
class MergingKV extends SimpleKVStore {
  override async put(key: string, value: JsonObject, collection?: string) {
    await super.put(key, { ...((await super.get(key, collection)) ?? {}), ...value }, collection);
  }
}
class AliasingKV implements KVStore {
  readonly m = new Map<string, Map<string, JsonObject>>();
  readonly inner = new SimpleKVStore();
  #c(c = "data") {
    let x = this.m.get(c);
    if (!x) this.m.set(c, (x = new Map()));
    return x;
  }
  async put(k: string, v: JsonObject, c?: string) {
    await this.inner.put(k, v, c);
    this.#c(c).set(k, v);
  }
  async putAll(e: Iterable<readonly [string, JsonObject]>, c?: string) {
    for (const [k, v] of e) await this.put(k, v, c);
  }
  async get(k: string, c?: string) {
    return this.#c(c).get(k);
  }
  async getMany(ks: readonly string[], c?: string) {
    return ks.map((k) => this.#c(c).get(k));
  }
  async getAll(c?: string) {
    return Object.fromEntries(this.#c(c));
  }
  async delete(k: string, c?: string) {
    return this.#c(c).delete(k);
  }
  async deleteMany(ks: readonly string[], c?: string) {
    return ks.filter((k) => this.#c(c).delete(k)).length;
  }
  async *scan(c?: string) {
    yield* this.#c(c);
  }
  async collections() {
    return [...this.m.keys()];
  }
}
class PartialBatchKV extends SimpleKVStore {
  // Writes entry by entry and stops at the first bad one: the classic non-validated batch.
  override async putAll(entries: Iterable<readonly [string, JsonObject]>, collection?: string) {
    for (const [k, v] of entries) await this.put(k, v, collection);
  }
}
class AlwaysTrueDeleteKV extends SimpleKVStore {
  override async delete(key: string, collection?: string) {
    await super.delete(key, collection);
    return true;
  }
}
class PrefixCollectionsKV extends SimpleKVStore {
  // Lists "x/data" by an unterminated prefix, like the Python S3 KV store.
  override async getAll(collection = "data") {
    const out: Record<string, JsonObject> = {};
    for (const c of await this.collections()) if (c.startsWith(collection)) Object.assign(out, await super.getAll(c));
    return out;
  }
}
class TruncatingScanKV extends SimpleKVStore {
  override async *scan(collection?: string) {
    let n = 0;
    for await (const e of super.scan(collection)) {
      if (++n > 5000) return; // a single page only
      yield e;
    }
  }
}
class PlainObjectKV extends SimpleKVStore {
  // Object-as-map storage: "__proto__" and friends misbehave.
  readonly o: Record<string, Record<string, JsonObject>> = {};
  override async put(key: string, value: JsonObject, collection = "data") {
    await super.put(key, value, collection);
    (this.o[collection] ??= {})[key] = structuredClone(value);
  }
  override async getAll(collection = "data") {
    const src = this.o[collection] ?? {};
    const out: Record<string, JsonObject> = {};
    for (const k in src) out[k] = src[k]!;
    return out;
  }
}
class AcceptsArraysKV extends SimpleKVStore {
  override async put(key: string, value: JsonObject, collection?: string) {
    await super.put(key, Array.isArray(value) ? { wrapped: value } : value, collection);
  }
}
class GenericErrorKV extends SimpleKVStore {
  override async put(key: string, value: JsonObject, collection?: string) {
    if (key.includes("'")) throw new Error("syntax error at or near \"'\""); // an unescaped driver error
    await super.put(key, value, collection);
  }
}

describe("kit catches broken KV stores", () => {
  const good = () => new SimpleKVStore();
  const cases: [KVTestId, string, () => KVStore][] = [
    ["kv.get.missing-is-undefined", "get returns null for a missing key", () => new NullForMissingKV()],
    ["kv.put.replaces-not-merges", "put merges fields (Mongo/Firestore behaviour)", () => new MergingKV()],
    ["kv.copy.output-is-not-aliased", "values are aliased, not copied", () => new AliasingKV()],
    ["kv.copy.input-is-not-aliased", "values are aliased, not copied", () => new AliasingKV()],
    ["kv.putAll.validates-whole-batch-first", "a bad batch is partly written", () => new PartialBatchKV()],
    ["kv.delete.reports-whether-deleted", "delete always resolves true", () => new AlwaysTrueDeleteKV()],
    ["kv.collections.prefix-names-do-not-overlap", "collections matched by unterminated prefix", () => new PrefixCollectionsKV()],
    ["kv.scan.yields-every-entry-once", "scan stops after one page", () => new TruncatingScanKV()],
    ["kv.hostile.keys", "__proto__ key stored in a plain object", () => new PlainObjectKV()],
    ["kv.invalid.non-object-values", "arrays accepted as values", () => new AcceptsArraysKV()],
    ["kv.hostile.keys", "hostile key raises a raw driver error", () => new GenericErrorKV()],
  ];
  for (const [id, what, broken] of cases) {
    it(`${id} catches: ${what}`, () => catches(kvTests[id], good, broken), 60_000);
  }
});

// ---------------------------------------------------------------- DocStore
class LeavesRefDocEntry extends SimpleDocumentStore {
  // Deletes the node and its metadata but never touches ref_doc_info (the async-path bug of LlamaIndex).
  override async deleteDocument(id: string, raiseError = true) {
    const a = await this.kvStore.delete(id, this.nodeCollection);
    const b = await this.kvStore.delete(id, this.metadataCollection);
    if (!a && !b && raiseError) return super.deleteDocument(id, raiseError);
    return a || b;
  }
}
class HashToIdDocStore extends SimpleDocumentStore {
  override async getAllDocumentHashes() {
    const byId = await super.getAllDocumentHashes();
    return Object.fromEntries(Object.entries(byId).map(([id, h]) => [h, id]));
  }
}
class ReplacingHashDocStore extends SimpleDocumentStore {
  override async setDocumentHash(id: string, hash: string) {
    await this.kvStore.put(id, { doc_hash: hash }, this.metadataCollection);
  }
}
class PartialConflictDocStore extends SimpleDocumentStore {
  // Checks and writes node by node: the nodes before the conflicting one are already written.
  override async addDocuments(nodes: Parameters<DocStore["addDocuments"]>[0], options: Parameters<DocStore["addDocuments"]>[1] = {}) {
    for (const n of nodes) await super.addDocuments([n], options);
  }
}
class StickyRefDocStore extends KVDocumentStore {
  // Re-adding a node under another ref doc forgets to remove it from the old one.
  constructor() {
    super(new SimpleKVStore());
  }
  override async addDocuments(nodes: Parameters<DocStore["addDocuments"]>[0], options?: Parameters<DocStore["addDocuments"]>[1]) {
    const before = await this.getAllRefDocInfo();
    await super.addDocuments(nodes, options);
    for (const [r, info] of Object.entries(before)) {
      const now = await this.getRefDocInfo(r);
      const lost = info.nodeIds.filter((n) => !(now?.nodeIds ?? []).includes(n));
      if (lost.length) await this.kvStore.put(r, { node_ids: [...(now?.nodeIds ?? []), ...lost], metadata: info.metadata }, this.refDocCollection);
    }
  }
}

describe("kit catches broken document stores", () => {
  const good = () => new SimpleDocumentStore();
  const cases: [DocStoreTestId, string, () => DocStore][] = [
    ["docstore.refdoc.delete-document-updates-node-ids", "delete leaves the node id in ref_doc_info", () => new LeavesRefDocEntry()],
    ["docstore.refdoc.delete-last-node-removes-entry", "delete of the last node leaves the ref-doc entry", () => new LeavesRefDocEntry()],
    ["docstore.refdoc.every-delete-kind-model-check", "delete leaves stale ids", () => new LeavesRefDocEntry()],
    ["docstore.hash.all-is-id-to-hash", "hashes returned as hash -> id (identical content collapses)", () => new HashToIdDocStore()],
    ["docstore.hash.set-keeps-ref-doc-link", "setDocumentHash drops ref_doc_id", () => new ReplacingHashDocStore()],
    ["docstore.add.allow-update-false-conflict-writes-nothing", "a CONFLICT leaves earlier nodes written", () => new PartialConflictDocStore()],
    ["docstore.refdoc.node-moves-to-another-ref-doc", "moved node stays in the old ref doc", () => new StickyRefDocStore()],
  ];
  for (const [id, what, broken] of cases) {
    it(`${id} catches: ${what}`, () => catches(docStoreTests[id], good, broken), 60_000);
  }
});

// ---------------------------------------------------------------- IndexStore
class FirstStructIndexStore extends SimpleIndexStore {
  override async getIndexStruct(id?: string) {
    if (id === undefined) return (await this.indexStructs())[0];
    return super.getIndexStruct(id);
  }
}
class SingleEncodedIndexStore extends SimpleIndexStore {
  override async addIndexStruct(struct: IndexStruct) {
    const v = indexStructToJson(struct);
    await this.kvStore.put(struct.indexId, { ...v, __data__: JSON.parse(v["__data__"] as string) as JsonObject }, this.collection);
  }
}

describe("kit catches broken index stores", () => {
  const good = () => new SimpleIndexStore();
  const cases: [IndexStoreTestId, string, () => IndexStore][] = [
    ["indexstore.get.without-id", "getIndexStruct() silently picks one of several", () => new FirstStructIndexStore()],
    ["indexstore.layout.llamaindex-double-encoded", "__data__ stored as an object, not LlamaIndex's JSON string", () => new SingleEncodedIndexStore()],
  ];
  for (const [id, what, broken] of cases) {
    it(`${id} catches: ${what}`, () => catches(indexStoreTests[id], good, broken), 60_000);
  }
});

// ---------------------------------------------------------------- ChatStore
class ReversingDeleteChat extends SimpleChatStore {
  // Redis LPUSH rebuild: deleting one message reverses the rest (LlamaIndex RedisChatStore bug).
  override async deleteMessage(key: string, idx: number) {
    const all = await this.getMessages(key);
    if (idx >= all.length) return undefined;
    const [removed] = all.splice(idx, 1);
    await this.setMessages(key, all.reverse());
    return removed;
  }
}
class LifoChat extends SimpleChatStore {
  override async getMessages(key: string, options?: Parameters<ChatStore["getMessages"]>[1]) {
    return (await super.getMessages(key, options)).reverse();
  }
}
class LossyChat extends SimpleChatStore {
  // Keeps role and string content only: tool calls and blocks are dropped (LlamaIndex #12313).
  override async setMessages(key: string, messages: readonly ChatMessage[]) {
    await super.setMessages(
      key,
      messages.map((m) => ({ role: m.role, content: typeof m.content === "string" ? m.content : null })),
    );
  }
}
class ThrowsOnEmptyChat extends SimpleChatStore {
  override async deleteLastMessage(key: string) {
    const r = await super.deleteLastMessage(key);
    if (r === undefined) throw new Error("pop from empty list");
    return r;
  }
}
class EmptyKeysChat extends SimpleChatStore {
  readonly touched = new Set<string>();
  override async setMessages(key: string, messages: readonly ChatMessage[]) {
    this.touched.add(key);
    await super.setMessages(key, messages);
  }
  override async getKeys() {
    return [...new Set([...(await super.getKeys()), ...this.touched])];
  }
}

describe("kit catches broken chat stores", () => {
  const good = () => new SimpleChatStore();
  const cases: [ChatStoreTestId, string, () => ChatStore][] = [
    ["chat.deleteMessage.by-index-keeps-order", "deleting one message reorders the rest", () => new ReversingDeleteChat()],
    ["chat.add.appends-in-order", "messages come back newest first", () => new LifoChat()],
    ["chat.get.limit-and-before", "messages come back newest first", () => new LifoChat()],
    ["chat.set.roundtrip-lossless", "tool calls and blocks dropped", () => new LossyChat()],
    ["chat.deleteLastMessage", "deleteLastMessage throws on an empty history", () => new ThrowsOnEmptyChat()],
    ["chat.keys.lists-non-empty", "getKeys lists emptied histories", () => new EmptyKeysChat()],
  ];
  for (const [id, what, broken] of cases) {
    it(`${id} catches: ${what}`, () => catches(chatStoreTests[id], good, broken), 60_000);
  }
});

// ---------------------------------------------------------------- FileSystem
/** A memory FS with injectable bugs. */
class BuggyFileSystem implements FileSystem {
  readonly name = "BuggyFileSystem";
  readonly files = new Map<string, Uint8Array>();
  versions = new Map<string, number>();
  constructor(readonly bugs: { nonAtomic?: boolean; noPathChecks?: boolean; racyIfAbsent?: boolean; visibleTemp?: boolean; unsorted?: boolean }) {}
  #check(path: string) {
    if (this.bugs.noPathChecks) return;
    validatePath(path, this.name);
  }
  async read(path: string) {
    this.#check(path);
    const d = this.files.get(path);
    if (!d) throw new StorageError("NOT_FOUND", `no such file ${path}`);
    return d.slice();
  }
  async write(path: string, data: Uint8Array | string, options: WriteOptions = {}) {
    this.#check(path);
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data.slice();
    if (options.ifMatch === "absent") {
      const exists = this.files.has(path);
      if (this.bugs.racyIfAbsent) await new Promise((r) => setImmediate(r)); // check, then act later
      if (exists) throw new StorageError("CONFLICT", `exists: ${path}`);
    }
    if (this.bugs.visibleTemp) {
      this.files.set(`${path}.tmp`, bytes);
      await new Promise((r) => setImmediate(r));
      this.files.delete(`${path}.tmp`);
    }
    if (this.bugs.nonAtomic) {
      // Truncate, then write in chunks while other callers run: readers see partial files.
      this.files.set(path, new Uint8Array(0));
      for (let off = 0; off < bytes.length; off += 64 * 1024) {
        await new Promise((r) => setImmediate(r));
        const prev = this.files.get(path)!;
        const next = new Uint8Array(prev.length + Math.min(64 * 1024, bytes.length - off));
        next.set(prev);
        next.set(bytes.subarray(off, off + 64 * 1024), prev.length);
        this.files.set(path, next);
      }
    } else {
      this.files.set(path, bytes);
    }
    this.versions.set(path, (this.versions.get(path) ?? 0) + 1);
  }
  async exists(path: string) {
    this.#check(path);
    return this.files.has(path);
  }
  async list(prefix = "") {
    const out = [...this.files.keys()].filter((p) => p.startsWith(prefix)).sort();
    return this.bugs.unsorted ? out.reverse() : out;
  }
  async delete(path: string) {
    this.#check(path);
    return this.files.delete(path);
  }
  async stat(path: string): Promise<FileStat | undefined> {
    this.#check(path);
    const d = this.files.get(path);
    return d ? { size: d.length, etag: String(this.versions.get(path)) } : undefined;
  }
}

describe("kit catches broken file systems", () => {
  const good = () => new MemoryFileSystem();
  const cases: [FileSystemTestId, string, () => FileSystem][] = [
    ["fs.atomic.concurrent-reader-never-sees-partial", "writes in place, chunk by chunk", () => new BuggyFileSystem({ nonAtomic: true })],
    ["fs.path.rejects-traversal-and-malformed", "paths are not validated", () => new BuggyFileSystem({ noPathChecks: true })],
    ["fs.conditional.if-absent-race-one-winner", "ifMatch absent is check-then-write", () => new BuggyFileSystem({ racyIfAbsent: true })],
    ["fs.atomic.temp-files-never-visible", "temp files show up in list()", () => new BuggyFileSystem({ visibleTemp: true })],
    ["fs.list.sorted-recursive", "list() is not sorted", () => new BuggyFileSystem({ unsorted: true })],
  ];
  for (const [id, what, broken] of cases) {
    it(`${id} catches: ${what}`, () => catches(fileSystemTests[id], good, broken), 60_000);
  }
});
