import type { KVStore } from "@larder/core/kv";
import type { DocStore } from "@larder/core/docstore";
import { Document, NodeRelationship, TextNode, type Metadata } from "@larder/core/schema";
import { seededRandom } from "./harness.js";

/** A TextNode belonging to source document `refDocId` (SOURCE relationship), like a splitter makes. */
export function chunk(id: string, refDocId: string | undefined, text = `text of ${id}`, metadata: Metadata = { chunk: id }): TextNode {
  return new TextNode({
    id,
    text,
    metadata,
    relationships:
      refDocId === undefined
        ? {}
        : { [NodeRelationship.SOURCE]: { nodeId: refDocId, nodeType: "4", metadata: { source: refDocId }, hash: "h" } },
  });
}

export function doc(id: string, text = `document ${id}`, metadata: Metadata = { file_name: `${id}.txt` }): Document {
  return new Document({ id, text, metadata });
}

/** The part of KVDocumentStore the layout tests read through. */
export interface KVBackedDocStore extends DocStore {
  kvStore: KVStore;
  nodeCollection: string;
  metadataCollection: string;
  refDocCollection: string;
}

export function kvBacked(store: DocStore): KVBackedDocStore {
  const s = store as Partial<KVBackedDocStore>;
  if (!s.kvStore || typeof s.nodeCollection !== "string" || typeof s.metadataCollection !== "string" || typeof s.refDocCollection !== "string") {
    throw new Error(
      "this test reads the LlamaIndex layout through store.kvStore/nodeCollection/metadataCollection/refDocCollection; " +
        "a docstore that is not a KVDocumentStore must opt out of it with skip and a reason",
    );
  }
  return s as KVBackedDocStore;
}

/** Opens another independent instance on the same data as a store (see `DocStoreSuiteOptions.openAnother`). */
export type OpenAnother = (store: DocStore) => DocStore | Promise<DocStore>;

/** The `openAnother` given with the suite that created each store (stores are registered as they are created). */
const openers = new WeakMap<DocStore, OpenAnother>();

export function registerOpenAnother(store: DocStore, open: OpenAnother): void {
  openers.set(store, open);
}

export function openAnotherFor(store: DocStore): OpenAnother {
  const open = openers.get(store);
  if (open === undefined) {
    throw new Error(
      "this test runs several independent instances of the store on the same data: give describeDocStore an " +
        "openAnother(store) that opens one, or opt out of the test with skip and a reason",
    );
  }
  return open;
}

/**
 * One writer's share of the workload of `docstore.refdoc.exact-across-instances`, deterministic for
 * a `seed`: `rounds` times, one `addDocuments` of 6 of the chunks `n0`..`n39` (chunk `nK` belongs to
 * `R(K mod 5)` or `R(K+1 mod 5)`, chosen anew each time, so chunks move between documents), two
 * `deleteDocument`s, and now and then a `deleteRefDoc` or a `setDocumentHashes`. Run it from many
 * instances (or processes) on the same data at once, then check with {@link refDocBookkeepingProblems}.
 */
export async function overlappingDocumentsWorkload(ds: DocStore, seed: number, rounds = 4): Promise<void> {
  const rnd = seededRandom(seed);
  const pick = () => Math.floor(rnd() * 40);
  const node = (n: number, ref: string) => chunk(`n${n}`, ref, `text of n${n}`, { chunk: `n${n}` });
  for (let round = 0; round < rounds; round++) {
    const adds = Array.from({ length: 6 }, pick);
    await ds.addDocuments(adds.map((n) => node(n, `R${(n + (rnd() < 0.5 ? 0 : 1)) % 5}`)));
    for (let k = 0; k < 2; k++) await ds.deleteDocument(`n${pick()}`, false);
    const r = rnd();
    if (r < 0.08) await ds.deleteRefDoc(`R${Math.floor(rnd() * 5)}`, false);
    else if (r < 0.25) {
      const n = pick();
      // The hash the node has under any source (relationships are not part of it).
      await ds.setDocumentHashes({ [`n${n}`]: node(n, "R0").hash });
    }
  }
}

/**
 * The body of one worker PROCESS of an adapter's across-processes docstore test: runs
 * {@link overlappingDocumentsWorkload} (6 rounds), waits until all `workers` have done so (one entry
 * each in the docstore's KV collection "barrier", so no later `deleteRefDoc` of another worker can
 * remove what follows), then adds its own node `final-<seed>` under `R<seed mod 5>`.
 */
export async function overlappingDocumentsWorker(ds: DocStore, seed: number, workers: number, timeoutMs = 60_000): Promise<void> {
  const { kvStore } = kvBacked(ds);
  await overlappingDocumentsWorkload(ds, seed, 6);
  await kvStore.put(`w${seed}`, {}, "barrier");
  const deadline = Date.now() + timeoutMs;
  while (Object.keys(await kvStore.getAll("barrier")).length < workers) {
    if (Date.now() > deadline) throw new Error(`barrier: the other workers did not finish within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await ds.addDocuments([chunk(`final-${seed}`, `R${seed % 5}`, "last")]);
}

/**
 * Every violation of the ref-doc bookkeeping rules in a KV-backed docstore (empty when exact):
 * each stored node with a SOURCE is listed once, in that ref doc; no ref doc lists a node that is
 * not stored or has another SOURCE, or has an entry without nodes; every stored node has a metadata
 * entry with its hash and its SOURCE as `ref_doc_id`; a metadata entry of a node that is gone (a
 * hash set with `setDocumentHash`) links no ref doc.
 */
export async function refDocBookkeepingProblems(store: DocStore): Promise<string[]> {
  const kv = kvBacked(store);
  const nodes = new Map((await store.getNodes(await store.getAllDocumentIds())).map((n) => [n.id, n] as const));
  const metas = await kv.kvStore.getAll(kv.metadataCollection);
  const refs = await store.getAllRefDocInfo();
  const problems: string[] = [];
  const listedBy = new Map<string, string>();
  for (const [r, info] of Object.entries(refs)) {
    if (info.nodeIds.length === 0) problems.push(`ref doc ${r} has an entry but no nodes`);
    for (const id of info.nodeIds) {
      if (listedBy.has(id)) problems.push(`${id} is listed by ${listedBy.get(id)} and by ${r}`);
      listedBy.set(id, r);
      const n = nodes.get(id);
      if (n === undefined) problems.push(`ref doc ${r} lists ${id}, which is not stored`);
      else if (n.refDocId !== r) problems.push(`ref doc ${r} lists ${id}, whose SOURCE is ${String(n.refDocId)}`);
    }
  }
  for (const [id, n] of nodes) {
    const meta = metas[id];
    if (meta === undefined) problems.push(`stored node ${id} has no metadata entry`);
    else {
      if (meta["ref_doc_id"] !== n.refDocId) problems.push(`metadata of ${id} says ref doc ${String(meta["ref_doc_id"])}, its SOURCE is ${String(n.refDocId)}`);
      if (meta["doc_hash"] !== n.hash) problems.push(`metadata of ${id} has another hash than the node`);
    }
    if (n.refDocId !== undefined && listedBy.get(id) !== n.refDocId) problems.push(`stored node ${id} is missing from ref doc ${n.refDocId}`);
  }
  for (const [id, meta] of Object.entries(metas)) {
    if (!nodes.has(id) && meta["ref_doc_id"] !== undefined) problems.push(`metadata of deleted node ${id} still links ref doc ${String(meta["ref_doc_id"])}`);
  }
  return problems;
}
