import { expect } from "vitest";
import { MAX_JSON_DEPTH, type JsonObject, type KVStore } from "@larder/core/kv";
import { defineSuite, expectStorageError, seededRandom, type TestBody } from "./harness.js";
import { HOSTILE_STRINGS } from "./hostile.js";
import { PROTOTYPE_KEYS, acceptedOrInvalid, collect, expectSameMembers, label } from "./kv-helpers.js";

/** An object nested `levels` deep (the object itself is level 1). */
function nestedLevels(levels: number): Record<string, unknown> {
  let v: Record<string, unknown> = { end: true };
  for (let i = 1; i < levels; i++) v = { d: v };
  return v;
}

/** Backend quirks a KV suite run can declare. */
export interface KVCapabilities {
  /** How many entries the scan test writes (default 10 240; must stay >= 10 000 to claim conformance). */
  scanEntries: number;
}

type Body = TestBody<KVStore, KVCapabilities>;

const C1 = "kit_c1";
const C2 = "kit_c2";

/** A JSON object exercising every JSON type, nesting, unicode and awkward numbers. */
export function richValue(seed = 1): JsonObject {
  return {
    str: `value-${seed}`,
    empty: "",
    unicode: "ünïcødé 漢字 🦙 \u200b",
    int: 42 + seed,
    neg: -7,
    float: 3.141592653589793,
    tiny: 5e-324,
    big: Number.MAX_SAFE_INTEGER,
    zero: 0,
    t: true,
    f: false,
    nil: null,
    arr: [1, "two", null, false, [3, [4]], { five: 5 }],
    emptyArr: [],
    emptyObj: {},
    nested: { a: { b: { c: { d: ["deep", { e: seed }] } } } },
    "key with spaces & \"quotes\"": "ok",
  };
}

export const kvTests = {
  "kv.put.get-roundtrip": (async (ctx) => {
    const kv = await ctx.store();
    await kv.put("k1", richValue(1));
    expect(await kv.get("k1")).toEqual(richValue(1));
  }) as Body,

  "kv.get.missing-is-undefined": (async (ctx) => {
    const kv = await ctx.store();
    expect(await kv.get("missing")).toBeUndefined();
    expect(await kv.get("missing", "no_such_collection")).toBeUndefined();
    await kv.put("present", { a: 1 });
    const got = await kv.get("missing");
    expect(got).toBeUndefined();
    expect(got === null).toBe(false);
  }) as Body,

  "kv.put.replaces-not-merges": (async (ctx) => {
    const kv = await ctx.store();
    await kv.put("k", { a: 1, b: { c: 2, d: 3 } });
    await kv.put("k", { b: { c: 9 } });
    expect(await kv.get("k")).toEqual({ b: { c: 9 } });
  }) as Body,

  "kv.put.default-collection-is-data": (async (ctx) => {
    const kv = await ctx.store();
    await kv.put("k", { in: "default" });
    expect(await kv.get("k", "data")).toEqual({ in: "default" });
    await kv.put("k2", { in: "explicit" }, "data");
    expect(await kv.get("k2")).toEqual({ in: "explicit" });
    expect(Object.keys(await kv.getAll()).sort()).toEqual(["k", "k2"]);
  }) as Body,

  "kv.copy.input-is-not-aliased": (async (ctx) => {
    const kv = await ctx.store();
    const v = { list: [1, 2], obj: { x: 1 } };
    await kv.put("k", v);
    v.list.push(3);
    v.obj.x = 99;
    const entries: [string, JsonObject][] = [["b", { n: { m: 1 } }]];
    await kv.putAll(entries);
    (entries[0]![1]["n"] as JsonObject)["m"] = 2;
    expect(await kv.get("k")).toEqual({ list: [1, 2], obj: { x: 1 } });
    expect(await kv.get("b")).toEqual({ n: { m: 1 } });
  }) as Body,

  "kv.copy.output-is-not-aliased": (async (ctx) => {
    const kv = await ctx.store();
    await kv.put("k", { list: [1], obj: { x: 1 } });
    const a = (await kv.get("k"))!;
    (a["list"] as number[]).push(2);
    (a["obj"] as JsonObject)["x"] = 5;
    const all = await kv.getAll();
    (all["k"]!["list"] as number[]).push(3);
    const many = await kv.getMany(["k"]);
    (many[0]!["obj"] as JsonObject)["y"] = 1;
    for await (const [, v] of kv.scan()) (v["list"] as number[]).push(4);
    expect(await kv.get("k")).toEqual({ list: [1], obj: { x: 1 } });
  }) as Body,

  "kv.value.json-roundtrip-exact": (async (ctx) => {
    const kv = await ctx.store();
    const values: JsonObject[] = [
      {},
      { deep: JSON.parse(`${"[".repeat(50)}1${"]".repeat(50)}`) as JsonObject },
      { floats: [0.1, 0.2, 1e-7, 1.5e300, 2 ** 53 - 1, -(2 ** 53 - 1)] },
      { order: { z: 1, a: 2, m: 3 } },
      { big: "x".repeat(200_000) },
    ];
    for (const [i, v] of values.entries()) await kv.put(`v${i}`, v);
    for (const [i, v] of values.entries()) expect(await kv.get(`v${i}`), `value ${i}`).toEqual(v);
  }) as Body,

  "kv.delete.reports-whether-deleted": (async (ctx) => {
    const kv = await ctx.store();
    await kv.put("k", { a: 1 });
    expect(await kv.delete("k")).toBe(true);
    expect(await kv.get("k")).toBeUndefined();
    expect(await kv.delete("k")).toBe(false);
    expect(await kv.delete("never")).toBe(false);
    expect(await kv.delete("never", "no_such_collection")).toBe(false);
  }) as Body,

  "kv.delete.only-that-key": (async (ctx) => {
    const kv = await ctx.store();
    await kv.putAll([["a", { v: 1 }], ["b", { v: 2 }], ["ab", { v: 3 }]]);
    expect(await kv.delete("a")).toBe(true);
    expect(await kv.getAll()).toEqual({ b: { v: 2 }, ab: { v: 3 } });
  }) as Body,

  "kv.putAll.writes-every-entry": (async (ctx) => {
    const kv = await ctx.store();
    const entries = Array.from({ length: 250 }, (_, i) => [`key-${i}`, { i, s: `v${i}` }] as const);
    await kv.putAll(entries, C1);
    const all = await kv.getAll(C1);
    expect(Object.keys(all)).toHaveLength(250);
    for (const [k, v] of entries) expect(all[k]).toEqual(v);
  }) as Body,

  "kv.putAll.batch-size-option": (async (ctx) => {
    const kv = await ctx.store();
    const entries = Array.from({ length: 53 }, (_, i) => [`k${i}`, { i }] as const);
    await kv.putAll(entries, C1, { batchSize: 7 });
    const got = await kv.getMany(entries.map(([k]) => k), C1);
    expect(got).toEqual(entries.map(([, v]) => v));
    await kv.putAll([["one", { x: 1 }]], C1, { batchSize: 1000 });
    expect(await kv.get("one", C1)).toEqual({ x: 1 });
  }) as Body,

  "kv.putAll.accepts-any-iterable": (async (ctx) => {
    const kv = await ctx.store();
    const m = new Map<string, JsonObject>([["m1", { a: 1 }], ["m2", { a: 2 }]]);
    await kv.putAll(m);
    function* gen(): Generator<[string, JsonObject]> {
      yield ["g1", { g: 1 }];
      yield ["g2", { g: 2 }];
    }
    await kv.putAll(gen());
    expect(await kv.getAll()).toEqual({ m1: { a: 1 }, m2: { a: 2 }, g1: { g: 1 }, g2: { g: 2 } });
  }) as Body,

  "kv.putAll.empty-is-noop": (async (ctx) => {
    const kv = await ctx.store();
    await kv.putAll([]);
    await kv.putAll([], C1);
    expect(await kv.getAll()).toEqual({});
    expect(await kv.collections()).toEqual([]);
  }) as Body,

  "kv.putAll.duplicate-keys-last-wins": (async (ctx) => {
    const kv = await ctx.store();
    await kv.putAll([["d", { n: 1 }], ["e", { n: 0 }], ["d", { n: 2 }], ["d", { n: 3 }]], C1, { batchSize: 2 });
    expect(await kv.get("d", C1)).toEqual({ n: 3 });
    expect(Object.keys(await kv.getAll(C1)).sort()).toEqual(["d", "e"]);
  }) as Body,

  "kv.putAll.validates-whole-batch-first": (async (ctx) => {
    const kv = await ctx.store();
    await kv.put("existing", { keep: true }, C1);
    const bad = [
      ["n1", { ok: 1 }],
      ["existing", { overwritten: true }],
      ["n2", [1, 2] as unknown as JsonObject],
      ["n3", { ok: 3 }],
    ] as [string, JsonObject][];
    await expectStorageError(() => kv.putAll(bad, C1, { batchSize: 1 }), "INVALID_ARGUMENT");
    await expectStorageError(() => kv.putAll([["n1", { ok: 1 }], ["", { ok: 2 }]], C1), "INVALID_ARGUMENT");
    await expectStorageError(
      () => kv.putAll([["n1", { ok: 1 }], [7 as unknown as string, { ok: 2 }]], C1),
      "INVALID_ARGUMENT",
    );
    await expectStorageError(() => kv.putAll([["n1", { ok: 1 }], ["n9", { bad: Number.NaN }]], C1), "INVALID_ARGUMENT");
    expect(await kv.getAll(C1)).toEqual({ existing: { keep: true } });
  }) as Body,

  "kv.putAllSerialized.pulls-text-once-in-order": (async (ctx) => {
    const kv = await ctx.store();
    // An optional capability: a store without it is fine (callers fall back to putAll).
    if (kv.putAllSerialized === undefined) {
      await kv.putAll([["k", { a: 1 }]]);
      expect(await kv.get("k")).toEqual({ a: 1 });
      return;
    }
    const values = Array.from({ length: 25 }, (_, i) => richValue(i));
    const keys = values.map((_, i) => `s${i % 20}`); // 5 duplicates: the last one wins
    const pulled: number[] = [];
    await kv.putAllSerialized(
      keys,
      (i) => {
        pulled.push(i);
        return JSON.stringify(values[i]);
      },
      C1,
      { batchSize: 7 },
    );
    expect(pulled).toEqual(keys.map((_, i) => i));
    for (let k = 0; k < 20; k++) expect(await kv.get(`s${k}`, C1), `s${k}`).toEqual(values[k < 5 ? k + 20 : k]);
    expect((await collect(kv.scan(C1))).length).toBe(20);
    await kv.putAllSerialized([], () => "{}", C2);
    expect(await kv.getAll(C2)).toEqual({});
  }) as Body,

  "kv.putAllSerialized.validates-keys-before-pulling": (async (ctx) => {
    const kv = await ctx.store();
    if (kv.putAllSerialized === undefined) {
      await expectStorageError(() => kv.putAll([["", { a: 1 }]]), "INVALID_ARGUMENT");
      return;
    }
    for (const keys of [["ok", ""], ["ok", 7], ["ok", null], "ok", null] as unknown[]) {
      let pulled = 0;
      const serialize = () => {
        pulled++;
        return "{}";
      };
      await expectStorageError(() => kv.putAllSerialized!(keys as string[], serialize, C1), "INVALID_ARGUMENT");
      expect(pulled, JSON.stringify(keys)).toBe(0);
    }
    await expectStorageError(() => kv.putAllSerialized!(["ok"], () => "{}", C1, { batchSize: 0 }), "INVALID_ARGUMENT");
    await expectStorageError(() => kv.putAllSerialized!(["ok"], () => "{}", ""), "INVALID_ARGUMENT");
    expect(await kv.getAll(C1)).toEqual({});
  }) as Body,

  "kv.getMany.order-and-missing": (async (ctx) => {
    const kv = await ctx.store();
    await kv.putAll([["a", { v: "a" }], ["b", { v: "b" }], ["c", { v: "c" }]], C1);
    expect(await kv.getMany(["c", "missing", "a", "a", "b"], C1)).toEqual([
      { v: "c" },
      undefined,
      { v: "a" },
      { v: "a" },
      { v: "b" },
    ]);
    expect(await kv.getMany([], C1)).toEqual([]);
    expect(await kv.getMany(["a", "b"], "no_such_collection")).toEqual([undefined, undefined]);
  }) as Body,

  "kv.getMany.large-batch": (async (ctx) => {
    const kv = await ctx.store();
    const n = 2_000;
    await kv.putAll(Array.from({ length: n }, (_, i) => [`k${i}`, { i }] as const), C1, { batchSize: 500 });
    const keys = Array.from({ length: n + 10 }, (_, i) => `k${n + 9 - i}`);
    const got = await kv.getMany(keys, C1);
    expect(got).toHaveLength(n + 10);
    got.forEach((v, j) => {
      const i = n + 9 - j;
      if (i >= n) expect(v).toBeUndefined();
      else expect(v).toEqual({ i });
    });
  }) as Body,

  "kv.getAll.whole-collection": (async (ctx) => {
    const kv = await ctx.store();
    expect(await kv.getAll("no_such_collection")).toEqual({});
    await kv.putAll([["x", { x: 1 }], ["y", { y: [2] }]], C1);
    await kv.put("z", { z: 3 }, C2);
    expect(await kv.getAll(C1)).toEqual({ x: { x: 1 }, y: { y: [2] } });
    expect(await kv.getAll(C2)).toEqual({ z: { z: 3 } });
  }) as Body,

  "kv.deleteMany.counts-existing": (async (ctx) => {
    const kv = await ctx.store();
    await kv.putAll([["a", { v: 1 }], ["b", { v: 2 }], ["c", { v: 3 }], ["d", { v: 4 }]], C1);
    expect(await kv.deleteMany(["a", "missing", "c", "a"], C1)).toBe(2);
    expect(await kv.getAll(C1)).toEqual({ b: { v: 2 }, d: { v: 4 } });
    expect(await kv.deleteMany([], C1)).toBe(0);
    expect(await kv.deleteMany(["a", "c"], C1)).toBe(0);
    expect(await kv.deleteMany(["b", "d"], "no_such_collection")).toBe(0);
    expect(await kv.deleteMany(["b", "d"], C1)).toBe(2);
    expect(await kv.getAll(C1)).toEqual({});
  }) as Body,

  "kv.deleteMany.large-batch": (async (ctx) => {
    const kv = await ctx.store();
    const n = 3_000;
    await kv.putAll(Array.from({ length: n }, (_, i) => [`k${i}`, { i }] as const), C1, { batchSize: 1000 });
    const even = Array.from({ length: n / 2 }, (_, i) => `k${i * 2}`);
    expect(await kv.deleteMany(even, C1)).toBe(n / 2);
    const all = await kv.getAll(C1);
    expect(Object.keys(all)).toHaveLength(n / 2);
    expect(all["k1"]).toEqual({ i: 1 });
    expect(all["k0"]).toBeUndefined();
  }) as Body,

  "kv.collections.isolated": (async (ctx) => {
    const kv = await ctx.store();
    await kv.put("same", { c: 1 }, C1);
    await kv.put("same", { c: 2 }, C2);
    await kv.put("same", { c: 0 });
    expect(await kv.get("same", C1)).toEqual({ c: 1 });
    expect(await kv.get("same", C2)).toEqual({ c: 2 });
    expect(await kv.delete("same", C1)).toBe(true);
    expect(await kv.get("same", C1)).toBeUndefined();
    expect(await kv.get("same", C2)).toEqual({ c: 2 });
    expect(await kv.get("same")).toEqual({ c: 0 });
    expect(await kv.deleteMany(["same"], C2)).toBe(1);
    expect(await kv.get("same")).toEqual({ c: 0 });
  }) as Body,

  "kv.collections.prefix-names-do-not-overlap": (async (ctx) => {
    const kv = await ctx.store();
    // S3-style stores that list by an unterminated prefix mix these up.
    const names = ["docstore/data", "docstore/data2", "docstore", "docstore/data/x", "docstore/dat"];
    for (const [i, c] of names.entries()) await kv.put(`k${i}`, { c }, c);
    for (const [i, c] of names.entries()) {
      expect(await kv.getAll(c), c).toEqual({ [`k${i}`]: { c } });
      expect(await collect(kv.scan(c)), c).toEqual([[`k${i}`, { c }]]);
    }
    expect(await kv.deleteMany(["k0", "k1", "k2", "k3", "k4"], "docstore/data")).toBe(1);
    expect(await kv.get("k1", "docstore/data2")).toEqual({ c: "docstore/data2" });
  }) as Body,

  "kv.collections.lists-non-empty": (async (ctx) => {
    const kv = await ctx.store();
    expect(await kv.collections()).toEqual([]);
    await kv.put("a", { v: 1 }, C1);
    await kv.putAll([["b", { v: 1 }], ["c", { v: 2 }]], C2);
    expectSameMembers(await kv.collections(), [C1, C2]);
    await kv.delete("a", C1);
    expectSameMembers(await kv.collections(), [C2]);
    await kv.deleteMany(["b", "c"], C2);
    expect(await kv.collections()).toEqual([]);
  }) as Body,

  "kv.scan.yields-every-entry-once": (async (ctx) => {
    const kv = await ctx.store();
    const n = Math.max(10_000, ctx.capabilities.scanEntries ?? 10_240);
    const batch = 1_000;
    for (let start = 0; start < n; start += batch) {
      // Sequential on purpose: each putAll is one big batch; parallel batches would only stress the backend.
      await kv.putAll(
        Array.from({ length: Math.min(batch, n - start) }, (_, j) => [`s${start + j}`, { i: start + j }] as const),
        C1,
        { batchSize: batch },
      );
    }
    await kv.put("other", { i: -1 }, C2);
    const seen = new Map<string, JsonObject>();
    let count = 0;
    for await (const [k, v] of kv.scan(C1, { batchSize: 500 })) {
      count++;
      expect(seen.has(k), `duplicate ${k}`).toBe(false);
      seen.set(k, v);
    }
    expect(count).toBe(n);
    for (let i = 0; i < n; i += 997) expect(seen.get(`s${i}`)).toEqual({ i });
    let ok = 0;
    for (const [k, v] of seen) if (v["i"] === Number(k.slice(1))) ok++;
    expect(ok).toBe(n);
    expect(seen.has("other")).toBe(false);
  }) as Body,

  "kv.scan.empty-and-unknown-collection": (async (ctx) => {
    const kv = await ctx.store();
    expect(await collect(kv.scan("no_such_collection"))).toEqual([]);
    await kv.put("a", { v: 1 }, C1);
    await kv.delete("a", C1);
    expect(await collect(kv.scan(C1))).toEqual([]);
  }) as Body,

  "kv.scan.batch-size-and-early-exit": (async (ctx) => {
    const kv = await ctx.store();
    await kv.putAll(Array.from({ length: 35 }, (_, i) => [`k${i}`, { i }] as const), C1);
    const all = await collect(kv.scan(C1, { batchSize: 4 }));
    expectSameMembers(all.map(([k]) => k), Array.from({ length: 35 }, (_, i) => `k${i}`));
    let n = 0;
    for await (const _ of kv.scan(C1, { batchSize: 2 })) {
      if (++n === 3) break;
    }
    expect(n).toBe(3);
    expect(Object.keys(await kv.getAll(C1))).toHaveLength(35);
  }) as Body,

  "kv.concurrent.parallel-puts-all-land": (async (ctx) => {
    const kv = await ctx.store();
    await Promise.all(Array.from({ length: 100 }, (_, i) => kv.put(`p${i}`, { i }, C1)));
    await Promise.all([
      kv.putAll(Array.from({ length: 50 }, (_, i) => [`q${i}`, { i }] as const), C1),
      kv.putAll(Array.from({ length: 50 }, (_, i) => [`r${i}`, { i }] as const), C1),
    ]);
    const all = await kv.getAll(C1);
    expect(Object.keys(all)).toHaveLength(200);
    for (let i = 0; i < 100; i++) expect(all[`p${i}`]).toEqual({ i });
  }) as Body,

  "kv.invalid.non-object-values": (async (ctx) => {
    const kv = await ctx.store();
    await kv.put("k", { original: true });
    class Thing {
      a = 1;
    }
    const bad: unknown[] = [
      null,
      undefined,
      "string",
      42,
      true,
      [1, 2],
      [],
      new Date(0),
      new Map([["a", 1]]),
      new Thing(),
      () => 1,
      Symbol("s"),
      10n,
      new Uint8Array([1]),
    ];
    for (const v of bad) {
      await expectStorageError(() => kv.put("k", v as JsonObject), "INVALID_ARGUMENT");
      await expectStorageError(() => kv.putAll([["k", v as JsonObject]]), "INVALID_ARGUMENT");
    }
    expect(await kv.get("k")).toEqual({ original: true });
    expect(Object.keys(await kv.getAll())).toEqual(["k"]);
  }) as Body,

  "kv.invalid.non-json-nested-values": (async (ctx) => {
    const kv = await ctx.store();
    await kv.put("k", { original: true });
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic["self"] = cyclic;
    const bad: unknown[] = [
      { n: Number.NaN },
      { n: Number.POSITIVE_INFINITY },
      { deep: { n: Number.NEGATIVE_INFINITY } },
      { u: undefined },
      { arr: [1, undefined] },
      // eslint-disable-next-line no-sparse-arrays
      { sparse: [1, , 3] },
      { f: () => 1 },
      { d: new Date(0) },
      { b: 1n },
      { s: Symbol("x") },
      cyclic,
      { nested: { m: new Map() } },
      // Deeper than MAX_JSON_DEPTH (100): INVALID_ARGUMENT, never a stack overflow.
      nestedLevels(20_000),
      nestedLevels(MAX_JSON_DEPTH + 1),
    ];
    for (const v of bad) await expectStorageError(() => kv.put("k", v as JsonObject), "INVALID_ARGUMENT");
    await expectStorageError(() => kv.putAll([["k2", { ok: 1 }], ["k3", nestedLevels(20_000) as JsonObject]]), "INVALID_ARGUMENT");
    expect(await kv.get("k")).toEqual({ original: true });
    expect(await kv.get("k2")).toBeUndefined();
    // MAX_JSON_DEPTH levels exactly are fine.
    await kv.put("edge", nestedLevels(MAX_JSON_DEPTH) as JsonObject);
    expect(await kv.get("edge")).toEqual(nestedLevels(MAX_JSON_DEPTH));
  }) as Body,

  "kv.invalid.keys-and-collections": (async (ctx) => {
    const kv = await ctx.store();
    await kv.put("k", { original: true }, C1);
    const badKeys: unknown[] = ["", 1, null, undefined, {}, ["k"], Symbol("k")];
    for (const k of badKeys) {
      const key = k as string;
      await expectStorageError(() => kv.put(key, { x: 1 }, C1), "INVALID_ARGUMENT");
      await expectStorageError(() => kv.get(key, C1), "INVALID_ARGUMENT");
      await expectStorageError(() => kv.delete(key, C1), "INVALID_ARGUMENT");
      await expectStorageError(() => kv.getMany(["k", key], C1), "INVALID_ARGUMENT");
      await expectStorageError(() => kv.deleteMany(["k", key], C1), "INVALID_ARGUMENT");
    }
    const badCollections: unknown[] = ["", 5, null, {}];
    for (const c of badCollections) {
      const coll = c as string;
      await expectStorageError(() => kv.put("k", { x: 1 }, coll), "INVALID_ARGUMENT");
      await expectStorageError(() => kv.putAll([["k", { x: 1 }]], coll), "INVALID_ARGUMENT");
      await expectStorageError(() => kv.get("k", coll), "INVALID_ARGUMENT");
      await expectStorageError(() => kv.getAll(coll), "INVALID_ARGUMENT");
      await expectStorageError(() => kv.delete("k", coll), "INVALID_ARGUMENT");
      await expectStorageError(() => collect(kv.scan(coll)), "INVALID_ARGUMENT");
    }
    await expectStorageError(() => kv.putAll([["a", { x: 1 }]], C1, { batchSize: 0 }), "INVALID_ARGUMENT");
    await expectStorageError(() => kv.putAll([["a", { x: 1 }]], C1, { batchSize: 1.5 }), "INVALID_ARGUMENT");
    expect(await kv.getAll(C1)).toEqual({ k: { original: true } });
  }) as Body,

  "kv.hostile.keys": (async (ctx) => {
    const kv = await ctx.store();
    await kv.put("sentinel", { sentinel: true }, C1);
    const accepted: string[] = [];
    for (const [i, s] of [...HOSTILE_STRINGS, ...PROTOTYPE_KEYS].entries()) {
      if (await acceptedOrInvalid(() => kv.put(s, { i, s }, C1), `key ${label(s)}`)) accepted.push(s);
    }
    expect(accepted.length, "a store must accept at least the plain keys").toBeGreaterThan(0);
    const all = [...HOSTILE_STRINGS, ...PROTOTYPE_KEYS];
    for (const s of accepted) expect(await kv.get(s, C1), `key ${label(s)}`).toEqual({ i: all.indexOf(s), s });
    const got = await kv.getAll(C1);
    expectSameMembers(Object.keys(got), [...accepted, "sentinel"]);
    expect(({} as Record<string, unknown>)["i"], "Object.prototype must not be polluted").toBeUndefined();
    expect(got["sentinel"]).toEqual({ sentinel: true });
    const many = await kv.getMany(accepted, C1);
    accepted.forEach((s, j) => expect(many[j], `getMany ${label(s)}`).toEqual({ i: all.indexOf(s), s }));
    const scanned = await collect(kv.scan(C1));
    expectSameMembers(scanned.map(([k]) => k), [...accepted, "sentinel"]);
    // Deleting every accepted key deletes exactly those: the sentinel survives.
    expect(await kv.deleteMany(accepted, C1)).toBe(accepted.length);
    expect(await kv.getAll(C1)).toEqual({ sentinel: { sentinel: true } });
  }) as Body,

  "kv.hostile.collections": (async (ctx) => {
    const kv = await ctx.store();
    await kv.put("k", { sentinel: true }, C1);
    const accepted: string[] = [];
    for (const s of [...HOSTILE_STRINGS, ...PROTOTYPE_KEYS]) {
      if (await acceptedOrInvalid(() => kv.put("k", { collection: s }, s), `collection ${label(s)}`)) accepted.push(s);
    }
    expect(accepted.length).toBeGreaterThan(0);
    for (const s of accepted) {
      expect(await kv.getAll(s), `collection ${label(s)}`).toEqual({ k: { collection: s } });
    }
    expectSameMembers(await kv.collections(), [...accepted, C1]);
    expect(await kv.getAll(C1)).toEqual({ k: { sentinel: true } });
    for (const s of accepted) expect(await kv.delete("k", s), `delete in ${label(s)}`).toBe(true);
    expect(await kv.collections()).toEqual([C1]);
  }) as Body,

  "kv.hostile.values": (async (ctx) => {
    const kv = await ctx.store();
    const accepted: [string, JsonObject][] = [];
    for (const [i, s] of [...HOSTILE_STRINGS, ...PROTOTYPE_KEYS].entries()) {
      const value: JsonObject = { text: s, list: [s, s], nested: { [s]: s } };
      if (await acceptedOrInvalid(() => kv.put(`v${i}`, value, C1), `value ${label(s)}`)) accepted.push([`v${i}`, value]);
    }
    expect(accepted.length).toBeGreaterThan(HOSTILE_STRINGS.length / 2);
    const all = await kv.getAll(C1);
    expect(Object.keys(all)).toHaveLength(accepted.length);
    for (const [k, v] of accepted) expect(all[k], k).toEqual(v);
    // Own "__proto__" keys inside values stay data, never become prototypes.
    const proto = accepted.find(([, v]) => v["text"] === "__proto__");
    if (proto) {
      const got = (await kv.get(proto[0], C1))!;
      expect(Object.prototype.hasOwnProperty.call(got["nested"], "__proto__")).toBe(true);
    }
  }) as Body,

  "kv.randomized.model-check": (async (ctx) => {
    const kv = await ctx.store();
    const rand = seededRandom(20240611);
    const model = new Map<string, Map<string, JsonObject>>();
    const colls = [C1, C2, "data"];
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    for (let step = 0; step < 200; step++) {
      const c = pick(colls);
      const m = model.get(c) ?? new Map<string, JsonObject>();
      model.set(c, m);
      const key = `r${Math.floor(rand() * 20)}`;
      const op = rand();
      if (op < 0.35) {
        const v = { step, r: Math.floor(rand() * 1000) };
        await kv.put(key, v, c);
        m.set(key, v);
      } else if (op < 0.5) {
        const batch = Array.from({ length: 1 + Math.floor(rand() * 5) }, (_, j) => [`r${Math.floor(rand() * 20)}`, { step, j }] as const);
        await kv.putAll(batch, c);
        for (const [k, v] of batch) m.set(k, v);
      } else if (op < 0.7) {
        expect(await kv.delete(key, c), `step ${step} delete`).toBe(m.delete(key));
      } else if (op < 0.8) {
        const keys = [key, `r${Math.floor(rand() * 20)}`];
        const expected = new Set(keys.filter((k) => m.has(k))).size;
        for (const k of keys) m.delete(k);
        expect(await kv.deleteMany(keys, c), `step ${step} deleteMany`).toBe(expected);
      } else {
        expect(await kv.get(key, c), `step ${step} get`).toEqual(m.get(key));
      }
    }
    for (const c of colls) expect(await kv.getAll(c)).toEqual(Object.fromEntries(model.get(c) ?? []));
  }) as Body,
} satisfies Record<string, Body>;

export type KVTestId = keyof typeof kvTests;

/**
 * The KVStore conformance suite. `create` must return a fresh, isolated store per test (unique
 * key prefix / table / database); tests never depend on each other's data.
 *
 * ```ts
 * describeKVStore({ name: "RedisKVStore", create: () => new RedisKVStore({ client, prefix: uniqueNamespace("kv") }) });
 * ```
 */
export const describeKVStore = defineSuite<KVStore, KVTestId, KVCapabilities>("KVStore", kvTests, { timeout: 120_000 });
export { PROTOTYPE_KEYS, acceptedOrInvalid } from "./kv-helpers.js";
