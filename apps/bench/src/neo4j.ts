// Neo4jPropertyGraphStore: bulk upsert of 100k triplets and getRelMap (depth 2, 10 seeds), against
// a per-triplet baseline (one auto-commit MERGE per triplet, awaited one by one, as a
// straightforward port without UNWIND batching does).
//
//   pnpm bench neo4j
//   NEO4J_BENCH_TRIPLETS=20000 ... (default 100 000; entities = triplets / 5)
//
// The server is LARDER_NEO4J_URL (tooling/services). Every run writes under its own namespace
// label and drops it (nodes, constraint, vector index) afterwards.
import neo4j from "neo4j-driver";
import { seededRandom } from "@larder/conformance";
import { entityNode, relation, type LabelledNode, type Relation } from "@larder/core/graph";
import { Neo4jPropertyGraphStore } from "@larder/storage-neo4j";
import { servicesEnv } from "../../../tooling/services/env.mjs";
import { printTable } from "./markdown.js";

const TRIPLETS = Number(process.env["NEO4J_BENCH_TRIPLETS"] ?? 100_000);
const ENTITIES = Math.max(10, Math.floor(TRIPLETS / 5));
const BASELINE_TRIPLETS = Math.min(2_000, TRIPLETS);
const RELMAP_RUNS = 100;

function graph(seed: number, entities: number, triplets: number): { nodes: LabelledNode[]; relations: Relation[] } {
  const rnd = seededRandom(seed);
  const labels = ["PERSON", "ORG", "PLACE", "THING"];
  const types = ["WORKS_AT", "KNOWS", "LOCATED_IN", "PART_OF", "OWNS", "MENTIONS_ENTITY", "RELATED_TO", "FOUNDED"];
  const nodes = Array.from({ length: entities }, (_, i) =>
    entityNode({ name: `entity-${i}`, label: labels[i % labels.length]!, properties: { idx: i, triplet_source_id: `chunk-${i % 997}` } }),
  );
  const seen = new Set<string>();
  const relations: Relation[] = [];
  while (relations.length < triplets) {
    const s = Math.floor(rnd() * entities);
    const t = Math.floor(rnd() * entities);
    const type = types[Math.floor(rnd() * types.length)]!;
    const key = `${s}|${type}|${t}`;
    if (s === t || seen.has(key)) continue;
    seen.add(key);
    relations.push(relation({ label: type, sourceId: `entity-${s}`, targetId: `entity-${t}`, properties: { w: relations.length % 10 } }));
  }
  return { nodes, relations };
}

const ms = (t0: number) => performance.now() - t0;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

export async function runNeo4jBench(): Promise<void> {
  const env = servicesEnv();
  const driver = neo4j.driver(env.LARDER_NEO4J_URL, neo4j.auth.basic(env.LARDER_NEO4J_USER, env.LARDER_NEO4J_PASSWORD));
  const ns = `larder_bench_${Date.now().toString(36)}`;
  const store = new Neo4jPropertyGraphStore({ driver, namespace: ns });
  const baselineNs = `${ns}_baseline`;
  const baseline = new Neo4jPropertyGraphStore({ driver, namespace: baselineNs });
  const rows: string[][] = [];
  try {
    const info = await driver.getServerInfo();
    const { nodes, relations } = graph(1, ENTITIES, TRIPLETS);
    console.log(`server ${info.agent ?? "?"}; ${ENTITIES} entities, ${TRIPLETS} triplets (8 types), namespace ${ns}`);

    let t0 = performance.now();
    await store.upsertNodes(nodes);
    const nodesMs = ms(t0);
    t0 = performance.now();
    await store.upsertRelations(relations);
    const relsMs = ms(t0);
    console.log(`larder upsertNodes(${ENTITIES}): ${(nodesMs / 1000).toFixed(2)} s`);
    console.log(`larder upsertRelations(${TRIPLETS}): ${(relsMs / 1000).toFixed(2)} s`);
    console.log(`larder upsert total: ${((nodesMs + relsMs) / 1000).toFixed(2)} s (${Math.round(TRIPLETS / ((nodesMs + relsMs) / 1000))} triplets/s)`);
    rows.push([`\`upsertNodes\` ${ENTITIES} entities (batches of 1 000, one transaction each)`, `${(nodesMs / 1000).toFixed(1)} s`]);
    rows.push([`\`upsertRelations\` ${TRIPLETS} triplets (grouped by type, batches of 1 000)`, `${(relsMs / 1000).toFixed(1)} s`]);
    rows.push([`upsert of ${TRIPLETS} triplets, total`, `${((nodesMs + relsMs) / 1000).toFixed(1)} s (≈ ${Math.round(TRIPLETS / ((nodesMs + relsMs) / 1000))} triplets/s)`]);

    // getRelMap depth 2 from 10 random seeds, default limit (30) and a limit that returns everything.
    const rnd = seededRandom(7);
    const seedsOf = () => Array.from({ length: 10 }, () => entityNode({ name: `entity-${Math.floor(rnd() * ENTITIES)}` }));
    for (let i = 0; i < 5; i++) await store.getRelMap(seedsOf(), { depth: 2 }); // warm-up (plan cache)
    for (const limit of [30, 100_000]) {
      const times: number[] = [];
      let returned = 0;
      for (let i = 0; i < RELMAP_RUNS; i++) {
        const seeds = seedsOf();
        t0 = performance.now();
        // Sequential on purpose: we time one call at a time.
        const res = await store.getRelMap(seeds, { depth: 2, limit });
        times.push(ms(t0));
        returned += res.length;
      }
      console.log(
        `larder getRelMap depth 2, 10 seeds, limit ${limit}: median ${pct(times, 50).toFixed(1)} ms, p95 ${pct(times, 95).toFixed(1)} ms ` +
          `(${RELMAP_RUNS} runs, ${Math.round(returned / RELMAP_RUNS)} triplets/call)`,
      );
      rows.push([
        `\`getRelMap\` depth 2, 10 random seeds, limit ${limit} (${RELMAP_RUNS} calls, ≈ ${Math.round(returned / RELMAP_RUNS)} triplets/call)`,
        `median ${pct(times, 50).toFixed(1)} ms, p95 ${pct(times, 95).toFixed(1)} ms`,
      ]);
    }

    // Baseline: one MERGE per triplet, each awaited (the per-item round trip the store avoids).
    const sample = relations.slice(0, BASELINE_TRIPLETS);
    const session = driver.session();
    try {
      // The baseline store's own label and constraint name, so its dropNamespace() cleans up.
      const label = baseline.namespaceLabel!;
      await session.run(`CREATE CONSTRAINT \`larder.ns.${baselineNs}.id\` IF NOT EXISTS FOR (n:\`${label}\`) REQUIRE n.id IS UNIQUE`);
      t0 = performance.now();
      for (const r of sample) {
        // The point of the baseline: one round trip per triplet. Labels are fixed here (no user data).
        await session.run(
          `MERGE (s:__Node__:\`${label}\` {id: $s}) MERGE (t:__Node__:\`${label}\` {id: $t}) MERGE (s)-[r:RELATED]->(t) SET r += $p`,
          { s: r.sourceId, t: r.targetId, p: r.properties },
        );
      }
      const baseMs = ms(t0);
      console.log(
        `baseline per-triplet MERGE (${BASELINE_TRIPLETS} triplets): ${(baseMs / 1000).toFixed(2)} s ` +
          `(${Math.round(BASELINE_TRIPLETS / (baseMs / 1000))} triplets/s)`,
      );
      rows.push([
        `baseline: one \`MERGE\` per triplet, awaited one by one (${BASELINE_TRIPLETS} triplets)`,
        `${(baseMs / 1000).toFixed(2)} s (≈ ${Math.round(BASELINE_TRIPLETS / (baseMs / 1000))} triplets/s)`,
      ]);
    } finally {
      await session.close();
    }
    console.log("");
    printTable(["operation", "result"], rows);
  } finally {
    await store.dropNamespace();
    await baseline.dropNamespace();
    await driver.close();
  }
}
