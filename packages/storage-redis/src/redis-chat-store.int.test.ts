import { describe, expect, it } from "vitest";
import { describeChatStore } from "@larder/conformance/chat";
import { expectStorageError, uniqueNamespace } from "@larder/conformance";
import type { ChatMessage } from "@larder/core/chat";
import { RedisChatStore, type RedisChatStoreOptions } from "./redis-chat-store.js";
import { deletePrefix, whenReachable } from "./testing/env.js";
import { cleanedPrefixes, redisTargets } from "./testing/targets.js";

const targets = await redisTargets();

const m = (i: number): ChatMessage => ({ role: i % 2 ? "assistant" : "user", content: `m${i}` });

for (const { label, reason, client } of targets) {
  whenReachable(reason, `RedisChatStore (${label})`, () => {
    describeChatStore({
      name: `RedisChatStore (${label})`,
      create: () => new RedisChatStore({ client, prefix: `${uniqueNamespace("chat")}:` }),
      dispose: async (store) => {
        await deletePrefix(client, (store as RedisChatStore).prefix);
      },
    });

    describe(`RedisChatStore specifics (${label})`, () => {
      const prefix = cleanedPrefixes(client, "chatx");
      const store = (o: Omit<RedisChatStoreOptions, "client" | "url" | "nodes"> = {}) => new RedisChatStore({ client, prefix: prefix(), ...o });

      it("one list per conversation, RPUSH order, message JSON as items (Python's layout)", async () => {
        const cs = store();
        await cs.addMessages("user-1", [m(0), m(1)]);
        await cs.addMessage("user-1", m(2));
        const key = cs.keyFor("user-1");
        expect(key).toBe(`${cs.prefix}user-1`);
        expect(await client.type(key)).toBe("list");
        expect((await client.lrange(key, 0, -1)).map((s) => JSON.parse(s) as unknown)).toEqual([m(0), m(1), m(2)]);
      });

      it("reads a history written by Python's RedisChatStore (blocks, json.dumps spacing)", async () => {
        const cs = store();
        await client.rpush(
          cs.keyFor("py"),
          '{"role": "user", "additional_kwargs": {}, "blocks": [{"block_type": "text", "text": "Hi \\u00e9"}]}',
          '{"role": "assistant", "additional_kwargs": {"tool_calls": []}, "blocks": [{"block_type": "text", "text": "Hello!"}]}',
        );
        expect(await cs.getMessages("py")).toEqual([
          { role: "user", additional_kwargs: {}, blocks: [{ block_type: "text", text: "Hi é" }] },
          { role: "assistant", additional_kwargs: { tool_calls: [] }, blocks: [{ block_type: "text", text: "Hello!" }] },
        ]);
      });

      it("sliding TTL: every append restarts the clock", async () => {
        const cs = store({ ttl: 100 });
        await cs.addMessage("s", m(0));
        const key = cs.keyFor("s");
        expect(await client.ttl(key)).toBeGreaterThan(95);
        await client.expire(key, 10); // simulate time passing
        await cs.addMessages("s", [m(1), m(2)]);
        expect(await client.ttl(key)).toBeGreaterThan(95);
        await cs.setMessages("s", [m(3)]);
        expect(await client.ttl(key)).toBeGreaterThan(95);
      });

      it("fixed TTL: set when the conversation starts, never extended by appends", async () => {
        const cs = store({ ttl: 100, ttlMode: "fixed" });
        await cs.addMessage("f", m(0));
        const key = cs.keyFor("f");
        expect(await client.ttl(key)).toBeGreaterThan(95);
        await client.expire(key, 10);
        await cs.addMessages("f", [m(1)]);
        const ttl = await client.ttl(key);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(10);
        expect(await cs.getMessages("f")).toEqual([m(0), m(1)]);
      });

      it("no TTL by default", async () => {
        const cs = store();
        await cs.addMessage("n", m(0));
        expect(await client.ttl(cs.keyFor("n"))).toBe(-1);
      });

      it("concurrent batch appends from several connections never interleave inside a batch", async () => {
        const cs = store();
        const conns = Array.from({ length: 4 }, () => client.duplicate());
        try {
          const writers = conns.map((c) => new RedisChatStore({ client: c, prefix: cs.prefix }));
          const batches = Array.from({ length: 20 }, (_, b) => Array.from({ length: 5 }, (_, i) => ({ role: "user", content: `b${b}-${i}` })));
          await Promise.all(batches.map((batch, b) => writers[b % writers.length]!.addMessages("c", batch)));
        } finally {
          for (const c of conns) c.disconnect();
        }
        const got = (await cs.getMessages("c")).map((x) => x.content as string);
        expect(got).toHaveLength(100);
        for (let i = 0; i < 100; i += 5) {
          const b = got[i]!.split("-")[0];
          expect(got.slice(i, i + 5)).toEqual([0, 1, 2, 3, 4].map((j) => `${b}-${j}`));
        }
      });

      it("deleteMessage by index is exact while other clients append concurrently", async () => {
        const cs = store();
        await cs.setMessages("d", Array.from({ length: 50 }, (_, i) => m(i)));
        const deletes = Array.from({ length: 10 }, () => cs.deleteMessage("d", 0));
        const appends = Array.from({ length: 10 }, (_, i) => cs.addMessage("d", m(100 + i)));
        const removed = await Promise.all(deletes);
        await Promise.all(appends);
        expect(removed.map((x) => x?.content)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
        const left = (await cs.getMessages("d")).map((x) => x.content);
        expect(left.slice(0, 40)).toEqual(Array.from({ length: 40 }, (_, i) => `m${i + 10}`));
        expect([...left.slice(40)].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `m${100 + i}`).sort());
      });

      it("a chat key holding another Redis type is CONFLICT and is never deleted or given a TTL", async () => {
        const cs = store({ ttl: 50 });
        const key = cs.keyFor("h");
        await client.hset(key, "f", "v");
        await expectStorageError(() => cs.addMessage("h", m(0)), "CONFLICT");
        await expectStorageError(() => cs.setMessages("h", [m(0)]), "CONFLICT");
        await expectStorageError(() => cs.deleteMessages("h"), "CONFLICT");
        await expectStorageError(() => cs.getMessages("h", { before: 1 }), "CONFLICT");
        expect(await client.hgetall(key)).toEqual({ f: "v" });
        expect(await client.ttl(key)).toBe(-1);
        expect(await cs.getKeys()).toEqual([]);
      });

      it("a non-JSON item is CORRUPT", async () => {
        const cs = store();
        await client.rpush(cs.keyFor("bad"), "not json");
        await expectStorageError(() => cs.getMessages("bad"), "CORRUPT");
      });

      it("paging past the end and before > length", async () => {
        const cs = store();
        await cs.setMessages("p", Array.from({ length: 5 }, (_, i) => m(i)));
        expect(await cs.getMessages("p", { before: 10, limit: 3 })).toEqual([m(2), m(3), m(4)]);
        expect(await cs.getMessages("p", { before: 4, limit: 10 })).toEqual([m(0), m(1), m(2), m(3)]);
        expect(await cs.getMessages("p", { limit: 2 })).toEqual([m(3), m(4)]);
        expect(await cs.getMessages("p", { before: 2 })).toEqual([m(0), m(1)]);
      });

      it("invalid options are refused before any I/O", async () => {
        expect(() => new RedisChatStore({ client, ttl: 0 })).toThrow(/ttl/);
        expect(() => new RedisChatStore({ client, ttl: 1.5 })).toThrow(/ttl/);
        expect(() => new RedisChatStore({ client, ttlMode: "weird" as "fixed" })).toThrow(/ttlMode/);
        const cs = store();
        await expectStorageError(() => cs.deleteMessage("x", -1), "INVALID_ARGUMENT");
        await expectStorageError(() => cs.addMessage("a\ud800", m(0)), "INVALID_ARGUMENT");
      });
    });
  });
}
