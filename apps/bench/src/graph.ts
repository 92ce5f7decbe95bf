// Graph suite: SimplePropertyGraphStore on a seeded random knowledge graph.
//   upsert 100k triplets (20k entities + 100k relations), getRelMap depth 2 from 10 seeds,
//   getTriplets by entity names, vectorQuery over 20k entity embeddings (with and without a filter).
// Run: pnpm bench graph   (GRAPH_BENCH_ENTITIES=20000 GRAPH_BENCH_RELATIONS=100000 are the defaults)
// Optional peer: set LARDER_BENCH_PYTHON to a python with llama-index-core installed.
import { spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { seededRandom } from "@larder/conformance";
import type { MetadataFilters } from "@larder/core/filters";
import {
  entityNode,
  relation,
  SimplePropertyGraphStore,
  TRIPLET_SOURCE_KEY,
  type EntityNode,
  type Relation,
} from "@larder/core/graph";
import { printTable } from "./markdown.js";

const ENTITIES = Number(process.env["GRAPH_BENCH_ENTITIES"] ?? 20_000);
const RELATIONS = Number(process.env["GRAPH_BENCH_RELATIONS"] ?? 100_000);
const TYPES = 10;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

function fmt(ms: number): string {
  return ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;
}

export function buildGraph(seed = 1): { entities: EntityNode[]; relations: Relation[] } {
  const rnd = seededRandom(seed);
  const labels = ["PERSON", "ORG", "PLACE", "PRODUCT", "EVENT"];
  const entities: EntityNode[] = [];
  for (let i = 0; i < ENTITIES; i++) {
    entities.push(entityNode({ name: `entity-${i}`, label: labels[i % labels.length]!, properties: { [TRIPLET_SOURCE_KEY]: `chunk-${i % 5000}` } }));
  }
  const seen = new Set<string>();
  const relations: Relation[] = [];
  while (relations.length < RELATIONS) {
    const s = Math.floor(rnd() * ENTITIES);
    const t = Math.floor(rnd() * ENTITIES);
    const type = `REL_${Math.floor(rnd() * TYPES)}`;
    const k = `${s}|${type}|${t}`;
    if (s === t || seen.has(k)) continue;
    seen.add(k);
    relations.push(relation({ label: type, sourceId: `entity-${s}`, targetId: `entity-${t}`, properties: { [TRIPLET_SOURCE_KEY]: `chunk-${relations.length % 5000}` } }));
  }
  return { entities, relations };
}

async function timeUpserts(entities: EntityNode[], relations: Relation[], runs: number): Promise<{ times: number[]; store: SimplePropertyGraphStore }> {
  const times: number[] = [];
  let store = new SimplePropertyGraphStore();
  for (let i = 0; i < runs; i++) {
    store = new SimplePropertyGraphStore();
    const t0 = performance.now();
    await store.upsertNodes(entities);
    await store.upsertRelations(relations);
    times.push(performance.now() - t0);
  }
  return { times, store };
}

/** Runs graph-peer.py on the very same graph and seed sets (handed over in a temp JSON file). */
function pythonPeer(entities: EntityNode[], relations: Relation[], seeds: EntityNode[][]): string | undefined {
  const python = process.env["LARDER_BENCH_PYTHON"];
  if (!python) return undefined;
  const file = join(tmpdir(), `larder-graph-bench-${process.pid}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      entities: entities.map((e) => [e.name, e.label, e.properties[TRIPLET_SOURCE_KEY]]),
      relations: relations.map((r) => [r.sourceId, r.label, r.targetId, r.properties[TRIPLET_SOURCE_KEY]]),
      seeds: seeds.map((set) => set.map((e) => e.name)),
    }),
  );
  try {
    const script = fileURLToPath(new URL("./graph-peer.py", import.meta.url));
    const r = spawnSync(python, [script, file], { encoding: "utf8", timeout: 1_800_000 });
    if (r.status !== 0) return `peer failed: ${r.stderr.trim().split("\n").pop()}`;
    return r.stdout.trim();
  } finally {
    rmSync(file, { force: true });
  }
}

export async function runGraphBench(): Promise<void> {
  const { entities, relations } = buildGraph();
  console.log(`graph: ${ENTITIES} entities, ${RELATIONS} relations, ${TYPES} relation types (seeded)`);

  await timeUpserts(entities.slice(0, 2000), relations.slice(0, 10_000), 2); // warm-up
  const { times, store } = await timeUpserts(entities, relations, 5);
  const rows: string[][] = [];
  const row = (op: string, larder: string) => rows.push([op, larder]);
  console.log(`upsertNodes(${ENTITIES}) + upsertRelations(${RELATIONS}), fresh store: median ${fmt(median(times))}, min ${fmt(Math.min(...times))} (5 runs)`);
  row(`upsert ${ENTITIES} entities + ${RELATIONS} relations into a fresh store`, `${fmt(median(times))} median of 5 (min ${fmt(Math.min(...times))})`);

  const relOnly: number[] = [];
  for (let i = 0; i < 3; i++) {
    const s = new SimplePropertyGraphStore();
    const t0 = performance.now();
    await s.upsertRelations(relations); // endpoints created as placeholders
    relOnly.push(performance.now() - t0);
  }
  console.log(`upsertRelations(${RELATIONS}) alone (placeholder endpoints): median ${fmt(median(relOnly))} (3 runs)`);
  row(`upsert ${RELATIONS} relations alone (endpoints created as placeholders)`, fmt(median(relOnly)));

  const again: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await store.upsertRelations(relations); // idempotent re-upsert: merge into existing relations
    again.push(performance.now() - t0);
  }
  console.log(`re-upsert of the same ${RELATIONS} relations (merge): median ${fmt(median(again))} (3 runs)`);
  row(`re-upsert the same ${RELATIONS} relations (merge, idempotent)`, fmt(median(again)));

  const rnd = seededRandom(99);
  const seedSets = Array.from({ length: 300 }, () =>
    Array.from({ length: 10 }, () => entities[Math.floor(rnd() * ENTITIES)]!),
  );
  for (const [label, opts] of [
    ["default limit 30", { depth: 2 }],
    ["limit 100000 (whole 2-hop neighbourhood)", { depth: 2, limit: 100_000 }],
  ] as const) {
    for (const seeds of seedSets.slice(0, 20)) await store.getRelMap(seeds, opts); // warm-up
    const ts: number[] = [];
    let returned = 0;
    for (const seeds of seedSets) {
      const t0 = performance.now();
      const r = await store.getRelMap(seeds, opts);
      ts.push(performance.now() - t0);
      returned += r.length;
    }
    console.log(`getRelMap(10 seeds, depth 2, ${label}): median ${fmt(median(ts))}, p95 ${fmt(pct(ts, 0.95))}, avg ${(returned / seedSets.length).toFixed(0)} triplets (${seedSets.length} seed sets)`);
    row(`\`getRelMap\` 10 seeds, depth 2, ${label} (≈${(returned / seedSets.length).toFixed(0)} triplets)`, `${fmt(median(ts))} median, p95 ${fmt(pct(ts, 0.95))}`);
  }

  const tt: number[] = [];
  for (const seeds of seedSets) {
    const t0 = performance.now();
    await store.getTriplets({ entityNames: seeds.map((s) => s.name) });
    tt.push(performance.now() - t0);
  }
  console.log(`getTriplets(entityNames: 10): median ${fmt(median(tt))} (${seedSets.length} runs)`);
  row("`getTriplets({entityNames: 10 names})`", fmt(median(tt)));

  const allT0 = performance.now();
  const all = await store.getTriplets();
  const allMs = performance.now() - allT0;
  console.log(`getTriplets() all ${all.length}: ${fmt(allMs)}`);
  row(`\`getTriplets()\` (all ${all.length})`, fmt(allMs));

  // vectorQuery over entity embeddings (dimension 384)
  const DIM = 384;
  const vrnd = seededRandom(7);
  const embedded = entities.map((e, i) => ({ ...e, embedding: Array.from({ length: DIM }, () => vrnd() * 2 - 1), properties: { ...e.properties, bucket: i % 10 } }));
  const vt0 = performance.now();
  await store.upsertNodes(embedded);
  const embMs = performance.now() - vt0;
  console.log(`upsertNodes(${ENTITIES} with ${DIM}-d embeddings): ${fmt(embMs)}`);
  row(`\`upsertNodes\` ${ENTITIES} entities with ${DIM}-d embeddings (into the populated store)`, fmt(embMs));
  const queries = Array.from({ length: 50 }, () => Array.from({ length: DIM }, () => vrnd() * 2 - 1));
  const cases: [string, MetadataFilters | undefined][] = [
    ["no filter", undefined],
    ["filter bucket == 3 (10%)", { filters: [{ key: "bucket", operator: "==", value: 3 }] }],
  ];
  for (const [label, filters] of cases) {
    const vs: number[] = [];
    for (const q of queries) {
      const t0 = performance.now();
      await store.vectorQuery({ embedding: q, topK: 10, ...(filters ? { filters } : {}) });
      vs.push(performance.now() - t0);
    }
    console.log(`vectorQuery(topK 10, ${ENTITIES} × ${DIM}-d, ${label}): median ${fmt(median(vs))} (${queries.length} queries)`);
    row(`\`vectorQuery\` topK 10 over ${ENTITIES} × ${DIM}-d, ${label}`, fmt(median(vs)));
  }

  const peer = pythonPeer(entities, relations, seedSets.slice(0, 20));
  if (peer) console.log(`peer (Python LlamaIndex SimplePropertyGraphStore):\n${peer}`);
  else console.log("peer: skipped (set LARDER_BENCH_PYTHON to a python with llama-index-core)");

  // The peer prints one line per measurement in graph-peer.py's words; its medians go next to ours.
  const peerLines = peer?.split("\n") ?? [];
  const peerMedian = (prefix: string) => {
    const line = peerLines.find((l) => l.startsWith(prefix));
    return line ? (/median ([^,(]+)/.exec(line)?.[1]?.trim() ?? line) : "—";
  };
  const peerCells = [
    peerMedian("upsert_nodes"),
    "—",
    "—",
    peerMedian("get_rel_map(10 seeds, depth 2, limit 30)"),
    "—",
    peerMedian("get_triplets(entity_names"),
  ];
  console.log("");
  if (peer) console.log(`Peer: ${peerLines[0] ?? "Python LlamaIndex"}, same graph and seed sets (first 20).\n`);
  printTable(["operation", "Larder", peer ? "Python LlamaIndex (same run)" : "Python LlamaIndex (not run)"], rows.map((r, i) => [...r, peer ? (peerCells[i] ?? "—") : "—"]));
}
