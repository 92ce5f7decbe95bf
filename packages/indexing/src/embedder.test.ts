import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { isStorageError } from "@larder/core";
import { afterEach, describe, expect, it } from "vitest";
import { HashEmbedder, OpenAIEmbedder } from "./embedder.js";

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe("HashEmbedder", () => {
  it("is deterministic, L2-normalised and sized", async () => {
    const e = new HashEmbedder();
    expect(e.model).toBe("larder-hash-v1-384");
    const [a, b] = await e.embedDocuments(["Persist the vector store to S3", "Persist the vector store to S3"]);
    expect(a).toHaveLength(384);
    expect(a).toEqual(b);
    expect(Math.abs(dot(a!, a!) - 1)).toBeLessThan(1e-9);
    expect(await new HashEmbedder().embedQuery("Persist the vector store to S3")).toEqual(a);
    // A fixed fingerprint: changing the feature function changes stored indexes' meaning.
    const v = e.embedSync("larder");
    const nz = v.map((x, i) => [i, Math.round(x * 1e4) / 1e4]).filter(([, x]) => x !== 0);
    expect(nz).toEqual([
      [28, 0.0537], [43, 0.0537], [71, 0.0537], [83, -0.0537], [97, -0.0537], [107, -0.0537],
      [112, -0.0537], [135, 0.984], [247, -0.0537], [353, -0.0537], [354, 0.0537], [377, 0.0537],
    ]);
  });

  it("ranks related text above unrelated text", () => {
    const e = new HashEmbedder();
    const q = e.embedSync("how do I persist stores to S3?");
    const related = e.embedSync("Persisting a storage context to an S3 bucket with the Larder format.");
    const unrelated = e.embedSync("Neo4j property graph relations and Cypher queries.");
    expect(dot(q, related)).toBeGreaterThan(dot(q, unrelated) + 0.1);
  });

  it("embeds empty text as a unit vector and refuses bad dimensions", () => {
    const v = new HashEmbedder({ dimensions: 16 }).embedSync("");
    expect(dot(v, v)).toBeCloseTo(1);
    expect(() => new HashEmbedder({ dimensions: 3 })).toThrow(/INVALID_ARGUMENT/);
    expect(HashEmbedder.fromModel("larder-hash-v1-64")?.dimensions).toBe(64);
    expect(HashEmbedder.fromModel("text-embedding-3-small")).toBeUndefined();
  });
});

interface Call {
  auth: string | undefined;
  body: { model: string; input: string[]; dimensions?: number };
}

describe("OpenAIEmbedder against a local /v1/embeddings server", () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  async function serve(handler: (call: Call, n: number) => { status: number; body: unknown; headers?: Record<string, string> }) {
    const calls: Call[] = [];
    server = createServer(async (req: IncomingMessage, res) => {
      let raw = "";
      for await (const c of req) raw += c;
      const call: Call = { auth: req.headers.authorization, body: JSON.parse(raw) };
      calls.push(call);
      const out = handler(call, calls.length);
      res.writeHead(out.status, { "content-type": "application/json", ...out.headers });
      res.end(typeof out.body === "string" ? out.body : JSON.stringify(out.body));
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    return { baseURL: `http://127.0.0.1:${port}/v1`, calls };
  }

  // A fake model: vector = [len(text), index-in-batch, 1] — reversed order in the answer to check re-ordering.
  const ok = (call: Call) => ({
    status: 200,
    body: { data: call.body.input.map((t, i) => ({ index: i, embedding: [t.length, i, 1] })).reverse() },
  });

  it("batches, sends the key and model, and keeps input order", async () => {
    const { baseURL, calls } = await serve(ok);
    const e = new OpenAIEmbedder({ baseURL, model: "m1", apiKey: "sk-test", batchSize: 2, concurrency: 2 });
    const out = await e.embedDocuments(["a", "bb", "ccc", "dddd", "eeeee"]);
    expect(out.map((v) => v[0])).toEqual([1, 2, 3, 4, 5]);
    expect(calls).toHaveLength(3);
    expect(calls.every((c) => c.auth === "Bearer sk-test" && c.body.model === "m1")).toBe(true);
    expect(calls.map((c) => c.body.input.length).sort()).toEqual([1, 2, 2]);
    expect(e.dimensions).toBe(3);
    expect(await e.embedQuery("xy")).toEqual([2, 0, 1]);
  });

  it("retries 429 and 500 with backoff (honouring Retry-After) and then succeeds", async () => {
    const { baseURL, calls } = await serve((call, n) =>
      n === 1 ? { status: 429, body: { error: "slow down" }, headers: { "retry-after": "0" } } : n === 2 ? { status: 500, body: "oops" } : ok(call),
    );
    const e = new OpenAIEmbedder({ baseURL, model: "m", retryBaseMs: 1 });
    expect(await e.embedDocuments(["abc"])).toEqual([[3, 0, 1]]);
    expect(calls).toHaveLength(3);
  });

  it("gives up after maxRetries with CONNECTION, and never leaks the key", async () => {
    const { baseURL, calls } = await serve(() => ({ status: 503, body: "down" }));
    const e = new OpenAIEmbedder({ baseURL, model: "m", apiKey: "sk-secret-123", maxRetries: 2, retryBaseMs: 1 });
    const err = await e.embedQuery("x").catch((x: unknown) => x);
    expect(isStorageError(err, "CONNECTION")).toBe(true);
    expect(String((err as Error).message)).not.toContain("sk-secret-123");
    expect(calls).toHaveLength(3);
  });

  it("maps 401 to CONNECTION, 404 to NOT_FOUND and 400 to INVALID_ARGUMENT without retrying", async () => {
    for (const [status, code] of [[401, "CONNECTION"], [404, "NOT_FOUND"], [400, "INVALID_ARGUMENT"]] as const) {
      const { baseURL, calls } = await serve(() => ({ status, body: { error: "no" } }));
      const err = await new OpenAIEmbedder({ baseURL, model: "m", retryBaseMs: 1 }).embedQuery("x").catch((x: unknown) => x);
      expect(isStorageError(err, code)).toBe(true);
      expect(calls).toHaveLength(1);
      await new Promise<void>((r) => server!.close(() => r()));
      server = undefined;
    }
  });

  it("checks dimensions: DIMENSION_MISMATCH when the server answers another size", async () => {
    const { baseURL, calls } = await serve(ok);
    const e = new OpenAIEmbedder({ baseURL, model: "m", dimensions: 8, requestDimensions: true });
    const err = await e.embedQuery("x").catch((x: unknown) => x);
    expect(isStorageError(err, "DIMENSION_MISMATCH")).toBe(true);
    expect(calls[0]!.body.dimensions).toBe(8);
  });

  it("reports a malformed answer as CORRUPT and an unreachable server as CONNECTION", async () => {
    const { baseURL } = await serve(() => ({ status: 200, body: { data: [] } }));
    expect(isStorageError(await new OpenAIEmbedder({ baseURL, model: "m" }).embedQuery("x").catch((x: unknown) => x), "CORRUPT")).toBe(true);
    const closed = baseURL.replace(/:\d+/, ":1");
    const err = await new OpenAIEmbedder({ baseURL: closed, model: "m", maxRetries: 1, retryBaseMs: 1 }).embedQuery("x").catch((x: unknown) => x);
    expect(isStorageError(err, "CONNECTION")).toBe(true);
  });
});
