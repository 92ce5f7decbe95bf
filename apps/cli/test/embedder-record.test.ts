// The embedder an index was built with is recorded with it (kind, model, URL, dimensions; never
// the key) and used by `query` and later `ingest`s by default. A local OpenAI-compatible server
// (the offline embedder behind HTTP) stands in for a real embeddings API.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { HashEmbedder } from "@larder/indexing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupTemp, json, larder, tempDir, writeCorpus } from "./helpers.js";

const KEY = "sk-test-never-stored-3141";
let server: Server;
let url = "";
const seen: { model: string; auth: string | undefined }[] = [];

beforeAll(async () => {
  const h = new HashEmbedder({ dimensions: 48 });
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const { model, input } = JSON.parse(body) as { model: string; input: string[] };
      seen.push({ model, auth: req.headers.authorization });
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ data: input.map((t, index) => ({ index, embedding: h.embedSync(t) })) }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await cleanupTemp();
});

describe("the recorded embedder", () => {
  it("an HTTP embedder's URL, model and dimensions are remembered (not its key) and used by query and ingest", async () => {
    const work = await tempDir();
    await writeCorpus(work);
    const store = join(work, "store");
    const env = { MY_EMBED_KEY: KEY };
    json(await larder(["--json", "ingest", ".", "--to", store, "--embed-url", url, "--embed-model", "fake-embed", "--embed-key-env", "MY_EMBED_KEY"], { cwd: work, env }));
    const info = json<{ indexes: { embedder: Record<string, unknown> }[] }>(await larder(["--json", "inspect", store]));
    expect(info.indexes[0]!.embedder).toEqual({ kind: "openai", model: "fake-embed", baseURL: url, dimensions: 48 });
    for (const f of await readdir(store)) expect(await readFile(join(store, f), "latin1"), f).not.toContain(KEY);

    // No flags: the recorded URL and model answer the query (the key comes from --embed-key-env again).
    seen.length = 0;
    const q = json<{ results: { refDocId: string }[] }>(await larder(["--json", "query", "root cellar vegetables winter", "--from", store, "-k", "1", "--embed-key-env", "MY_EMBED_KEY"], { cwd: work, env }));
    expect(q.results[0]!.refDocId).toBe("b4");
    expect(seen).toEqual([{ model: "fake-embed", auth: `Bearer ${KEY}` }]);
    // Just the model: the recorded URL fills in.
    expect(json(await larder(["--json", "query", "cellar", "--from", store, "--embed-model", "fake-embed"], { cwd: work })).results).toHaveLength(5);

    // A later ingest without flags embeds with the recorded embedder too.
    seen.length = 0;
    await import("node:fs/promises").then((fs) => fs.writeFile(join(work, "notes/new.md"), "# New\n\nA new note about larders."));
    expect(json<{ inserted: number }>(await larder(["--json", "ingest", ".", "--to", store], { cwd: work })).inserted).toBe(1);
    expect(seen.length).toBeGreaterThan(0);

    // Another model is a usage error naming the flags, before any embedding call.
    seen.length = 0;
    const other = await larder(["query", "cellar", "--from", store, "--embed-url", url, "--embed-model", "other-model"], { cwd: work });
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/INVALID_ARGUMENT: index \S+ was built with fake-embed \(48 dimensions\) at http:\/\/127\.0\.0\.1:\d+\/v1, but --embed-url \S+ --embed-model other-model selects other-model/);
    expect(other.stderr).toMatch(/Omit --embed-url\/--embed-model\/--dimensions to use the recorded embedder/);
    expect(other.stderr).not.toMatch(/CONFLICT|another writer/);
    const offline = await larder(["query", "cellar", "--from", store, "--dimensions", "48"], { cwd: work });
    expect(offline.code).toBe(1);
    expect(offline.stderr).toMatch(/selects the offline embedder larder-hash-v1-48/);
    expect(seen).toEqual([]);
  });

  it("the offline embedder is recorded too; another --dimensions is refused with the flags to use", async () => {
    const work = await tempDir();
    await writeCorpus(work);
    const store = join(work, "store");
    json(await larder(["--json", "ingest", ".", "--to", store, "--dimensions", "64"], { cwd: work }));
    const info = json<{ indexes: { embedder: Record<string, unknown> }[] }>(await larder(["--json", "inspect", store]));
    expect(info.indexes[0]!.embedder).toEqual({ kind: "hash", model: "larder-hash-v1-64", dimensions: 64 });
    expect(json(await larder(["--json", "query", "cellar", "--from", store], { cwd: work })).results).toHaveLength(5);
    const r = await larder(["query", "cellar", "--from", store, "--dimensions", "32"], { cwd: work });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/built with the offline embedder larder-hash-v1-64, but --dimensions 32 selects the offline embedder larder-hash-v1-32/);
    expect(r.stderr).toMatch(/same as --embed-model larder-hash-v1-64/);
  });

  it("an index that records no model (built elsewhere) with vectors of another length is an error naming the flags, not a silent offline query", async () => {
    const work = await tempDir();
    await writeCorpus(work);
    const store = join(work, "li");
    json(await larder(["--json", "ingest", ".", "--to", store, "--format", "llamaindex", "--dimensions", "32"], { cwd: work }));
    // Remove what larder recorded, as in a folder Python wrote.
    const path = join(store, "index_store.json");
    const doc = JSON.parse(await readFile(path, "utf8")) as Record<string, Record<string, { __data__: string }>>;
    for (const v of Object.values(doc["index_store/data"]!)) {
      const data = JSON.parse(v.__data__) as Record<string, unknown>;
      delete data["larder_embed_model"];
      delete data["larder_embedder"];
      v.__data__ = JSON.stringify(data);
    }
    await writeFile(path, JSON.stringify(doc));
    const r = await larder(["query", "cellar", "--from", store], { cwd: work });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/records no embedding model \(it was not built by larder\) and its vectors have 32 dimensions: pass the model it was built with/);
    expect(json(await larder(["--json", "query", "cellar", "--from", store, "--embed-model", "larder-hash-v1-32"], { cwd: work })).results).toHaveLength(5);
  });
});
