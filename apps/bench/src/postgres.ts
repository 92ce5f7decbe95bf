// PostgreSQL + pgvector: Larder's PostgresVectorStore against LlamaIndexTS's PGVectorStore
// (@llamaindex/postgres), same server, same data, same run.
//
//   pnpm bench postgres
//   PG_BENCH_N=20000 PG_BENCH_DIM=384 PG_BENCH_QUERIES=200 ... (defaults 100 000 x 384, 200 queries)
//
// Data: synthetic "clustered" embeddings (seeded): 500 random unit centroids, each vector a centroid
// plus Gaussian noise (sigma 0.6 / sqrt(dim) per component), normalized. Real embedding sets are
// clustered like this; uniform random vectors in 384 dimensions are a known worst case for ANN recall
// and are measured too (recall only, smaller ef_search sweep).
//
// Measured:
//  1. bulk add of N vectors: LlamaIndexTS `add` in calls of 1000 nodes (its add is one multi-VALUES
//     INSERT per call and cannot take more than ~10 900 nodes per call: 6 parameters per row, 65 535
//     max; it creates no ANN index); Larder `add` with all N nodes in one call, default configuration
//     (binary COPY into the empty table, HNSW + metadata GIN built in the same transaction), and
//     without any index (`indexBuild: "manual"`) plus `buildIndex()` timed separately; then an
//     incremental add of 5 000 nodes into the indexed table (HNSW maintained row by row);
//  2. top-10 latency (median, p95) of `store.query` through the HNSW index, and recall@10 against
//     exact results computed in JS (float64) on the same vectors;
//  3. filtered top-10: returns exactly 10 for a 1% filter (exact path) and a 10% filter (HNSW
//     iterative scan path).
import { loadavg } from "node:os";
import pg from "pg";
import { TextNode as LITextNode } from "@llamaindex/core/schema";
import { PGVectorStore } from "@llamaindex/postgres";
import { seededRandom } from "@larder/conformance";
import type { MetadataFilters } from "@larder/core/filters";
import { TextNode } from "@larder/core/schema";
import { PostgresVectorStore } from "@larder/storage-postgres";
import { servicesEnv } from "../../../tooling/services/env.mjs";
import { printTable } from "./markdown.js";

const N = Number(process.env["PG_BENCH_N"] ?? 100_000);
const DIM = Number(process.env["PG_BENCH_DIM"] ?? 384);
const QUERIES = Number(process.env["PG_BENCH_QUERIES"] ?? 200);
const URL = servicesEnv().LARDER_POSTGRES_URL;

function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
}
/** Scales `v` to unit length, in place. */
export function normalize(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}
function clustered(count: number, dim: number, seed: number, centroidsSeed = 99): Float32Array[] {
  const rc = seededRandom(centroidsSeed);
  const centroids = Array.from({ length: 500 }, () => normalize(Float32Array.from({ length: dim }, () => gauss(rc))));
  const r = seededRandom(seed);
  const sigma = 0.6 / Math.sqrt(dim);
  return Array.from({ length: count }, () => {
    const c = centroids[Math.floor(r() * centroids.length)]!;
    return normalize(Float32Array.from(c, (x) => x + gauss(r) * sigma));
  });
}
function uniform(count: number, dim: number, seed: number): Float32Array[] {
  const r = seededRandom(seed);
  return Array.from({ length: count }, () => normalize(Float32Array.from({ length: dim }, () => gauss(r))));
}
function uuid(i: number): string {
  const h = i.toString(16).padStart(12, "0");
  return `00000000-0000-4000-8000-${h}`;
}

/** Exact top-k ids by cosine (vectors are unit length, so dot product), float64 accumulation. */
export function exactTopK(data: Float32Array[], ids: string[], q: Float32Array, k: number, allow?: (i: number) => boolean): string[] {
  const best: { s: number; i: number }[] = [];
  for (let i = 0; i < data.length; i++) {
    if (allow && !allow(i)) continue;
    const v = data[i]!;
    let s = 0;
    for (let j = 0; j < v.length; j++) s += v[j]! * q[j]!;
    if (best.length < k) {
      best.push({ s, i });
      best.sort((a, b) => b.s - a.s);
    } else if (s > best[k - 1]!.s) {
      best[k - 1] = { s, i };
      best.sort((a, b) => b.s - a.s);
    }
  }
  return best.map((b) => ids[b.i]!);
}

function stats(xs: number[]): { median: number; p95: number; mean: number } {
  const s = [...xs].sort((a, b) => a - b);
  return {
    median: s[Math.floor(s.length / 2)]!,
    p95: s[Math.min(s.length - 1, Math.floor(s.length * 0.95))]!,
    mean: xs.reduce((a, b) => a + b, 0) / xs.length,
  };
}
const ms = (x: number) => `${x.toFixed(2)} ms`;
const secs = (x: number) => `${(x / 1000).toFixed(1)} s`;
const rate = (n: number, t: number) => `${Math.round(n / (t / 1000))} nodes/s`;

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const out = await fn();
  return [out, performance.now() - t0];
}

export async function runPostgresBench(): Promise<void> {
  const admin = new pg.Pool({ connectionString: URL, max: 2 });
  const server = (await admin.query("SELECT version() AS v, (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS pgv")).rows[0];
  console.log(`server: ${String(server.v).split(",")[0]}, pgvector ${server.pgv}; N=${N}, dim=${DIM}, queries=${QUERIES}`);
  const rows: string[][] = [];
  let liAddMs = 0;
  const schema = "larder_bench";
  await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  const ids = Array.from({ length: N }, (_, i) => uuid(i));
  const data = clustered(N, DIM, 1);
  const cat = (i: number) => i % 100;
  const tables = ["li_embeddings", "larder_default", "larder_manual"];
  for (const t of tables) await admin.query(`DROP TABLE IF EXISTS ${schema}.${t}`);

  // ---------------------------------------------------------------- 1. bulk add
  const liNodes = () =>
    ids.map((id, i) => new LITextNode({ id_: id, text: `chunk ${i}`, metadata: { cat: cat(i) }, embedding: Array.from(data[i]!) }));
  const larderNodes = () =>
    ids.map((id, i) => new TextNode({ id, text: `chunk ${i}`, metadata: { cat: cat(i) }, embedding: Array.from(data[i]!) }));

  // The embedding model is never called (nodes carry their embeddings); LlamaIndexTS only insists one exists.
  const li = new PGVectorStore({
    clientConfig: { connectionString: URL },
    schemaName: schema,
    tableName: "li_embeddings",
    dimensions: DIM,
    embeddingModel: {} as never,
  });
  {
    const nodes = liNodes();
    await li.add(nodes.slice(0, 1)); // setup (extension, table) outside the timing
    const [, t] = await timed(async () => {
      for (let i = 1; i < nodes.length; i += 1000) await li.add(nodes.slice(i, i + 1000)); // LITS's add takes <= ~10 900 nodes
    });
    console.log(`LlamaIndexTS PGVectorStore.add, ${N} x ${DIM} (calls of 1000, no ANN index): ${secs(t)} (${Math.round(N / (t / 1000))} nodes/s)`);
    liAddMs = t;
    rows.push([`LlamaIndexTS \`add\` ${N} (calls of 1000 nodes; no ANN index)`, `${secs(t)} (${rate(N, t)})`]);
  }

  // Default configuration (HNSW created with the table); the first bulk add into the empty table
  // drops the indexes, COPYs, and rebuilds them in the same transaction.
  const larder = new PostgresVectorStore({ url: URL, schema, table: "larder_default", dimensions: DIM, maintenanceWorkMem: "1GB" });
  {
    const nodes = larderNodes();
    const [, t] = await timed(() => larder.add(nodes));
    console.log(
      `Larder PostgresVectorStore.add, ${N} x ${DIM} (one call, default config: binary COPY + HNSW and metadata index built in the same transaction): ${secs(t)} (${Math.round(N / (t / 1000))} nodes/s)`,
    );
    rows.push([`Larder \`add\` ${N}, default config (COPY into the empty table, HNSW + GIN built in the same transaction)`, secs(t)]);
  }
  {
    const manual = new PostgresVectorStore({ url: URL, schema, table: "larder_manual", dimensions: DIM, indexBuild: "manual" });
    const nodes = larderNodes();
    const [, t] = await timed(() => manual.add(nodes));
    console.log(`Larder add without any index (indexBuild: "manual"), ${N} x ${DIM}: ${secs(t)} (${Math.round(N / (t / 1000))} nodes/s)`);
    const [, tb] = await timed(() => manual.buildIndex({ maintenanceWorkMem: "1GB" }));
    console.log(`  + buildIndex() afterwards: ${secs(tb)}`);
    rows.push([
      `**Larder \`add\` ${N}, one call, no ANN index** (\`indexBuild: "manual"\`; binary COPY)`,
      `**${secs(t)} (${rate(N, t)}) — ${(liAddMs / t).toFixed(1)}× LlamaIndexTS**`,
    ]);
    rows.push(["+ `buildIndex()` afterwards (HNSW m=16, ef_construction=64, `maintenance_work_mem` 1GB, + metadata GIN)", secs(tb)]);
    await manual.drop();
    await manual.close();
  }
  const liRows = (await admin.query(`SELECT count(*)::int AS n FROM ${schema}.li_embeddings`)).rows[0].n;
  const larderRows = (await admin.query(`SELECT count(*)::int AS n FROM ${schema}.larder_default`)).rows[0].n;
  console.log(`rows stored: LlamaIndexTS ${liRows}, Larder ${larderRows}`);
  {
    // Incremental: more nodes into the indexed table (the HNSW graph is maintained row by row).
    const extra = Number(process.env["PG_BENCH_EXTRA"] ?? 5000);
    const more = clustered(extra, DIM, 5).map((v, i) => new TextNode({ id: `extra-${i}`, text: "x", metadata: { cat: -1 }, embedding: Array.from(v) }));
    const [, t] = await timed(() => larder.add(more));
    console.log(`Larder incremental add of ${extra} into the indexed ${N}-row table (HNSW maintained): ${secs(t)} (${Math.round(extra / (t / 1000))} nodes/s)`);
    rows.push([`Larder incremental \`add\` of ${extra} into the indexed ${N}-row table (HNSW maintained row by row)`, rate(extra, t)]);
    await larder.deleteNodes({ filters: { filters: [{ key: "cat", operator: "==", value: -1 }] } });
    await admin.query(`VACUUM ANALYZE ${schema}.larder_default`);
  }

  // ---------------------------------------------------------------- 2. HNSW top-10 latency + recall
  const queries = clustered(QUERIES, DIM, 2);
  const truth = queries.map((q) => exactTopK(data, ids, q, 10));
  for (const efSearch of [40, 100, 200]) {
    const s = new PostgresVectorStore({ url: URL, schema, table: "larder_default", index: { type: "hnsw", efSearch } });
    await s.query({ embedding: Array.from(queries[0]!), topK: 10 }); // warm-up (pool, setup probe)
    const lat: number[] = [];
    let hits = 0;
    for (let i = 0; i < queries.length; i++) {
      // Sequential on purpose: latency of one query at a time.
      const [r, t] = await timed(() => s.query({ embedding: Array.from(queries[i]!), topK: 10 }));
      lat.push(t);
      const want = new Set(truth[i]);
      hits += r.ids.filter((id) => want.has(id)).length;
    }
    const st = stats(lat);
    console.log(`Larder HNSW top-10, ef_search=${efSearch}: median ${ms(st.median)}, p95 ${ms(st.p95)}, recall@10 ${(hits / (queries.length * 10)).toFixed(4)}`);
    rows.push([
      `Larder HNSW top-10, ef_search ${efSearch}${efSearch === 100 ? " (default)" : ""}: median / p95 / recall@10`,
      `${st.median.toFixed(2)} / ${st.p95.toFixed(2)} ms / ${(hits / (queries.length * 10)).toFixed(4)}`,
    ]);
    await s.close();
  }
  {
    const lat: number[] = [];
    for (let i = 0; i < Math.min(50, queries.length); i++) {
      const [, t] = await timed(() => li.query({ queryEmbedding: Array.from(queries[i]!), similarityTopK: 10, mode: "default" } as never));
      lat.push(t);
    }
    const st = stats(lat);
    console.log(`LlamaIndexTS PGVectorStore.query top-10 (no ANN index: exact scan), ${lat.length} queries: median ${ms(st.median)}, p95 ${ms(st.p95)}`);
    rows.push([`LlamaIndexTS \`query\` top-10 (no ANN index: exact scan), ${lat.length} queries, median / p95`, `${st.median.toFixed(1)} / ${st.p95.toFixed(1)} ms`]);
  }

  // ---------------------------------------------------------------- 3. filtered top-10
  {
    const s = new PostgresVectorStore({ url: URL, schema, table: "larder_default" });
    const cases: [string, MetadataFilters, (i: number) => boolean][] = [
      ["1% (cat == 7: exact path)", { filters: [{ key: "cat", operator: "==", value: 7 }] }, (i) => cat(i) === 7],
      ["10% (cat < 10: HNSW iterative scan)", { filters: [{ key: "cat", operator: "<", value: 10 }] }, (i) => cat(i) < 10],
    ];
    for (const [label, filters, allow] of cases) {
      const lat: number[] = [];
      let exactlyK = 0;
      let hits = 0;
      const n = Math.min(50, queries.length);
      for (let i = 0; i < n; i++) {
        const [r, t] = await timed(() => s.query({ embedding: Array.from(queries[i]!), topK: 10, filters }));
        lat.push(t);
        if (r.ids.length === 10) exactlyK++;
        const want = new Set(exactTopK(data, ids, queries[i]!, 10, allow));
        hits += r.ids.filter((id) => want.has(id)).length;
      }
      const st = stats(lat);
      console.log(`Larder filtered top-10, ${label}: ${exactlyK}/${n} returned exactly 10, recall@10 ${(hits / (n * 10)).toFixed(4)}, median ${ms(st.median)}, p95 ${ms(st.p95)}`);
      rows.push([`Larder filtered top-10, ${label}, ${n} queries`, `${exactlyK}/${n} exactly 10, recall ${(hits / (n * 10)).toFixed(3)}, median ${st.median.toFixed(2)} ms`]);
    }
    await s.close();
  }

  // ---------------------------------------------------------------- 4. uniform random data (recall only)
  if (process.env["PG_BENCH_UNIFORM"] !== "0") {
    const un = Math.min(N, 20_000);
    const udata = uniform(un, DIM, 3);
    const uids = udata.map((_, i) => `u${i}`);
    await admin.query(`DROP TABLE IF EXISTS ${schema}.larder_uniform`);
    const u = new PostgresVectorStore({ url: URL, schema, table: "larder_uniform", dimensions: DIM, indexBuild: "manual" });
    await u.add(udata.map((v, i) => new TextNode({ id: uids[i]!, embedding: Array.from(v) })));
    await u.buildIndex({ maintenanceWorkMem: "1GB" });
    const uq = uniform(100, DIM, 4);
    const recalls: string[] = [];
    for (const efSearch of [100, 400]) {
      const s = new PostgresVectorStore({ url: URL, schema, table: "larder_uniform", index: { type: "hnsw", efSearch } });
      let hits = 0;
      const lat: number[] = [];
      for (const q of uq) {
        const [r, t] = await timed(() => s.query({ embedding: Array.from(q), topK: 10 }));
        lat.push(t);
        const want = new Set(exactTopK(udata, uids, q, 10));
        hits += r.ids.filter((id) => want.has(id)).length;
      }
      console.log(`uniform random ${un} x ${DIM}, ef_search=${efSearch}: recall@10 ${(hits / 1000).toFixed(4)}, median ${ms(stats(lat).median)}`);
      recalls.push((hits / 1000).toFixed(3));
      await s.close();
    }
    await u.drop();
    await u.close();
    rows.push([`uniform random ${un} × ${DIM} (worst case for ANN), ef_search 100 / 400: recall@10`, recalls.join(" / ")]);
  }

  await larder.close();
  if (process.env["PG_BENCH_KEEP"] !== "1") for (const t of tables) await admin.query(`DROP TABLE IF EXISTS ${schema}.${t}`);
  await admin.end();
  // LlamaIndexTS keeps its own client open and has no close(); end the process's handle on it.
  const liDb = (await li.client()) as unknown as { close?: () => Promise<void> };
  await liDb.close?.();
  console.log("");
  printTable(["measurement", `result (load average at end ${loadavg()[0]!.toFixed(1)})`], rows);
}
