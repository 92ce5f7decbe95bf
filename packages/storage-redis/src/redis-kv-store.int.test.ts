import { describe, expect, it } from "vitest";
import { describeKVStore } from "@larder/conformance/kv";
import { expectStorageError, uniqueNamespace } from "@larder/conformance";
import { RedisKVStore } from "./redis-kv-store.js";
import { deletePrefix, whenReachable } from "./testing/env.js";
import { cleanedPrefixes, redisTargets } from "./testing/targets.js";

const targets = await redisTargets();

for (const { label, reason, client } of targets) {
  whenReachable(reason, `RedisKVStore (${label})`, () => {
    describeKVStore({
      name: `RedisKVStore (${label})`,
      create: () => new RedisKVStore({ client, prefix: `${uniqueNamespace("kv")}:` }),
      dispose: async (store) => {
        await deletePrefix(client, (store as RedisKVStore).prefix);
        await store.close?.();
      },
    });

    describe(`RedisKVStore specifics (${label})`, () => {
      const prefix = cleanedPrefixes(client, "kvx");
      const store = () => new RedisKVStore({ client, prefix: prefix() });

      it("transaction: holders of one lock never overlap, across store instances", async () => {
        const p = prefix();
        const stores = Array.from({ length: 10 }, () => new RedisKVStore({ client, prefix: p }));
        await stores[0]!.put("n", { v: 0 }, "counter");
        let inside = 0;
        let overlaps = 0;
        await Promise.all(
          stores.flatMap((kv) =>
            [1, 2, 3].map(() =>
              kv.transaction("ns/lock", async (tx) => {
                if (++inside > 1) overlaps++;
                const v = ((await tx.get("n", "counter"))?.["v"] as number) + 1;
                await new Promise((r) => setTimeout(r, 1));
                await tx.put("n", { v }, "counter");
                inside--;
              }),
            ),
          ),
        );
        expect(overlaps).toBe(0);
        expect(await stores[0]!.get("n", "counter")).toEqual({ v: 30 });
        // The lock is a plain string key, gone after use, and not a collection.
        expect(await client.exists(`${p}ns/lock`)).toBe(0);
        expect(await stores[0]!.collections()).toEqual(["counter"]);
      });

      it("transaction: a rejection passes through and releases the lock; waiting too long is CONFLICT without calling fn", async () => {
        const p = prefix();
        const a = new RedisKVStore({ client, prefix: p });
        const b = new RedisKVStore({ client, prefix: p, lockWaitMs: 150 });
        await expect(a.transaction("l", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
        expect(await b.transaction("l", async () => "free")).toBe("free");
        let release!: () => void;
        const held = a.transaction("l", () => new Promise<void>((r) => (release = r)));
        await expect.poll(() => client.exists(`${p}l`)).toBe(1);
        let called = false;
        const err = await expectStorageError(
          () =>
            b.transaction("l", async () => {
              called = true;
            }),
          "CONFLICT",
        );
        expect(err.message).toContain("waiting for the lock");
        expect(called).toBe(false);
        release();
        await held;
        expect(await b.transaction("l", async () => "again")).toBe("again");
      });

      it("transaction: a lease taken over by another holder is CONFLICT afterwards, and the other's lock is left alone", async () => {
        const p = prefix();
        const kv = new RedisKVStore({ client, prefix: p, lockLeaseMs: 90 });
        const err = await expectStorageError(
          () =>
            kv.transaction("l", async () => {
              // As if our lease had run out and another process had taken the lock.
              await client.set(`${p}l`, "someone-else");
            }),
          "CONFLICT",
        );
        expect(err.message).toContain("expired");
        expect(await client.get(`${p}l`)).toBe("someone-else");
      });

      it("transaction: bad lock names and lock options are INVALID_ARGUMENT", async () => {
        const kv = store();
        await expectStorageError(() => kv.transaction("", async () => 1), "INVALID_ARGUMENT");
        await expectStorageError(() => kv.transaction("l", undefined as never), "INVALID_ARGUMENT");
        await expectStorageError(() => new RedisKVStore({ client, lockLeaseMs: 0 }), "INVALID_ARGUMENT");
        await expectStorageError(() => new RedisKVStore({ client, lockWaitMs: 1.5 }), "INVALID_ARGUMENT");
      });

      it("stores one hash per collection, named prefix + collection, with JSON fields (Python's layout)", async () => {
        const kv = store();
        await kv.putAll([["a", { x: 1 }], ["b", { y: "ü" }]], "docstore/doc");
        const key = `${kv.prefix}docstore/doc`;
        expect(kv.keyFor("docstore/doc")).toBe(key);
        expect(await client.type(key)).toBe("hash");
        expect(await client.hgetall(key)).toEqual({ a: '{"x":1}', b: '{"y":"ü"}' });
      });

      it("reads data written the way Python's RedisKVStore writes it (json.dumps, ensure_ascii)", async () => {
        const kv = store();
        const key = kv.keyFor("docstore/metadata");
        await client.hset(key, "n\u00e9", '{"doc_hash": "abc", "ref_doc_id": "caf\\u00e9"}');
        expect(await kv.get("n\u00e9", "docstore/metadata")).toEqual({ doc_hash: "abc", ref_doc_id: "café" });
        expect(await kv.collections()).toEqual(["docstore/metadata"]);
      });

      it("putAllSerialized pulls each text once, in order, stores it as is, and refuses bad keys before writing", async () => {
        const kv = store();
        const entries = Array.from({ length: 2_500 }, (_, i) => [`k${i}`, JSON.stringify({ i, s: "é\u0000" })] as const);
        const all = [...entries, ["k0", '{"last":"wins"}'] as const];
        const calls: number[] = [];
        const serialize = (i: number) => {
          calls.push(i);
          return all[i]![1];
        };
        await kv.putAllSerialized(
          all.map(([k]) => k),
          serialize,
          "ser",
          { batchSize: 300 },
        );
        expect(calls).toEqual(all.map((_, i) => i));
        expect(await client.hlen(kv.keyFor("ser"))).toBe(2_500);
        expect(await kv.get("k0", "ser")).toEqual({ last: "wins" });
        expect(await kv.get("k7", "ser")).toEqual({ i: 7, s: "é\u0000" });
        // A bad key anywhere in the batch: refused before serialize is called or anything is written.
        for (const keys of [["ok", ""], ["ok", "\ud800"], ["ok", 5], "ok"]) {
          let pulled = 0;
          await expectStorageError(
            () => kv.putAllSerialized(keys as string[], () => (pulled++, "{}"), "ser-bad"),
            "INVALID_ARGUMENT",
          );
          expect(pulled).toBe(0);
        }
        // Text that is not a JSON object is refused when it is pulled (the caller broke its promise).
        await expectStorageError(() => kv.putAllSerialized(["x"], () => "[1]", "ser-bad"), "INVALID_ARGUMENT");
        expect(await client.exists(kv.keyFor("ser-bad"))).toBe(0);
      });

      it("putAll of 25 000 entries with a small batchSize lands completely", async () => {
        const kv = store();
        const entries = Array.from({ length: 25_000 }, (_, i) => [`k${i}`, { i }] as const);
        await kv.putAll(entries, "big", { batchSize: 700 });
        expect(await client.hlen(kv.keyFor("big"))).toBe(25_000);
        const got = await kv.getMany(["k0", "k24999", "nope"], "big");
        expect(got).toEqual([{ i: 0 }, { i: 24_999 }, undefined]);
      });

      it("a foreign non-JSON field is CORRUPT, not a crash or a silent skip", async () => {
        const kv = store();
        await client.hset(kv.keyFor("c"), "bad", "not json", "arr", "[1,2]");
        await expectStorageError(() => kv.get("bad", "c"), "CORRUPT");
        await expectStorageError(() => kv.get("arr", "c"), "CORRUPT");
      });

      it("a collection whose key holds another Redis type is CONFLICT and is left untouched", async () => {
        const kv = store();
        await client.rpush(kv.keyFor("list"), "x");
        await expectStorageError(() => kv.put("k", { a: 1 }, "list"), "CONFLICT");
        await expectStorageError(() => kv.getAll("list"), "CONFLICT");
        expect(await client.lrange(kv.keyFor("list"), 0, -1)).toEqual(["x"]);
        // collections() lists hashes only.
        expect(await kv.collections()).toEqual([]);
      });

      it("keys and collections with a lone surrogate are refused before any write", async () => {
        const kv = store();
        await expectStorageError(() => kv.put("a\ud800", { a: 1 }), "INVALID_ARGUMENT");
        await expectStorageError(() => kv.put("a", { a: 1 }, "c\udfff"), "INVALID_ARGUMENT");
        await expectStorageError(() => kv.putAll([["ok", { a: 1 }], ["\ud800", { a: 2 }]]), "INVALID_ARGUMENT");
        expect(await kv.collections()).toEqual([]);
        // Inside values they are fine: JSON escapes them.
        await kv.put("v", { s: "x\ud800y" });
        expect(await kv.get("v")).toEqual({ s: "x\ud800y" });
      });

      it("stores with different prefixes on one server do not see each other", async () => {
        const a = store();
        const b = store();
        await a.put("k", { owner: "a" });
        await b.put("k", { owner: "b" });
        expect(await a.get("k")).toEqual({ owner: "a" });
        expect(await b.getAll()).toEqual({ k: { owner: "b" } });
        expect(await a.collections()).toEqual(["data"]);
      });

      it.runIf(label === "cluster")("cluster: each collection is one key (one slot); a {hash tag} in the prefix co-locates a store's collections", async () => {
        const slot = async (key: string) => Number(await (client as import("ioredis").Cluster).cluster("KEYSLOT", key));
        const plain = store();
        const names = ["docstore/doc", "docstore/metadata", "docstore/ref_doc_info", "index_store/index"];
        await Promise.all(names.map((c) => plain.put("k", { c }, c)));
        const plainSlots = new Set(await Promise.all(names.map((c) => slot(plain.keyFor(c)))));
        expect(plainSlots.size).toBeGreaterThan(1); // spread over the cluster
        const tagged = new RedisKVStore({ client, prefix: prefix(`{${uniqueNamespace("tag")}}:`) });
        await tagged.putAll(names.map((c) => [c, { c }] as const), "first");
        await Promise.all(names.map((c) => tagged.put("k", { c }, c)));
        const taggedSlots = new Set(await Promise.all([...names, "first"].map((c) => slot(tagged.keyFor(c)))));
        expect(taggedSlots.size).toBe(1);
        expect((await tagged.collections()).sort()).toEqual([...names, "first"].sort());
        expect((await plain.collections()).sort()).toEqual([...names].sort());
      });

      it("close() leaves a passed-in client open", async () => {
        const kv = store();
        await kv.close();
        expect(await client.ping()).toBe("PONG");
      });
    });
  });
}
