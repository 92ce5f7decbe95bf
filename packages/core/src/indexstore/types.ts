import type { JsonObject } from "../kv/types.js";

/** An index struct as LlamaIndex stores it: a type tag plus a JSON payload (`IndexDict`, `IndexList`, `KG`...). */
export interface IndexStruct {
  indexId: string;
  /** LlamaIndex's `IndexStructType`, e.g. `"vector_store"` for IndexDict, `"list"`, `"keyword_table"`, `"kg"`. */
  type: string;
  summary?: string | null;
  /** The remaining fields in LlamaIndex's snake_case shape, e.g. `{nodes_dict: {...}, doc_id_dict: {}, embeddings_dict: {}}`. */
  data: JsonObject;
}

export interface IndexStore {
  addIndexStruct(struct: IndexStruct): Promise<void>;
  /** With no id: the only struct (`CONFLICT` when there are several, `undefined` when none). */
  getIndexStruct(id?: string): Promise<IndexStruct | undefined>;
  indexStructs(): Promise<IndexStruct[]>;
  deleteIndexStruct(id: string): Promise<boolean>;
}
