// The LangChain code paths over Larder's Redis and Postgres stores on the real servers from
// tooling/services (with CI set an unreachable server fails the run). Every store gets its own
// key prefix / table, removed after the file.
import { afterAll, describe } from "vitest";
import { Redis } from "ioredis";
import pg from "pg";
import { uniqueNamespace } from "@larder/conformance";
import { PostgresChatStore, PostgresKVStore, PostgresVectorStore } from "@larder/storage-postgres";
import { RedisChatStore, RedisKVStore, RedisVectorStore } from "@larder/storage-redis";
import { describeChatAdapter } from "./testing/chat-suite.js";
import { describeKVAdapter } from "./testing/kv-suite.js";
import { env, probePostgres, probeRedis, probeRedisSearch, whenReachable } from "./testing/services.js";
import { describeVectorAdapter } from "./testing/vector-suite.js";

const redisReason = await probeRedis();
const redisSearchReason = await probeRedisSearch();
const postgresReason = await probePostgres();

describe("over Redis (RedisKVStore, RedisChatStore)", () => {
  whenReachable(redisReason, "Redis", () => {
    const client = new Redis(env.LARDER_REDIS_URL);
    const prefixes: string[] = [];
    const prefix = () => {
      const p = `${uniqueNamespace("lc")}:`;
      prefixes.push(p);
      return p;
    };
    afterAll(async () => {
      for (const p of prefixes) {
        let cursor = "0";
        do {
          const [next, keys] = await client.scan(cursor, "MATCH", `${p}*`, "COUNT", 1000);
          cursor = next;
          if (keys.length) await client.unlink(...keys);
        } while (cursor !== "0");
      }
      client.disconnect();
    });
    describe("LarderByteStore / LarderKVBaseStore over RedisKVStore", () => describeKVAdapter(() => new RedisKVStore({ client, prefix: prefix() })));
    describe("LarderChatMessageHistory over RedisChatStore", () =>
      describeChatAdapter(() => new RedisChatStore({ client, prefix: prefix() }), () => uniqueNamespace("session")));
  });
});

describe("over Redis with the query engine (RedisVectorStore)", () => {
  whenReachable(redisSearchReason, "Redis with the query engine", () => {
    const client = new Redis(env.LARDER_REDIS_SEARCH_URL);
    const stores: RedisVectorStore[] = [];
    afterAll(async () => {
      for (const store of stores) {
        await client.call("FT.DROPINDEX", store.indexName);
        let cursor = "0";
        do {
          const [next, keys] = await client.scan(cursor, "MATCH", `${store.prefix}*`, "COUNT", 1000);
          cursor = next;
          if (keys.length) await client.unlink(...keys);
        } while (cursor !== "0");
      }
      client.disconnect();
    });
    // Its filters are the equality family (==, !=, in, nin, any, all, contains, is_empty): the suite
    // checks that range filters are UNSUPPORTED there, never ignored.
    describe("LarderVectorStore over RedisVectorStore", () =>
      describeVectorAdapter(() => {
        const ns = uniqueNamespace("lcvec").replace(/[^A-Za-z0-9_]/g, "_");
        const store = new RedisVectorStore({ client, indexName: ns, prefix: `${ns}:` });
        stores.push(store);
        return store;
      }));
  });
});

describe("over PostgreSQL (PostgresVectorStore, PostgresKVStore, PostgresChatStore)", () => {
  whenReachable(postgresReason, "PostgreSQL", () => {
    const pool = new pg.Pool({ connectionString: env.LARDER_POSTGRES_URL, max: 4 });
    pool.on("error", () => {});
    const drops: (() => Promise<void>)[] = [];
    function track<T extends { drop(): Promise<void> }>(store: T): T {
      drops.push(() => store.drop());
      return store;
    }
    afterAll(async () => {
      for (const drop of drops) await drop();
      await pool.end();
    });
    describe("LarderVectorStore over PostgresVectorStore", () =>
      describeVectorAdapter(() => track(new PostgresVectorStore({ pool, table: uniqueNamespace("lcvec") }))));
    describe("LarderByteStore / LarderKVBaseStore over PostgresKVStore", () =>
      describeKVAdapter(() => track(new PostgresKVStore({ pool, table: uniqueNamespace("lckv") }))));
    describe("LarderChatMessageHistory over PostgresChatStore", () =>
      describeChatAdapter(() => track(new PostgresChatStore({ pool, table: uniqueNamespace("lcchat") })), () => uniqueNamespace("session")));
  });
});
