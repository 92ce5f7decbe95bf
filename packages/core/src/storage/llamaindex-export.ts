/**
 * What a LlamaIndex-format persist adds so that Python's `load_index_from_storage(...)
 * .as_retriever().retrieve(...)` finds every node of a vector index.
 *
 * Python's `SimpleVectorStore` keeps no text, so its retriever reads each hit from the docstore
 * through the index struct's `nodes_dict` (vector id -> node id). A Larder index built over the
 * in-memory vector store (which keeps the text) has neither by default: `nodes_dict` is empty and
 * the docstore holds only each node's hash and ref-doc info. The export therefore writes, for
 * every row of the default vector store that no vector index maps yet, the node (without its
 * embedding) into `docstore.json` and `vector id -> node id` into the `nodes_dict` of every
 * `vector_store` index struct (all of them query the same default vector store, in Python as in
 * Larder). The live stores are not changed: the additions go to copies that only the files see.
 * A directory Python wrote (every row already mapped) is written back unchanged.
 */
import { KVDocumentStore } from "../docstore/kv-document-store.js";
import type { DocStore } from "../docstore/types.js";
import { isIndexDict, type IndexDict } from "../indexstore/index-structs.js";
import { KVIndexStore } from "../indexstore/kv-index-store.js";
import type { IndexStore } from "../indexstore/types.js";
import { SimpleKVStore, type Stored } from "../kv/simple-kv-store.js";
import { SimpleVectorStore } from "../vector/simple-vector-store.js";
import type { VectorStore } from "../vector/types.js";

/** LlamaIndex's struct type of a `VectorStoreIndex` (an `IndexDict`). */
const VECTOR_INDEX_TYPE = "vector_store";

export interface LlamaIndexExportInput {
  docStore: DocStore;
  indexStore: IndexStore;
  /** The default-namespace vector store (the one vector indexes use). */
  vectorStore: VectorStore | undefined;
  /** The in-memory KV stores under the docstore and the index store (`undefined` when remote). */
  docKV: SimpleKVStore | undefined;
  indexKV: SimpleKVStore | undefined;
}

export interface LlamaIndexExportKV {
  docKV: SimpleKVStore | undefined;
  indexKV: SimpleKVStore | undefined;
  /** Rows added to the docstore and to `nodes_dict` (0: the stores are returned as they are). */
  added: number;
}

/**
 * The docstore and index-store KV stores to write as `docstore.json` / `index_store.json`: the
 * given ones when every vector row is already mapped (or nothing can be exported), else copies
 * with the missing nodes and `nodes_dict` entries added.
 */
export async function llamaIndexExportKV(input: LlamaIndexExportInput): Promise<LlamaIndexExportKV> {
  const { docStore, indexStore, vectorStore, docKV, indexKV } = input;
  const unchanged = { docKV, indexKV, added: 0 };
  if (!docKV || !indexKV || !(vectorStore instanceof SimpleVectorStore)) return unchanged;
  if (!(docStore instanceof KVDocumentStore) || docStore.kvStore !== docKV) return unchanged;
  if (!(indexStore instanceof KVIndexStore) || indexStore.kvStore !== indexKV) return unchanged;

  const structs = (await indexStore.indexStructs()).filter((s): s is IndexDict => s.type === VECTOR_INDEX_TYPE && isIndexDict(s));
  if (structs.length === 0 || vectorStore.size === 0) return unchanged;
  const mapped = new Set<string>();
  for (const s of structs) for (const vid in s.data.nodes_dict) mapped.add(vid);
  // Ids only (no node is materialised) to find the unmapped rows; a Python-written folder has none.
  const unmappedIds = vectorStore.snapshotRows(null, { viewVectors: true }).ids.filter((id) => !mapped.has(id));
  if (unmappedIds.length === 0) return unchanged;
  // Rows the index inserted have a docstore entry: a hash-only one (the vector store kept the
  // text) or a full one (image and index nodes). Rows without any (added to the vector store
  // directly) belong to no index and are left out, as Python would leave them.
  const docIds = new Set<string>();
  const [meta, data] = await Promise.all([docKV.getMany(unmappedIds, docStore.metadataCollection), docKV.getMany(unmappedIds, docStore.nodeCollection)]);
  const toFill: string[] = [];
  unmappedIds.forEach((id, i) => {
    if (data[i] !== undefined) docIds.add(id);
    else if (meta[i] !== undefined) toFill.push(id);
  });
  if (docIds.size === 0 && toFill.length === 0) return unchanged;

  const doc = copyKV(docKV);
  const idx = copyKV(indexKV);
  const ds = new KVDocumentStore(doc, {
    namespace: docStore.namespace,
    nodeCollectionSuffix: docStore.nodeCollection.slice(docStore.namespace.length),
    refDocCollectionSuffix: docStore.refDocCollection.slice(docStore.namespace.length),
    metadataCollectionSuffix: docStore.metadataCollection.slice(docStore.namespace.length),
  });
  const is = new KVIndexStore(idx, { namespace: indexStore.namespace, collectionSuffix: indexStore.collection.slice(indexStore.namespace.length) });
  if (toFill.length) {
    const nodes = (await vectorStore.getNodes({ ids: toFill })).map((n) => {
      const c = n.clone();
      c.embedding = null;
      return c;
    });
    await ds.addDocuments(nodes, { allowUpdate: true });
    for (const n of nodes) docIds.add(n.id);
  }
  for (const s of structs) {
    for (const id of docIds) s.data.nodes_dict[id] = id;
    await is.addIndexStruct(s);
  }
  return { docKV: doc, indexKV: idx, added: docIds.size };
}

/** A copy of a SimpleKVStore sharing its (immutable) stored values. */
function copyKV(kv: SimpleKVStore): SimpleKVStore {
  const maps = new Map<string, Map<string, Stored>>();
  for (const [c, k, v] of kv.serializedEntries()) {
    let m = maps.get(c);
    if (!m) {
      m = new Map();
      maps.set(c, m);
    }
    m.set(k, v);
  }
  return SimpleKVStore.fromTrustedMaps(maps);
}
