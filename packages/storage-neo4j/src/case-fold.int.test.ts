// text_match_insensitive with core's pinned case fold (not the server JVM's toLower): fold
// properties written with the node, nodes written elsewhere answered exactly or refused, never wrong.
import { afterAll, describe, expect, it } from "vitest";
import { expectStorageError, uniqueNamespace } from "@larder/conformance";
import { entityNode, nodeId, type LabelledNode } from "@larder/core";
import { CASE_FOLD_VERSION, type MetadataFilters } from "@larder/core/filters";
import { Neo4jPropertyGraphStore } from "./index.js";
import { SKIP_REASON, testDriver } from "./test-support/services.js";

const driver = testDriver();
const stores: Neo4jPropertyGraphStore[] = [];
afterAll(async () => {
  for (const s of stores) await s.dropNamespace();
  await driver.close();
});

function store(): Neo4jPropertyGraphStore {
  const s = new Neo4jPropertyGraphStore({ driver, namespace: uniqueNamespace("fold"), vectorSearch: "exact" });
  stores.push(s);
  return s;
}

const tim = (value: string, key = "s"): MetadataFilters => ({ filters: [{ key, operator: "text_match_insensitive", value }] });
const ids = (ns: readonly LabelledNode[]) => ns.map(nodeId).sort();
const q = async (s: Neo4jPropertyGraphStore, f: MetadataFilters) => ids((await s.vectorQuery({ embedding: [1, 0], topK: 100, filters: f })).nodes);

describe.skipIf(SKIP_REASON !== undefined)(`Neo4j case fold${SKIP_REASON ? ` (skipped: ${SKIP_REASON})` : ""}`, () => {
  it("folds with core's Unicode 16.0.0 table, whatever the server's Java knows", async () => {
    const s = store();
    await s.upsertNodes([
      entityNode({ name: "a", properties: { s: "\uA7C1 ΟΔΥΣΣΕΥΣ" }, embedding: [1, 0] }),
      entityNode({ name: "b", properties: { s: "x\u2C5F \u1C8A \u{10D70}" }, embedding: [1, 1] }),
      entityNode({ name: "c", properties: { s: "Straße İstanbul", __larder_fold__: "mine", "__larder_fold__:s": "also mine" }, embedding: [0, 1] }),
    ]);
    expect(await q(s, tim("\uA7C0"))).toEqual(["a"]);
    expect(await q(s, tim("οδυσσευς"))).toEqual(["a"]);
    expect(await q(s, tim("\u2C2F"))).toEqual(["b"]);
    expect(await q(s, tim("\u1C89"))).toEqual(["b"]);
    expect(await q(s, tim("\u{10D50}"))).toEqual(["b"]);
    expect(await q(s, tim("STRAẞE"))).toEqual(["c"]);
    expect(await q(s, tim("istanbul"))).toEqual([]);
    expect(await q(s, tim("\uD83D"))).toEqual([]);
    // The store's fold properties are not user properties; user keys with their names round-trip.
    const [c] = await s.get({ ids: ["c"] });
    expect(c!.properties).toEqual({ s: "Straße İstanbul", __larder_fold__: "mine", "__larder_fold__:s": "also mine" });
    expect(await q(s, tim("ALSO MINE", "__larder_fold__:s"))).toEqual(["c"]);
    const schema = JSON.stringify(await s.getSchema(true));
    expect(schema).not.toContain(CASE_FOLD_VERSION); // the marker's value: not a user property
    // An upsert that changes a value re-folds it.
    await s.upsertNodes([entityNode({ name: "a", properties: { s: "plain" } })]);
    expect(await q(s, tim("\uA7C0"))).toEqual([]);
    expect(await q(s, tim("PLAIN"))).toEqual(["a"]);
  });

  it("nodes without current fold properties: exact when the fold changes nothing, else UNSUPPORTED until refoldProperties()", async () => {
    const s = store();
    await s.upsertNodes([
      entityNode({ name: "a", properties: { s: "ΟΔΥΣΣΕΥΣ" }, embedding: [1, 0] }),
      entityNode({ name: "b", properties: { s: "plain text" }, embedding: [1, 1] }),
    ]);
    // As Python LlamaIndex (or an older Larder) would have left them: no marker, no fold properties.
    await s.structuredQuery(
      "MATCH (n:__Node__) WHERE $ns IN labels(n) REMOVE n.__larder_fold__, n.`__larder_fold__:s`",
      { ns: s.namespaceLabel },
    );
    const fresh = new Neo4jPropertyGraphStore({ driver, namespace: s.namespace, vectorSearch: "exact" });
    const e = await expectStorageError(() => q(fresh, tim("σ")), "UNSUPPORTED");
    expect(e.message).toMatch(/refoldProperties/);
    // Only "b" left: nothing in it folds, so the answer is exact without fold properties.
    await s.structuredQuery("MATCH (n:__Node__ {id: 'a'}) WHERE $ns IN labels(n) SET n.s = 'lower only'", { ns: s.namespaceLabel });
    expect(await q(fresh, tim("TEXT"))).toEqual(["b"]);
    expect(await q(fresh, tim("LOWER"))).toEqual(["a"]);
    await s.structuredQuery("MATCH (n:__Node__ {id: 'a'}) WHERE $ns IN labels(n) SET n.s = 'ΟΔΥΣΣΕΥΣ'", { ns: s.namespaceLabel });
    await expectStorageError(() => q(fresh, tim("σ")), "UNSUPPORTED");
    expect(await fresh.refoldProperties()).toBe(2);
    expect(await q(fresh, tim("οδυσσευς"))).toEqual(["a"]);
    expect(await q(fresh, tim("TEXT"))).toEqual(["b"]);
    expect(await fresh.refoldProperties()).toBe(0);
  });
});
