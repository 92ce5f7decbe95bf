import { describe, expect, it } from "vitest";
import { expectStorageError } from "@larder/conformance";
import { matchesFilters, type MetadataFilters } from "@larder/core/filters";
import { SimpleVectorStore } from "@larder/core/vector";
import { Comparison, Operation, StructuredQuery, type Comparator, type FilterDirective } from "@langchain/core/structured_query";
import { LarderByteStore, LarderChatMessageHistory, LarderKVBaseStore, LarderTranslator, LarderVectorStore } from "./index.js";
import { CountingEmbeddings } from "./testing/fakes.js";

const t = new LarderTranslator();
const filterOf = (f: FilterDirective) => t.visitStructuredQuery(new StructuredQuery("q", f)).filter;
const cmp = (c: string, attr: string, v: unknown) => new Comparison(c as Comparator, attr, v);

describe("LarderTranslator", () => {
  it("maps the six comparators, keeping value types", () => {
    const pairs = [["eq", "=="], ["ne", "!="], ["gt", ">"], ["gte", ">="], ["lt", "<"], ["lte", "<="]] as const;
    for (const [c, op] of pairs) {
      expect(filterOf(cmp(c, "year", 2000))).toEqual({ filters: [{ key: "year", operator: op, value: 2000 }], condition: "and" });
    }
    expect(filterOf(cmp("eq", "code", "2000"))!.filters[0]).toEqual({ key: "code", operator: "==", value: "2000" });
    expect(filterOf(cmp("eq", "released", true))!.filters[0]).toEqual({ key: "released", operator: "==", value: true });
  });

  it("nests and/or/not at any depth, with the reference evaluator's meaning", () => {
    const f = filterOf(
      new Operation("or", [
        new Operation("and", [cmp("eq", "genre", "drama"), cmp("gt", "year", 2000)]),
        new Operation("not", [new Operation("or", [cmp("eq", "released", true), cmp("lt", "rating", 3)])]),
      ]),
    ) as MetadataFilters;
    expect(f.condition).toBe("or");
    expect(matchesFilters({ genre: "drama", year: 2001, released: true }, f)).toBe(true);
    expect(matchesFilters({ genre: "drama", year: 1999, released: true }, f)).toBe(false);
    expect(matchesFilters({ genre: "comedy", released: false, rating: 4 }, f)).toBe(true);
    expect(matchesFilters({ genre: "comedy", released: false, rating: 2 }, f)).toBe(false);
    expect(matchesFilters({ year: "2001", genre: "drama" }, f)).toBe(true); // via not(...): released missing, rating missing
  });

  it("the Python IR's in, nin, contain and like where Larder has the same meaning", () => {
    expect(filterOf(cmp("in", "genre", ["a", "b"]))!.filters[0]).toEqual({ key: "genre", operator: "in", value: ["a", "b"] });
    expect(filterOf(cmp("nin", "year", [1, 2]))!.filters[0]).toEqual({ key: "year", operator: "nin", value: [1, 2] });
    expect(filterOf(cmp("contain", "tags", "x"))!.filters[0]).toEqual({ key: "tags", operator: "contains", value: "x" });
    expect(filterOf(cmp("like", "title", "%robot%"))!.filters[0]).toEqual({ key: "title", operator: "text_match", value: "robot" });
    expect(filterOf(cmp("like", "title", "Robots"))!.filters[0]).toEqual({ key: "title", operator: "==", value: "Robots" });
  });

  it("refuses what has no exact Larder meaning or is malformed, never dropping it", async () => {
    for (const pattern of ["robot%", "%robot", "r_bot", "%ro%bot%", "%%", "%a\\%b%"]) {
      await expectStorageError(() => filterOf(cmp("like", "title", pattern)), "UNSUPPORTED");
    }
    await expectStorageError(() => filterOf(cmp("regex", "title", "x")), "UNSUPPORTED");
    await expectStorageError(() => filterOf(cmp("gt", "released", true)), "INVALID_ARGUMENT");
    await expectStorageError(() => filterOf(cmp("eq", "x", { a: 1 })), "INVALID_ARGUMENT");
    await expectStorageError(() => filterOf(cmp("eq", "x", null)), "INVALID_ARGUMENT");
    await expectStorageError(() => filterOf(cmp("eq", "x", Number.NaN)), "INVALID_ARGUMENT");
    await expectStorageError(() => filterOf(cmp("in", "x", "a")), "INVALID_ARGUMENT");
    await expectStorageError(() => filterOf(cmp("in", "x", [{}])), "INVALID_ARGUMENT");
    await expectStorageError(() => filterOf(cmp("eq", "", 1)), "INVALID_ARGUMENT");
    await expectStorageError(() => filterOf(new Operation("and", [])), "INVALID_ARGUMENT");
    await expectStorageError(() => filterOf(new Operation("xor" as never, [cmp("eq", "a", 1)])), "INVALID_ARGUMENT");
  });

  it("no filter in the query gives no filter", () => {
    expect(t.visitStructuredQuery(new StructuredQuery("q"))).toEqual({});
  });

  it("mergeFilters: and/or nest both, replace keeps the generated one, a lone default is kept", () => {
    const a: MetadataFilters = { filters: [{ key: "a", operator: "==", value: 1 }] };
    const b: MetadataFilters = { filters: [{ key: "b", operator: "==", value: 2 }] };
    expect(t.mergeFilters(a, b, "and")).toEqual({ filters: [a, b], condition: "and" });
    expect(t.mergeFilters(a, b, "or")).toEqual({ filters: [a, b], condition: "or" });
    expect(t.mergeFilters(a, b, "replace")).toBe(b);
    expect(t.mergeFilters(undefined, b)).toBe(b);
    expect(t.mergeFilters(a, undefined, "and")).toBe(a);
    expect(t.mergeFilters(a, undefined, "replace")).toBeUndefined();
    expect(t.mergeFilters(undefined, undefined)).toBeUndefined();
  });
});

describe("adapter constructors", () => {
  it("refuse what they cannot work with", async () => {
    const emb = new CountingEmbeddings();
    await expectStorageError(() => new LarderVectorStore(emb, { store: undefined as never }), "INVALID_ARGUMENT");
    const inner = new SimpleVectorStore();
    const noText = { storesText: false, capabilities: inner.capabilities, add: inner.add.bind(inner), query: inner.query.bind(inner) } as never;
    await expectStorageError(() => new LarderVectorStore(emb, { store: noText }), "UNSUPPORTED");
    await expectStorageError(() => new LarderByteStore({ kv: {} as never }), "INVALID_ARGUMENT");
    await expectStorageError(() => new LarderKVBaseStore({ kv: undefined as never }), "INVALID_ARGUMENT");
    await expectStorageError(() => new LarderChatMessageHistory({ chatStore: undefined as never, sessionId: "s" }), "INVALID_ARGUMENT");
    await expectStorageError(() => new LarderChatMessageHistory({ chatStore: { addMessages: () => {} } as never, sessionId: "" }), "INVALID_ARGUMENT");
  });
});
