// Test-only (excluded from the build): LangChain's BaseStore users (CacheBackedEmbeddings,
// MultiVectorRetriever) over LarderByteStore / LarderKVBaseStore on the given Larder KV store.
import { expect, it } from "vitest";
import { expectStorageError } from "@larder/conformance";
import type { KVStore } from "@larder/core/kv";
import { SimpleVectorStore } from "@larder/core/vector";
import { Document } from "@langchain/core/documents";
import { CacheBackedEmbeddings } from "@langchain/classic/embeddings/cache_backed";
import { MultiVectorRetriever } from "@langchain/classic/retrievers/multi_vector";
import { documentCodec, LarderByteStore, LarderKVBaseStore, LarderVectorStore } from "../index.js";
import { CountingEmbeddings } from "./fakes.js";

async function keys(store: LarderKVBaseStore<unknown>, prefix?: string): Promise<string[]> {
  const out: string[] = [];
  for await (const k of store.yieldKeys(prefix)) out.push(k);
  return out.sort();
}

export function describeKVAdapter(create: () => KVStore): void {
  it("LarderByteStore: bytes round-trip exactly (every byte value, empty, views), mget keeps order, mdelete, yieldKeys(prefix)", async () => {
    const store = new LarderByteStore({ kv: create() });
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const big = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 2654435761) >>> 24);
    const view = new Uint8Array(all.buffer, 10, 5); // a view into a bigger buffer: only its 5 bytes
    await store.mset([["a/all", all], ["a/empty", new Uint8Array(0)], ["b/big", big], ["a/view", view]]);
    const [gotAll, missing, gotEmpty, gotBig, gotView] = await store.mget(["a/all", "zzz", "a/empty", "b/big", "a/view"]);
    expect(gotAll).toEqual(all);
    expect(gotAll).toBeInstanceOf(Uint8Array);
    expect(missing).toBeUndefined();
    expect(gotEmpty).toEqual(new Uint8Array(0));
    expect(gotBig).toEqual(big);
    expect(Array.from(gotView!)).toEqual([10, 11, 12, 13, 14]);
    expect(await keys(store, "a/")).toEqual(["a/all", "a/empty", "a/view"]);
    expect(await keys(store)).toEqual(["a/all", "a/empty", "a/view", "b/big"]);
    await store.mdelete(["a/all", "nope"]);
    expect(await store.mget(["a/all", "a/empty"])).toEqual([undefined, new Uint8Array(0)]);
    // A batch with a value that is not bytes is refused whole.
    await expectStorageError(() => store.mset([["c/ok", all], ["c/bad", "text" as never]]), "INVALID_ARGUMENT");
    expect(await store.mget(["c/ok"])).toEqual([undefined]);
  });

  it("CacheBackedEmbeddings.fromBytesStore: the second call (also from a new store on the same KV) does not call the embedder", async () => {
    const kv = create();
    const underlying = new CountingEmbeddings();
    const cached = CacheBackedEmbeddings.fromBytesStore(underlying, new LarderByteStore({ kv }), { namespace: "counting-v1" });
    const texts = ["robots in space", "a love story", "dinosaurs"];
    const first = await cached.embedDocuments(texts);
    expect(underlying.embedded).toBe(3);
    const second = await cached.embedDocuments(texts);
    expect(second).toEqual(first);
    expect(underlying.embedded).toBe(3);
    // Another process would build its cache on a new adapter over the same store.
    const again = CacheBackedEmbeddings.fromBytesStore(underlying, new LarderByteStore({ kv }), { namespace: "counting-v1" });
    expect(await again.embedDocuments([texts[1]!, "brand new text", texts[0]!])).toEqual([first[1], underlying.embed("brand new text"), first[0]]);
    expect(underlying.embedded).toBe(4);
    // The values are exact float64s (LangChain's JSON encoding inside the bytes).
    expect(first[0]).toEqual(underlying.embed(texts[0]!));
  });

  it("LarderKVBaseStore: any JSON value round-trips; values JSON cannot hold are INVALID_ARGUMENT, the batch writes nothing", async () => {
    const store = new LarderKVBaseStore({ kv: create(), collection: "values" });
    const values = [{ a: [1, "x", null, { b: true }] }, [1, 2], "text", 0, -0.5, false, null, "ünïcødé ✓ \u{1F600}"] as const;
    await store.mset(values.map((v, i) => [`k${i}`, v as never]));
    expect(await store.mget(values.map((_, i) => `k${i}`))).toEqual(values);
    await expectStorageError(() => store.mset([["ok", 1], ["nan", Number.NaN]]), "INVALID_ARGUMENT");
    await expectStorageError(() => store.mset([["ok", 1], ["date", new Date(0) as never]]), "INVALID_ARGUMENT");
    expect(await store.mget(["ok"])).toEqual([undefined]);
  });

  it("MultiVectorRetriever: parent documents in a LarderKVBaseStore (documentCodec) or a LarderByteStore, child vectors in a LarderVectorStore", async () => {
    const kv = create();
    const emb = new CountingEmbeddings();
    const parents = [
      new Document({ id: "p1", pageContent: "Parent one: robots, space and time travel.", metadata: { n: 1 } }),
      new Document({ id: "p2", pageContent: "Parent two: a family drama about love and music.", metadata: { n: 2 } }),
    ];
    const children = [
      new Document({ pageContent: "robots in space", metadata: { doc_id: "p1" } }),
      new Document({ pageContent: "time travel", metadata: { doc_id: "p1" } }),
      new Document({ pageContent: "family love", metadata: { doc_id: "p2" } }),
      new Document({ pageContent: "music", metadata: { doc_id: "p2" } }),
    ];
    const vectorstore = new LarderVectorStore(emb, { store: new SimpleVectorStore() });
    await vectorstore.addDocuments(children);

    const docstore = new LarderKVBaseStore<Document>({ kv, collection: "parents", codec: documentCodec });
    await docstore.mset(parents.map((p) => [p.id!, p]));
    const byDocstore = await new MultiVectorRetriever({ vectorstore, docstore, childK: 2 }).invoke("love and music");
    expect(byDocstore).toHaveLength(1);
    expect(byDocstore[0]).toBeInstanceOf(Document);
    expect(byDocstore[0]).toMatchObject({ id: "p2", pageContent: parents[1]!.pageContent, metadata: { n: 2 } });

    const byteStore = new LarderByteStore({ kv, collection: "parent-bytes" });
    const viaBytes = new MultiVectorRetriever({ vectorstore, byteStore, childK: 2 });
    await viaBytes.docstore.mset(parents.map((p) => [p.id!, p]));
    const got = await viaBytes.invoke("robots in space");
    expect(got.map((d) => [d.pageContent, d.metadata])).toEqual([[parents[0]!.pageContent, { n: 1 }]]);
  });
}
