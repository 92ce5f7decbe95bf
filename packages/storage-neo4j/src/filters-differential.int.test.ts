// The vector kit's hardest corpus and random filter trees (hostile keys, look-alike values across
// types, Unicode case and ordering traps), compiled to Cypher and diffed against core's reference
// evaluator. Graph properties allow only homogeneous arrays, so mixed arrays are dropped from the
// corpus and nulls are left out (a stored null is a missing key for filters, as in the reference).
import { afterAll, describe, expect, it } from "vitest";
import { isStorageError, matchesFilters, type FilterOperator, type MetadataFilter, type MetadataFilters, type Properties } from "@larder/core";
import { FILTER_OPERATORS } from "@larder/core/filters";
import { seededRandom, uniqueNamespace } from "@larder/conformance";
import { makeCorpus, randomFilterTree } from "@larder/conformance/vector";
import { entityNode, nodeId } from "@larder/core/graph";
import { Neo4jPropertyGraphStore } from "./index.js";
import { SKIP_REASON, testDriver } from "./test-support/services.js";

const driver = testDriver();
const store = new Neo4jPropertyGraphStore({ driver, namespace: uniqueNamespace("diff"), vectorSearch: "exact" });
afterAll(async () => {
  await store.dropNamespace();
  await driver.close();
});

function storable(metadata: Record<string, unknown>): Properties {
  const out: Properties = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (v === null || v === undefined) continue;
    if (Array.isArray(v) && new Set(v.map((x) => typeof x)).size > 1) continue;
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function leaves(t: MetadataFilters): MetadataFilter[] {
  return t.filters.flatMap((f) => ("filters" in f ? leaves(f) : [f]));
}

describe.skipIf(SKIP_REASON !== undefined)(`filter differential${SKIP_REASON ? ` (skipped: ${SKIP_REASON})` : ""}`, () => {
  it("random trees over the vector kit's corpus return exactly what the reference evaluator returns", async () => {
    const corpus = makeCorpus(seededRandom(2024), 300, 4).map((n) =>
      entityNode({ name: n.id, properties: storable(n.metadata), embedding: n.embedding }),
    );
    await store.upsertNodes(corpus);
    const rnd = seededRandom(99);
    let compared = 0;
    let unsupported = 0;
    let nonTrivial = 0;
    for (let i = 0; i < 120; i++) {
      const filters = randomFilterTree(rnd, { operators: FILTER_OPERATORS as FilterOperator[] });
      const expected = corpus.filter((n) => matchesFilters(n.properties, filters)).map(nodeId).sort();
      try {
        const got = await store.vectorQuery({ embedding: [1, 0, 0, 0], topK: corpus.length, filters });
        expect({ filters, ids: got.nodes.map(nodeId).sort() }).toEqual({ filters, ids: expected });
        compared++;
        if (expected.length > 0 && expected.length < corpus.length) nonTrivial++;
      } catch (e) {
        if (!isStorageError(e, "UNSUPPORTED")) throw e;
        // Only ordering against a string with a code unit >= U+D800 may be refused.
        const refusable = leaves(filters).some(
          (l) => [">", ">=", "<", "<="].includes(l.operator) && typeof l.value === "string" && /[\uD800-\uFFFF]/.test(l.value),
        );
        expect({ filters, refusable }).toEqual({ filters, refusable: true });
        unsupported++;
      }
    }
    expect(compared).toBeGreaterThan(95);
    expect(nonTrivial).toBeGreaterThan(45);
    expect(unsupported).toBeLessThan(25);
  }, 120_000);
});
