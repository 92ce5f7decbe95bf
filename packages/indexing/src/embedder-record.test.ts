import { describe, expect, it } from "vitest";
import { describeEmbedderRecord, embedderFromRecord, embedderRecord, HashEmbedder, OpenAIEmbedder, parseEmbedderRecord } from "./index.js";

describe("embedder records", () => {
  it("record kind, model, URL and dimensions, never the key or URL credentials, and rebuild the embedder", () => {
    const e = new OpenAIEmbedder({ baseURL: "http://user:pw@127.0.0.1:11434/v1/", model: "nomic-embed-text", apiKey: "sk-secret", dimensions: 768 });
    const r = embedderRecord(e)!;
    expect(r).toEqual({ kind: "openai", model: "nomic-embed-text", baseURL: "http://127.0.0.1:11434/v1", dimensions: 768 });
    expect(JSON.stringify(r)).not.toMatch(/sk-secret|pw/);
    const back = embedderFromRecord(parseEmbedderRecord(JSON.parse(JSON.stringify(r)))!, { apiKey: "k" });
    expect(back).toBeInstanceOf(OpenAIEmbedder);
    expect([back.model, back.dimensions, (back as OpenAIEmbedder).baseURL]).toEqual(["nomic-embed-text", 768, "http://127.0.0.1:11434/v1"]);
    expect(describeEmbedderRecord(r)).toBe("nomic-embed-text (768 dimensions) at http://127.0.0.1:11434/v1");

    const h = embedderRecord(new HashEmbedder({ dimensions: 64 }))!;
    expect(h).toEqual({ kind: "hash", model: "larder-hash-v1-64", dimensions: 64 });
    expect(embedderFromRecord(h).model).toBe("larder-hash-v1-64");
  });

  it("parse rejects what is not a record", () => {
    for (const bad of [undefined, null, "x", [], { kind: "x", model: "m" }, { kind: "openai", model: "m" }, { kind: "hash", model: "" }, { kind: "hash", model: "m", dimensions: 1.5 }]) {
      expect(parseEmbedderRecord(bad), JSON.stringify(bad)).toBeUndefined();
    }
    expect(() => embedderFromRecord({ kind: "hash", model: "not-a-hash-model" })).toThrow(/INVALID_ARGUMENT/);
  });
});
