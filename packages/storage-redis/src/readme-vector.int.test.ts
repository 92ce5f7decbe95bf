import { afterAll, expect, it } from "vitest";
import { uniqueNamespace } from "@larder/conformance";
import { readmeVectorUsage } from "./testing/readme-vector-usage.js";
import { deletePrefix, newSearchClient, probeSearch, searchUrl, whenReachable } from "./testing/env.js";

const indexName = uniqueNamespace("readme_vec").replace(/[^A-Za-z0-9_.:-]/g, "_");

whenReachable(await probeSearch(), "README RedisVectorStore example", () => {
  afterAll(async () => {
    const c = newSearchClient();
    await c.call("FT.DROPINDEX", indexName).catch(() => undefined);
    await deletePrefix(c, `larder:vec:{${indexName}}:`);
    c.disconnect();
  });

  it("runs as documented", async () => {
    const r = await readmeVectorUsage(searchUrl(), indexName);
    expect(r.hits.ids).toEqual(["b"]);
    expect(r.hits.similarities[0]).toBeGreaterThan(0.99);
    expect(r.text.ids).toEqual(["a"]);
    expect(r.hybrid.ids.length).toBe(2);
    // "c" is the nearest vector (0.5 · 1), "b" has the word (0.5 · 0.11 + 0.5 · 1)
    expect(r.hybrid.ids).toEqual(["b", "c"]);
  });
});
