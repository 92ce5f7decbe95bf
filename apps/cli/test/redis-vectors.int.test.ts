// Which vector store `larder` uses for a redis:// URL, against the real servers of tooling/services:
// the plain Redis (no query engine) keeps vectors KV-backed and says so once on stderr; the Redis
// with the query engine searches them inside Redis (RedisVectorStore), without a notice. Each test
// uses its own key prefix and removes it (and its search index) afterwards.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { servicesEnv, servicesRequired } from "@larder/services/env";
import { cleanupTemp, json, larder, tempDir, writeCorpus } from "./helpers.js";

const env = servicesEnv();
const tag = `clirv${randomBytes(4).toString("hex")}`;

/** A connected client, or why not (with CI set an unreachable server fails the file). */
async function connect(url: string): Promise<Redis | string> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: 5000 });
  r.on("error", () => {});
  try {
    await r.connect();
    await r.ping();
    return r;
  } catch (e) {
    r.disconnect();
    const reason = `Redis at ${url}: ${(e as Error).message} (start it with: bash tooling/services/bin/services.sh up)`;
    if (servicesRequired()) throw new Error(`CI is set and ${reason}`);
    return reason;
  }
}

const plain = await connect(env.LARDER_REDIS_URL);
const search = await connect(env.LARDER_REDIS_SEARCH_URL);

async function removePrefix(r: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await r.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length) await r.unlink(...keys);
  } while (cursor !== "0");
}

afterAll(async () => {
  await cleanupTemp();
  if (typeof search !== "string") {
    await search.call("FT.DROPINDEX", `${tag}_s:larder_vectors`).catch(() => undefined);
    await removePrefix(search, `${tag}_`);
    search.disconnect();
  }
  if (typeof plain !== "string") {
    await removePrefix(plain, `${tag}_`);
    plain.disconnect();
  }
});

interface Hit {
  id: string;
  score: number;
}
const NOTICE = /\[LARDER_REDIS_VECTORS\] Warning: vectors at redis:\/\/.* use the KV-backed store: the server has no query engine/;

describe.skipIf(typeof plain === "string")(`larder on a Redis without the query engine${typeof plain === "string" ? ` (skipped: ${plain})` : ""}`, () => {
  it("ingests and queries through the KV-backed store, with one notice per command", async () => {
    const work = await tempDir();
    await writeCorpus(work);
    const url = `${env.LARDER_REDIS_URL}?prefix=${tag}_p:`;
    const ing = await larder(["ingest", ".", "--to", url], { cwd: work });
    expect(ing.code, ing.stderr).toBe(0);
    expect(ing.stderr.match(new RegExp(NOTICE.source, "g")) ?? []).toHaveLength(1);
    const q = await larder(["--json", "query", "root cellar vegetables winter", "--from", url, "-k", "2"], { cwd: work });
    expect(json<{ results: Hit[] }>(q).results.length).toBe(2);
    expect(q.stderr).toMatch(NOTICE);
    const info = json<{ stores: { vectors: { store?: string } }; vectors: { default: { store: string; count: number } } }>(
      await larder(["--json", "inspect", url], { cwd: work }),
    );
    expect(info.vectors.default.store).toBe("KVVectorStore");
    expect(info.stores.vectors.store).toBe("KVVectorStore");
    expect(typeof plain !== "string" && (await plain.exists(`${tag}_p:vector_store/data`))).toBe(1);
  });
});

describe.skipIf(typeof search === "string")(`larder on a Redis with the query engine${typeof search === "string" ? ` (skipped: ${search})` : ""}`, () => {
  it("ingests into and queries a RedisVectorStore, without a notice, with the same answers as a folder", async () => {
    const work = await tempDir();
    await writeCorpus(work);
    const url = `${env.LARDER_REDIS_SEARCH_URL}?prefix=${tag}_s:`;
    const ing = await larder(["ingest", ".", "--to", url], { cwd: work });
    expect(ing.code, ing.stderr).toBe(0);
    expect(ing.stderr).not.toMatch(/LARDER_REDIS_VECTORS|Warning/);
    const local = await larder(["ingest", ".", "--to", "./local"], { cwd: work });
    expect(local.code, local.stderr).toBe(0);

    const args = ["root cellar vegetables winter", "-k", "3", "--filter", 'year >= 2010 or file_type == "markdown"'];
    const q = await larder(["--json", "query", ...args, "--from", url], { cwd: work });
    expect(q.stderr).not.toMatch(/LARDER_REDIS_VECTORS|Warning/);
    const fromRedis = json<{ results: Hit[] }>(q).results;
    const fromFolder = json<{ results: Hit[] }>(await larder(["--json", "query", ...args, "--from", "./local"], { cwd: work })).results;
    expect(fromRedis.length).toBe(3);
    expect(fromRedis.map((h) => h.id)).toEqual(fromFolder.map((h) => h.id));
    fromRedis.forEach((h, i) => expect(h.score).toBeCloseTo(fromFolder[i]!.score, 4));

    const info = json<{ stores: { vectors: { store?: string } }; vectors: { default: { store: string; count: number } } }>(
      await larder(["--json", "inspect", url], { cwd: work }),
    );
    expect(info.stores.vectors.store).toBe("RedisVectorStore");
    expect(info.vectors.default.store).toBe("RedisVectorStore");
    expect(info.vectors.default.count).toBeGreaterThan(0);
    if (typeof search === "string") return;
    // Searched inside Redis: the index exists, and nothing went to the KV-backed hash.
    expect((await search.call("FT._LIST")) as string[]).toContain(`${tag}_s:larder_vectors`);
    expect(await search.exists(`${tag}_s:vector_store/data`)).toBe(0);
  });
});
