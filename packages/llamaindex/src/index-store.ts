import { createIndexDict, createIndexList, type DocStore, errors, type IndexStore, type IndexStruct as LarderIndexStruct, isIndexDict, type JsonObject } from "@larder/core";
import { IndexDict, IndexList, type IndexStruct, IndexStructType, KeywordTable } from "@llamaindex/core/data-structs";
import type { BaseNode } from "@llamaindex/core/schema";

/** LlamaIndexTS types index ids as UUID strings; ids written by others (Python, Larder) are any string. */
type UUID = `${string}-${string}-${string}-${string}-${string}`;
import { BaseIndexStore } from "@llamaindex/core/storage/index-store";
import { fromLarderNode } from "./nodes.js";

export interface LarderIndexStoreOptions {
  /** The Larder index store to use. */
  indexStore: IndexStore;
  /**
   * Where the nodes of a vector index live (the context's docstore). LlamaIndexTS's `IndexDict`
   * holds whole nodes; Larder stores LlamaIndex's `nodes_dict` (vector id -> node id), so reading
   * an index struct back fills its nodes from here, in one batched read.
   */
  docStore?: DocStore;
}

/**
 * LlamaIndexTS's `BaseIndexStore` over a Larder {@link IndexStore}. Index structs are stored in
 * LlamaIndex's (Python's) shape, so the same store serves LlamaIndexTS, Larder and Python:
 *
 * | LlamaIndexTS                           | Larder / Python                                   |
 * | -------------------------------------- | ------------------------------------------------- |
 * | `IndexDict` (`simple_dict`, nodesDict) | `vector_store` with `nodes_dict` vector id -> id   |
 * | `IndexList` (`list`)                   | `list` with `nodes`                               |
 * | `KeywordTable` (`keyword_table`)       | `keyword_table` with `table` keyword -> ids       |
 *
 * Other struct types are UNSUPPORTED (LlamaIndexTS cannot read them back either).
 */
export class LarderIndexStore extends BaseIndexStore {
  readonly #store: IndexStore;
  readonly #docStore: DocStore | undefined;

  constructor(options: LarderIndexStoreOptions) {
    super();
    if (!options || typeof options.indexStore?.addIndexStruct !== "function") throw errors.invalid("LarderIndexStore needs {indexStore}: a Larder IndexStore");
    this.#store = options.indexStore;
    this.#docStore = options.docStore;
  }

  /** The Larder store underneath. */
  get larder(): IndexStore {
    return this.#store;
  }

  /** Server stores write through; in-memory ones persist through `storageContextFromLarder(...).persist()`. */
  override async persist(_persistPath?: string): Promise<void> {}

  async addIndexStruct(indexStruct: IndexStruct): Promise<void> {
    await this.#store.addIndexStruct(toLarderStruct(indexStruct));
  }

  async deleteIndexStruct(key: string): Promise<void> {
    await this.#store.deleteIndexStruct(key);
  }

  /** With no id: the only struct (`undefined` when there is none, CONFLICT when there are several). */
  async getIndexStruct(structId?: string): Promise<IndexStruct | undefined> {
    const s = await this.#store.getIndexStruct(structId);
    return s === undefined ? undefined : this.#fromLarder(s);
  }

  async getIndexStructs(): Promise<IndexStruct[]> {
    const all = await this.#store.indexStructs();
    const out: IndexStruct[] = [];
    for (const s of all) out.push(await this.#fromLarder(s));
    return out;
  }

  async #fromLarder(s: LarderIndexStruct): Promise<IndexStruct> {
    const summary = typeof s.summary === "string" ? s.summary : undefined;
    if (s.type === "vector_store") {
      if (!isIndexDict(s)) throw errors.corrupt(`index struct ${JSON.stringify(s.indexId)} has no valid nodes_dict`);
      const dict = new IndexDict(s.indexId as UUID, summary);
      const entries = Object.entries(s.data.nodes_dict);
      if (entries.length === 0) return dict;
      if (!this.#docStore) {
        throw errors.invalid(`index struct ${JSON.stringify(s.indexId)} maps ${entries.length} nodes: give LarderIndexStore the docStore that holds them`);
      }
      const ids = [...new Set(entries.map(([, id]) => id))];
      const nodes = await this.#docStore.getNodes(ids, false);
      const byId = new Map<string, BaseNode>();
      for (const n of nodes) byId.set(n.id, fromLarderNode(n));
      // A mapped node missing from the docstore is left out: the vector store's query result
      // carries the node, which LlamaIndexTS's retriever uses when the struct has none.
      for (const [vid, id] of entries) {
        const n = byId.get(id);
        if (n !== undefined) dict.nodesDict[vid] = n;
      }
      return dict;
    }
    if (s.type === "list") {
      const list = new IndexList(s.indexId as UUID, summary);
      const nodes = s.data["nodes"];
      if (!Array.isArray(nodes) || !nodes.every((n) => typeof n === "string")) throw errors.corrupt(`index struct ${JSON.stringify(s.indexId)} (list) has no valid nodes list`);
      list.nodes = [...nodes];
      return list;
    }
    if (s.type === "keyword_table") {
      const table = new KeywordTable(s.indexId as UUID, summary);
      const t = s.data["table"];
      if (typeof t !== "object" || t === null || Array.isArray(t)) throw errors.corrupt(`index struct ${JSON.stringify(s.indexId)} (keyword_table) has no valid table`);
      for (const [kw, ids] of Object.entries(t)) {
        if (!Array.isArray(ids)) throw errors.corrupt(`index struct ${JSON.stringify(s.indexId)}: keyword ${JSON.stringify(kw)} does not map to a list`);
        table.table.set(kw, new Set(ids.map(String)));
      }
      return table;
    }
    throw errors.unsupported(`index struct ${JSON.stringify(s.indexId)} has type ${JSON.stringify(s.type)}, which LlamaIndexTS cannot load (vector_store, list and keyword_table can)`);
  }
}

/** A LlamaIndexTS index struct in Larder's (LlamaIndex's) shape. */
export function toLarderStruct(s: IndexStruct): LarderIndexStruct {
  if (!s || typeof s.indexId !== "string" || s.indexId === "") throw errors.invalid("an index struct needs a non-empty string indexId");
  const type = (s as { type?: unknown }).type;
  const summary = typeof s.summary === "string" ? s.summary : null;
  if (type === IndexStructType.SIMPLE_DICT) {
    const nodesDict: Record<string, string> = {};
    for (const [vid, node] of Object.entries((s as IndexDict).nodesDict)) nodesDict[vid] = node.id_;
    return createIndexDict({ indexId: s.indexId, summary, nodesDict });
  }
  if (type === IndexStructType.LIST) return createIndexList({ indexId: s.indexId, summary, nodes: [...(s as IndexList).nodes] });
  if (type === IndexStructType.KEYWORD_TABLE) {
    const table: JsonObject = {};
    for (const [kw, ids] of (s as KeywordTable).table) table[kw] = [...ids];
    return { indexId: s.indexId, type: "keyword_table", summary, data: { table } };
  }
  throw errors.unsupported(`index structs of type ${JSON.stringify(type)} are not supported (simple_dict, list and keyword_table are)`);
}
