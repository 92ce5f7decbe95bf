// One measurement of the vector benchmark in a fresh process (so peak memory is per implementation):
//   node --expose-gc --conditions=@larder/source --import tsx src/vector-worker.ts IMPL N DIM QUERIES
// IMPL: larder | larder-js (JavaScript kernel) | llamaindex (LlamaIndexTS SimpleVectorStore).
// Prints one JSON line.
import { seededRandom } from "@larder/conformance";
import { NodeRelationship, TextNode } from "@larder/core/schema";
import { SimpleVectorStore } from "@larder/core/vector";
import * as LI from "llamaindex";

const [impl = "larder", nArg = "10000", dimArg = "384", qArg = "20"] = process.argv.slice(2);
const N = Number(nArg), DIM = Number(dimArg), QUERIES = Number(qArg);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

const r = seededRandom(42);
const vec = () => Array.from({ length: DIM }, () => r() * 2 - 1);

// Same inputs for every implementation: N nodes, 384-dim embeddings, metadata with a 2% group.
const inputs = Array.from({ length: N }, (_, i) => ({
  id: `node-${i}`,
  ref: `doc-${Math.floor(i / 4)}`,
  embedding: vec(),
  metadata: { grp: `g${i % 50}`, n: i, lang: i % 3 ? "en" : "de" },
}));
const queries = Array.from({ length: QUERIES + 3 }, vec);
const filterValue = "g7"; // exactly N/50 = 2% of the nodes

interface Impl {
  add(): Promise<void>;
  query(q: number[], filtered: boolean): Promise<string[]>;
}

function larder(kernel: "wasm" | "js"): Impl {
  const nodes = inputs.map(
    (x) => new TextNode({ id: x.id, text: "", embedding: x.embedding, metadata: x.metadata, relationships: { [NodeRelationship.SOURCE]: { nodeId: x.ref } } }),
  );
  const store = new SimpleVectorStore({ kernel });
  return {
    add: async () => void (await store.add(nodes)),
    query: async (q, filtered) =>
      (await store.query({ embedding: q, topK: 10, ...(filtered ? { filters: { filters: [{ key: "grp", operator: "==", value: filterValue }] } } : {}) })).ids,
  };
}

function llamaindex(): Impl {
  const nodes = inputs.map(
    (x) => new LI.TextNode({ id_: x.id, text: "", embedding: x.embedding, metadata: x.metadata, relationships: { [LI.NodeRelationship.SOURCE]: { nodeId: x.ref, metadata: {} } } } as ConstructorParameters<typeof LI.TextNode>[0]),
  );
  // The store never embeds here (nodes carry embeddings); it only insists on having a model.
  const store = new LI.SimpleVectorStore({ embedModel: {} as LI.BaseEmbedding });
  return {
    add: async () => void (await store.add(nodes)),
    query: async (q, filtered) =>
      (
        await store.query({
          queryEmbedding: q,
          similarityTopK: 10,
          mode: LI.VectorStoreQueryMode.DEFAULT,
          ...(filtered ? { filters: { filters: [{ key: "grp", operator: "==", value: filterValue }] } } : {}),
        } as LI.VectorStoreQuery)
      ).ids,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Wall-clock and CPU time (user + system) of one call, in ms. CPU time is what the process
 * actually ran: on a machine shared with other jobs, wall time also counts time spent descheduled. */
async function time(fn: () => Promise<unknown>): Promise<[wall: number, cpu: number]> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  return [wall, (c.user + c.system) / 1000];
}

const store = impl === "llamaindex" ? llamaindex() : larder(impl === "larder-js" ? "js" : "wasm");
gc();
const before = process.memoryUsage();
const [addMs, addCpuMs] = await time(() => store.add());
gc();
const after = process.memoryUsage();

const exact: number[] = [], filtered: number[] = [], exactCpu: number[] = [], filteredCpu: number[] = [];
let check = "";
for (let i = 0; i < queries.length; i++) {
  let ids: string[] = [];
  const [t, c] = await time(async () => void (ids = await store.query(queries[i]!, false)));
  if (i >= 3) exact.push(t), exactCpu.push(c);
  check = ids[0] ?? "";
}
for (let i = 0; i < queries.length; i++) {
  let ids: string[] = [];
  const [t, c] = await time(async () => void (ids = await store.query(queries[i]!, true)));
  if (i >= 3) filtered.push(t), filteredCpu.push(c);
  if (ids.length !== 10) throw new Error(`${impl}: filtered query returned ${ids.length} ids`);
}

console.log(
  JSON.stringify({
    impl,
    n: N,
    dim: DIM,
    addMs,
    addCpuMs,
    queryMs: median(exact),
    queryMinMs: Math.min(...exact),
    queryCpuMs: median(exactCpu),
    filteredMs: median(filtered),
    filteredCpuMs: median(filteredCpu),
    // Memory figures are in MiB.
    storeRssMB: (after.rss - before.rss) / 2 ** 20,
    storeHeapAndBuffersMB: (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / 2 ** 20,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    top1: check,
  }),
);
