// larder migrate of a property graph Python wrote with nested property values into Neo4j: refused
// with INVALID_ARGUMENT naming the node and key before anything is written (real Neo4j).
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import neo4j from "neo4j-driver";
import { Neo4jPropertyGraphStore } from "@larder/storage-neo4j";
import { afterAll, describe, expect, it } from "vitest";
import { servicesEnv, servicesRequired } from "@larder/services/env";
import { cleanupTemp, larder, tempDir, writeCorpus, json } from "./helpers.js";

const env = servicesEnv();
const ns = `clig${randomBytes(4).toString("hex")}`;
const neo = new URL(env.LARDER_NEO4J_URL);
const neo4jUrl = `${neo.protocol}//${encodeURIComponent(env.LARDER_NEO4J_USER)}:${encodeURIComponent(env.LARDER_NEO4J_PASSWORD)}@${neo.host}?namespace=${ns}`;
const fixture = fileURLToPath(new URL("../../../packages/core/test/fixtures/llamaindex/chat-graph/py-0.14.25/property_graph_store.json", import.meta.url));

async function probe(): Promise<string | undefined> {
  const d = neo4j.driver(env.LARDER_NEO4J_URL, neo4j.auth.basic(env.LARDER_NEO4J_USER, env.LARDER_NEO4J_PASSWORD), { connectionTimeout: 5000 });
  try {
    await d.verifyConnectivity();
    return undefined;
  } catch (e) {
    return `Neo4j at ${env.LARDER_NEO4J_URL}: ${(e as Error).message} (start it with: bash tooling/services/bin/services.sh up)`;
  } finally {
    await d.close();
  }
}
const unreachable = await probe();

afterAll(async () => {
  await cleanupTemp();
  if (unreachable !== undefined) return;
  const g = new Neo4jPropertyGraphStore({ url: env.LARDER_NEO4J_URL, username: env.LARDER_NEO4J_USER, password: env.LARDER_NEO4J_PASSWORD, namespace: ns });
  await g.dropNamespace();
  await g.close();
});

if (unreachable !== undefined && !servicesRequired()) {
  describe.skip(`larder migrate of nested graph values into Neo4j (skipped: ${unreachable})`, () => {
    it("needs Neo4j", () => {});
  });
} else {
  describe("larder migrate of nested graph values into Neo4j", () => {
    it("is refused naming the node and key, before anything is written", async () => {
      const work = await tempDir();
      await writeCorpus(work);
      const src = join(work, "storage");
      json(await larder(["--json", "ingest", "books.jsonl", "--to", src], { cwd: work }));
      const py = join(work, "py");
      await mkdir(py);
      // A Python folder: the ingested store rewritten as LlamaIndex files plus Python's property graph.
      json(await larder(["--json", "migrate", src, py, "--format", "llamaindex"]));
      await copyFile(fixture, join(py, "property_graph_store.json"));

      const dst = join(work, "dst");
      const d = neo4j.driver(env.LARDER_NEO4J_URL, neo4j.auth.basic(env.LARDER_NEO4J_USER, env.LARDER_NEO4J_PASSWORD));
      const count = async () => {
        const session = d.session();
        try {
          const r = await session.run("MATCH (n) WHERE $label IN labels(n) RETURN count(n) AS c", { label: `__larder_ns__:${ns}` });
          return r.records[0]!.get("c").toNumber() as number;
        } finally {
          await session.close();
        }
      };
      try {
        const r = await larder(["--json", "migrate", py, `graph=${neo4jUrl},persist=${dst}`]);
        expect(r.code, r.stdout + r.stderr).not.toBe(0);
        const { error: err } = JSON.parse(r.stdout) as { error: { code: string; message: string } };
        expect(err.code).toBe("INVALID_ARGUMENT");
        expect(err.message).toMatch(/node "The \\"Quoted\\" Co", property "address": nested objects are not property values/);
        expect(r.stdout + r.stderr).not.toContain(env.LARDER_NEO4J_PASSWORD);
        expect(await count()).toBe(0);
        expect(await readdir(dst).catch(() => [])).not.toContain("larder.json");
      } finally {
        await d.close();
      }
    });
  });
}
