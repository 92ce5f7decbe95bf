// The kit's property graph suite against the installed @larder/storage-neo4j with the neo4j-driver
// version installed next to it (the driver matrix of scripts/pack-check.sh).
import { createRequire } from "node:module";
import { afterAll, describe } from "vitest";
import neo4j from "neo4j-driver";
import { uniqueNamespace } from "@larder/conformance";
import { describePropertyGraphStore } from "@larder/conformance/graph";
import { Neo4jPropertyGraphStore } from "@larder/storage-neo4j";
import { env, reachable } from "./services.js";

const version = (createRequire(import.meta.url)("neo4j-driver/package.json") as { version: string }).version;
const driver = neo4j.driver(env["LARDER_NEO4J_URL"]!, neo4j.auth.basic(env["LARDER_NEO4J_USER"]!, env["LARDER_NEO4J_PASSWORD"]!), {
  connectionAcquisitionTimeout: 15_000,
  connectionTimeout: 5_000,
  maxTransactionRetryTime: 10_000,
});
const skip = await reachable(`Neo4j at ${env["LARDER_NEO4J_URL"]}`, () => driver.getServerInfo());
afterAll(() => driver.close());

describe.skipIf(skip !== undefined)(`neo4j-driver ${version}${skip ? ` (skipped: ${skip})` : ""}`, () => {
  describePropertyGraphStore({
    name: `Neo4jPropertyGraphStore (neo4j-driver ${version})`,
    create: () => new Neo4jPropertyGraphStore({ driver, namespace: uniqueNamespace("packneo") }),
    dispose: (store) => (store as Neo4jPropertyGraphStore).dropNamespace(),
    capabilities: { structuredQuery: true, vectorQuery: true },
    structuredQueryProbe: {
      query:
        "MATCH (a:__Node__ {id: $a, team: 'x'})-[r:WORKS_AT {since: 2020}]->(b:__Node__:__Entity__ {id: $b, team: 'x'}) WITH a, r, b LIMIT 1 " +
        "RETURN a.name AS source, type(r) AS type, r.since AS since, b.team AS team",
      params: { a: "Alice", b: "Acme" },
      expected: [{ source: "Alice", type: "WORKS_AT", since: 2020, team: "x" }],
    },
  });
});
