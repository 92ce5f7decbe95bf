import { describe, expect, it } from "vitest";
import { SimpleKVStore, type JsonObject, type KVStore } from "@larder/core/kv";
import { KVDocumentStore, SimpleDocumentStore, type DocStore } from "@larder/core/docstore";
import { describeDocStore, docStoreTests } from "./docstore.js";
import { registerOpenAnother } from "./docstore-helpers.js";

// In-memory stores live in one process: "another instance" is another docstore over the same
// SimpleKVStore object, which is how several parts of one program share an in-memory docstore.
describeDocStore({
  name: "SimpleDocumentStore",
  create: () => new SimpleDocumentStore(),
  openAnother: (s) => new SimpleDocumentStore((s as SimpleDocumentStore).kvStore),
});
describeDocStore({
  name: "KVDocumentStore (custom namespace over SimpleKVStore)",
  create: () => new KVDocumentStore(new SimpleKVStore(), { namespace: "custom ns", batchSize: 3 }),
  openAnother: (s) => new KVDocumentStore((s as KVDocumentStore).kvStore, { namespace: "custom ns", batchSize: 3 }),
});

/**
 * A KV store object of its own per instance, all over one shared SimpleKVStore, and no
 * cross-instance lock: what separate processes on a backend without `transaction` look like.
 */
class SeparateProcessKV implements KVStore {
  constructor(readonly inner: SimpleKVStore) {}
  put(k: string, v: JsonObject, c?: string) {
    return this.inner.put(k, v, c);
  }
  putAll(e: Iterable<readonly [string, JsonObject]>, c?: string, o?: { batchSize?: number }) {
    return this.inner.putAll(e, c, o);
  }
  get(k: string, c?: string) {
    return this.inner.get(k, c);
  }
  getMany(k: readonly string[], c?: string) {
    return this.inner.getMany(k, c);
  }
  getAll(c?: string) {
    return this.inner.getAll(c);
  }
  delete(k: string, c?: string) {
    return this.inner.delete(k, c);
  }
  deleteMany(k: readonly string[], c?: string) {
    return this.inner.deleteMany(k, c);
  }
  scan(c?: string, o?: { batchSize?: number }) {
    return this.inner.scan(c, o);
  }
  collections() {
    return this.inner.collections();
  }
}

describe("kit catches: ref-doc bookkeeping across instances", () => {
  const body = docStoreTests["docstore.refdoc.exact-across-instances"];
  const run = (create: () => DocStore, open: (s: DocStore) => DocStore) =>
    body({
      capabilities: {},
      store: async () => {
        const s = create();
        registerOpenAnother(s, open);
        return s;
      },
    });

  it("fails when instances only serialize their own callers", async () => {
    const open = (s: DocStore) => new KVDocumentStore(new SeparateProcessKV(((s as KVDocumentStore).kvStore as SeparateProcessKV).inner));
    await expect(run(() => new KVDocumentStore(new SeparateProcessKV(new SimpleKVStore())), open)).rejects.toThrow(/bookkeeping errors/);
  });

  it("passes when the KV store offers a cross-instance lock (transaction)", async () => {
    class LockingKV extends SeparateProcessKV {
      constructor(inner: SimpleKVStore, readonly lock: { tail: Promise<unknown> }) {
        super(inner);
      }
      transaction<T>(_name: string, fn: (kv: KVStore) => Promise<T>): Promise<T> {
        const run = this.lock.tail.then(() => fn(this));
        this.lock.tail = run.catch(() => {});
        return run;
      }
    }
    const open = (s: DocStore) => {
      const kv = (s as KVDocumentStore).kvStore as LockingKV;
      return new KVDocumentStore(new LockingKV(kv.inner, kv.lock));
    };
    await run(() => new KVDocumentStore(new LockingKV(new SimpleKVStore(), { tail: Promise.resolve() })), open);
  });
});
