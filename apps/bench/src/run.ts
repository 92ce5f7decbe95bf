// Entry point: `pnpm bench [suite...]` runs the named suites (all when none) and prints a report.
// Each suite lives in its own module and registers here. Every suite prints progress lines and ends
// with a Markdown table (after a machine line) that BENCHMARKS.md shows as it is.
import { runGraphBench } from "./graph.js";
import { runRedisBench } from "./redis.js";
import { runVectorBench } from "./vector.js";
import { runNeo4jBench } from "./neo4j.js";
import { runPersistBench } from "./persist.js";
import { runPostgresBench } from "./postgres.js";
import { runS3Bench } from "./s3.js";
import { runIngestBench } from "./ingest.js";
import { runLlamaIndexTSBench } from "./llamaindexts.js";
import { runRedisVectorBench } from "./redis-vector.js";
import { machineLine } from "./markdown.js";
const suites: Record<string, () => Promise<void>> = {
  redis: runRedisBench,
  graph: runGraphBench,
  vector: runVectorBench,
  neo4j: runNeo4jBench,
  persist: runPersistBench,
  postgres: runPostgresBench,
  s3: runS3Bench,
  ingest: runIngestBench,
  llamaindexts: runLlamaIndexTSBench,
  "redis-vector": runRedisVectorBench,
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !(w in suites));
if (unknown.length) {
  console.error(`unknown suite ${unknown.join(", ")}; suites: ${Object.keys(suites).join(", ")}`);
  process.exit(2);
}
for (const [name, run] of Object.entries(suites)) {
  if (wanted.length && !wanted.includes(name)) continue;
  console.log(`\n## ${name}\n`);
  console.log(`${machineLine()}\n`);
  await run();
}
