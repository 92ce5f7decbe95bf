// Test-only (excluded from the build): LangChain's own code paths (VectorStore API, asRetriever,
// SelfQueryRetriever, MMR, MultiVectorRetriever) over a LarderVectorStore on the given Larder
// store, compared with LangChain's MemoryVectorStore on the same data.
import { expect, it } from "vitest";
import { expectStorageError } from "@larder/conformance";
import { filterOperatorsUsed, type MetadataFilters } from "@larder/core/filters";
import type { VectorStore as LarderStore } from "@larder/core/vector";
import { Document, type DocumentInterface } from "@langchain/core/documents";
import { Comparison, FunctionalTranslator, Operation, StructuredQuery, type FilterDirective } from "@langchain/core/structured_query";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import { MemoryVectorStore } from "@langchain/classic/vectorstores/memory";
import { SelfQueryRetriever } from "@langchain/classic/retrievers/self_query";
import { AttributeInfo } from "@langchain/classic/schema/query_constructor";
import { LarderTranslator, LarderVectorStore } from "../index.js";
import { cosine, CountingEmbeddings, movies } from "./fakes.js";

type Meta = Record<string, unknown>;

const eq = (attr: string, v: string | number | boolean) => new Comparison("eq", attr, v);
const gt = (attr: string, v: string | number) => new Comparison("gt", attr, v);
const gte = (attr: string, v: string | number) => new Comparison("gte", attr, v);
const lt = (attr: string, v: string | number) => new Comparison("lt", attr, v);
const ne = (attr: string, v: string | number | boolean) => new Comparison("ne", attr, v);
const and = (...args: FilterDirective[]) => new Operation("and", args);
const or = (...args: FilterDirective[]) => new Operation("or", args);
const not = (arg: FilterDirective) => new Operation("not", [arg]);

function ids(docs: readonly DocumentInterface[]): (string | undefined)[] {
  return docs.map((d) => d.id);
}

/**
 * The reference: every movie the predicate keeps, ranked by cosine similarity to the query
 * (float64), ties by id; the first k ids.
 */
function expected(emb: CountingEmbeddings, query: string, k: number, keep: (m: Meta) => boolean): string[] {
  const q = emb.embed(query);
  return movies()
    .filter((d) => keep(d.metadata))
    .map((d) => ({ id: d.id!, s: cosine(q, emb.embed(d.pageContent)) }))
    .sort((a, b) => b.s - a.s || (a.id < b.id ? -1 : 1))
    .slice(0, k)
    .map((x) => x.id);
}

/**
 * Runs `search` with `filter` and checks its result when the store lists every operator the filter
 * uses; otherwise the search must fail with UNSUPPORTED (never run with the filter ignored).
 * Resolves whether the search ran.
 */
async function searchOrUnsupported<T>(store: LarderStore, filter: MetadataFilters, search: () => Promise<T>, check: (r: T) => void): Promise<boolean> {
  const supported = new Set(store.capabilities.filterOperators);
  if ([...filterOperatorsUsed(filter)].every((op) => supported.has(op))) {
    check(await search());
    return true;
  }
  await expectStorageError(search, "UNSUPPORTED");
  return false;
}

export function describeVectorAdapter(create: () => Promise<LarderStore> | LarderStore): void {
  async function setup() {
    const emb = new CountingEmbeddings();
    const larder = new LarderVectorStore(emb, { store: await create() });
    const added = await larder.addDocuments(movies());
    const memory = await MemoryVectorStore.fromDocuments(movies(), emb);
    return { emb, larder, memory, added };
  }

  it("addDocuments returns the documents' ids; options.ids win over Document.id; without either a UUID", async () => {
    const { larder, added } = await setup();
    expect(added).toEqual(movies().map((d) => d.id));
    const [given] = await larder.addDocuments([new Document({ id: "ignored", pageContent: "space opera", metadata: { a: 1 } })], { ids: ["chosen"] });
    expect(given).toBe("chosen");
    const [generated] = await larder.addDocuments([new Document({ pageContent: "no id at all", metadata: {} })]);
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids(await larder.getByIds(["chosen", "ignored", generated!]))).toEqual(["chosen", generated]);
    // A refused batch writes nothing.
    await expectStorageError(() => larder.addDocuments([new Document({ pageContent: "x", metadata: {} })], { ids: ["a", "b"] }), "INVALID_ARGUMENT");
    await expectStorageError(() => larder.addVectors([new CountingEmbeddings().embed("x")], [new Document({ pageContent: "x", metadata: { bad: new Date(0) } })], { ids: ["bad-date"] }), "INVALID_ARGUMENT");
    expect(await larder.getByIds(["a", "b", "bad-date"])).toEqual([]);
  });

  it("fromTexts / fromDocuments build a store on the given Larder store", async () => {
    const emb = new CountingEmbeddings();
    const fromTexts = await LarderVectorStore.fromTexts(["robots and space", "love"], [{ n: 1 }, { n: 2 }], emb, { store: await create() });
    const all = await fromTexts.getByFilter();
    expect(all.map((d) => [d.pageContent, d.metadata]).sort((a, b) => String(a[0]).localeCompare(String(b[0])))).toEqual([
      ["love", { n: 2 }],
      ["robots and space", { n: 1 }],
    ]);
    const fromDocs = await LarderVectorStore.fromDocuments(movies().slice(0, 3), emb, { store: await create() });
    expect(ids(await fromDocs.getByIds(["m02", "m00"]))).toEqual(["m02", "m00"]);
  });

  it("getByIds returns text, metadata (nested, typed) and id as added, in the order asked, unknown ids skipped", async () => {
    const { larder } = await setup();
    const byId = new Map(movies().map((d) => [d.id, d]));
    const got = await larder.getByIds(["m10", "nope", "m01", "m05"]);
    expect(ids(got)).toEqual(["m10", "m01", "m05"]);
    for (const d of got) {
      const src = byId.get(d.id)!;
      expect(d.pageContent).toBe(src.pageContent);
      expect(d.metadata).toStrictEqual(src.metadata);
    }
    expect(got[0]!.metadata["director"]).toEqual({ name: "Director 10", awards: [10, 11] });
    expect(got[1]!.metadata["code"]).toBe("1991"); // a string stays a string
  });

  it("similaritySearchWithScore: the same ids, order and scores as LangChain's MemoryVectorStore", async () => {
    const { larder, memory } = await setup();
    for (const [query, k] of [["robots in space", 5], ["a family drama about love and music", 12], ["heist", 40]] as const) {
      const mine = await larder.similaritySearchWithScore(query, k);
      const theirs = await memory.similaritySearchWithScore(query, k);
      expect(mine.map(([d]) => d.id)).toEqual(theirs.map(([d]) => d.id));
      mine.forEach(([d, s], i) => {
        expect(s).toBeCloseTo(theirs[i]![1], 5);
        expect(d.pageContent).toBe(theirs[i]![0].pageContent);
        expect(d.metadata).toStrictEqual(theirs[i]![0].metadata);
      });
    }
  });

  it("filters from the same structured query: the same results as MemoryVectorStore (FunctionalTranslator)", async () => {
    const { larder, memory } = await setup();
    const mine = new LarderTranslator();
    const theirs = new FunctionalTranslator();
    const cases: [string, FilterDirective][] = [
      ["robots", eq("genre", "science fiction")],
      ["love", gt("year", 2000)],
      ["time travel", and(eq("genre", "drama"), gte("rating", 5))],
      ["ocean detective", and(lt("year", 2010), ne("genre", "comedy"), eq("released", true))],
    ];
    let ran = 0;
    for (const [query, filter] of cases) {
      const sq = new StructuredQuery(query, filter);
      const larderFilter = mine.visitStructuredQuery(sq).filter!;
      const b = await memory.similaritySearch(query, 6, theirs.visitStructuredQuery(sq).filter as never);
      const search = () => larder.similaritySearch(query, 6, larderFilter);
      if (await searchOrUnsupported(larder.store, larderFilter, search, (a) => expect(ids(a)).toEqual(ids(b)))) ran++;
      expect(b.length).toBeGreaterThan(0);
    }
    expect(ran).toBeGreaterThan(0); // equality works on every store
  });

  it("nested and/or/not and typed comparisons (which MemoryVectorStore's FunctionalTranslator gets wrong or refuses)", async () => {
    const { emb, larder, memory } = await setup();
    const t = new LarderTranslator();
    // (drama after 2000) or not released
    const nested = new StructuredQuery("family", or(and(eq("genre", "drama"), gt("year", 2000)), not(eq("released", true))));
    const want = expected(emb, "family", 8, (m) => (m["genre"] === "drama" && (m["year"] as number) > 2000) || m["released"] !== true);
    const nestedFilter = t.visitStructuredQuery(nested).filter!;
    await searchOrUnsupported(larder.store, nestedFilter, () => larder.similaritySearch("family", 8, nestedFilter), (got) => expect(ids(got)).toEqual(want));
    // The same nesting with equality only (every store has it).
    const eqNested = new StructuredQuery("family", or(and(eq("genre", "drama"), eq("released", true)), not(ne("genre", "comedy"))));
    const wantEq = expected(emb, "family", 8, (m) => (m["genre"] === "drama" && m["released"] === true) || m["genre"] === "comedy");
    expect(ids(await larder.similaritySearch("family", 8, t.visitStructuredQuery(eqNested).filter))).toEqual(wantEq);
    // Number 2010 is compared with numbers only: the codes stored as strings ("1991", ...) never match.
    const typed = new StructuredQuery("music", gt("code", 2010));
    const wantTyped = expected(emb, "music", 40, (m) => typeof m["code"] === "number" && m["code"] > 2010);
    const typedFilter = t.visitStructuredQuery(typed).filter!;
    await searchOrUnsupported(larder.store, typedFilter, () => larder.similaritySearch("music", 40, typedFilter), (got) => {
      expect(ids(got)).toEqual(wantTyped);
      expect(got.every((d) => typeof d.metadata["code"] === "number")).toBe(true);
    });
    // Equality is typed too: movie 13's code is the string "2003", which is not the number 2003.
    const typedEq = t.visitStructuredQuery(new StructuredQuery("music", eq("code", 2003))).filter;
    expect(await larder.similaritySearch("music", 40, typedEq)).toEqual([]);
    const typedEqString = t.visitStructuredQuery(new StructuredQuery("music", eq("code", "2003"))).filter;
    expect(ids(await larder.similaritySearch("music", 40, typedEqString))).toEqual(["m13"]);
    // MemoryVectorStore: `or` matches everything (its reduce starts from true) and JS coerces "2021" > 2010.
    const f = new FunctionalTranslator();
    const memOr = await memory.similaritySearch("family", 40, f.visitStructuredQuery(new StructuredQuery("family", or(eq("genre", "drama"), eq("genre", "comedy")))).filter as never);
    expect(memOr.length).toBe(40);
    const memTyped = await memory.similaritySearch("music", 40, f.visitStructuredQuery(typed).filter as never);
    expect(memTyped.some((d) => typeof d.metadata["code"] === "string")).toBe(true);
  });

  it("asRetriever().invoke(): the k nearest documents, with a Larder filter too", async () => {
    const { emb, larder } = await setup();
    expect(ids(await larder.asRetriever(4).invoke("dinosaurs and war"))).toEqual(expected(emb, "dinosaurs and war", 4, () => true));
    const filter: MetadataFilters = { filters: [{ key: "tags", operator: "contains", value: "space" }, { key: "released", operator: "==", value: true }] };
    const got = await larder.asRetriever({ k: 3, filter }).invoke("space robots");
    expect(ids(got)).toEqual(expected(emb, "space robots", 3, (m) => (m["tags"] as string[]).includes("space") && m["released"] === true));
    const ranged: MetadataFilters = { filters: [{ key: "tags", operator: "contains", value: "space" }, { key: "rating", operator: ">=", value: 4 }] };
    await searchOrUnsupported(larder.store, ranged, () => larder.asRetriever({ k: 3, filter: ranged }).invoke("space robots"), (r) =>
      expect(ids(r)).toEqual(expected(emb, "space robots", 3, (m) => (m["tags"] as string[]).includes("space") && (m["rating"] as number) >= 4)),
    );
  });

  it("SelfQueryRetriever.fromLLM with a fake chat model: the generated filter goes through LarderTranslator", async () => {
    const { emb, larder } = await setup();
    const filter = 'and(eq("genre", "science fiction"), or(gt("year", 2000), not(eq("released", true))))';
    const llm = new FakeListChatModel({ responses: ["```json\n" + JSON.stringify({ query: "robots", filter }) + "\n```"] });
    const retriever = SelfQueryRetriever.fromLLM({
      llm,
      vectorStore: larder,
      documentContents: "Short descriptions of movies",
      attributeInfo: [
        new AttributeInfo("genre", "string", "The genre of the movie"),
        new AttributeInfo("year", "integer", "The year the movie was released"),
        new AttributeInfo("released", "boolean", "Whether the movie is out"),
      ],
      structuredQueryTranslator: new LarderTranslator(),
      searchParams: { k: 5 },
    });
    const want = expected(emb, "robots", 5, (m) => m["genre"] === "science fiction" && ((m["year"] as number) > 2000 || m["released"] !== true));
    expect(want.length).toBeGreaterThan(0);
    const generated: MetadataFilters = { filters: [{ key: "year", operator: ">", value: 2000 }] };
    await searchOrUnsupported(larder.store, generated, () => retriever.invoke("science fiction movies about robots, recent or unreleased"), (got) =>
      expect(ids(got)).toEqual(want),
    );
  });

  it("maxMarginalRelevanceSearch and asRetriever({searchType: 'mmr'}): MemoryVectorStore's picks, or UNSUPPORTED", async () => {
    const { larder, memory } = await setup();
    const store = larder.store;
    if (!store.capabilities.modes.includes("mmr")) {
      await expectStorageError(() => larder.maxMarginalRelevanceSearch("robots", { k: 3 }), "UNSUPPORTED");
      return;
    }
    for (const lambda of [0.5, 0.2]) {
      const opts = { k: 4, fetchK: 12, lambda };
      const mine = await larder.maxMarginalRelevanceSearch("robots in space", opts);
      const theirs = await memory.maxMarginalRelevanceSearch("robots in space", opts);
      expect(ids(mine)).toEqual(ids(theirs));
    }
    const r = larder.asRetriever({ k: 3, searchType: "mmr", searchKwargs: { fetchK: 10, lambda: 0.3 } });
    expect(ids(await r.invoke("love and music"))).toEqual(ids(await memory.maxMarginalRelevanceSearch("love and music", { k: 3, fetchK: 10, lambda: 0.3 })));
    // With a filter: only matching candidates.
    const filtered = await larder.maxMarginalRelevanceSearch("robots", { k: 3, fetchK: 10, filter: { filters: [{ key: "genre", operator: "==", value: "comedy" }] } });
    expect(filtered.length).toBe(3);
    expect(filtered.every((d) => d.metadata["genre"] === "comedy")).toBe(true);
  });

  it("a store without the mmr mode: maxMarginalRelevanceSearch is UNSUPPORTED (no silent fallback)", async () => {
    const inner = await create();
    // The same store, declaring no mmr mode.
    const withoutMmr: LarderStore = {
      storesText: inner.storesText,
      capabilities: { ...inner.capabilities, modes: inner.capabilities.modes.filter((m) => m !== "mmr") },
      add: (n) => inner.add(n),
      delete: (r) => inner.delete(r),
      deleteNodes: (a) => inner.deleteNodes(a),
      getNodes: (a) => inner.getNodes(a),
      clear: () => inner.clear(),
      query: (q) => inner.query(q),
    };
    const larder = new LarderVectorStore(new CountingEmbeddings(), { store: withoutMmr });
    await larder.addDocuments(movies().slice(0, 5));
    await expectStorageError(() => larder.maxMarginalRelevanceSearch("robots", { k: 2 }), "UNSUPPORTED");
    await expect(larder.asRetriever({ k: 2, searchType: "mmr" }).invoke("robots")).rejects.toMatchObject({ code: "UNSUPPORTED" });
  });

  it("delete by ids, by a Larder filter, both; neither is INVALID_ARGUMENT and deletes nothing", async () => {
    const { larder } = await setup();
    await larder.delete({ ids: ["m00", "m01"] });
    expect(ids(await larder.getByIds(["m00", "m01", "m02"]))).toEqual(["m02"]);
    await larder.delete({ filter: { filters: [{ key: "genre", operator: "==", value: "comedy" }] } });
    expect((await larder.getByFilter()).some((d) => d.metadata["genre"] === "comedy")).toBe(false);
    await larder.delete({ ids: ["m03", "m07"], filter: { filters: [{ key: "released", operator: "==", value: false }] } });
    const left = new Set(ids(await larder.getByFilter()));
    expect(left.has("m03")).toBe(movies()[3]!.metadata["released"] !== false);
    expect(left.has("m07")).toBe(movies()[7]!.metadata["released"] !== false);
    expect(left.has("m03") && left.has("m07")).toBe(false); // m03 is unreleased: deleted
    const before = left.size;
    await expectStorageError(() => larder.delete(), "INVALID_ARGUMENT");
    await expectStorageError(() => larder.delete({}), "INVALID_ARGUMENT");
    expect((await larder.getByFilter()).length).toBe(before);
  });

  it("refDocIdKey: chunks remember their source document; deleteRefDoc removes all of them, metadata unchanged", async () => {
    const larder = new LarderVectorStore(new CountingEmbeddings(), { store: await create(), refDocIdKey: "source" });
    const chunk = (id: string, source: unknown, text: string) => new Document({ id, pageContent: text, metadata: { source, n: id } });
    await larder.addDocuments([
      chunk("a1", "a.md", "robots part one"),
      chunk("a2", "a.md", "robots part two"),
      chunk("b1", "b.md", "love story"),
      chunk("c1", 42, "a number is not a document id"),
    ]);
    await larder.deleteRefDoc("a.md");
    await larder.deleteRefDoc("unknown.md");
    const left = await larder.getByIds(["a1", "a2", "b1", "c1"]);
    expect(ids(left)).toEqual(["b1", "c1"]);
    expect(left[0]!.metadata).toStrictEqual({ source: "b.md", n: "b1" });
    await expectStorageError(() => larder.deleteRefDoc(""), "INVALID_ARGUMENT");
    expect(() => new LarderVectorStore(new CountingEmbeddings(), { store: larder.store, refDocIdKey: "" })).toThrow(/refDocIdKey/);
  });

  it("a translator error reaches the caller before any search (unsupported LIKE pattern)", async () => {
    const { larder } = await setup();
    const t = new LarderTranslator();
    const sq = new StructuredQuery("x", new Comparison("like" as never, "genre", "sci%"));
    await expectStorageError(async () => larder.similaritySearch("x", 3, t.visitStructuredQuery(sq).filter), "UNSUPPORTED");
  });
}
