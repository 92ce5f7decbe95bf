// Runs the README's usage example against the test server (credentials and namespaces replaced,
// the namespaces dropped afterwards), so the documented code stays real.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { uniqueNamespace } from "@larder/conformance";
import { Neo4jPropertyGraphStore } from "./index.js";
import { NEO4J_PASSWORD, NEO4J_URL, NEO4J_USER, SKIP_REASON, testDriver } from "./test-support/services.js";

const driver = testDriver();
const namespaces = [uniqueNamespace("readme"), uniqueNamespace("readme")];
afterAll(async () => {
  for (const namespace of namespaces) await new Neo4jPropertyGraphStore({ driver, namespace }).dropNamespace();
  await driver.close();
});

describe.skipIf(SKIP_REASON !== undefined)(`README${SKIP_REASON ? ` (skipped: ${SKIP_REASON})` : ""}`, () => {
  it("the usage example runs", async () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const block = /## Usage\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const code = block!
      .replaceAll('"bolt://127.0.0.1:7687"', JSON.stringify(NEO4J_URL))
      .replaceAll('"neo4j"', JSON.stringify(NEO4J_USER))
      .replaceAll('process.env.NEO4J_PASSWORD ?? ""', JSON.stringify(NEO4J_PASSWORD))
      .replace('namespace: "demo"', `namespace: ${JSON.stringify(namespaces[0])}`)
      .replace('namespace: "tenant_42"', `namespace: ${JSON.stringify(namespaces[1])}`);
    expect(code).not.toContain('"demo"');
    const dir = mkdtempSync(join(new URL(".", import.meta.url).pathname, ".readme-"));
    const file = join(dir, "example.ts");
    writeFileSync(file, `${code}\nexport const result = { neighbourhood, nodes, scores, rows, schema };\n`);
    try {
      const { result } = (await import(file)) as { result: { neighbourhood: unknown[]; nodes: unknown[]; rows: unknown[]; schema: { nodeLabels: string[] } } };
      expect(result.neighbourhood.length).toBe(1);
      expect(result.nodes.length).toBe(1); // only Alice has triplet_source_id "node-1"
      expect(result.rows).toEqual([{ name: "Alice" }]);
      expect(result.schema.nodeLabels).toEqual(["ORG", "PERSON", "text_chunk"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
