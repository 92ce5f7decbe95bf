// PostgresVectorStore's HNSW parameters: what a lower ef_construction saves at build time and what
// it costs in recall@10, on two kinds of data, through the store's own query path (the float16
// graph, `efSearch` candidates re-ranked by the exact float32 cosine).
//
//   pnpm bench hnsw
//   HNSW_BENCH_N=20000 HNSW_BENCH_QUERIES=200 ... (defaults)
//
// Data (deterministic, seeded), N vectors of 384 dimensions each:
//  - "ingest corpus": the documents of the ingest suite (about 60 generated words each) embedded
//    with the offline embedder (`larder-hash-v1-384`); two query sets: short keyword queries (the
//    embedding of 5 or 20 words drawn from the corpus vocabulary) and "near" queries (the
//    normalized sum of two stored vectors);
//  - "clustered": the postgres suite's synthetic embeddings (500 centroids + Gaussian noise),
//    queries drawn from the same distribution.
// For each ef_construction (m 16), the index is dropped and built again with `buildIndex()`
// (timed; two alternating rounds over the settings), then every query set runs through
// `store.query` (topK 10) at each efSearch; recall@10 is against the exact top-10 computed in JS
// (float64 sums over the float32 vectors), latency is the median of sequential queries.
import pg from "pg";
import { seededRandom } from "@larder/conformance";
import { TextNode } from "@larder/core/schema";
import { HashEmbedder } from "@larder/indexing";
import { PostgresVectorStore } from "@larder/storage-postgres";
import { servicesEnv } from "../../../tooling/services/env.mjs";
import { corpusDocuments, corpusVocabulary } from "./ingest.js";
import { printTable } from "./markdown.js";
import { clustered, exactTopK, stats } from "./postgres.js";

const N = Number(process.env["HNSW_BENCH_N"] ?? 20_000);
const QUERIES = Number(process.env["HNSW_BENCH_QUERIES"] ?? 200);
const DIM = 384;
const URL = servicesEnv().LARDER_POSTGRES_URL;
const SCHEMA = "larder_bench";
const EF_CONSTRUCTION = [64, 40, 32];
const EF_SEARCH = [100, 150, 200];
const ROUNDS = 2;

interface DataSet {
  name: string;
  table: string;
  ids: string[];
  vectors: Float32Array[];
  texts: string[];
  queries: { name: string; vectors: Float32Array[] }[];
}

function unit(v: ArrayLike<number>): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i]! * v[i]!;
  n = Math.sqrt(n);
  return Float32Array.from(v, (x) => x / n);
}

function ingestCorpus(): DataSet {
  const embedder = new HashEmbedder({ dimensions: DIM });
  const docs = [...corpusDocuments(N)];
  const vectors = docs.map((d) => Float32Array.from(embedder.embedSync(d.text)));
  const vocab = corpusVocabulary();
  const r = seededRandom(4242);
  const keyword = Array.from({ length: QUERIES }, (_, i) =>
    Float32Array.from(embedder.embedSync(Array.from({ length: i % 2 ? 5 : 20 }, () => vocab[Math.floor(r() * vocab.length)]!).join(" "))),
  );
  const near = Array.from({ length: QUERIES }, () => {
    const a = vectors[Math.floor(r() * N)]!;
    const b = vectors[Math.floor(r() * N)]!;
    return unit(Float32Array.from(a, (x, k) => x + b[k]!));
  });
  return {
    name: "ingest corpus (larder-hash-v1-384)",
    table: "hnsw_ingest",
    ids: docs.map((d) => d.id),
    vectors,
    texts: docs.map((d) => d.text),
    queries: [
      { name: "keyword queries", vectors: keyword },
      { name: "near queries", vectors: near },
    ],
  };
}

function clusteredSet(): DataSet {
  return {
    name: "clustered (500 centroids)",
    table: "hnsw_clustered",
    ids: Array.from({ length: N }, (_, i) => `c-${i}`),
    vectors: clustered(N, DIM, 1),
    texts: Array.from({ length: N }, (_, i) => `chunk ${i}`),
    queries: [{ name: "queries from the distribution", vectors: clustered(QUERIES, DIM, 2) }],
  };
}

function store(table: string, efConstruction: number, efSearch = 100): PostgresVectorStore {
  return new PostgresVectorStore({ url: URL, schema: SCHEMA, table, dimensions: DIM, indexBuild: "manual", index: { type: "hnsw", m: 16, efConstruction, efSearch } });
}

export async function runHnswBench(): Promise<void> {
  if (!Number.isInteger(N) || N < 100) throw new Error(`HNSW_BENCH_N must be a whole number >= 100, got ${process.env["HNSW_BENCH_N"]}`);
  if (!Number.isInteger(QUERIES) || QUERIES < 1) throw new Error(`HNSW_BENCH_QUERIES must be a whole number >= 1, got ${process.env["HNSW_BENCH_QUERIES"]}`);
  const admin = new pg.Pool({ connectionString: URL, max: 1 });
  const rows: string[][] = [];
  try {
    await admin.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
    console.log(`N=${N} × ${DIM}, ${QUERIES} queries per set; m 16; builds: ${ROUNDS} rounds over ef_construction ${EF_CONSTRUCTION.join(", ")}`);
    for (const data of [ingestCorpus(), clusteredSet()]) {
      await admin.query(`DROP TABLE IF EXISTS ${SCHEMA}.${data.table}`);
      const loader = store(data.table, EF_CONSTRUCTION[0]!);
      await loader.add(data.ids.map((id, i) => new TextNode({ id, text: data.texts[i]!, embedding: Array.from(data.vectors[i]!) })));
      await loader.close();
      const truth = data.queries.map((qs) => qs.vectors.map((q) => new Set(exactTopK(data.vectors, data.ids, q, 10))));
      const builds = new Map<number, number[]>(EF_CONSTRUCTION.map((e) => [e, []]));
      const results = new Map<string, string>();
      for (let round = 0; round < ROUNDS; round++) {
        for (const efc of EF_CONSTRUCTION) {
          const s = store(data.table, efc);
          await s.dropIndex();
          const t0 = performance.now();
          await s.buildIndex();
          const t = (performance.now() - t0) / 1000;
          builds.get(efc)!.push(t);
          await s.close();
          console.log(`${data.name}: ef_construction ${efc}, build ${t.toFixed(2)} s`);
          if (round > 0) continue; // recall does not depend on the round (same data, same graph build order)
          for (const efs of EF_SEARCH) {
            const q = store(data.table, efc, efs);
            await q.query({ embedding: Array.from(data.queries[0]!.vectors[0]!), topK: 10 }); // warm-up
            for (const [qi, qs] of data.queries.entries()) {
              const lat: number[] = [];
              let hits = 0;
              for (let i = 0; i < qs.vectors.length; i++) {
                const t1 = performance.now();
                const r = await q.query({ embedding: Array.from(qs.vectors[i]!), topK: 10 });
                lat.push(performance.now() - t1);
                hits += r.ids.filter((id) => truth[qi]![i]!.has(id)).length;
              }
              const recall = hits / (10 * qs.vectors.length);
              const med = stats(lat).median;
              console.log(`  ${qs.name}, efSearch ${efs}: recall@10 ${recall.toFixed(3)}, median ${med.toFixed(2)} ms`);
              results.set(`${efc}/${efs}/${qi}`, `${recall.toFixed(3)} / ${med.toFixed(1)} ms`);
            }
            await q.close();
          }
        }
      }
      for (const efc of EF_CONSTRUCTION) {
        const bs = builds.get(efc)!;
        for (const [qi, qs] of data.queries.entries()) {
          rows.push([
            data.name,
            String(efc),
            bs.map((b) => b.toFixed(2)).join(" / "),
            qs.name,
            ...EF_SEARCH.map((efs) => results.get(`${efc}/${efs}/${qi}`)!),
          ]);
        }
      }
      await admin.query(`DROP TABLE IF EXISTS ${SCHEMA}.${data.table}`);
    }
    console.log();
    printTable(["data", "ef_construction", "build (s)", "queries", ...EF_SEARCH.map((e) => `efSearch ${e}: recall@10 / median`)], rows);
  } finally {
    await admin.end();
  }
}
