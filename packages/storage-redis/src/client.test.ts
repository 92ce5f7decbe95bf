// Unit tests: no Redis server needed (a closed loopback port stands for "Redis is down").
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { isStorageError } from "@larder/core/errors";
import { expectStorageError } from "@larder/conformance";
import { Redis, ReplyError } from "ioredis";
import { globEscape, toRedisStorageError } from "./client.js";
import { RedisChatStore } from "./redis-chat-store.js";
import { RedisDocumentStore } from "./redis-document-store.js";
import { RedisIndexStore } from "./redis-index-store.js";
import { RedisKVStore } from "./redis-kv-store.js";

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === "object" && addr ? addr.port : 1));
    });
  });
}

describe("construction", () => {
  it("does no I/O: a store for an unreachable server constructs fine and its client has not connected", async () => {
    const kv = new RedisKVStore({ url: `redis://127.0.0.1:${await closedPort()}` });
    expect(kv.client.status).toBe("wait");
    const cluster = new RedisKVStore({ nodes: ["127.0.0.1:1", { host: "127.0.0.1", port: 2 }] });
    expect(cluster.client.isCluster).toBe(true);
    expect(cluster.client.status).toBe("wait");
    await kv.close();
    await cluster.close();
  });

  it("needs exactly one of client, url, nodes", () => {
    const client = new Redis({ lazyConnect: true });
    try {
      expect(() => new RedisKVStore({})).toThrow(/exactly one/);
      expect(() => new RedisKVStore({ client, url: "redis://x" })).toThrow(/exactly one/);
      expect(() => new RedisChatStore({ url: "http://nope" })).toThrow(/redis:\/\//);
      expect(() => new RedisKVStore({ nodes: [] })).toThrow(/at least one/);
      expect(() => new RedisKVStore({ nodes: ["nohost"] })).toThrow(/host:port/);
      expect(() => new RedisKVStore({ client: {} as Redis })).toThrow(/ioredis/);
      expect(() => new RedisKVStore({ client, prefix: "p\ud800" })).toThrow(/surrogate/);
      expect(() => new RedisKVStore({ client, batchSize: 0 })).toThrow(/batchSize/);
    } finally {
      client.disconnect();
    }
  });

  it("close() of a store never closes a client it was given", async () => {
    const client = new Redis({ lazyConnect: true });
    await new RedisKVStore({ client }).close();
    await new RedisChatStore({ client }).close();
    await new RedisDocumentStore({ client }).close();
    await new RedisIndexStore(new RedisKVStore({ client })).close();
    expect(client.status).toBe("wait");
    client.disconnect();
  });

  it("doc and index stores use Python's Redis collection names by default", () => {
    const client = new Redis({ lazyConnect: true });
    expect(new RedisDocumentStore({ client }).nodeCollection).toBe("docstore/doc");
    expect(new RedisDocumentStore({ client }, { namespace: "ns", nodeCollectionSuffix: "/data" }).nodeCollection).toBe("ns/data");
    expect(new RedisIndexStore({ client }).collection).toBe("index_store/index");
    client.disconnect();
  });
});

describe("faults without a server", () => {
  it("validates before any I/O: bad input is INVALID_ARGUMENT even when Redis is down", async () => {
    const kv = new RedisKVStore({ url: `redis://127.0.0.1:${await closedPort()}` });
    await expectStorageError(() => kv.put("", { a: 1 }), "INVALID_ARGUMENT");
    await expectStorageError(() => kv.putAll([["a", { a: 1 }], ["b", [] as never]]), "INVALID_ARGUMENT");
    await expectStorageError(() => kv.get("k", ""), "INVALID_ARGUMENT");
    expect(kv.client.status).toBe("wait");
    await kv.close();
  });

  it("an unreachable server is CONNECTION within a bounded time, without credentials in the message", async () => {
    const port = await closedPort();
    const kv = new RedisKVStore({ url: `redis://admin:hunter2secret@127.0.0.1:${port}/0` });
    const chat = new RedisChatStore({ url: `redis://:hunter2secret@127.0.0.1:${port}` });
    try {
      for (const op of [() => kv.get("k"), () => kv.putAll([["k", { a: 1 }]]), () => kv.collections(), () => chat.addMessage("k", { role: "user", content: "x" })]) {
        const t0 = performance.now();
        const err = await expectStorageError(op, "CONNECTION");
        expect(performance.now() - t0).toBeLessThan(3_000);
        expect(err.message).not.toContain("hunter2secret");
        expect(String((err as { cause?: unknown }).cause)).not.toContain("hunter2secret");
      }
    } finally {
      await kv.close();
      await chat.close();
    }
  });

  it("an unreachable cluster is CONNECTION within a bounded time (ioredis alone would queue forever)", async () => {
    const port = await closedPort();
    const kv = new RedisKVStore({ nodes: [`127.0.0.1:${port}`] });
    const chat = new RedisChatStore({ nodes: [`127.0.0.1:${port}`] });
    try {
      for (const op of [() => kv.get("k"), () => kv.get("k"), () => kv.collections(), () => chat.getKeys(), () => chat.addMessage("k", { role: "user", content: "x" })]) {
        const t0 = performance.now();
        await expectStorageError(op, "CONNECTION");
        expect(performance.now() - t0).toBeLessThan(4_000);
      }
    } finally {
      await kv.close();
      await chat.close();
    }
  });
});

describe("error mapping", () => {
  const reply = (text: string) => new ReplyError(text) as Error;
  it("maps server replies and connection errors to StorageError codes", () => {
    expect(toRedisStorageError(reply("WRONGTYPE Operation against a key holding the wrong kind of value"), "S", "op").code).toBe("CONFLICT");
    expect(toRedisStorageError(reply("ERR unknown command 'FOO'"), "S", "op").code).toBe("UNSUPPORTED");
    expect(toRedisStorageError(reply("LOADING Redis is loading the dataset in memory"), "S", "op").code).toBe("CONNECTION");
    expect(toRedisStorageError(reply("OOM command not allowed"), "S", "op").code).toBe("CONNECTION");
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    const e = toRedisStorageError(refused, "S", "get");
    expect(e.code).toBe("CONNECTION");
    expect(e.cause).toBe(refused);
    expect(e.message).toContain("unreachable");
    expect(isStorageError(e)).toBe(true);
    const already = toRedisStorageError(e, "other", "x");
    expect(already).toBe(e);
  });

  it("redacts credentials that a driver message might carry", () => {
    const e = toRedisStorageError(new Error("failed for redis://u:topsecret@h:1"), "S", "op");
    expect(e.message).not.toContain("topsecret");
  });

  it("escapes glob metacharacters for SCAN MATCH", () => {
    expect(globEscape("a*b?c[d]e\\f")).toBe("a\\*b\\?c\\[d\\]e\\\\f");
  });
});
