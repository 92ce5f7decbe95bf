// Tenants sharing one database: a namespace named like a shared label (`__Node__`, `__Entity__`,
// `Chunk`), like a label the data uses, or with backticks, quotes and Unicode, sees and deletes only
// its own nodes. Plus the README's migration of namespaces written with the old label scheme.
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { uniqueNamespace } from "@larder/conformance";
import { chunkNode, entityNode, nodeId, relation, type LabelledNode, type Triplet } from "@larder/core";
import { Neo4jPropertyGraphStore } from "./index.js";
import { SKIP_REASON, testDriver } from "./test-support/services.js";

const driver = testDriver();
const stores: Neo4jPropertyGraphStore[] = [];
afterAll(async () => {
  for (const s of stores) await s.dropNamespace();
  await driver.close();
});

function store(namespace: string): Neo4jPropertyGraphStore {
  const s = new Neo4jPropertyGraphStore({ driver, namespace, vectorSearch: "index" });
  stores.push(s);
  return s;
}

const ids = (ns: readonly LabelledNode[]) => ns.map(nodeId).sort();
const tripletIds = (ts: readonly Triplet[]) => ts.map(([a, r, b]) => `${nodeId(a)}-${r.label}->${nodeId(b)}`).sort();

describe.skipIf(SKIP_REASON !== undefined)(`Neo4j namespaces${SKIP_REASON ? ` (skipped: ${SKIP_REASON})` : ""}`, () => {
  it("hostile namespace names cannot see or delete another namespace's nodes", async () => {
    // The data label is unique per run so leftovers of another run cannot interfere.
    const dataLabel = uniqueNamespace("DataLabel");
    const victim = store(uniqueNamespace("victim"));
    const victimNodes = [
      entityNode({ name: "v1", label: "PERSON", properties: { k: 1 }, embedding: [1, 0] }),
      entityNode({ name: "v2", label: dataLabel, embedding: [0, 1] }),
      chunkNode({ id: "c1", text: "chunk", embedding: [1, 1] }),
      chunkNode({ id: "c2", text: "chunk", label: "Chunk" }),
    ];
    await victim.upsertNodes(victimNodes);
    await victim.upsertRelations([relation({ label: "KNOWS", sourceId: "v1", targetId: "v2" })]);
    const victimState = async () => ({
      nodes: ids(await victim.get()),
      triplets: tripletIds(await victim.getTriplets()),
      top: (await victim.vectorQuery({ embedding: [1, 0], topK: 10 })).nodes.map(nodeId),
    });
    const before = await victimState();
    expect(before.nodes).toEqual(["c1", "c2", "v1", "v2"]);
    expect(before.triplets).toEqual(["v1-KNOWS->v2"]);

    const hostile = [
      "__Node__",
      "__Entity__",
      "Chunk",
      "PERSON",
      dataLabel,
      victim.namespaceLabel!, // a namespace named like another namespace's label
      victim.namespace!.toUpperCase(),
      "x`) MATCH (n) DETACH DELETE n //",
      `q"uo'tes`,
      "ünïcødé 漢字 🦙",
    ];
    for (const name of hostile) {
      const h = store(name);
      // Leftovers of an earlier run of this test in the same fixed-name namespace go first; that
      // drop must not touch the victim either.
      await h.dropNamespace();
      expect({ name, state: await victimState() }).toEqual({ name, state: before });
      expect({ name, nodes: await h.get() }).toEqual({ name, nodes: [] });
      expect({ name, nodes: await h.get({ ids: ["v1", "c1"] }) }).toEqual({ name, nodes: [] });
      expect({ name, triplets: await h.getTriplets() }).toEqual({ name, triplets: [] });
      expect({ name, rel: await h.getRelMap([entityNode({ name: "v1" })], { depth: 3 }) }).toEqual({ name, rel: [] });
      expect({ name, labels: (await h.getSchema(true)).nodeLabels }).toEqual({ name, labels: [] });
      // Same ids as the victim's, no conflict, and only its own nodes afterwards.
      await h.upsertNodes([entityNode({ name: "v1", label: "OTHER", embedding: [1, 0] }), chunkNode({ id: "c1", text: "mine" })]);
      await h.upsertRelations([relation({ label: "KNOWS", sourceId: "v1", targetId: "c1" })]);
      expect({ name, nodes: ids(await h.get()) }).toEqual({ name, nodes: ["c1", "v1"] });
      expect({ name, top: (await h.vectorQuery({ embedding: [1, 0], topK: 10 })).nodes.map(nodeId) }).toEqual({ name, top: ["v1"] });
      await h.delete({ ids: ["v1", "v2", "c2"] });
      await h.delete({ relationNames: ["KNOWS"] });
      await h.delete({ properties: { k: 1 } });
      expect({ name, state: await victimState() }).toEqual({ name, state: before });
      await h.dropNamespace();
      expect({ name, state: await victimState() }).toEqual({ name, state: before });
      expect({ name, nodes: await h.get() }).toEqual({ name, nodes: [] });
    }
    // The victim's own index and constraint survived every drop.
    const schema = await victim.structuredQuery("SHOW INDEXES YIELD name WHERE name = $n RETURN name", { n: victim.vectorIndexName });
    expect(schema).toEqual([{ name: victim.vectorIndexName }]);
  }, 180_000);

  it("nodes written with the old label scheme are not read; the README's migration adopts them", async () => {
    // What 0.1 wrote for `namespace: legacy`: the plain name as label, `larder_<ns>_id` constraint.
    const legacy = uniqueNamespace("legacy");
    const s = store(legacy);
    await s.structuredQuery(
      `CREATE (a:__Node__:__Entity__:PERSON:\`${legacy}\` {id: 'Alice', name: 'Alice', age: 30, embedding: [1.0, 0.0]})
       CREATE (b:__Node__:__Entity__:ORG:\`${legacy}\` {id: 'Acme', name: 'Acme', embedding: [0.0, 1.0]})
       CREATE (a)-[:WORKS_AT]->(b)`,
    );
    await s.structuredQuery(`CREATE CONSTRAINT \`larder_${legacy}_id\` IF NOT EXISTS FOR (n:\`${legacy}\`) REQUIRE n.id IS UNIQUE`);
    expect(await s.get()).toEqual([]);

    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const block = /### Migrating namespaces written by 0\.1\.x[\s\S]*?```cypher\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    expect(block).toContain("tenant_42");
    const statements = block!
      .replaceAll("tenant_42", legacy)
      .split(";")
      .map((x) => x.trim())
      .filter((x) => x !== "");
    expect(statements.length).toBe(3);
    for (const st of statements) await s.structuredQuery(st);

    expect(ids(await s.get())).toEqual(["Acme", "Alice"]);
    expect((await s.get({ ids: ["Alice"] }))[0]).toMatchObject({ label: "PERSON", properties: { age: 30 } });
    expect(tripletIds(await s.getTriplets())).toEqual(["Alice-WORKS_AT->Acme"]);
    expect((await s.vectorQuery({ embedding: [1, 0], topK: 1 })).nodes.map(nodeId)).toEqual(["Alice"]);
    await s.upsertNodes([entityNode({ name: "Bob", label: "PERSON", embedding: [0.9, 0.1] })]);
    expect((await s.vectorQuery({ embedding: [1, 0], topK: 2 })).nodes.map(nodeId)).toEqual(["Alice", "Bob"]);
    const old = await s.structuredQuery("SHOW CONSTRAINTS YIELD name WHERE name = $n RETURN name", { n: `larder_${legacy}_id` });
    expect(old).toEqual([]);
    const left = await s.structuredQuery(`MATCH (n:\`${legacy}\`) RETURN count(n) AS c`);
    expect(left).toEqual([{ c: 0 }]);
  });
});
