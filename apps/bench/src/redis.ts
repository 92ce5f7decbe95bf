// Redis docstore ingest: Larder's RedisDocumentStore (batched, pipelined) against a per-key
// implementation, same data, same server, same run.
//
//   node --conditions=@larder/source --import tsx src/run.ts redis
//   REDIS_BENCH_NODES=20000 ... (default 100 000)
//   LARDER_BENCH_PYTHON=/path/to/python  (optional peer: a python with llama-index-storage-docstore-redis)
//
// The server is LARDER_REDIS_URL (tooling/services, default redis://127.0.0.1:6390). Every run
// writes under its own key prefix and deletes it afterwards.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, sep } from "node:path";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { KVDocumentStore } from "@larder/core/docstore";
import { DEFAULT_COLLECTION, type JsonObject, type KVStore } from "@larder/core/kv";
import { NodeRelationship, TextNode } from "@larder/core/schema";
import { RedisDocumentStore, RedisKVStore } from "@larder/storage-redis";
import { KVDocumentStore as LIKVDocumentStore } from "@llamaindex/core/storage/doc-store";
import { NodeRelationship as LINodeRelationship, ObjectType as LIObjectType, TextNode as LITextNode } from "@llamaindex/core/schema";
import { Redis } from "ioredis";
import { servicesEnv } from "../../../tooling/services/env.mjs";

/** @llamaindex/core's version, read from its package.json next to its resolved entry (the file is not exported). */
const LLAMAINDEX_CORE_VERSION = (() => {
  const entry = createRequire(import.meta.url).resolve("@llamaindex/core/storage/doc-store");
  const pkg = join(entry.slice(0, entry.lastIndexOf(`${sep}storage${sep}`)), "package.json");
  return (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version;
})();
const NODES = Number(process.env["REDIS_BENCH_NODES"] ?? 100_000);
const CHUNKS_PER_DOC = 50;

/**
 * The per-key baseline: the same KVStore contract, but every method sends one command per key and
 * awaits it before the next, like Python's RedisKVStore with its default batch_size=1 (and like
 * any straightforward port). Under the same KVDocumentStore, the only difference is batching.
 */
class PerKeyRedisKVStore implements KVStore {
  constructor(
    readonly client: Redis,
    readonly prefix: string,
  ) {}
  async put(key: string, value: JsonObject, collection = DEFAULT_COLLECTION): Promise<void> {
    await this.client.hset(this.prefix + collection, key, JSON.stringify(value));
  }
  async putAll(entries: Iterable<readonly [string, JsonObject]>, collection = DEFAULT_COLLECTION): Promise<void> {
    // The point of the baseline: one HSET per await.
    for (const [k, v] of entries) await this.put(k, v, collection);
  }
  async get(key: string, collection = DEFAULT_COLLECTION): Promise<JsonObject | undefined> {
    const raw = await this.client.hget(this.prefix + collection, key);
    return raw === null ? undefined : (JSON.parse(raw) as JsonObject);
  }
  async getMany(keys: readonly string[], collection = DEFAULT_COLLECTION): Promise<(JsonObject | undefined)[]> {
    const out: (JsonObject | undefined)[] = [];
    for (const k of keys) out.push(await this.get(k, collection));
    return out;
  }
  async getAll(collection = DEFAULT_COLLECTION): Promise<Record<string, JsonObject>> {
    const all = await this.client.hgetall(this.prefix + collection);
    return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, JSON.parse(v) as JsonObject]));
  }
  async delete(key: string, collection = DEFAULT_COLLECTION): Promise<boolean> {
    return (await this.client.hdel(this.prefix + collection, key)) > 0;
  }
  async deleteMany(keys: readonly string[], collection = DEFAULT_COLLECTION): Promise<number> {
    let n = 0;
    for (const k of keys) n += (await this.delete(k, collection)) ? 1 : 0;
    return n;
  }
  async *scan(collection = DEFAULT_COLLECTION): AsyncIterable<readonly [string, JsonObject]> {
    yield* Object.entries(await this.getAll(collection));
  }
  async collections(): Promise<string[]> {
    return [];
  }
}

/**
 * The strictest per-key baseline: reads batched (one pipelined HMGET per `getMany`, as Larder does),
 * writes one `HSET` per `await` for each of the three collections. Only the writes differ from Larder.
 */
class PerKeyWritesRedisKVStore extends PerKeyRedisKVStore {
  override async getMany(keys: readonly string[], collection = DEFAULT_COLLECTION): Promise<(JsonObject | undefined)[]> {
    if (keys.length === 0) return [];
    const raws = await this.client.hmget(this.prefix + collection, ...keys);
    return raws.map((raw) => (raw === null ? undefined : (JSON.parse(raw) as JsonObject)));
  }
}

/**
 * A Redis KV store for LlamaIndexTS's own `KVDocumentStore` (LlamaIndexTS has no Redis store; its KV
 * interface has no batch methods, so any Redis store plugged into it does one command per key):
 * `put` is one `HSET`, `get` one `HGET`, each awaited. LlamaIndexTS's `addDocuments` then does, per
 * node, what its Python original does: put the node, get + put its ref doc, put its metadata.
 */
class LlamaIndexTSPerKeyKVStore {
  constructor(
    readonly client: Redis,
    readonly prefix: string,
  ) {}
  async put(key: string, val: unknown, collection: string): Promise<void> {
    await this.client.hset(this.prefix + collection, key, JSON.stringify(val));
  }
  async get(key: string, collection: string): Promise<unknown> {
    const raw = await this.client.hget(this.prefix + collection, key);
    return raw === null ? null : JSON.parse(raw);
  }
  async getAll(collection: string): Promise<Record<string, unknown>> {
    const all = await this.client.hgetall(this.prefix + collection);
    return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, JSON.parse(v)]));
  }
  async delete(key: string, collection: string): Promise<boolean> {
    return (await this.client.hdel(this.prefix + collection, key)) > 0;
  }
}

/** The same nodes as LlamaIndexTS TextNodes (same ids, text, metadata, SOURCE relationship, offsets). */
function toLlamaIndexTS(nodes: TextNode[]): LITextNode[] {
  return nodes.map((n) => {
    const src = n.sourceNode!;
    return new LITextNode({
      id_: n.id,
      text: n.text,
      metadata: { ...n.metadata },
      relationships: {
        [LINodeRelationship.SOURCE]: { nodeId: src.nodeId, nodeType: LIObjectType.DOCUMENT, metadata: { ...src.metadata }, hash: src.hash ?? "" },
      },
      startCharIdx: n.startCharIdx ?? undefined,
      endCharIdx: n.endCharIdx ?? undefined,
    });
  });
}

function makeNodes(n: number): TextNode[] {
  const nodes: TextNode[] = [];
  const filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore. ";
  for (let i = 0; i < n; i++) {
    const doc = Math.floor(i / CHUNKS_PER_DOC);
    nodes.push(
      new TextNode({
        id: `node-${i}`,
        text: `Chunk ${i} of document ${doc}. ${filler.repeat(4)}`,
        metadata: { file_name: `doc-${doc}.txt`, page: i % CHUNKS_PER_DOC, author: "bench" },
        relationships: {
          [NodeRelationship.SOURCE]: { nodeId: `doc-${doc}`, nodeType: "4", metadata: { file_name: `doc-${doc}.txt` }, hash: "h" },
        },
        startCharIdx: 0,
        endCharIdx: 500,
      }),
    );
  }
  return nodes;
}

async function deletePrefix(client: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length) await client.unlink(...keys);
  } while (cursor !== "0");
}

async function timeIngest(label: string, store: KVDocumentStore, nodes: TextNode[]): Promise<number> {
  const t0 = performance.now();
  await store.addDocuments(nodes);
  const ms = performance.now() - t0;
  console.log(`  ${label}: ${(ms / 1000).toFixed(2)} s (${Math.round(nodes.length / (ms / 1000)).toLocaleString("en-US")} nodes/s)`);
  return ms;
}

/** Python LlamaIndex's RedisDocumentStore on the same data (namespace = `ns`), when LARDER_BENCH_PYTHON is set. */
function pythonPeer(url: string, ns: string): { seconds: number; version: string } | string {
  const python = process.env["LARDER_BENCH_PYTHON"];
  if (!python) return "skipped (set LARDER_BENCH_PYTHON to a python with llama-index-storage-docstore-redis)";
  const script = fileURLToPath(new URL("./redis-peer.py", import.meta.url));
  const r = spawnSync(python, [script, url, ns, String(NODES), String(CHUNKS_PER_DOC)], { encoding: "utf8", timeout: 3_600_000 });
  if (r.status !== 0) return `failed: ${(r.stderr || String(r.error)).trim().split("\n").slice(-3).join(" / ")}`;
  const out = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as { seconds: number; version: string };
  return out;
}

/** Verifies a run wrote everything, then deletes it, so every run starts from the same server state. */
async function check(client: Redis, prefix: string, nodes: readonly unknown[], ns = "docstore", dataSuffix = "/doc"): Promise<void> {
  const stored = await client.hlen(`${prefix}${ns}${dataSuffix}`);
  const refs = await client.hlen(`${prefix}${ns}/ref_doc_info`);
  const expectedRefs = Math.ceil(nodes.length / CHUNKS_PER_DOC);
  if (stored !== nodes.length || refs !== expectedRefs) {
    throw new Error(`ingest under ${prefix} incomplete: ${stored}/${nodes.length} nodes, ${refs}/${expectedRefs} ref docs`);
  }
  await deletePrefix(client, prefix + ns);
}

export async function runRedisBench(): Promise<void> {
  const url = servicesEnv().LARDER_REDIS_URL;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const info = await client.info("server");
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? "?";
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(", ")}`);
  console.log(`Redis ${version} at ${url.replace(/\/\/[^@]*@/, "//***@")}; ${NODES.toLocaleString("en-US")} TextNodes (${CHUNKS_PER_DOC} per source document, ~560 chars of text each)`);
  const nodes = makeNodes(NODES);
  const run = `bench:${Date.now().toString(36)}`;
  const prefixes: string[] = [];
  const fresh = (tag: string) => {
    const p = `${run}:${tag}:`;
    prefixes.push(p);
    return p;
  };
  try {
    // Warm-up (JIT, connection): 2 000 nodes through each path, not timed.
    const warm = nodes.slice(0, 2_000);
    await new RedisDocumentStore(new RedisKVStore({ client, prefix: fresh("warm-larder") })).addDocuments(warm);
    await new KVDocumentStore(new PerKeyRedisKVStore(client, fresh("warm-perkey")), { nodeCollectionSuffix: "/doc" }).addDocuments(warm);
    await new KVDocumentStore(new PerKeyWritesRedisKVStore(client, fresh("warm-perkey-writes")), { nodeCollectionSuffix: "/doc" }).addDocuments(warm);
    await new LIKVDocumentStore(new LlamaIndexTSPerKeyKVStore(client, fresh("warm-llamaindexts")) as never, "docstore").addDocuments(toLlamaIndexTS(warm), true);

    const larderRuns: number[] = [];
    for (let r = 0; r < 3; r++) {
      const p = fresh(`larder-${r}`);
      larderRuns.push(await timeIngest(`Larder RedisDocumentStore, run ${r + 1}`, new RedisDocumentStore(new RedisKVStore({ client, prefix: p })), nodes));
      await check(client, p, nodes);
    }
    const pPer = fresh("perkey");
    const perKey = await timeIngest(
      "per-key baseline (same KVDocumentStore, one HSET/HGET per await)",
      new KVDocumentStore(new PerKeyRedisKVStore(client, pPer), { nodeCollectionSuffix: "/doc" }),
      nodes,
    );
    await check(client, pPer, nodes);
    const pPerW = fresh("perkey-writes");
    const perKeyWrites = await timeIngest(
      "per-key writes baseline (same KVDocumentStore, batched HMGET reads, one HSET per await)",
      new KVDocumentStore(new PerKeyWritesRedisKVStore(client, pPerW), { nodeCollectionSuffix: "/doc" }),
      nodes,
    );
    await check(client, pPerW, nodes);

    // Built only now, so the Larder runs above had the same heap as before this peer existed.
    const liNodes = toLlamaIndexTS(nodes);
    const pLi = fresh("llamaindexts");
    let t0 = performance.now();
    await new LIKVDocumentStore(new LlamaIndexTSPerKeyKVStore(client, pLi) as never, "docstore").addDocuments(liNodes, true);
    const liTs = performance.now() - t0;
    console.log(`  LlamaIndexTS ${LLAMAINDEX_CORE_VERSION} KVDocumentStore on a one-HSET/HGET-per-await Redis KV store: ${(liTs / 1000).toFixed(2)} s`);
    await check(client, pLi, nodes, "docstore", "/data");

    // KV level, same payload both sides: the node JSON objects are built before timing; each side
    // serializes inside its timed part. This isolates batching from the docstore's per-node work.
    const jsons = nodes.map((n) => [n.id, n.toJSON() as unknown as JsonObject] as const);
    const pBare = fresh("bare");
    t0 = performance.now();
    for (const [id, json] of jsons) await client.hset(`${pBare}docstore/doc`, id, JSON.stringify(json));
    const bare = performance.now() - t0;
    console.log(`  bare HSET loop (node JSON only, one HSET per await): ${(bare / 1000).toFixed(2)} s`);
    if ((await client.hlen(`${pBare}docstore/doc`)) !== NODES) throw new Error("bare loop run incomplete");
    await deletePrefix(client, pBare);
    const pKv = fresh("kv");
    t0 = performance.now();
    await new RedisKVStore({ client, prefix: pKv }).putAll(jsons, "docstore/doc");
    const kvPut = performance.now() - t0;
    console.log(`  Larder RedisKVStore.putAll (node JSON only): ${(kvPut / 1000).toFixed(2)} s`);
    if ((await client.hlen(`${pKv}docstore/doc`)) !== NODES) throw new Error("KV putAll run incomplete");
    await deletePrefix(client, pKv);

    const pyNs = fresh("python");
    const py = pythonPeer(url, pyNs);
    if (typeof py === "string") console.log(`  Python LlamaIndex RedisDocumentStore: ${py}`);
    else {
      console.log(`  Python LlamaIndex ${py.version} RedisDocumentStore (defaults, batch_size=1): ${py.seconds.toFixed(2)} s`);
      await check(client, "", nodes, pyNs);
    }

    const median = [...larderRuns].sort((a, b) => a - b)[1]!;
    console.log("");
    console.log("| implementation | time (s) | nodes/s | Larder speed-up |");
    console.log("|---|---:|---:|---:|");
    const row = (name: string, ms: number) =>
      console.log(`| ${name} | ${(ms / 1000).toFixed(2)} | ${Math.round(NODES / (ms / 1000)).toLocaleString("en-US")} | ${(ms / median).toFixed(1)}× |`);
    row("Larder `RedisDocumentStore.addDocuments` (median of 3)", median);
    row(`LlamaIndexTS ${LLAMAINDEX_CORE_VERSION} \`KVDocumentStore\` on a one-\`HSET\`/\`HGET\`-per-\`await\` Redis KV store`, liTs);
    row("per-key KV store under the same `KVDocumentStore` (one `HGET`/`HSET` per `await`)", perKey);
    row("per-key writes only (same `KVDocumentStore`, batched `HMGET`, one `HSET` per `await`)", perKeyWrites);
    row("bare `await hset` loop, node JSON only (less work: no metadata, no ref docs)", bare);
    if (typeof py !== "string") row(`Python LlamaIndex ${py.version} \`RedisDocumentStore.add_documents\``, py.seconds * 1000);
    console.log("");
    console.log(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(", ")}`);
    console.log(`KV level, node JSON only: Larder \`RedisKVStore.putAll\` ${(kvPut / 1000).toFixed(2)} s vs bare \`await hset\` loop ${(bare / 1000).toFixed(2)} s: ${(bare / kvPut).toFixed(1)}×`);
  } finally {
    for (const p of prefixes) await deletePrefix(client, p);
    client.disconnect();
  }
}
