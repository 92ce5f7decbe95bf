// One measurement of the vector benchmark in a fresh process (so peak memory is its own):
//   node --expose-gc --conditions=@larder/source --import tsx src/vector-worker.ts IMPL FILE N DIM QUERIES [DIR]
// IMPL: larder (default: int8 first pass + exact rescoring) | larder-f32 (`scan: "off"`, every
// float32 row) | llamaindex (LlamaIndexTS SimpleVectorStore) | larder-load (loads DIR, written by a
// `larder` run given DIR, and queries it).
// FILE: N rows then QUERIES + 3 queries, DIM float32 each (vector.ts writes it). Metadata per row i:
// {grp: "g" + i % 50} (exactly 2% per group). Prints one JSON line; "top" holds the top-10 row
// indices of every timed exact query, for the caller to check against the float64 brute force.
import { closeSync, openSync, readFileSync, readSync, rmSync } from "node:fs";
import { LocalFileSystem } from "@larder/core/fs";
import { NodeRelationship, TextNode } from "@larder/core/schema";
import { StorageContext } from "@larder/core/storage";
import { SimpleVectorStore } from "@larder/core/vector";
import * as LI from "llamaindex";

const [impl = "larder", file = "", nArg = "10000", dimArg = "384", qArg = "20", dir] = process.argv.slice(2);
const N = Number(nArg), DIM = Number(dimArg), QUERIES = Number(qArg);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const filterValue = "g7"; // exactly N/50 = 2% of the nodes
const idOf = (i: number) => `node-${i}`;
const indexOf = (id: string) => Number(id.slice(5));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Wall-clock and CPU time (user + system) of one call, in ms. */
async function time<T>(fn: () => Promise<T>): Promise<[wall: number, cpu: number, value: T]> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const v = await fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  return [wall, (c.user + c.system) / 1000, v];
}

const mib = (b: number) => b / 2 ** 20;
const out: Record<string, unknown> = { impl, n: N, dim: DIM };

/** Only the queries of FILE (no read of the rows). */
function readQueries(): number[][] {
  const fd = openSync(file, "r");
  const bytes = Buffer.alloc((QUERIES + 3) * DIM * 4);
  readSync(fd, bytes, 0, bytes.length, N * DIM * 4);
  closeSync(fd);
  const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  return Array.from({ length: QUERIES + 3 }, (_, q) => Array.from(all.subarray(q * DIM, (q + 1) * DIM)));
}

function readData(): { rows: Float32Array; queries: number[][] } {
  const buf = readFileSync(file);
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const rows = all.subarray(0, N * DIM);
  const queries = Array.from({ length: QUERIES + 3 }, (_, q) => Array.from(all.subarray((N + q) * DIM, (N + q + 1) * DIM)));
  return { rows, queries };
}

interface Impl {
  query(q: number[], filtered: boolean): Promise<string[]>;
}

async function measureQueries(store: Impl, queries: number[][], withFiltered: boolean): Promise<void> {
  const exact: number[] = [], exactCpu: number[] = [], filtered: number[] = [], filteredCpu: number[] = [];
  const top: number[][] = [];
  for (let i = 0; i < queries.length; i++) {
    const [t, c, ids] = await time(() => store.query(queries[i]!, false));
    if (i === 0) out["firstQueryMs"] = t; // (Larder builds its int8 copy here after a bulk add)
    if (i >= 3) exact.push(t), exactCpu.push(c), top.push(ids.map(indexOf));
  }
  if (withFiltered) {
    for (let i = 0; i < queries.length; i++) {
      const [t, c, ids] = await time(() => store.query(queries[i]!, true));
      if (i >= 3) filtered.push(t), filteredCpu.push(c);
      if (ids.length !== 10 || ids.some((id) => indexOf(id) % 50 !== 7)) throw new Error(`${impl}: filtered query returned wrong rows: ${ids.join(" ")}`);
    }
    Object.assign(out, { filteredMs: median(filtered), filteredCpuMs: median(filteredCpu) });
  }
  Object.assign(out, { queryMs: median(exact), queryMinMs: Math.min(...exact), queryCpuMs: median(exactCpu), top });
}

const filterOf = (filtered: boolean) => (filtered ? { filters: { filters: [{ key: "grp", operator: "==" as const, value: filterValue }] } } : {});

if (impl === "larder" || impl === "larder-f32") {
  const { rows, queries } = readData();
  const nodes = Array.from(
    { length: N },
    (_, i) => new TextNode({
        id: idOf(i),
        text: "",
        embedding: rows.subarray(i * DIM, (i + 1) * DIM) as unknown as number[],
        metadata: { grp: `g${i % 50}` },
        relationships: { [NodeRelationship.SOURCE]: { nodeId: `doc-${Math.floor(i / 4)}` } },
      }),
  );
  const store = new SimpleVectorStore(impl === "larder-f32" ? { scan: "off" } : {});
  gc();
  const before = process.memoryUsage().rss;
  const [addMs, addCpuMs] = await time(() => store.add(nodes));
  gc();
  Object.assign(out, { addMs, addCpuMs, storeRssMB: mib(process.memoryUsage().rss - before), quantizedMB: mib(store.quantizedBytes) });
  const api: Impl = { query: async (q, filtered) => (await store.query({ embedding: q, topK: 10, ...filterOf(filtered) })).ids };
  await measureQueries(api, queries, true);
  let rescored = 0;
  for (const q of queries.slice(3, 8)) {
    await store.query({ embedding: q, topK: 10 });
    rescored += store.lastScan!.rescored;
  }
  out["rescoredMean"] = rescored / 5;
  if (dir) {
    // Persist with fsync (the default of LocalFileSystem), in the Larder format.
    const ctx = await StorageContext.fromDefaults({ vectorStore: store });
    const fs = new LocalFileSystem(dir, { fsync: true });
    const [persistMs, persistCpuMs] = await time(() => ctx.persist("", { fs }));
    Object.assign(out, { persistMs, persistCpuMs });
  }
  out["peakRssMB"] = process.resourceUsage().maxRSS / 1024;
} else if (impl === "larder-load") {
  const queries = readQueries();
  gc();
  const base = process.memoryUsage().rss;
  const peakBefore = process.resourceUsage().maxRSS * 1024;
  const fs = new LocalFileSystem(dir!, { fsync: true });
  const [loadMs, loadCpuMs, ctx] = await time(() => StorageContext.fromPersistDir("", { fs }));
  const peakDuring = process.resourceUsage().maxRSS * 1024;
  gc();
  const after = process.memoryUsage().rss;
  const store = ctx.vectorStore as SimpleVectorStore;
  if (store.size !== N) throw new Error(`loaded ${store.size} rows, expected ${N}`);
  Object.assign(out, {
    loadMs,
    loadCpuMs,
    loadedStoreMB: mib(after - base),
    // Peak RSS of the process during the load, above the RSS before it.
    loadPeakMB: mib(Math.max(peakDuring, peakBefore) - base),
  });
  const api: Impl = { query: async (q) => (await store.query({ embedding: q, topK: 10 })).ids };
  await measureQueries(api, queries.slice(0, 8), false);
  if (dir) rmSync(dir, { recursive: true, force: true });
} else if (impl === "llamaindex") {
  const { rows, queries } = readData();
  const nodes = Array.from(
    { length: N },
    (_, i) =>
      new LI.TextNode({
        id_: idOf(i),
        text: "",
        embedding: Array.from(rows.subarray(i * DIM, (i + 1) * DIM)),
        metadata: { grp: `g${i % 50}` },
        // (LlamaIndexTS's filters only see nodes with a source document.)
        relationships: { [LI.NodeRelationship.SOURCE]: { nodeId: `doc-${Math.floor(i / 4)}`, metadata: {} } },
      } as ConstructorParameters<typeof LI.TextNode>[0]),
  );
  // The store never embeds here (nodes carry embeddings); it only insists on having a model.
  const store = new LI.SimpleVectorStore({ embedModel: {} as LI.BaseEmbedding });
  gc();
  const before = process.memoryUsage().rss;
  const [addMs, addCpuMs] = await time(() => store.add(nodes));
  gc();
  Object.assign(out, { addMs, addCpuMs, storeRssMB: mib(process.memoryUsage().rss - before) });
  const api: Impl = {
    query: async (q, filtered) =>
      (await store.query({ queryEmbedding: q, similarityTopK: 10, mode: LI.VectorStoreQueryMode.DEFAULT, ...filterOf(filtered) } as LI.VectorStoreQuery)).ids,
  };
  await measureQueries(api, queries, true);
  out["peakRssMB"] = process.resourceUsage().maxRSS / 1024;
} else {
  throw new Error(`unknown impl ${impl}`);
}

console.log(JSON.stringify(out));
