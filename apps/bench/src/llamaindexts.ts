// LlamaIndexTS app benchmark: the same LlamaIndexTS code (VectorStoreIndex.init with 100k nodes,
// then asRetriever top-10) on LlamaIndexTS's default storage and on @larder/llamaindex over Larder's
// in-memory stores (persisted to a folder) and over PostgreSQL. Embeddings are precomputed
// (deterministic, 384-d): the embedding step passes nodes through, so its cost is excluded.
//   cd apps/bench && node --conditions=@larder/source --import tsx src/run.ts llamaindexts
// Each storage runs in its own process (this file, with argument `worker <case>`), one after the
// other in the same run; every process builds the same data from the same seed.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { BaseNode } from "llamaindex";
import pg from "pg";
import { seededUnitVector } from "@larder/conformance";
import { servicesEnv } from "../../../tooling/services/env.mjs";
import { printTable } from "./markdown.js";

const N = Number(process.env["LLAMAINDEXTS_BENCH_N"] ?? 100_000);
const DIM = 384;
const QUERIES = Number(process.env["LLAMAINDEXTS_BENCH_QUERIES"] ?? 50);
const CASES = ["llamaindexts-default", "larder-memory", "larder-postgres"] as const;
type Case = (typeof CASES)[number];

interface Row {
  case: Case;
  n: number;
  ingestMs: number;
  persistMs?: number;
  persistError?: string;
  persistBytes?: number;
  queryMedianMs: number;
  /** Top-10 ids of every query, to check that all storages return the same results. */
  top: string[][];
  rssMB: number;
}

const seededVector = (seed: number) => seededUnitVector(seed, DIM);

/** `a + 0.5 b`, normalised, as float32 values. */
function mix(a: number[], b: number[]): number[] {
  const v = a.map((x, k) => x + 0.5 * b[k]!);
  const n = Math.hypot(...v);
  return v.map((x) => Math.fround(x / n));
}

/** 1 000 clusters (one per document): node i is its document's centre plus noise. */
const CLUSTERS = 1000;
const centre = (k: number) => seededVector(1_000_000 + k);
function nodeVector(i: number): number[] {
  return mix(centre(i % CLUSTERS), seededVector(i));
}

/** Query q: a cluster's centre plus other noise; its top-10 are nodes of that cluster. */
function queryVector(q: number): number[] {
  return mix(centre((q * 37) % CLUSTERS), seededVector(2_000_000 + q));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function dirBytes(d: string): number {
  let n = 0;
  for (const f of readdirSync(d)) {
    const p = join(d, f);
    const st = statSync(p);
    n += st.isDirectory() ? dirBytes(p) : st.size;
  }
  return n;
}

async function worker(which: Case): Promise<Row> {
  const LI = await import("llamaindex");
  const { storageContextFromLarder } = await import("@larder/llamaindex");

  class PrecomputedEmbedding extends LI.BaseEmbedding {
    constructor() {
      // The embedding step keeps the nodes' precomputed embeddings.
      super(async (nodes: BaseNode[]) => nodes);
    }
    async getTextEmbedding(text: string): Promise<number[]> {
      return queryVector(Number(/query (\d+)/.exec(text)?.[1] ?? 0));
    }
  }
  LI.Settings.embedModel = new PrecomputedEmbedding();

  const nodes: InstanceType<typeof LI.TextNode>[] = [];
  for (let i = 0; i < N; i++) {
    nodes.push(
      new LI.TextNode({
        id_: `node-${i}`,
        text: `Chunk ${i} of document ${i % CLUSTERS}: storage vector index query persist embedding.`,
        metadata: { file_name: `file-${i % CLUSTERS}.txt`, page: i % 97 },
        relationships: { SOURCE: { nodeId: `doc-${i % CLUSTERS}`, metadata: {} } } as never,
        embedding: nodeVector(i),
      }),
    );
  }

  const dir = mkdtempSync(join(tmpdir(), `larder-bench-lits-${which}-`));
  const pgNs = `bench_lits_${process.pid}`;
  let storageContext: unknown;
  let persist: () => Promise<void>;
  let close = async () => {};
  if (which === "llamaindexts-default") {
    storageContext = await LI.storageContextFromDefaults({});
    // LlamaIndexTS's own persistence of its default stores (what persistDir does on every write).
    const ctx = storageContext as { docStore: { persist(p: string): Promise<void> }; indexStore: { persist(p: string): Promise<void> }; vectorStores: { TEXT: { persist(p: string): Promise<void> } } };
    persist = async () => {
      await ctx.docStore.persist(join(dir, "doc_store.json"));
      await ctx.indexStore.persist(join(dir, "index_store.json"));
      await ctx.vectorStores.TEXT.persist(join(dir, "vector_store.json"));
    };
  } else if (which === "larder-memory") {
    const s = await storageContextFromLarder(dir);
    storageContext = s.storageContext;
    persist = async () => void (await s.persist());
    close = () => s.close();
  } else {
    const url = `${servicesEnv().LARDER_POSTGRES_URL}?namespace=${pgNs}`;
    const s = await storageContextFromLarder(url, { vectorIndexBuild: "manual" });
    storageContext = s.storageContext;
    // Server stores write through; the HNSW index is built once after the bulk load.
    persist = async () => {
      const vs = s.larder.vectorStore as { buildIndex?: () => Promise<void> };
      await vs.buildIndex?.();
    };
    close = async () => {
      await s.close();
      const c = new pg.Client({ connectionString: servicesEnv().LARDER_POSTGRES_URL });
      await c.connect();
      for (const t of ["kv", "vectors", "chat"]) await c.query(`DROP TABLE IF EXISTS "${pgNs}_${t}" CASCADE`);
      await c.end();
    };
  }

  try {
    const t0 = performance.now();
    const index = await LI.VectorStoreIndex.init({ nodes, storageContext: storageContext as never });
    const ingestMs = performance.now() - t0;
    nodes.length = 0;
    const row: Row = { case: which, n: N, ingestMs, queryMedianMs: 0, top: [], rssMB: 0 };
    const t1 = performance.now();
    try {
      await persist();
      row.persistMs = performance.now() - t1;
      if (which !== "larder-postgres") row.persistBytes = dirBytes(dir);
    } catch (e) {
      row.persistError = `${(e as Error).name}: ${(e as Error).message}`.slice(0, 80);
    }
    const retriever = index.asRetriever({ similarityTopK: 10 });
    await retriever.retrieve({ query: "query 0" }); // warm-up
    const times: number[] = [];
    for (let q = 0; q < QUERIES; q++) {
      const t = performance.now();
      const hits = await retriever.retrieve({ query: `query ${q}` });
      times.push(performance.now() - t);
      row.top.push(hits.map((h) => h.node.id_));
    }
    row.queryMedianMs = median(times);
    row.rssMB = process.memoryUsage().rss / 2 ** 20;
    return row;
  } finally {
    await close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function runWorker(which: Case): Row {
  const here = fileURLToPath(import.meta.url);
  const out = execFileSync(process.execPath, ["--max-old-space-size=8192", "--conditions=@larder/source", "--import", "tsx", here, "worker", which], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
    cwd: fileURLToPath(new URL("..", import.meta.url)),
  });
  return JSON.parse(out.trim().split("\n").pop()!) as Row;
}

const s = (ms: number | undefined) => (ms === undefined ? "—" : (ms / 1000).toFixed(2));

export async function runLlamaIndexTSBench(): Promise<void> {
  console.log(`N=${N} nodes, ${DIM}-d precomputed embeddings, ${QUERIES} top-10 queries; each storage in its own process, one after the other`);
  const rows: Row[] = [];
  for (const c of CASES) {
    console.log(`running ${c} ...`);
    rows.push(runWorker(c));
  }
  const base = rows[0]!;
  const total = (r: Row) => r.ingestMs + (r.persistMs ?? 0);
  // Share of LlamaIndexTS's top-10 ids found in this storage's top-10, over all queries (100 = the
  // same results; an ANN index may miss some).
  const overlap = (r: Row) => {
    let hit = 0;
    r.top.forEach((ids, q) => {
      const want = new Set(base.top[q]);
      hit += ids.filter((id) => want.has(id)).length;
    });
    return (100 * hit) / base.top.reduce((n, ids) => n + ids.length, 0);
  };
  printTable(
    ["storage", "ingest (s)", "persist (s)", "ingest + persist (s)", "top-10 query median (ms)", "ingest vs LlamaIndexTS", "ingest + persist vs LlamaIndexTS", "query vs LlamaIndexTS", "top-10 ids shared with LlamaIndexTS (%)", "RSS (MB)"],
    rows.map((r) => [
      r.case,
      s(r.ingestMs),
      r.persistError
        ? `fails: ${r.persistError}`
        : r.case === "larder-postgres"
          ? `${s(r.persistMs)} (HNSW index build)`
          : `${s(r.persistMs)} (${((r.persistBytes ?? 0) / 2 ** 20).toFixed(0)} MB)`,
      r.persistError ? "—" : s(total(r)),
      r.queryMedianMs.toFixed(2),
      r === base ? "1" : `${(base.ingestMs / r.ingestMs).toFixed(2)}×`,
      r === base ? "1" : base.persistError ? "— (LlamaIndexTS cannot persist)" : `${(total(base) / total(r)).toFixed(2)}×`,
      r === base ? "1" : `${(base.queryMedianMs / r.queryMedianMs).toFixed(2)}×`,
      r === base ? "—" : overlap(r).toFixed(1),
      r.rssMB.toFixed(0),
    ]),
  );
}

if (process.argv[2] === "worker" && import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const row = await worker(process.argv[3] as Case);
  process.stdout.write(`${JSON.stringify(row)}\n`);
}
