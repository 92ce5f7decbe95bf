// Vectors in Redis with the query engine (RediSearch): Larder's RedisVectorStore against the
// server's own indexing limit (a raw pipelined HSET load into the same index), LangChain.js's
// @langchain/redis RedisVectorStore and Python LlamaIndex's RedisVectorStore, same server, same
// data, same HNSW parameters, same run.
//
//   pnpm bench redis-vector
//   REDIS_VECTOR_BENCH_N=100000 REDIS_VECTOR_BENCH_QUERIES=200 ... (defaults)
//   REDIS_VECTOR_BENCH_PEERS=larder,raw,langchain,python (default: all; raw needs larder before it)
//
// The server is LARDER_REDIS_SEARCH_URL (tooling/services, default redis://127.0.0.1:6394). The
// Python peer's venv is made by apps/bench/python/setup-venv.sh redis-vector (pinned versions in
// apps/bench/python/redis-vector.requirements.txt); the suite runs the script itself.
//
// Data (deterministic, seeded): N unit vectors of 384 dimensions in 200 Gaussian clusters, each
// with metadata `group` = one of 50 values (row i has group i mod 50, so a group is 2% of the rows)
// and a source document (50 rows per document); Q queries drawn from the same clusters (not rows
// of the corpus). Exact answers: float64 brute-force cosine over the same float32 vectors.
//
// Then `larder query --from redis://...` on CLI_CHUNKS chunks (REDIS_VECTOR_BENCH_CLI_CHUNKS, default
// 20 000; 0 skips it): the ingest suite's corpus ingested with the real CLI into the query-engine
// Redis (RedisVectorStore) and into the plain Redis (KV-backed store), then CLI_RUNS queries each
// (after one warm-up), timed from the CLI's first progress line (`loading ...`, printed once the
// process has started and parsed its arguments; LARDER_PROGRESS=1) to the last line of the answer
// on stdout. Process start-up and teardown are excluded; loading the Redis adapter, connecting,
// probing the server, reading the index struct, embedding the query and the search are included.
//
// Measured per implementation, one after the other, each into its own new index that is dropped
// (with its keys) afterwards:
// - load: from the rows in memory (the implementation's own node/document objects, built before
//   the clock starts) until the call returns and FT.INFO counts every row in the index;
// - top-10: Q sequential queries after 20 warm-up queries, median and p95 latency of the call,
//   recall@10 against the exact top 10;
// - filtered top-10: the same queries with `group == g07` (2% of the rows): median latency,
//   recall@10 against the exact filtered top 10, and whether every query returned exactly 10 hits.
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Document as LCDocument } from "@langchain/core/documents";
import { FluentRedisVectorStore, Tag } from "@langchain/redis";
import { seededRandom } from "@larder/conformance";
import { NodeRelationship, TextNode } from "@larder/core/schema";
import { RedisVectorStore } from "@larder/storage-redis";
import { Redis } from "ioredis";
import { createClient } from "redis";
import { servicesEnv } from "../../../tooling/services/env.mjs";
import { writeCorpus } from "./ingest.js";
import { printTable } from "./markdown.js";

const N = Number(process.env["REDIS_VECTOR_BENCH_N"] ?? 100_000);
const Q = Number(process.env["REDIS_VECTOR_BENCH_QUERIES"] ?? 200);
const PEERS = (process.env["REDIS_VECTOR_BENCH_PEERS"] ?? "larder,raw,langchain,python").split(",");
const DIM = 384;
const CLUSTERS = 200;
const SPREAD = 0.5;
const TOP_K = 10;
const WARMUP = 20;
const GROUPS = Array.from({ length: 50 }, (_, i) => `g${String(i).padStart(2, "0")}`);
const FILTER_GROUP = "g07";
const CHUNKS_PER_DOC = 50;
/** The same for every implementation. */
const HNSW = { M: 16, EF_CONSTRUCTION: 200, EF_RUNTIME: 64 } as const;
const CLI_CHUNKS = Number(process.env["REDIS_VECTOR_BENCH_CLI_CHUNKS"] ?? 20_000);
const CLI_RUNS = 5;
const BIN = fileURLToPath(new URL("../../cli/bin/larder.js", import.meta.url));
const RAW_BATCH = 1000;
const RAW_IN_FLIGHT = 4;

interface Data {
  vectors: Float32Array;
  queries: Float32Array;
}

/** Box–Muller normal deviates from the seeded uniform generator. */
function gaussian(r: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = Math.max(r(), 1e-12);
    const v = r();
    const m = Math.sqrt(-2 * Math.log(u));
    spare = m * Math.sin(2 * Math.PI * v);
    return m * Math.cos(2 * Math.PI * v);
  };
}

function makeData(): Data {
  const r = seededRandom(384_100);
  const g = gaussian(r);
  const centers = new Float64Array(CLUSTERS * DIM);
  for (let i = 0; i < centers.length; i++) centers[i] = g();
  const draw = (out: Float32Array, rows: number) => {
    const tmp = new Float64Array(DIM);
    for (let i = 0; i < rows; i++) {
      const c = Math.floor(r() * CLUSTERS);
      let norm = 0;
      for (let d = 0; d < DIM; d++) {
        const x = centers[c * DIM + d]! + SPREAD * g();
        tmp[d] = x;
        norm += x * x;
      }
      norm = Math.sqrt(norm);
      for (let d = 0; d < DIM; d++) out[i * DIM + d] = tmp[d]! / norm;
    }
  };
  const vectors = new Float32Array(N * DIM);
  draw(vectors, N);
  const queries = new Float32Array(Q * DIM);
  draw(queries, Q);
  return { vectors, queries };
}

const row = (a: Float32Array, i: number) => a.subarray(i * DIM, (i + 1) * DIM);
const groupOf = (i: number) => GROUPS[i % GROUPS.length]!;
const idOf = (i: number) => `n${i}`;

/** Exact top-k ids by float64 cosine (ties by id), over all rows or those of one group. */
function exactTopK(d: Data, onlyGroup?: string): string[][] {
  const norms = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    let s = 0;
    for (let k = 0; k < DIM; k++) s += d.vectors[i * DIM + k]! ** 2;
    norms[i] = Math.sqrt(s);
  }
  const out: string[][] = [];
  for (let j = 0; j < Q; j++) {
    const q = row(d.queries, j);
    let qn = 0;
    for (let k = 0; k < DIM; k++) qn += q[k]! ** 2;
    qn = Math.sqrt(qn);
    const best: { i: number; s: number }[] = [];
    for (let i = 0; i < N; i++) {
      if (onlyGroup !== undefined && groupOf(i) !== onlyGroup) continue;
      let s = 0;
      const o = i * DIM;
      for (let k = 0; k < DIM; k++) s += q[k]! * d.vectors[o + k]!;
      s /= norms[i]! * qn;
      if (best.length < TOP_K || s > best[best.length - 1]!.s) {
        best.push({ i, s });
        best.sort((a, b) => b.s - a.s || a.i - b.i);
        if (best.length > TOP_K) best.pop();
      }
    }
    out.push(best.map((b) => idOf(b.i)));
  }
  return out;
}

interface Result {
  name: string;
  loadSeconds: number;
  /** Seconds until the call returned (before waiting for the index), when different from the load. */
  callSeconds?: number;
  latencies: number[];
  ids: string[][];
  filteredLatencies: number[];
  filteredIds: string[][];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))]!;
function recall(got: string[][], exact: string[][]): number {
  let hit = 0;
  for (let j = 0; j < exact.length; j++) {
    const want = new Set(exact[j]);
    for (const id of (got[j] ?? []).slice(0, TOP_K)) if (want.has(id)) hit++;
  }
  return hit / (exact.length * TOP_K);
}

/** FT.INFO as a record. */
async function ftInfo(client: Redis, index: string): Promise<Record<string, unknown>> {
  const raw = (await client.call("FT.INFO", index)) as unknown[];
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) out[String(raw[i])] = raw[i + 1];
  return out;
}

/**
 * Polls FT.INFO until the index holds `n` documents. This server indexes a hash inside the write
 * command (no worker threads), so this returns at once after the writes; the poll guards against a
 * server that indexes in the background. `indexing`/`percent_indexed` are not waited for: they track
 * FT.CREATE's scan of the whole keyspace (other tenants' keys too), which does not touch our rows.
 */
async function waitIndexed(client: Redis, index: string, n: number): Promise<void> {
  const deadline = Date.now() + 600_000;
  for (;;) {
    const info = await ftInfo(client, index);
    if (Number(info["num_docs"]) >= n) return;
    if (Date.now() > deadline) throw new Error(`index ${index} holds ${String(info["num_docs"])} of ${n} documents after 10 minutes`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function dropIndex(client: Redis, index: string): Promise<void> {
  try {
    await client.call("FT.DROPINDEX", index, "DD");
  } catch (err) {
    if (!/unknown index name|no such index/i.test(String(err))) throw err;
  }
}

/** The queries as number arrays (what the stores take), made before any clock starts. */
const queryArrays = (d: Data) => Array.from({ length: Q }, (_, j) => Array.from(row(d.queries, j)));

async function timedQueries(run: (j: number) => Promise<string[]>): Promise<{ latencies: number[]; ids: string[][] }> {
  for (let j = 0; j < WARMUP; j++) await run(j % Q);
  const latencies: number[] = [];
  const ids: string[][] = [];
  for (let j = 0; j < Q; j++) {
    const t = performance.now();
    const got = await run(j);
    latencies.push(performance.now() - t);
    ids.push(got);
  }
  return { latencies, ids };
}

// ----------------------------------------------------------------------------------- Larder

function larderNodes(d: Data): TextNode[] {
  const nodes: TextNode[] = [];
  for (let i = 0; i < N; i++) {
    nodes.push(
      new TextNode({
        id: idOf(i),
        text: `chunk ${i}`,
        metadata: { group: groupOf(i) },
        embedding: Array.from(row(d.vectors, i)),
        relationships: { [NodeRelationship.SOURCE]: { nodeId: `doc-${Math.floor(i / CHUNKS_PER_DOC)}` } },
      }),
    );
  }
  return nodes;
}

function larderStore(client: Redis, index: string): RedisVectorStore {
  return new RedisVectorStore({
    client,
    indexName: index,
    dimensions: DIM,
    metric: "cosine",
    index: { type: "hnsw", m: HNSW.M, efConstruction: HNSW.EF_CONSTRUCTION, efRuntime: HNSW.EF_RUNTIME },
  });
}

/** Every hash under a key prefix, as field/value buffers, in pipelines of RAW_BATCH. */
async function readHashes(client: Redis, prefix: string): Promise<Map<string, Buffer[]>> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, found] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 5000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== "0");
  const out = new Map<string, Buffer[]>();
  for (let i = 0; i < keys.length; i += RAW_BATCH) {
    const p = client.pipeline();
    const part = keys.slice(i, i + RAW_BATCH);
    for (const k of part) p.hgetallBuffer(k);
    const res = (await p.exec()) ?? [];
    res.forEach(([err, h], j) => {
      if (err) throw err;
      out.set(part[j]!.slice(prefix.length), Object.entries(h as Record<string, Buffer>).flatMap(([f, v]) => [Buffer.from(f), v]));
    });
  }
  return out;
}

/**
 * Larder's RedisVectorStore: `add` of the nodes (built before the clock), queries through
 * `query()`. Afterwards the hashes it wrote are read back (as bytes) for the raw load.
 */
async function runLarder(client: Redis, d: Data, tag: string): Promise<{ result: Result; hashes: Map<string, Buffer[]> }> {
  const index = `${tag}_larder`;
  const store = larderStore(client, index);
  let nodes: TextNode[] | undefined = larderNodes(d);
  const t0 = performance.now();
  await store.add(nodes);
  const callSeconds = (performance.now() - t0) / 1000;
  await waitIndexed(client, index, N);
  const loadSeconds = (performance.now() - t0) / 1000;
  nodes = undefined;
  const qs = queryArrays(d);
  const filters = { filters: [{ key: "group", operator: "==" as const, value: FILTER_GROUP }], condition: "and" as const };
  const plain = await timedQueries(async (j) => (await store.query({ embedding: qs[j]!, topK: TOP_K })).ids);
  const filtered = await timedQueries(async (j) => (await store.query({ embedding: qs[j]!, topK: TOP_K, filters })).ids);
  const hashes = await readHashes(client, `${store.prefix}n:`);
  if (hashes.size !== N) throw new Error(`Larder wrote ${hashes.size} node hashes under ${store.prefix}n:, expected ${N}`);
  await store.clear();
  await dropIndex(client, index);
  return {
    result: { name: "larder", loadSeconds, callSeconds, latencies: plain.latencies, ids: plain.ids, filteredLatencies: filtered.latencies, filteredIds: filtered.ids },
    hashes,
  };
}

// ------------------------------------------------------------------------------------- raw

/**
 * The server's limit: the index of a Larder store (created by the store itself, so the FT.CREATE
 * schema and HNSW parameters are Larder's: one node added, then deleted), then the very hashes
 * Larder wrote (the same bytes, read back after Larder's run) written with pipelined HSETs:
 * RAW_BATCH per pipeline, RAW_IN_FLIGHT pipelines in flight, no other client work. Queries: plain
 * FT.SEARCH KNN (DIALECT 2) with the unit-normalised query (Larder indexes unit vectors with the
 * inner product for cosine), returning the key and score only; no filtered raw query.
 */
async function runRaw(client: Redis, d: Data, tag: string, hashes: Map<string, Buffer[]>): Promise<Result> {
  const index = `${tag}_raw`;
  const store = larderStore(client, index);
  const seed = larderNodes({ vectors: d.vectors.subarray(0, DIM), queries: d.queries }).slice(0, 1);
  await store.add(seed);
  await store.deleteNodes({ ids: [seed[0]!.id] });
  const prefix = `${store.prefix}n:`;
  const rows = [...hashes.entries()];
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < rows.length) {
      const start = next;
      next = Math.min(rows.length, next + RAW_BATCH);
      const p = client.pipeline();
      for (let i = start; i < next; i++) p.hset(prefix + rows[i]![0], ...(rows[i]![1] as [Buffer, Buffer]));
      const res = await p.exec();
      for (const [err] of res ?? []) if (err) throw err;
    }
  };
  await Promise.all(Array.from({ length: RAW_IN_FLIGHT }, worker));
  const callSeconds = (performance.now() - t0) / 1000;
  await waitIndexed(client, index, N);
  const loadSeconds = (performance.now() - t0) / 1000;
  const unit = (j: number) => {
    const q = row(d.queries, j);
    let s = 0;
    for (const x of q) s += x * x;
    const out = new Float32Array(DIM);
    for (let k = 0; k < DIM; k++) out[k] = q[k]! / Math.sqrt(s);
    return Buffer.from(out.buffer);
  };
  const qbufs = Array.from({ length: Q }, (_, j) => unit(j));
  const plain = await timedQueries(async (j) => {
    const r = (await client.call(
      "FT.SEARCH", index, `*=>[KNN ${TOP_K} @v $v AS score]`,
      "PARAMS", "2", "v", qbufs[j]!, "SORTBY", "score", "LIMIT", "0", String(TOP_K), "RETURN", "1", "score", "DIALECT", "2",
    )) as unknown[];
    const ids: string[] = [];
    // The key is the prefix and the node id.
    for (let i = 1; i < r.length; i += 2) ids.push(String(r[i]).slice(prefix.length));
    return ids;
  });
  await store.clear();
  await dropIndex(client, index);
  return { name: "raw", loadSeconds, callSeconds, latencies: plain.latencies, ids: plain.ids, filteredLatencies: [], filteredIds: [] };
}

// -------------------------------------------------------------------------------- LangChain

/**
 * LangChain.js's `FluentRedisVectorStore` (the class @langchain/redis recommends for metadata
 * filters; its legacy `RedisVectorStore` builds `@metadata.group:{...}` for a custom-schema filter,
 * which the server rejects as a syntax error). Metadata schema: `group` and `id` as TAG fields (the
 * store returns only schema fields, so the node id must be one to compute recall).
 */
async function runLangChain(url: string, client: Redis, d: Data, tag: string): Promise<Result> {
  const index = `${tag}_langchain`;
  const lc = createClient({ url });
  // A lost connection fails the pending command (and so the run); without a listener node-redis
  // would also throw it as an unhandled 'error' event.
  lc.on("error", () => undefined);
  await lc.connect();
  try {
    const store = new FluentRedisVectorStore(
      { embedQuery: async () => [], embedDocuments: async () => [] },
      {
        redisClient: lc,
        indexName: index,
        keyPrefix: `${tag}:langchain:`,
        indexOptions: { ALGORITHM: "HNSW", DISTANCE_METRIC: "COSINE", M: HNSW.M, EF_CONSTRUCTION: HNSW.EF_CONSTRUCTION, EF_RUNTIME: HNSW.EF_RUNTIME } as never,
        customSchema: [
          { name: "group", type: "tag" },
          { name: "id", type: "tag" },
        ],
      },
    );
    const vectors = Array.from({ length: N }, (_, i) => Array.from(row(d.vectors, i)));
    const docs = Array.from({ length: N }, (_, i) => new LCDocument({ pageContent: `chunk ${i}`, metadata: { id: idOf(i), group: groupOf(i) } }));
    const keys = Array.from({ length: N }, (_, i) => `${tag}:langchain:${idOf(i)}`);
    const t0 = performance.now();
    await store.addVectors(vectors, docs, { keys });
    const callSeconds = (performance.now() - t0) / 1000;
    await waitIndexed(client, index, N);
    const loadSeconds = (performance.now() - t0) / 1000;
    const idsOf = (hits: [LCDocument, number][]) => hits.map(([doc]) => String(doc.metadata["id"]));
    const qs = queryArrays(d);
    const q = (j: number) => qs[j]!;
    const plain = await timedQueries(async (j) => idsOf(await store.similaritySearchVectorWithScore(q(j), TOP_K)));
    const filter = Tag("group").eq(FILTER_GROUP);
    const filtered = await timedQueries(async (j) => idsOf(await store.similaritySearchVectorWithScore(q(j), TOP_K, filter)));
    await dropIndex(client, index);
    return { name: "langchain", loadSeconds, callSeconds, latencies: plain.latencies, ids: plain.ids, filteredLatencies: filtered.latencies, filteredIds: filtered.ids };
  } finally {
    await lc.quit();
  }
}

// ----------------------------------------------------------------------------------- Python

function venvPython(): string {
  const script = fileURLToPath(new URL("../python/setup-venv.sh", import.meta.url));
  const r = spawnSync("bash", [script, "redis-vector"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 1_800_000 });
  if (r.status !== 0) throw new Error(`setup-venv.sh redis-vector failed (exit ${String(r.status)})`);
  return r.stdout.trim().split("\n").at(-1)!;
}

interface PeerOut {
  version: string;
  core: string;
  redisvl: string;
  addSeconds: number;
  indexSeconds: number;
  latenciesMs: number[];
  ids: string[][];
  filteredLatenciesMs: number[];
  filteredIds: string[][];
}

async function runPython(url: string, client: Redis, d: Data, tag: string, dir: string): Promise<Result & { peer: PeerOut }> {
  const python = venvPython();
  const index = `${tag}_python`;
  const vectors = join(dir, "vectors.f32");
  const queryFile = join(dir, "queries.f32");
  await writeFile(vectors, new Uint8Array(d.vectors.buffer, d.vectors.byteOffset, d.vectors.byteLength));
  await writeFile(queryFile, new Uint8Array(d.queries.buffer, d.queries.byteOffset, d.queries.byteLength));
  const spec = join(dir, "spec.json");
  await writeFile(
    spec,
    JSON.stringify({ url, index, prefix: `${tag}:python`, vectors, queryFile, n: N, dim: DIM, queries: Q, groups: GROUPS, filterGroup: FILTER_GROUP, chunksPerDoc: CHUNKS_PER_DOC, topK: TOP_K, hnsw: HNSW }),
  );
  const script = fileURLToPath(new URL("./redis-vector-peer.py", import.meta.url));
  const r = spawnSync(python, [script, spec], { encoding: "utf8", maxBuffer: 256 * 2 ** 20, timeout: 3_600_000 });
  try {
    if (r.status !== 0) throw new Error(`python peer failed: ${(r.stderr || String(r.error)).trim().split("\n").slice(-5).join(" / ")}`);
    const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as PeerOut;
    return {
      name: "python",
      loadSeconds: out.indexSeconds,
      callSeconds: out.addSeconds,
      latencies: out.latenciesMs,
      ids: out.ids,
      filteredLatencies: out.filteredLatenciesMs,
      filteredIds: out.filteredIds,
      peer: out,
    };
  } finally {
    await dropIndex(client, index);
  }
}

// ------------------------------------------------------------------------------------- suite

export async function runRedisVectorBench(): Promise<void> {
  const url = servicesEnv().LARDER_REDIS_SEARCH_URL;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const info = await client.info("server");
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? "?";
  const modules = (await client.call("MODULE", "LIST")) as unknown[][];
  const search = modules.map((m) => Object.fromEntries(Array.from({ length: m.length / 2 }, (_, i) => [String(m[2 * i]), m[2 * i + 1]]))).find((m) => m["name"] === "search");
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(", ")}`);
  console.log(
    `Redis ${version} with the query engine (search module ${String(search?.["ver"] ?? "absent")}) at ${url.replace(/\/\/[^@]*@/, "//***@")}; ` +
      `${N.toLocaleString("en-US")} × ${DIM} float32 vectors (${CLUSTERS} Gaussian clusters, seeded), ${Q} queries, top ${TOP_K}; ` +
      `HNSW M=${HNSW.M} EF_CONSTRUCTION=${HNSW.EF_CONSTRUCTION} EF_RUNTIME=${HNSW.EF_RUNTIME}, COSINE, for every implementation`,
  );
  let t = performance.now();
  const data = makeData();
  console.log(`  data: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  t = performance.now();
  const exact = exactTopK(data);
  const exactFiltered = exactTopK(data, FILTER_GROUP);
  console.log(`  exact answers (float64 brute force): ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const tag = `bench_rv_${Date.now().toString(36)}`;
  const dir = await mkdtemp(join(tmpdir(), "larder-redis-vector-"));
  const results: Result[] = [];
  let peer: PeerOut | undefined;
  let larderHashes: Map<string, Buffer[]> | undefined;
  const show = (r: Result) =>
    console.log(
      `  ${r.name}: load ${r.loadSeconds.toFixed(2)} s${r.callSeconds !== undefined ? ` (call returned at ${r.callSeconds.toFixed(2)} s)` : ""}; ` +
        `top-${TOP_K} median ${median(r.latencies).toFixed(2)} ms, recall ${recall(r.ids, exact).toFixed(3)}` +
        (r.filteredIds.length
          ? `; filtered median ${median(r.filteredLatencies).toFixed(2)} ms, recall ${recall(r.filteredIds, exactFiltered).toFixed(3)}, ` +
            `exactly ${TOP_K}: ${r.filteredIds.filter((x) => x.length === TOP_K).length}/${Q}`
          : ""),
    );
  try {
    for (const p of PEERS) {
      let r: Result;
      if (p === "raw") {
        if (!larderHashes) throw new Error("the raw load writes the hashes Larder wrote: list larder before raw in REDIS_VECTOR_BENCH_PEERS");
        r = await runRaw(client, data, tag, larderHashes);
        larderHashes = undefined;
      } else if (p === "larder") {
        const out = await runLarder(client, data, tag);
        larderHashes = out.hashes;
        r = out.result;
      }
      else if (p === "langchain") r = await runLangChain(url, client, data, tag);
      else if (p === "python") {
        const out = await runPython(url, client, data, tag, dir);
        peer = out.peer;
        r = out;
      } else throw new Error(`unknown implementation ${p} (raw, larder, langchain, python)`);
      results.push(r);
      show(r);
    }
  } finally {
    for (const suffix of ["raw", "larder", "langchain", "python"]) await dropIndex(client, `${tag}_${suffix}`).catch(() => undefined);
    if (!process.env["REDIS_VECTOR_BENCH_KEEP"]) await rm(dir, { recursive: true, force: true });
    client.disconnect();
  }

  const names: Record<string, string> = {
    raw: "raw pipelined `HSET` into the same index (no client logic)",
    larder: "Larder `RedisVectorStore`",
    langchain: "LangChain.js `@langchain/redis` 1.1.2 `FluentRedisVectorStore` (node-redis 4.7.1)",
    python: peer ? `Python LlamaIndex \`RedisVectorStore\` (llama-index-vector-stores-redis ${peer.version}, redisvl ${peer.redisvl})` : "Python LlamaIndex",
  };
  console.log("");
  printTable(
    ["implementation", "load (s)", "vectors/s", `top-${TOP_K} median (ms)`, "p95 (ms)", "recall@10", "filtered median (ms)", "filtered recall@10", `filtered: exactly ${TOP_K} hits`],
    results.map((r) => [
      names[r.name] ?? r.name,
      r.loadSeconds.toFixed(2),
      Math.round(N / r.loadSeconds).toLocaleString("en-US"),
      median(r.latencies).toFixed(2),
      p95(r.latencies).toFixed(2),
      recall(r.ids, exact).toFixed(3),
      ...(r.filteredIds.length
        ? [median(r.filteredLatencies).toFixed(2), recall(r.filteredIds, exactFiltered).toFixed(3), `${r.filteredIds.filter((x) => x.length === TOP_K).length}/${Q}`]
        : ["—", "—", "—"]),
    ]),
  );
  console.log("");
  console.log(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(", ")}`);
  reportTargets(results, exact);
  await runRedisVectorCliBench();
}

function reportTargets(results: Result[], exact: string[][]): void {
  const by = Object.fromEntries(results.map((r) => [r.name, r]));
  const larder = by["larder"];
  if (larder) {
    const peers = results.filter((r) => r.name === "langchain" || r.name === "python");
    if (by["raw"]) console.log(`Larder load / raw load: ${(larder.loadSeconds / by["raw"].loadSeconds).toFixed(2)}× (target ≤ 1.2×)`);
    if (peers.length) {
      const fastestLoad = peers.reduce((a, b) => (a.loadSeconds <= b.loadSeconds ? a : b));
      console.log(`Larder load / faster peer's (${fastestLoad.name}): ${(larder.loadSeconds / fastestLoad.loadSeconds).toFixed(2)}× (target ≤ 1×)`);
      const fastestQuery = peers.reduce((a, b) => (median(a.latencies) <= median(b.latencies) ? a : b));
      console.log(
        `Larder top-${TOP_K} median / faster peer's (${fastestQuery.name}): ${(median(larder.latencies) / median(fastestQuery.latencies)).toFixed(2)}× (target ≤ 1.2×), ` +
          `recall ${recall(larder.ids, exact).toFixed(3)} vs ${recall(fastestQuery.ids, exact).toFixed(3)}`,
      );
    }
  }
  for (const r of results) {
    if (!r.filteredIds.length) continue;
    const short = r.filteredIds.filter((x) => x.length !== TOP_K).length;
    console.log(`${r.name}: filtered top-${TOP_K} returned exactly ${TOP_K} hits in ${Q - short}/${Q} queries (${Math.round(N / GROUPS.length)} rows match)`);
  }
}

// ------------------------------------------------------------------------------ larder query

interface CliQuery {
  /** ms from the `loading` progress line to the answer's last line on stdout. */
  answerMs: number;
  /** ms of the `loading` step (adapter import, connect, probe, index struct) and of `retrieving`. */
  loadingMs: number;
  retrievingMs: number;
  stderr: string;
}

/** Runs the real CLI; resolves stdout and stderr (rejects on a non-zero exit). */
function cli(args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, LARDER_PROGRESS: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve({ stdout, stderr }) : reject(new Error(`larder ${args[0]} exited with ${code}: ${stderr.slice(-2000)}`))));
  });
}

/** One `larder query`, timed from its first progress line to the last line of its answer. */
function cliQuery(url: string, text: string, cwd: string, topK: number): Promise<CliQuery> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "query", text, "--from", url, "--top-k", String(topK)], {
      cwd,
      env: { ...process.env, LARDER_PROGRESS: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let start: number | undefined;
    let loadingDone: number | undefined;
    let retrievingDone: number | undefined;
    let answered: number | undefined;
    let stdout = "";
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      const t = performance.now();
      stderr += d;
      for (const line of d.split("\n")) {
        if (start === undefined && /^loading /.test(line)) start = t;
        if (/^loading .*: done in/.test(line)) loadingDone = t;
        if (/^retrieving: done in/.test(line)) retrievingDone = t;
      }
    });
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      // The answer is complete when the last hit's text line is there.
      if (new RegExp(`^\\s+${topK}\\. `, "m").test(stdout) && stdout.endsWith("\n")) answered ??= performance.now();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0 || start === undefined || answered === undefined || loadingDone === undefined || retrievingDone === undefined) {
        return reject(new Error(`larder query exited with ${code}; progress or answer missing: ${stderr.slice(-1000)} ${stdout.slice(-500)}`));
      }
      resolve({ answerMs: answered - start, loadingMs: loadingDone - start, retrievingMs: retrievingDone - loadingDone, stderr });
    });
  });
}

async function deleteKeys(client: Redis, pattern: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 2000);
    cursor = next;
    if (keys.length) await client.unlink(...keys);
  } while (cursor !== "0");
}

export async function runRedisVectorCliBench(): Promise<void> {
  if (!Number.isInteger(CLI_CHUNKS) || CLI_CHUNKS < 0) throw new Error(`REDIS_VECTOR_BENCH_CLI_CHUNKS must be a whole number, got ${process.env["REDIS_VECTOR_BENCH_CLI_CHUNKS"]}`);
  if (CLI_CHUNKS === 0) return;
  const env = servicesEnv();
  const root = await mkdtemp(join(tmpdir(), "larder-redis-vector-cli-"));
  const tag = `bench_rvcli_${Date.now().toString(36)}`;
  const targets = [
    { name: "query engine", base: env.LARDER_REDIS_SEARCH_URL, store: "RedisVectorStore" },
    { name: "plain", base: env.LARDER_REDIS_URL, store: "KVVectorStore" },
  ];
  const clients = targets.map((t) => new Redis(t.base, { lazyConnect: true, maxRetriesPerRequest: 1 }));
  const rows: string[][] = [];
  const texts = ["storage retrieval kalomi", "embedding filters sanevo", "graphs chat migration", "indexing rutepa dibe", "vector search in redis", "larder cellar pantry"];
  try {
    const corpus = join(root, "corpus");
    await writeCorpus(corpus, CLI_CHUNKS);
    console.log(`\nlarder query --from redis://... on ${CLI_CHUNKS.toLocaleString("en-US")} chunks (the ingest suite's corpus, offline embedder), ${CLI_RUNS} queries per target after one warm-up`);
    for (const [i, t] of targets.entries()) {
      const prefix = `${tag}_${i}:`;
      const url = `${t.base.replace(/\/$/, "")}?prefix=${prefix}`;
      let t0 = performance.now();
      const ing = await cli(["ingest", corpus, "--to", url], root);
      const ingestSeconds = (performance.now() - t0) / 1000;
      const chunks = Number(/-> (\d+) chunks in/.exec(ing.stdout)?.[1]);
      if (chunks !== CLI_CHUNKS) throw new Error(`larder ingest into ${t.name} Redis reported ${chunks} chunks, expected ${CLI_CHUNKS}`);
      const kvBacked = /LARDER_REDIS_VECTORS/.test(ing.stderr);
      if (kvBacked !== (t.store === "KVVectorStore")) throw new Error(`ingest into ${t.name} Redis: expected ${t.store} (notice ${kvBacked ? "printed" : "absent"})`);
      console.log(`  ingest into ${t.name} Redis (${t.store}): ${ingestSeconds.toFixed(1)} s`);
      await cliQuery(url, texts[0]!, root, 5);
      const runs: CliQuery[] = [];
      for (let r = 0; r < CLI_RUNS; r++) runs.push(await cliQuery(url, texts[(r + 1) % texts.length]!, root, 5));
      const m = (f: (q: CliQuery) => number) => median(runs.map(f));
      console.log(`  queries: ${runs.map((q) => q.answerMs.toFixed(0)).join(" / ")} ms`);
      rows.push([
        `${t.name} Redis → \`${t.store}\``,
        runs.map((q) => q.answerMs.toFixed(0)).join(" / "),
        m((q) => q.answerMs).toFixed(0),
        m((q) => q.loadingMs).toFixed(0),
        m((q) => q.retrievingMs).toFixed(0),
      ]);
      t0 = performance.now();
      await deleteKeys(clients[i]!, `${prefix}*`);
      if (t.store === "RedisVectorStore") await dropIndex(clients[i]!, `${prefix}larder_vectors`);
    }
  } finally {
    for (const [i, c] of clients.entries()) {
      await deleteKeys(c, `${tag}_${i}:*`).catch(() => undefined);
      c.disconnect();
    }
    const admin = new Redis(env.LARDER_REDIS_SEARCH_URL);
    await dropIndex(admin, `${tag}_0:larder_vectors`).catch(() => undefined);
    admin.disconnect();
    await rm(root, { recursive: true, force: true });
  }
  console.log("");
  printTable(["`larder query --from`", "runs (ms)", "median (ms)", "`loading` step (ms)", "`retrieving` step (ms)"], rows);
  console.log(`\nload average at end: ${loadavg().map((x) => x.toFixed(2)).join(", ")}`);
}
