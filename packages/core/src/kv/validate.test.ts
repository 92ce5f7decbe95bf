import { describe, expect, it } from "vitest";
import { isStorageError } from "../errors.js";
import { SimpleChatStore } from "../chat/simple-chat-store.js";
import { SimpleDocumentStore } from "../docstore/index.js";
import { TextNode } from "../schema/node.js";
import { SimpleVectorStore } from "../vector/simple-vector-store.js";
import { SimpleKVStore } from "./simple-kv-store.js";
import { assertJsonMetadata, assertJsonObject, isJsonValue, jsonProblem, MAX_JSON_DEPTH } from "./validate.js";

function nested(levels: number, leaf: unknown = 1): Record<string, unknown> {
  let v: Record<string, unknown> = { x: leaf };
  for (let i = 1; i < levels; i++) v = { d: v };
  return v;
}

function refusal(f: () => void): string {
  try {
    f();
  } catch (e) {
    expect(isStorageError(e, "INVALID_ARGUMENT")).toBe(true);
    return (e as Error).message;
  }
  throw new Error("expected INVALID_ARGUMENT");
}

describe("assertJsonObject (the one validator of stored values)", () => {
  it("names the path and the reason for every non-JSON value", () => {
    const cases: [unknown, string][] = [
      [{ a: NaN }, "value.a is NaN, which JSON cannot represent"],
      [{ a: [1, Infinity] }, "value.a[1] is Infinity, which JSON cannot represent"],
      [{ a: undefined }, "value.a is undefined, which JSON cannot represent"],
      [{ a: () => 1 }, "value.a is a function, which JSON cannot represent"],
      [{ a: Symbol("s") }, "value.a is a symbol, which JSON cannot represent"],
      [{ a: 1n }, "value.a is bigint 1, which JSON cannot represent"],
      [{ a: new Date(0) }, "value.a is an instance of Date, not a plain JSON object"],
      [{ a: new Map() }, "value.a is an instance of Map, not a plain JSON object"],
      [{ a: [1, , 3] }, "value.a[1] is a hole in a sparse array"],
      [{ [Symbol("k")]: 1 }, "value has symbol keys"],
    ];
    for (const [v, msg] of cases) expect(refusal(() => assertJsonObject(v, "t"))).toContain(msg);
    const cyclic: Record<string, unknown> = { a: { b: {} } };
    (cyclic["a"] as Record<string, Record<string, unknown>>)["b"]!["c"] = cyclic;
    expect(refusal(() => assertJsonObject(cyclic, "t"))).toContain("value.a.b.c is a circular reference");
    // Shared (not cyclic) references are fine: JSON writes them twice.
    const shared = { x: 1 };
    expect(() => assertJsonObject({ a: shared, b: [shared, shared] }, "t")).not.toThrow();
  });

  it("refuses nesting past MAX_JSON_DEPTH without overflowing the stack (iterative)", () => {
    expect(MAX_JSON_DEPTH).toBe(100);
    expect(() => assertJsonObject(nested(MAX_JSON_DEPTH), "t")).not.toThrow();
    expect(refusal(() => assertJsonObject(nested(MAX_JSON_DEPTH + 1), "t"))).toContain("nested more than 100 levels");
    for (const levels of [20_000, 200_000]) {
      expect(refusal(() => assertJsonObject(nested(levels), "t"))).toContain("nested more than 100 levels");
      let arr: unknown = [];
      for (let i = 0; i < levels; i++) arr = [arr];
      expect(jsonProblem({ arr })).toContain("nested more than 100 levels");
    }
    expect(isJsonValue(nested(MAX_JSON_DEPTH + 1))).toBe(false);
    // Metadata counts its level inside the node JSON (level 3): 98 levels of its own.
    expect(() => assertJsonMetadata(nested(MAX_JSON_DEPTH - 2), "t")).not.toThrow();
    expect(refusal(() => assertJsonMetadata(nested(MAX_JSON_DEPTH - 1), "t"))).toContain("nested more than 100 levels");
    expect(() => assertJsonMetadata(undefined, "t")).not.toThrow();
    expect(() => assertJsonMetadata(null, "t")).not.toThrow();
  });

  it("refuseString sees the actual strings (keys and values), not JSON text", () => {
    const refuseString = (s: string) => (s.includes("\u0000") ? "contains U+0000" : undefined);
    // Backslash-u text is an ordinary string.
    for (const v of [{ s: "\\u0000" }, { s: 'printf("\\u0000")' }, { path: "C:\\ud800\\x" }, { "\\u0000": 1 }]) {
      expect(() => assertJsonObject(v, "t", "m", { refuseString })).not.toThrow();
    }
    expect(refusal(() => assertJsonObject({ a: ["x", "y\u0000"] }, "t", "m", { refuseString }))).toContain("m.a[1] contains U+0000");
    expect(refusal(() => assertJsonObject({ a: { "k\u0000": 1 } }, "t", "m", { refuseString }))).toContain('m.a has a key ("k\\u0000") that contains U+0000');
  });
});

describe("every store applies the same rule", () => {
  async function code(f: () => Promise<unknown>): Promise<string> {
    try {
      await f();
      return "ok";
    } catch (e) {
      return isStorageError(e) ? e.code : `${(e as Error).name}: ${(e as Error).message}`;
    }
  }

  it("KV, docstore, chat and vector store agree on depth and non-JSON values", async () => {
    const docs = new SimpleDocumentStore();
    const vectors = new SimpleVectorStore();
    const metadataCases: [Record<string, unknown>, string][] = [
      [nested(MAX_JSON_DEPTH - 2), "ok"],
      [nested(MAX_JSON_DEPTH - 1), "INVALID_ARGUMENT"],
      [nested(20_000), "INVALID_ARGUMENT"],
      [{ a: Number.NaN }, "INVALID_ARGUMENT"],
      [{ a: undefined }, "INVALID_ARGUMENT"],
      [{ a: new Date(0) }, "INVALID_ARGUMENT"],
    ];
    let i = 0;
    for (const [metadata, expected] of metadataCases) {
      const id = `n${i++}`;
      expect(await code(() => docs.addDocuments([new TextNode({ id, text: "x", metadata })])), `docstore ${id}`).toBe(expected);
      expect(await code(() => vectors.add([new TextNode({ id, text: "x", metadata, embedding: [1, 0] })])), `vector ${id}`).toBe(expected);
    }
    expect(await code(() => new SimpleKVStore().put("k", nested(20_000) as never))).toBe("INVALID_ARGUMENT");
    const message = { role: "user", content: "x", additional_kwargs: nested(20_000) };
    expect(await code(() => new SimpleChatStore().setMessages("k", [message as never]))).toBe("INVALID_ARGUMENT");
  });
});
