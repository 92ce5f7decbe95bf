import { afterAll, describe } from "vitest";
import { Redis } from "ioredis";
import { uniqueNamespace } from "@larder/conformance";
import { describeVectorStore } from "@larder/conformance/vector";
import { PostgresKVStore } from "@larder/storage-postgres";
import { RedisKVStore } from "@larder/storage-redis";
import { KVVectorStore } from "./kv-vector-store.js";

// The vector kit on KVVectorStore over the real Redis and Postgres KV stores (what `redis://`
// store URLs use). Each test gets its own key prefix / table.

interface ServicesEnvModule {
  servicesEnv(): Record<string, string>;
  servicesRequired(): boolean;
}
const env = (await import(new URL("../../../tooling/services/env.mjs", import.meta.url).href)) as ServicesEnvModule;
const REDIS_URL = env.servicesEnv()["LARDER_REDIS_URL"]!;
const POSTGRES_URL = env.servicesEnv()["LARDER_POSTGRES_URL"]!;

/** `undefined` when the service answers; else the reason to skip (with CI set: the file fails). */
async function reachable(name: string, url: string, probe: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await probe();
    return undefined;
  } catch (e) {
    const reason = `${name} not reachable at ${url.replace(/:[^:@/]*@/, ":***@")} (${(e as Error).message}); start it with \`bash tooling/services/bin/services.sh up\``;
    if (env.servicesRequired()) throw new Error(`CI is set and ${reason}`);
    return reason;
  }
}

const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
const redisSkip = await reachable("Redis", REDIS_URL, async () => {
  await redis.connect();
  await redis.ping();
});
// One pool for the file: opened by this store from the URL, lent to the per-test stores (whose
// close() leaves it open).
const owner = new PostgresKVStore({ url: POSTGRES_URL, table: uniqueNamespace("kvv_probe") });
const pool = owner.client as NonNullable<ConstructorParameters<typeof PostgresKVStore>[0]["pool"]>;
const pgSkip = await reachable("PostgreSQL", POSTGRES_URL, () => owner.collections());
afterAll(async () => {
  redis.disconnect();
  await owner.drop().catch(() => undefined);
  await owner.close();
});

const COLLECTION = "vector_store/data";

describe.skipIf(redisSkip !== undefined)(`KVVectorStore over RedisKVStore${redisSkip ? ` (skipped: ${redisSkip})` : ""}`, () => {
  describeVectorStore({
    name: "KVVectorStore (RedisKVStore)",
    trees: 40,
    create: () => new KVVectorStore(new RedisKVStore({ client: redis, prefix: `${uniqueNamespace("kvv")}:` })),
    dispose: async (store) => {
      const kv = (store as KVVectorStore).kvStore as RedisKVStore;
      await redis.del(`${kv.prefix}${COLLECTION}`);
      await store.close?.();
    },
  });
});

describe.skipIf(pgSkip !== undefined)(`KVVectorStore over PostgresKVStore${pgSkip ? ` (skipped: ${pgSkip})` : ""}`, () => {
  describeVectorStore({
    name: "KVVectorStore (PostgresKVStore)",
    trees: 40,
    create: () => new KVVectorStore(new PostgresKVStore({ pool, table: uniqueNamespace("kvv") })),
    dispose: async (store) => {
      await ((store as KVVectorStore).kvStore as PostgresKVStore).drop();
      await store.close?.();
    },
  });
});
