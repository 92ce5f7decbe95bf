import { expect } from "vitest";
import type { DocStore } from "@larder/core/docstore";
import { Document, ImageNode, IndexNode, NodeRelationship, TextNode, type BaseNode } from "@larder/core/schema";
import { defineSuite, expectStorageError, type SuiteOptions, type TestBody } from "./harness.js";
import { HOSTILE_STRINGS } from "./hostile.js";
import {
  chunk,
  doc,
  kvBacked,
  openAnotherFor,
  overlappingDocumentsWorkload,
  refDocBookkeepingProblems,
  registerOpenAnother,
  type OpenAnother,
} from "./docstore-helpers.js";
import { PROTOTYPE_KEYS, acceptedOrInvalid, expectSameMembers, label } from "./kv-helpers.js";

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface DocStoreCapabilities {}

type Body = TestBody<DocStore, DocStoreCapabilities>;

const json = (n: BaseNode | undefined) => n?.toJSON();

async function expectRefDoc(ds: DocStore, refDocId: string, nodeIds: string[] | undefined, msg?: string): Promise<void> {
  const info = await ds.getRefDocInfo(refDocId);
  if (nodeIds === undefined) {
    expect(info, msg ?? `ref doc ${refDocId} must be gone`).toBeUndefined();
    expect(await ds.refDocExists(refDocId)).toBe(false);
  } else {
    expect(info?.nodeIds, msg ?? `ref doc ${refDocId} node ids`).toEqual(nodeIds);
    expect(await ds.refDocExists(refDocId)).toBe(true);
  }
}

export const docStoreTests = {
  "docstore.add.get-roundtrip": (async (ctx) => {
    const ds = await ctx.store();
    const node = new TextNode({
      id: "n1",
      text: "Hello wörld 🦙",
      metadata: { file_name: "a.txt", page: 3, tags: ["x", "y"], nested: { ok: true }, none: null },
      embedding: [0.1, -0.2, 0.3],
      excludedEmbedMetadataKeys: ["page"],
      excludedLlmMetadataKeys: ["tags"],
      startCharIdx: 0,
      endCharIdx: 14,
      relationships: {
        [NodeRelationship.SOURCE]: { nodeId: "d1", nodeType: "4", metadata: { file_name: "a.txt" }, hash: "abc" },
        [NodeRelationship.NEXT]: { nodeId: "n2" },
        [NodeRelationship.CHILD]: [{ nodeId: "c1" }, { nodeId: "c2" }],
      },
    });
    await ds.addDocuments([node]);
    const got = await ds.getDocument("n1");
    expect(got).toBeInstanceOf(TextNode);
    expect(json(got)).toEqual(node.toJSON());
    expect(got?.hash).toBe(node.hash);
    expect(got?.refDocId).toBe("d1");
  }) as Body,

  "docstore.add.node-types-roundtrip": (async (ctx) => {
    const ds = await ctx.store();
    const nodes: BaseNode[] = [
      new TextNode({ id: "t", text: "text" }),
      new Document({ id: "d", text: "doc", metadata: { author: "me" } }),
      new ImageNode({ id: "i", text: "caption", image: "aGVsbG8=", imageMimetype: "image/png" }),
      new IndexNode({ id: "x", text: "pointer", indexId: "other-index" }),
    ];
    await ds.addDocuments(nodes);
    const got = await ds.getNodes(["t", "d", "i", "x"]);
    expect(got.map((n) => n.constructor.name)).toEqual(["TextNode", "Document", "ImageNode", "IndexNode"]);
    got.forEach((n, i) => expect(n.toJSON(), n.id).toEqual(nodes[i]!.toJSON()));
  }) as Body,

  "docstore.get.missing": (async (ctx) => {
    const ds = await ctx.store();
    await ds.addDocuments([chunk("present", "d1")]);
    expect(await ds.getDocument("missing")).toBeUndefined();
    expect(await ds.getDocument("missing", false)).toBeUndefined();
    await expectStorageError(() => ds.getDocument("missing", true), "NOT_FOUND");
    expect(await ds.documentExists("missing")).toBe(false);
    expect(await ds.documentExists("present")).toBe(true);
  }) as Body,

  "docstore.getNodes.order-and-missing": (async (ctx) => {
    const ds = await ctx.store();
    await ds.addDocuments([chunk("a", "d"), chunk("b", "d"), chunk("c", undefined)]);
    expect((await ds.getNodes(["c", "zz", "a", "b"])).map((n) => n.id)).toEqual(["c", "a", "b"]);
    expect(await ds.getNodes([])).toEqual([]);
    await expectStorageError(() => ds.getNodes(["a", "zz"], true), "NOT_FOUND");
  }) as Body,

  "docstore.add.allow-update-replaces": (async (ctx) => {
    const ds = await ctx.store();
    await ds.addDocuments([chunk("n", "d", "v1")]);
    const v2 = chunk("n", "d", "v2", { version: 2 });
    await ds.addDocuments([v2]);
    expect(json(await ds.getDocument("n"))).toEqual(v2.toJSON());
    expect(await ds.getDocumentHash("n")).toBe(v2.hash);
    await expectRefDoc(ds, "d", ["n"]);
  }) as Body,

  "docstore.add.allow-update-false-conflict-writes-nothing": (async (ctx) => {
    const ds = await ctx.store();
    const original = chunk("a", "d1", "original");
    await ds.addDocuments([original]);
    await expectStorageError(
      () => ds.addDocuments([chunk("b", "d1"), chunk("a", "d2", "changed"), chunk("c", "d3")], { allowUpdate: false }),
      "CONFLICT",
    );
    expect(json(await ds.getDocument("a"))).toEqual(original.toJSON());
    expect(await ds.documentExists("b")).toBe(false);
    expect(await ds.documentExists("c")).toBe(false);
    expect(await ds.getDocumentHash("b")).toBeUndefined();
    await expectRefDoc(ds, "d1", ["a"]);
    await expectRefDoc(ds, "d3", undefined);
    expect(Object.keys(await ds.getAllRefDocInfo())).toEqual(["d1"]);
    await ds.addDocuments([chunk("b", "d1")], { allowUpdate: false });
    await expectRefDoc(ds, "d1", ["a", "b"]);
  }) as Body,

  "docstore.add.duplicates-in-one-call": (async (ctx) => {
    const ds = await ctx.store();
    await ds.addDocuments([chunk("n", "d", "first"), chunk("m", "d"), chunk("n", "d", "last")]);
    expect((await ds.getDocument("n"))?.text).toBe("last");
    expect((await ds.getRefDocInfo("d"))?.nodeIds.slice().sort()).toEqual(["m", "n"]);
    await expectStorageError(() => ds.addDocuments([chunk("x", "e"), chunk("x", "e")], { allowUpdate: false }), "CONFLICT");
    expect(await ds.documentExists("x")).toBe(false);
    await expectRefDoc(ds, "e", undefined);
  }) as Body,

  "docstore.add.store-text-false": (async (ctx) => {
    const ds = await ctx.store();
    const n = chunk("n", "d");
    await ds.addDocuments([n], { storeText: false });
    expect(await ds.documentExists("n")).toBe(false);
    expect(await ds.getDocument("n")).toBeUndefined();
    expect(await ds.getDocumentHash("n")).toBe(n.hash);
    await expectRefDoc(ds, "d", ["n"]);
    expect(await ds.deleteDocument("n")).toBe(true);
    expect(await ds.getDocumentHash("n")).toBeUndefined();
    await expectRefDoc(ds, "d", undefined);
  }) as Body,

  "docstore.add.empty-is-noop": (async (ctx) => {
    const ds = await ctx.store();
    await ds.addDocuments([]);
    expect(await ds.getAllDocumentIds()).toEqual([]);
    expect(await ds.getAllRefDocInfo()).toEqual({});
    expect(await ds.getAllDocumentHashes()).toEqual({});
  }) as Body,

  "docstore.refdoc.tracks-nodes": (async (ctx) => {
    const ds = await ctx.store();
    await ds.addDocuments([chunk("a1", "A"), chunk("a2", "A"), chunk("b1", "B"), chunk("free", undefined)]);
    await ds.addDocuments([chunk("a3", "A")]);
    await expectRefDoc(ds, "A", ["a1", "a2", "a3"]);
    await expectRefDoc(ds, "B", ["b1"]);
    await expectRefDoc(ds, "free", undefined);
    const all = await ds.getAllRefDocInfo();
    expectSameMembers(Object.keys(all), ["A", "B"]);
    expect(all["A"]?.nodeIds).toEqual(["a1", "a2", "a3"]);
    expect(typeof all["A"]?.metadata).toBe("object");
    expect(Array.isArray(all["A"]?.metadata)).toBe(false);
  }) as Body,

  "docstore.refdoc.same-node-twice": (async (ctx) => {
    const ds = await ctx.store();
    await ds.addDocuments([chunk("n", "d")]);
    await ds.addDocuments([chunk("n", "d")]);
    await ds.addDocuments([chunk("n", "d"), chunk("n", "d"), chunk("m", "d")]);
    await expectRefDoc(ds, "d", ["n", "m"]);
    expect(await ds.deleteDocument("n")).toBe(true);
    await expectRefDoc(ds, "d", ["m"]);
  }) as Body,

  "docstore.refdoc.node-moves-to-another-ref-doc": (async (ctx) => {
    const ds = await ctx.store();
    await ds.addDocuments([chunk("n1", "d1"), chunk("n2", "d1")]);
    await ds.addDocuments([chunk("n1", "d2")]);
    await expectRefDoc(ds, "d1", ["n2"]);
    await expectRefDoc(ds, "d2", ["n1"]);
    await ds.addDocuments([chunk("n2", "d2")]);
    await expectRefDoc(ds, "d1", undefined);
    await expectRefDoc(ds, "d2", ["n1", "n2"]);
    // Moving out of any ref doc (no SOURCE any more) also cleans up.
    await ds.addDocuments([chunk("n1", undefined), chunk("n2", undefined)]);
    await expectRefDoc(ds, "d2", undefined);
    expect(await ds.getAllRefDocInfo()).toEqual({});
    expect((await ds.getNodes(["n1", "n2"])).map((n) => n.refDocId)).toEqual([undefined, undefined]);
  }) as Body,

  "docstore.refdoc.one-document-many-chunks": (async (ctx) => {
    // One source document split into many chunks, then half of them re-parented in one call: the
    // ref-doc bookkeeping must stay exact (and linear: a quadratic one takes minutes at this size).
    const ds = await ctx.store();
    const n = 20_000;
    const ids = Array.from({ length: n }, (_, i) => `c${i}`);
    await ds.addDocuments(ids.map((id) => chunk(id, "big", "t")));
    await ds.addDocuments(ids.map((id) => chunk(id, "big", "t")).slice(0, 10));
    await expectRefDoc(ds, "big", ids);
    const moved = ids.filter((_, i) => i % 2 === 1);
    await ds.addDocuments(moved.map((id) => chunk(id, "other", "t")));
    await expectRefDoc(ds, "big", ids.filter((_, i) => i % 2 === 0));
    await expectRefDoc(ds, "other", moved);
    expect(await ds.getAllDocumentIds()).toHaveLength(n);
  }) as Body,

  "docstore.refdoc.delete-document-updates-node-ids": (async (ctx) => {
    const ds = await ctx.store();
    await ds.addDocuments([chunk("n1", "d"), chunk("n2", "d"), chunk("n3", "d"), chunk("o1", "other")]);
    expect(await ds.deleteDocument("n2")).toBe(true);
    await expectRefDoc(ds, "d", ["n1", "n3"]);
    await expectRefDoc(ds, "other", ["o1"]);
    expect(await ds.documentExists("n2")).toBe(false);
    expect(await ds.getDocumentHash("n2")).toBeUndefined();
    expect(await ds.documentExists("n1")).toBe(true);
  }) as Body,

  "docstore.refdoc.delete-last-node-removes-entry": (async (ctx) => {
    const ds = await ctx.store();
    await ds.addDocuments([doc("d")]); // the source document itself is stored too
    await ds.addDocuments([chunk("n1", "d"), chunk("n2", "d"), chunk("keep", "k")]);
    expect(await ds.deleteDocument("n1")).toBe(true);
    await expectRefDoc(ds, "d", ["n2"]);
    expect(await ds.deleteDocument("n2")).toBe(true);
    await expectRefDoc(ds, "d", undefined);
    const all = await ds.getAllRefDocInfo();
    expect(Object.keys(all)).toEqual(["k"]);
    // Like LlamaIndex: when its last node goes, the source document's own entry and hash go too.
    expect(await ds.documentExists("d")).toBe(false);
    expect(await ds.getDocumentHash("d")).toBeUndefined();
    expect(await ds.documentExists("keep")).toBe(true);
  }) as Body,

  "docstore.refdoc.delete-ref-doc-removes-all-nodes": (async (ctx) => {
    const ds = await ctx.store();
    await ds.addDocuments([doc("d1"), chunk("a", "d1"), chunk("b", "d1"), chunk("c", "d1"), chunk("x", "d2")]);
    await ds.setDocumentHash("d1", "doc-hash");
    expect(await ds.deleteRefDoc("d1")).toBe(true);
    for (const id of ["a", "b", "c", "d1"]) {
      expect(await ds.documentExists(id), id).toBe(false);
      expect(await ds.getDocumentHash(id), id).toBeUndefined();
    }
    await expectRefDoc(ds, "d1", undefined);
    await expectRefDoc(ds, "d2", ["x"]);
    expectSameMembers(await ds.getAllDocumentIds(), ["x"]);
    expectSameMembers(Object.keys(await ds.getAllDocumentHashes()), ["x"]);
  }) as Body,

  "docstore.refdoc.delete-ref-doc-missing": (async (ctx) => {
    const ds = await ctx.store();
    await ds.addDocuments([chunk("a", "d1")]);
    await expectStorageError(() => ds.deleteRefDoc("nope"), "NOT_FOUND");
    expect(await ds.deleteRefDoc("nope", false)).toBe(false);
    expect(await ds.deleteRefDoc("d1")).toBe(true);
    expect(await ds.deleteRefDoc("d1", false)).toBe(false);
    await expectStorageError(() => ds.deleteRefDoc("d1", true), "NOT_FOUND");
  }) as Body,

  "docstore.refdoc.delete-ref-doc-keeps-moved-nodes": (async (ctx) => {
    const ds = await ctx.store();
    await ds.addDocuments([chunk("a", "d1"), chunk("b", "d1")]);
    await ds.addDocuments([chunk("b", "d2")]);
    expect(await ds.deleteRefDoc("d1")).toBe(true);
    expect(await ds.documentExists("a")).toBe(false);
    expect(await ds.documentExists("b")).toBe(true);
    await expectRefDoc(ds, "d2", ["b"]);
  }) as Body,

  "docstore.refdoc.every-delete-kind-model-check": (async (ctx) => {
    const ds = await ctx.store();
    // Model: node -> ref doc. After every operation, the ref-doc table must equal the model exactly.
    const model = new Map<string, string | undefined>();
    const check = async (step: string) => {
      const expected: Record<string, string[]> = {};
      for (const [n, r] of model) if (r !== undefined) (expected[r] ??= []).push(n);
      const all = await ds.getAllRefDocInfo();
      expectSameMembers(Object.keys(all), Object.keys(expected), `${step}: ref doc ids`);
      for (const [r, ids] of Object.entries(expected)) expectSameMembers(all[r]!.nodeIds, ids, `${step}: nodes of ${r}`);
      expectSameMembers(await ds.getAllDocumentIds(), [...model.keys()], `${step}: node ids`);
    };
    const add = async (pairs: [string, string | undefined][]) => {
      await ds.addDocuments(pairs.map(([n, r]) => chunk(n, r)));
      for (const [n, r] of pairs) model.set(n, r);
    };
    await add([["a", "R1"], ["b", "R1"], ["c", "R2"], ["d", "R2"], ["e", "R3"], ["f", undefined]]);
    await check("initial");
    await ds.deleteDocument("a");
    model.delete("a");
    await check("deleteDocument a");
    await add([["b", "R2"]]);
    await check("move b to R2");
    await ds.deleteRefDoc("R2");
    for (const n of ["b", "c", "d"]) model.delete(n);
    await check("deleteRefDoc R2");
    await add([["c", "R3"], ["g", "R3"], ["e", "R3"]]);
    await check("re-add");
    expect(await ds.deleteDocument("missing", false)).toBe(false);
    await ds.deleteDocument("e");
    model.delete("e");
    await ds.deleteDocument("f");
    model.delete("f");
    await check("deleteDocument e, f");
    await add([["g", undefined]]);
    await check("g leaves R3");
    await ds.deleteRefDoc("R3");
    model.delete("c");
    await check("deleteRefDoc R3");
    expect(await ds.getAllDocumentIds()).toEqual(["g"]);
  }) as Body,

  "docstore.refdoc.concurrent-adds-and-deletes": (async (ctx) => {
    const ds = await ctx.store();
    const ids = Array.from({ length: 20 }, (_, i) => `n${i}`);
    await Promise.all(ids.map((id) => ds.addDocuments([chunk(id, "shared")])));
    expectSameMembers((await ds.getRefDocInfo("shared"))!.nodeIds, ids);
    await Promise.all(ids.filter((_, i) => i % 2 === 0).map((id) => ds.deleteDocument(id)));
    expectSameMembers((await ds.getRefDocInfo("shared"))!.nodeIds, ids.filter((_, i) => i % 2 === 1));
    await Promise.all([
      ...ids.filter((_, i) => i % 2 === 1).map((id) => ds.deleteDocument(id)),
      ds.addDocuments([chunk("late", "shared")]),
    ]);
    await expectRefDoc(ds, "shared", ["late"]);
  }) as Body,

  "docstore.refdoc.exact-across-instances": (async (ctx) => {
    // 50 independent instances on the same data, as 50 worker processes would be, add, move and
    // delete chunks of overlapping documents at the same time. Afterwards the bookkeeping is exact.
    const first = await ctx.store();
    const open = openAnotherFor(first);
    const workers: DocStore[] = [first];
    try {
      for (let w = 1; w < 50; w++) workers.push(await open(first));
      await Promise.all(workers.map((ds, w) => overlappingDocumentsWorkload(ds, 1000 + w)));
      // Then every instance adds a node of its own at the same time: all of them must end up listed.
      await Promise.all(workers.map((ds, w) => ds.addDocuments([chunk(`final-${w}`, `R${w % 5}`)])));
      const problems = await refDocBookkeepingProblems(first);
      expect(problems.slice(0, 20), `${problems.length} bookkeeping errors`).toEqual([]);
      const refs = await first.getAllRefDocInfo();
      for (let w = 0; w < workers.length; w++) expect(refs[`R${w % 5}`]?.nodeIds, `final-${w}`).toContain(`final-${w}`);
    } finally {
      for (const ds of workers.slice(1)) await (ds as { close?: () => Promise<void> }).close?.();
    }
  }) as Body,

  "docstore.delete.missing-and-results": (async (ctx) => {
    const ds = await ctx.store();
    await ds.addDocuments([chunk("n", undefined)]);
    await expectStorageError(() => ds.deleteDocument("missing"), "NOT_FOUND");
    expect(await ds.deleteDocument("missing", false)).toBe(false);
    expect(await ds.deleteDocument("n")).toBe(true);
    expect(await ds.deleteDocument("n", false)).toBe(false);
    expect(await ds.getAllDocumentIds()).toEqual([]);
  }) as Body,

  "docstore.hash.set-get-missing": (async (ctx) => {
    const ds = await ctx.store();
    expect(await ds.getDocumentHash("x")).toBeUndefined();
    await ds.setDocumentHash("x", "h1");
    expect(await ds.getDocumentHash("x")).toBe("h1");
    await ds.setDocumentHash("x", "h2");
    expect(await ds.getDocumentHash("x")).toBe("h2");
    // A hash alone does not make a stored document.
    expect(await ds.documentExists("x")).toBe(false);
  }) as Body,

  "docstore.hash.set-keeps-ref-doc-link": (async (ctx) => {
    const ds = await ctx.store();
    await ds.addDocuments([chunk("n1", "d"), chunk("n2", "d")]);
    await ds.setDocumentHash("n1", "custom");
    await ds.setDocumentHashes({ n2: "custom2" });
    expect(await ds.getDocumentHash("n1")).toBe("custom");
    expect(await ds.deleteDocument("n1")).toBe(true);
    await expectRefDoc(ds, "d", ["n2"]);
    expect(await ds.deleteDocument("n2")).toBe(true);
    await expectRefDoc(ds, "d", undefined);
  }) as Body,

  "docstore.hash.all-is-id-to-hash": (async (ctx) => {
    const ds = await ctx.store();
    const a = new TextNode({ id: "a", text: "same content", metadata: { k: 1 } });
    const b = new TextNode({ id: "b", text: "same content", metadata: { k: 1 } });
    const c = new TextNode({ id: "c", text: "different" });
    await ds.addDocuments([a, b, c]);
    await ds.setDocumentHash("hash-only", "h-only");
    expect(a.hash).toBe(b.hash);
    expect(await ds.getAllDocumentHashes()).toEqual({ a: a.hash, b: b.hash, c: c.hash, "hash-only": "h-only" });
  }) as Body,

  "docstore.hash.set-many": (async (ctx) => {
    const ds = await ctx.store();
    const hashes = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`id${i}`, `hash${i % 7}`]));
    await ds.setDocumentHashes(hashes);
    await ds.setDocumentHashes({});
    expect(await ds.getAllDocumentHashes()).toEqual(hashes);
    expect(await ds.getDocumentHash("id299")).toBe("hash5");
  }) as Body,

  "docstore.hash.removed-with-document": (async (ctx) => {
    const ds = await ctx.store();
    await ds.addDocuments([chunk("a", "d"), chunk("b", undefined)]);
    await ds.deleteDocument("b");
    await ds.deleteDocument("a");
    expect(await ds.getAllDocumentHashes()).toEqual({});
    expect(await ds.getDocumentHash("a")).toBeUndefined();
  }) as Body,

  "docstore.ids.all": (async (ctx) => {
    const ds = await ctx.store();
    expect(await ds.getAllDocumentIds()).toEqual([]);
    await ds.addDocuments([chunk("a", "d"), chunk("b", "d"), doc("d")]);
    await ds.addDocuments([chunk("hidden", "d")], { storeText: false });
    expectSameMembers(await ds.getAllDocumentIds(), ["a", "b", "d"]);
  }) as Body,

  "docstore.add.many-nodes-one-call": (async (ctx) => {
    const ds = await ctx.store();
    const nodes = Array.from({ length: 1500 }, (_, i) => chunk(`n${i}`, `doc${i % 30}`, `text ${i}`, { i }));
    await ds.addDocuments(nodes, { batchSize: 200 });
    const all = await ds.getAllRefDocInfo();
    expect(Object.keys(all)).toHaveLength(30);
    expect(all["doc7"]?.nodeIds).toEqual(Array.from({ length: 50 }, (_, j) => `n${j * 30 + 7}`));
    const got = await ds.getNodes(nodes.map((n) => n.id));
    expect(got).toHaveLength(1500);
    expect(got[1234]?.text).toBe("text 1234");
    expect(Object.keys(await ds.getAllDocumentHashes())).toHaveLength(1500);
    expect(await ds.deleteRefDoc("doc7")).toBe(true);
    expect(await ds.getAllDocumentIds()).toHaveLength(1450);
  }) as Body,

  "docstore.hostile.ids-and-content": (async (ctx) => {
    const ds = await ctx.store();
    await ds.addDocuments([chunk("sentinel", "sentinel-doc")]);
    const strings = [...HOSTILE_STRINGS, ...PROTOTYPE_KEYS];
    const acceptedNodes: string[] = [];
    for (const s of strings) {
      const n = chunk(s, `ref:${s}`, s, { value: s, [s]: s });
      if (await acceptedOrInvalid(() => ds.addDocuments([n]), `node id ${label(s)}`)) acceptedNodes.push(s);
    }
    expect(acceptedNodes.length).toBeGreaterThan(0);
    for (const s of acceptedNodes) {
      const got = await ds.getDocument(s);
      expect(got?.text, label(s)).toBe(s);
      expect(got?.metadata, label(s)).toEqual({ value: s, [s]: s });
      expect((await ds.getRefDocInfo(`ref:${s}`))?.nodeIds, label(s)).toEqual([s]);
    }
    expectSameMembers(await ds.getAllDocumentIds(), [...acceptedNodes, "sentinel"]);
    for (const s of acceptedNodes) expect(await ds.deleteRefDoc(`ref:${s}`), label(s)).toBe(true);
    expect(await ds.getAllDocumentIds()).toEqual(["sentinel"]);
    await expectRefDoc(ds, "sentinel-doc", ["sentinel"]);
  }) as Body,

  "docstore.invalid.input-writes-nothing": (async (ctx) => {
    const ds = await ctx.store();
    await ds.addDocuments([chunk("keep", "d")]);
    const bad: unknown[][] = [
      [chunk("ok", "d"), { id: "plain-object" }],
      [chunk("ok", "d"), null],
      [chunk("ok", "d"), chunk("", "d")],
      [chunk("ok", "d"), chunk("nan", "d", "t", { n: Number.NaN })],
      [chunk("ok", "d"), chunk("fn", "d", "t", { f: () => 1 })],
      [chunk("ok", "d"), new TextNode({ id: "srcless", relationships: { [NodeRelationship.SOURCE]: { nodeId: "" } } })],
    ];
    for (const batch of bad) await expectStorageError(() => ds.addDocuments(batch as BaseNode[]), "INVALID_ARGUMENT");
    await expectStorageError(() => ds.addDocuments("nope" as unknown as BaseNode[]), "INVALID_ARGUMENT");
    await expectStorageError(() => ds.getDocument(""), "INVALID_ARGUMENT");
    await expectStorageError(() => ds.deleteDocument(42 as unknown as string), "INVALID_ARGUMENT");
    await expectStorageError(() => ds.deleteRefDoc(""), "INVALID_ARGUMENT");
    await expectStorageError(() => ds.setDocumentHash("", "h"), "INVALID_ARGUMENT");
    await expectStorageError(() => ds.setDocumentHash("x", 5 as unknown as string), "INVALID_ARGUMENT");
    await expectStorageError(() => ds.setDocumentHashes({ a: "h", b: null as unknown as string }), "INVALID_ARGUMENT");
    expect(await ds.getAllDocumentIds()).toEqual(["keep"]);
    expect(Object.keys(await ds.getAllDocumentHashes())).toEqual(["keep"]);
    await expectRefDoc(ds, "d", ["keep"]);
  }) as Body,

  "docstore.invalid.bad-field-of-a-text-node-writes-nothing": (async (ctx) => {
    // Each field of an ordinary TextNode that can hold a non-JSON value, one at a time: a store may
    // take a shortcut for plain TextNodes, and must still refuse every one of these.
    const ds = await ctx.store();
    await ds.addDocuments([chunk("keep", "d")]);
    const breakers: [string, (n: TextNode) => void][] = [
      ["metadata value undefined", (n) => (n.metadata = { a: undefined })],
      ["nested metadata NaN", (n) => (n.metadata = { a: { b: [1, Number.POSITIVE_INFINITY] } })],
      ["metadata Date", (n) => (n.metadata = { when: new Date(0) })],
      ["metadata bigint", (n) => (n.metadata = { big: 1n })],
      ["embedding NaN", (n) => (n.embedding = [0.5, Number.NaN])],
      ["embedding hole", (n) => (n.embedding = [0.5, , 1] as number[])],
      ["relationship metadata function", (n) => (n.relationships = { [NodeRelationship.SOURCE]: { nodeId: "d", metadata: { f: () => 1 } } })],
      ["child relationship undefined id", (n) => (n.relationships = { [NodeRelationship.SOURCE]: { nodeId: "d" }, [NodeRelationship.CHILD]: [{ nodeId: undefined as unknown as string }] })],
      ["excluded keys undefined entry", (n) => (n.excludedEmbedMetadataKeys = [undefined as unknown as string])],
      ["start index NaN", (n) => (n.startCharIdx = Number.NaN)],
      ["text undefined", (n) => (n.text = undefined as unknown as string)],
      ["extra field undefined", (n) => (n.extra = { custom: undefined })],
    ];
    for (const [what, breakIt] of breakers) {
      const bad = chunk("bad", "d");
      breakIt(bad);
      await expectStorageError(() => ds.addDocuments([chunk("ok", "d"), bad]), "INVALID_ARGUMENT");
      expect(await ds.getAllDocumentIds(), what).toEqual(["keep"]);
    }
    await expectRefDoc(ds, "d", ["keep"]);
  }) as Body,

  "docstore.add.every-node-shape-stores-its-exact-json": (async (ctx) => {
    // Plain TextNodes next to ones that must take the general path (extra fields, a subclass, an
    // instance that shapes its own JSON): each stored JSON equals the node's own toJSON().
    class TaggedNode extends TextNode {
      protected override dataJson(): Record<string, unknown> {
        return { ...super.dataJson(), tag: "t" };
      }
    }
    const own = new TextNode({ id: "own", text: "own" });
    const ownToJSON = own.toJSON.bind(own);
    own.toJSON = () => {
      const j = ownToJSON();
      j.__data__["own_field"] = 1;
      return j;
    };
    const nodes: BaseNode[] = [
      chunk("plain", "d", "plain text", { k: "v", n: [1, null, { x: true }] }),
      new TextNode({ id: "extra", text: "x", extra: { custom_field: { a: 1 } } }),
      new TaggedNode({ id: "sub", text: "sub" }),
      own,
      new TextNode({ id: "rels", relationships: { [NodeRelationship.CHILD]: [{ nodeId: "c1", metadata: null as unknown as undefined }, { nodeId: "c2", nodeType: null, hash: null }] } }),
    ];
    const ds = await ctx.store();
    await ds.addDocuments(nodes);
    const got = await ds.getNodes(nodes.map((n) => n.id));
    got.forEach((n, i) => expect(n.toJSON(), n.id).toEqual(nodes[i]!.toJSON()));
    expect(got.find((n) => n.id === "extra")?.extra).toEqual({ custom_field: { a: 1 } });
    expect(got.find((n) => n.id === "sub")?.toJSON().__data__["tag"]).toBe("t");
    expect(got.find((n) => n.id === "own")?.toJSON().__data__["own_field"]).toBe(1);
  }) as Body,

  "docstore.layout.llamaindex-collections": (async (ctx) => {
    const ds = kvBacked(await ctx.store());
    const n = chunk("node-1", "doc-1", "Hello world.", { file_name: "a.txt" });
    await ds.addDocuments([n, doc("free")]);
    const kv = ds.kvStore;
    expect(await kv.get("node-1", ds.nodeCollection)).toEqual(n.toJSON());
    expect((await kv.get("node-1", ds.nodeCollection))?.["__type__"]).toBe("1");
    expect(await kv.get("node-1", ds.metadataCollection)).toEqual({ doc_hash: n.hash, ref_doc_id: "doc-1" });
    expect(await kv.get("free", ds.metadataCollection)).toEqual({ doc_hash: doc("free").hash });
    const info = await kv.get("doc-1", ds.refDocCollection);
    expect(Object.keys(info ?? {}).sort()).toEqual(["metadata", "node_ids"]);
    expect(info?.["node_ids"]).toEqual(["node-1"]);
    await ds.setDocumentHash("node-1", "new");
    expect(await kv.get("node-1", ds.metadataCollection)).toEqual({ doc_hash: "new", ref_doc_id: "doc-1" });
  }) as Body,

  "docstore.layout.reads-legacy-ref-doc-info": (async (ctx) => {
    const ds = kvBacked(await ctx.store());
    const kv = ds.kvStore;
    await ds.addDocuments([chunk("n1", "old"), chunk("n2", "old")]);
    await kv.put("old", { doc_ids: ["n1", "n2"], extra_info: { author: "legacy" } }, ds.refDocCollection);
    expect(await ds.getRefDocInfo("old")).toEqual({ nodeIds: ["n1", "n2"], metadata: { author: "legacy" } });
    expect(await ds.deleteDocument("n1")).toBe(true);
    await expectRefDoc(ds, "old", ["n2"]);
    expect(await ds.deleteRefDoc("old")).toBe(true);
    expect(await ds.getAllDocumentIds()).toEqual([]);
  }) as Body,

  "docstore.layout.corrupt-node-is-corrupt": (async (ctx) => {
    const ds = kvBacked(await ctx.store());
    await ds.addDocuments([chunk("good", undefined)]);
    await ds.kvStore.put("bad", { __type__: "99", __data__: { id_: "bad", text: "?" } }, ds.nodeCollection);
    await expectStorageError(() => ds.getDocument("bad"), "CORRUPT");
    await expectStorageError(() => ds.getNodes(["good", "bad"]), "CORRUPT");
    expect((await ds.getDocument("good"))?.id).toBe("good");
  }) as Body,
} satisfies Record<string, Body>;

export type DocStoreTestId = keyof typeof docStoreTests;
export { overlappingDocumentsWorker, overlappingDocumentsWorkload, refDocBookkeepingProblems, type OpenAnother } from "./docstore-helpers.js";

const docStoreSuite = defineSuite<DocStore, DocStoreTestId, DocStoreCapabilities>("DocStore", docStoreTests, {
  timeout: 120_000,
});

export interface DocStoreSuiteOptions extends SuiteOptions<DocStore, DocStoreTestId, DocStoreCapabilities> {
  /**
   * Opens another, independent instance of the store on the same data as `store` (same backend and
   * namespace, prefix or table), as another worker process would: its own store and KV store
   * objects. Stores whose data lives in memory may share `store`'s KV store object instead. Used by
   * `docstore.refdoc.exact-across-instances`, which closes the instances it opened (`close()`, if
   * they have one); `dispose` runs for `store` only. Without it, that test fails unless skipped
   * with a reason.
   */
  openAnother?: OpenAnother;
}

/**
 * The document-store suite. Pins LlamaIndex's semantics plus Larder's fixes: exact ref-doc
 * bookkeeping after every kind of delete, id -> hash maps, all-or-nothing `allowUpdate: false`.
 * Tests named `docstore.layout.*` read the raw LlamaIndex layout through `store.kvStore` (any
 * `KVDocumentStore` has it); a docstore that is not KV-based opts out of them with a reason.
 * `docstore.refdoc.exact-across-instances` needs `openAnother` (or an opt-out with a reason).
 */
export function describeDocStore(options: DocStoreSuiteOptions): void {
  const { openAnother } = options;
  docStoreSuite({
    ...options,
    create: async () => {
      const store = await options.create();
      if (openAnother) registerOpenAnother(store, openAnother);
      return store;
    },
  });
}
