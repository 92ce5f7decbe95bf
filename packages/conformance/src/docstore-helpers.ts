import type { KVStore } from "@larder/core/kv";
import type { DocStore } from "@larder/core/docstore";
import { Document, NodeRelationship, TextNode, type Metadata } from "@larder/core/schema";

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
