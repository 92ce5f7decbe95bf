// The conformance kit's property graph suite against a real Neo4j, each test in its own namespace.
import { afterAll, describe } from "vitest";
import { uniqueNamespace } from "@larder/conformance";
import { describePropertyGraphStore, GRAPH_TEST_IDS, type GraphTestId } from "@larder/conformance/graph";
import { Neo4jPropertyGraphStore } from "./index.js";
import { SKIP_REASON, testDriver } from "./test-support/services.js";

const driver = testDriver();
afterAll(() => driver.close());

describe.skipIf(SKIP_REASON !== undefined)(`Neo4j kit suite${SKIP_REASON ? ` (skipped: ${SKIP_REASON})` : ""}`, () => {
  for (const vectorSearch of ["index", "exact"] as const) {
    // The two modes differ only for unfiltered vector queries: the exact run repeats just those.
    const skip: Partial<Record<GraphTestId, string>> = {};
    if (vectorSearch === "exact") {
      for (const id of GRAPH_TEST_IDS) {
        if (id !== "graph.vector.top-k-order" && id !== "graph.vector.errors" && id !== "graph.vector.top-k-limits") {
          skip[id] = "same code path as the vectorSearch: index run";
        }
      }
    }
    describePropertyGraphStore({
      name: `Neo4jPropertyGraphStore (vectorSearch: ${vectorSearch})`,
      create: () => new Neo4jPropertyGraphStore({ driver, namespace: uniqueNamespace("neo"), vectorSearch }),
      skip,
      dispose: (store) => (store as Neo4jPropertyGraphStore).dropNamespace(),
      capabilities: { structuredQuery: true, vectorQuery: true },
      // The probe runs outside the store's namespace label and other tests (running at the same
      // time) hold nodes with the same ids but other properties, so it pins the properties the
      // kit's small graph gives them; LIMIT 1 folds identical copies from other namespaces.
      structuredQueryProbe: {
        query:
          "MATCH (a:__Node__ {id: $a, team: 'x'})-[r:WORKS_AT {since: 2020}]->(b:__Node__:__Entity__ {id: $b, team: 'x'}) WITH a, r, b LIMIT 1 " +
          "RETURN a.name AS source, type(r) AS type, r.since AS since, b.team AS team",
        params: { a: "Alice", b: "Acme" },
        expected: [{ source: "Alice", type: "WORKS_AT", since: 2020, team: "x" }],
      },
    });
  }
});
