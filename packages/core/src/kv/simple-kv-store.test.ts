import { describe, expect, it } from "vitest";
import { isStorageError } from "../errors.js";
import { SimpleKVStore } from "./simple-kv-store.js";
import { pythonJsonDumps } from "./python-json.js";
import { assertJsonObject } from "./validate.js";

async function code(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    return isStorageError(e) ? e.code : `not a StorageError: ${String(e)}`;
  }
  return undefined;
}

describe("SimpleKVStore", () => {
  it("toDict/fromDict use LlamaIndex's {collection: {key: value}} shape and deep-copy", async () => {
    const kv = new SimpleKVStore();
    await kv.put("a", { x: [1] }, "docstore/data");
    await kv.put("b", { y: null });
    const d = kv.toDict();
    expect(d).toEqual({ "docstore/data": { a: { x: [1] } }, data: { b: { y: null } } });
    (d["data"]!["b"] as Record<string, unknown>)["y"] = 5;
    expect(await kv.get("b")).toEqual({ y: null });
    const copy = SimpleKVStore.fromDict(JSON.parse(JSON.stringify(d)) as typeof d);
    expect(await copy.get("a", "docstore/data")).toEqual({ x: [1] });
    expect(await copy.get("b")).toEqual({ y: 5 });
  });

  it("fromDict validates everything first", async () => {
    expect(await code(() => SimpleKVStore.fromDict({ c: { k: [1] as never } }))).toBe("INVALID_ARGUMENT");
    expect(await code(() => SimpleKVStore.fromDict({ c: [] as never }))).toBe("INVALID_ARGUMENT");
    expect(await code(() => SimpleKVStore.fromDict({ "": { k: {} } }))).toBe("INVALID_ARGUMENT");
    expect(await code(() => SimpleKVStore.fromDict(null as never))).toBe("INVALID_ARGUMENT");
  });

  it("__proto__ keys stay ordinary data in toDict and getAll", async () => {
    const kv = SimpleKVStore.fromDict(JSON.parse('{"__proto__": {"__proto__": {"polluted": true}}}') as never);
    expect(await kv.collections()).toEqual(["__proto__"]);
    expect(await kv.get("__proto__", "__proto__")).toEqual(JSON.parse('{"polluted": true}'));
    const all = await kv.getAll("__proto__");
    expect(Object.keys(all)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it("error messages name the store and the problem", async () => {
    const kv = new SimpleKVStore();
    const err = await kv.put("k", { a: { b: [1, Number.NaN] } }).catch((e: unknown) => e);
    expect(isStorageError(err, "INVALID_ARGUMENT")).toBe(true);
    expect(String((err as Error).message)).toContain("[SimpleKVStore]");
    expect(String((err as Error).message)).toContain("value.a.b[1] is NaN");
  });

  it("null-prototype objects are plain JSON objects", async () => {
    const v = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    expect(() => assertJsonObject(v, "t")).not.toThrow();
  });
});

describe("pythonJsonDumps", () => {
  it("matches Python's json.dumps defaults", () => {
    expect(pythonJsonDumps({ index_id: "x", summary: null, nodes_dict: { a: "b" }, doc_id_dict: {}, list: [1, 2.5, true] })).toBe(
      '{"index_id": "x", "summary": null, "nodes_dict": {"a": "b"}, "doc_id_dict": {}, "list": [1, 2.5, true]}',
    );
    expect(pythonJsonDumps("café 🦙\n\"\\")).toBe('"caf\\u00e9 \\ud83e\\udd99\\n\\"\\\\"');
    expect(pythonJsonDumps([])).toBe("[]");
    expect(pythonJsonDumps({ a: undefined, b: 1 })).toBe('{"b": 1}');
  });
});
