// Neo4j-specific behaviour beyond the kit: the graph mapping, hostile labels against a canary,
// reading graphs written the way LlamaIndex's Python store writes them, error mapping.
import { createServer, type AddressInfo, type Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { expectStorageError, uniqueNamespace } from "@larder/conformance";
import { chunkNode, entityNode, nodeId, relation, type LabelledNode } from "@larder/core";
import { CASE_FOLD_VERSION } from "@larder/core/filters";
import { Neo4jPropertyGraphStore } from "./index.js";
import { NEO4J_URL, SKIP_REASON, testDriver } from "./test-support/services.js";

const driver = testDriver();
const stores: Neo4jPropertyGraphStore[] = [];
afterAll(async () => {
  for (const s of stores) await s.dropNamespace();
  await driver.close();
});

function store(opts: { namespace?: string } = {}): Neo4jPropertyGraphStore {
  const s = new Neo4jPropertyGraphStore({ driver, namespace: opts.namespace ?? uniqueNamespace("neo") });
  stores.push(s);
  return s;
}

const ids = (ns: readonly LabelledNode[]) => ns.map(nodeId).sort();

describe.skipIf(SKIP_REASON !== undefined)(`Neo4j mapping${SKIP_REASON ? ` (skipped: ${SKIP_REASON})` : ""}`, () => {
  it("writes LlamaIndex's layout: __Node__ + __Entity__/Chunk + label + namespace, id/name/text properties", async () => {
    const s = store();
    await s.upsertNodes([
      entityNode({ name: "Alice", label: "PERSON", properties: { age: 30 }, embedding: [1, 0] }),
      chunkNode({ id: "c1", text: "Alice.", properties: { doc_id: "d1" } }),
    ]);
    await s.upsertRelations([relation({ label: "WORKS_AT", sourceId: "Alice", targetId: "Acme" })]);
    const rows = await s.structuredQuery(
      "MATCH (n:__Node__) WHERE $ns IN labels(n) RETURN n.id AS id, labels(n) AS labels, n {.*, embedding: null} AS props ORDER BY id",
      { ns: s.namespaceLabel },
    );
    expect(s.namespaceLabel).toBe(`__larder_ns__:${s.namespace}`);
    const byId = Object.fromEntries(rows.map((r) => [r["id"], r]));
    expect((byId["Alice"]!["labels"] as string[]).sort()).toEqual(["PERSON", "__Entity__", "__Node__", s.namespaceLabel!].sort());
    // plus the store's case-fold marker (fold properties exist only for strings the fold changes)
    expect(byId["Alice"]!["props"]).toEqual({ id: "Alice", name: "Alice", age: 30, embedding: null, __larder_fold__: CASE_FOLD_VERSION });
    expect((byId["c1"]!["labels"] as string[]).sort()).toEqual(["Chunk", "__Node__", "text_chunk", s.namespaceLabel!].sort());
    expect(byId["c1"]!["props"]).toEqual({ id: "c1", text: "Alice.", doc_id: "d1", embedding: null, __larder_fold__: CASE_FOLD_VERSION });
    // the placeholder endpoint is an entity labelled "entity"
    expect((byId["Acme"]!["labels"] as string[]).sort()).toEqual(["__Entity__", "__Node__", "entity", s.namespaceLabel!].sort());
    const constraints = await s.structuredQuery("SHOW CONSTRAINTS YIELD name, labelsOrTypes, properties, type WHERE name = $n RETURN *", {
      n: `larder.ns.${s.namespace}.id`,
    });
    expect(constraints).toEqual([
      { name: `larder.ns.${s.namespace}.id`, labelsOrTypes: [s.namespaceLabel], properties: ["id"], type: "UNIQUENESS" },
    ]);
    const idx = await s.structuredQuery("SHOW INDEXES YIELD name, type, labelsOrTypes, properties WHERE name = $n RETURN type, labelsOrTypes, properties", {
      n: s.vectorIndexName,
    });
    expect(idx).toEqual([{ type: "VECTOR", labelsOrTypes: [s.namespaceLabel], properties: ["embedding"] }]);
  });

  it("stores a label like X`) DETACH DELETE n // literally and deletes nothing else", async () => {
    const canary = store();
    await canary.upsertNodes([entityNode({ name: "canary-1" }), entityNode({ name: "canary-2", label: "KEEP" })]);
    await canary.upsertRelations([relation({ label: "LINK", sourceId: "canary-1", targetId: "canary-2" })]);
    const hostile = "X`) DETACH DELETE n //";
    const s = store();
    await s.upsertNodes([entityNode({ name: "h", label: hostile, properties: { [hostile]: hostile } })]);
    await s.upsertRelations([relation({ label: hostile, sourceId: "h", targetId: "h2", properties: { [hostile]: 1 } })]);
    await s.getTriplets({ relationNames: [hostile], properties: { [hostile]: 1 } });
    await s.delete({ relationNames: [`${hostile}-other`], entityNames: ["nobody"], properties: { [hostile]: "no" } });
    const labels = await s.structuredQuery("MATCH (n {id: 'h'}) WHERE $ns IN labels(n) RETURN labels(n) AS labels", { ns: s.namespaceLabel });
    expect(labels.length).toBe(1);
    expect(labels[0]!["labels"]).toContain(hostile);
    const types = await s.structuredQuery("MATCH (a {id: 'h'})-[r]->() WHERE $ns IN labels(a) RETURN type(r) AS t, properties(r) AS p", {
      ns: s.namespaceLabel,
    });
    expect(types).toEqual([{ t: hostile, p: { [hostile]: 1 } }]);
    expect(ids(await s.get())).toEqual(["h", "h2"]);
    expect((await s.get({ ids: ["h"] }))[0]?.label).toBe(hostile);
    expect(ids(await canary.get())).toEqual(["canary-1", "canary-2"]);
    expect((await canary.getTriplets()).length).toBe(1);
  });

  it("namespaces isolate stores sharing one database (same ids, no conflict)", async () => {
    const a = store();
    const b = store();
    await a.upsertNodes([entityNode({ name: "same", label: "A" })]);
    await b.upsertNodes([entityNode({ name: "same", label: "B" })]);
    await b.upsertRelations([relation({ label: "R", sourceId: "same", targetId: "other" })]);
    expect((await a.get()).map((n) => n.label)).toEqual(["A"]);
    expect(await a.getTriplets()).toEqual([]);
    expect((await b.get({ ids: ["same"] }))[0]?.label).toBe("B");
    await a.delete({ ids: ["same"] });
    expect(ids(await b.get())).toEqual(["other", "same"]);
  });

  it("reads a graph written the way LlamaIndex's Python store writes it (MENTIONS = provenance)", async () => {
    const s = store();
    // What Neo4jPropertyGraphStore (Python) leaves behind: integers, `name` on entities, Chunk
    // without a chunk label, MENTIONS from chunk to entity. Plus our namespace label.
    await s.structuredQuery(
      `CREATE (c:__Node__:Chunk {id: 'node-1', text: 'Alice works at Acme.', doc_id: 'doc-1', _node_type: 'TextNode', embedding: [0.5, 0.5]})
       CREATE (a:__Node__:__Entity__:PERSON {id: 'Alice', name: 'Alice', triplet_source_id: 'node-1', age: 30, embedding: [1.0, 0.0]})
       CREATE (o:__Node__:__Entity__:ORG {id: 'Acme', name: 'Acme', triplet_source_id: 'node-1', embedding: [0.0, 1.0]})
       CREATE (c)-[:MENTIONS]->(a), (c)-[:MENTIONS]->(o)
       CREATE (a)-[:WORKS_AT {triplet_source_id: 'node-1', since: 2020}]->(o)
       SET c:\`${s.namespaceLabel}\`, a:\`${s.namespaceLabel}\`, o:\`${s.namespaceLabel}\``,
    );
    const nodes = await s.get();
    const byId = Object.fromEntries(nodes.map((n) => [nodeId(n), n]));
    expect(byId["Alice"]).toMatchObject({ kind: "entity", name: "Alice", label: "PERSON", properties: { triplet_source_id: "node-1", age: 30 } });
    expect(byId["node-1"]).toMatchObject({
      kind: "chunk",
      id: "node-1",
      text: "Alice works at Acme.",
      label: "Chunk",
      properties: { doc_id: "doc-1", _node_type: "TextNode" },
    });
    const ts = await s.getTriplets();
    expect(ts.map(([a, r, b]) => [nodeId(a), r.label, nodeId(b), r.properties])).toEqual([
      ["Alice", "WORKS_AT", "Acme", { triplet_source_id: "node-1", since: 2020 }],
    ]);
    expect((await s.getRelMap([byId["node-1"]!], { depth: 3 })).length).toBe(0);
    const schema = await s.getSchema(true);
    expect(schema.relationTypes).toEqual(["WORKS_AT"]);
    // the store can create its vector index over existing embeddings and search them
    await s.upsertNodes([entityNode({ name: "Bob", label: "PERSON", embedding: [0.9, 0.1] })]);
    const hits = await s.vectorQuery({ embedding: [1, 0], topK: 2 });
    expect(hits.nodes.map(nodeId)).toEqual(["Alice", "Bob"]);
    // MENTIONS is LlamaIndex's provenance: not accepted as a user relation label
    await expectStorageError(() => s.upsertRelations([relation({ label: "MENTIONS", sourceId: "node-1", targetId: "Bob" })]), "INVALID_ARGUMENT");
  });

  it("maps Cypher errors: syntax -> INVALID_ARGUMENT, uniqueness violation -> CONFLICT", async () => {
    const s = store();
    await s.upsertNodes([entityNode({ name: "dup" })]);
    await expectStorageError(() => s.structuredQuery("MATCH (n RETURN n"), "INVALID_ARGUMENT");
    const e = await expectStorageError(
      () => s.structuredQuery(`CREATE (n:__Node__:\`${s.namespaceLabel}\` {id: 'dup'})`),
      "CONFLICT",
    );
    expect(e.message).toContain("Neo4jPropertyGraphStore");
    expect(ids(await s.get())).toEqual(["dup"]);
  });

  it("the global schema (no namespace) comes from the built-in procedures and includes our labels", async () => {
    const s = store();
    await s.upsertNodes([entityNode({ name: "g", label: "GlobalSchemaProbe", properties: { probe_key: 1 } })]);
    await s.upsertRelations([relation({ label: "GLOBAL_SCHEMA_PROBE", sourceId: "g", targetId: "g2", properties: { w: 1 } })]);
    // read-only: a store without namespace creates no constraint unless it writes
    const global = new Neo4jPropertyGraphStore({ driver });
    const schema = await global.getSchema();
    expect(schema.nodeLabels).toContain("GlobalSchemaProbe");
    expect(schema.nodeProperties["GlobalSchemaProbe"]).toContain("probe_key");
    expect(schema.relationTypes).toContain("GLOBAL_SCHEMA_PROBE");
    expect(schema.relationProperties["GLOBAL_SCHEMA_PROBE"]).toContain("w");
    expect(schema.patterns).toContainEqual({ source: "GlobalSchemaProbe", relation: "GLOBAL_SCHEMA_PROBE", target: "entity" });
    expect(schema.nodeLabels).not.toContain("__Node__");
    await global.close(); // not its driver: must not close it
    expect((await s.get()).length).toBe(2);
  });

  it("refuses what Cypher cannot evaluate exactly (UNSUPPORTED) and evaluates case folding like the reference", async () => {
    const s = store();
    await s.upsertNodes([
      entityNode({ name: "a", properties: { w: "\uFFFF" }, embedding: [1, 0] }),
      entityNode({ name: "b", properties: { w: "😀" }, embedding: [1, 0] }),
      entityNode({ name: "c", properties: { w: "İSTANBUL ΟΔΥΣΣΕΥΣ" }, embedding: [1, 0] }),
    ]);
    await expectStorageError(
      () => s.vectorQuery({ embedding: [1, 0], filters: { filters: [{ key: "w", operator: "<", value: "😀" }] } }),
      "UNSUPPORTED",
    );
    const r = await s.vectorQuery({
      embedding: [1, 0],
      topK: 5,
      filters: { filters: [{ key: "w", operator: "text_match_insensitive", value: "İstanbul οδυσσευς" }] },
    });
    expect(r.nodes.map(nodeId)).toEqual(["c"]);
    // core's simple case folding: "İ" folds to itself, not to "i̇" (Java's toLowerCase would)
    const dotted = await s.vectorQuery({
      embedding: [1, 0],
      topK: 5,
      filters: { filters: [{ key: "w", operator: "text_match_insensitive", value: "i̇stanbul" }] },
    });
    expect(dotted.nodes).toEqual([]);
    const lt = await s.vectorQuery({ embedding: [1, 0], topK: 5, filters: { filters: [{ key: "w", operator: ">", value: "z" }] } });
    expect(ids(lt.nodes)).toEqual(["a", "b", "c"]);
  });
});

/** Runs `fn`, expecting CONNECTION; returns how long it took. */
async function failsWithConnection(fn: () => Promise<unknown>, secret: string): Promise<number> {
  const t0 = Date.now();
  const e = await expectStorageError(fn, "CONNECTION");
  const ms = Date.now() - t0;
  expect(e.message).not.toContain(secret);
  expect(String((e as { cause?: unknown }).cause ?? "")).not.toContain(secret);
  return ms;
}

describe("connection failures", () => {
  it("with the default options, a closed loopback port fails every call within 3 s with CONNECTION, without the password", async () => {
    const s = new Neo4jPropertyGraphStore({ url: "bolt://127.0.0.1:1", username: "neo4j", password: "super-secret-pw", namespace: "t" });
    const calls = [
      () => s.get(),
      () => s.getTriplets(),
      () => s.upsertNodes([entityNode({ name: "x", embedding: [1, 0] })]),
      () => s.upsertRelations([relation({ label: "R", sourceId: "a", targetId: "b" })]),
      () => s.vectorQuery({ embedding: [1, 0] }),
      () => s.getSchema(),
      () => s.delete({ ids: ["x"] }),
    ];
    for (const call of calls) expect(await failsWithConnection(call, "super-secret-pw")).toBeLessThan(3_000);
    await s.close();
  });

  it("a server that accepts connections but never answers: CONNECTION after connectTimeoutMs (default 2 s)", async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const byDefault = new Neo4jPropertyGraphStore({ url: `bolt://127.0.0.1:${port}`, username: "neo4j", password: "super-secret-pw" });
      const ms = await failsWithConnection(() => byDefault.get(), "super-secret-pw");
      expect(ms).toBeGreaterThanOrEqual(1_500);
      expect(ms).toBeLessThan(3_500);
      await byDefault.close();
      const quick = new Neo4jPropertyGraphStore({ url: `bolt://127.0.0.1:${port}`, username: "neo4j", password: "pw2", connectTimeoutMs: 300 });
      expect(await failsWithConnection(() => quick.vectorQuery({ embedding: [1] }), "pw2")).toBeLessThan(1_500);
      await quick.close();
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it("an unreachable server is a CONNECTION error, quickly, without the password (driverConfig overrides)", async () => {
    // Port 1 on loopback: nothing listens there.
    const s = new Neo4jPropertyGraphStore({
      url: "bolt://127.0.0.1:1",
      username: "neo4j",
      password: "super-secret-pw",
      driverConfig: { connectionTimeout: 2_000, connectionAcquisitionTimeout: 3_000, maxTransactionRetryTime: 1_000 },
    });
    const t0 = Date.now();
    const e = await expectStorageError(() => s.get(), "CONNECTION");
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(e.message).not.toContain("super-secret-pw");
    await expectStorageError(() => s.upsertNodes([entityNode({ name: "x" })]), "CONNECTION");
    await s.close();
  });

  it.skipIf(SKIP_REASON !== undefined)("wrong database name is NOT_FOUND", async () => {
    const s = new Neo4jPropertyGraphStore({ driver, database: "no_such_database_larder" });
    await expectStorageError(() => s.get(), "NOT_FOUND");
  });

  it("redacts credentials in URLs", () => {
    expect(() => new Neo4jPropertyGraphStore({ url: "notascheme://neo4j:hunter2@host:7687" })).toThrowError(/\*\*\*/);
    try {
      new Neo4jPropertyGraphStore({ url: "notascheme://neo4j:hunter2@host:7687" });
    } catch (e) {
      expect(String((e as Error).message)).not.toContain("hunter2");
    }
    expect(NEO4J_URL).toMatch(/^(bolt|neo4j)/);
  });
});
