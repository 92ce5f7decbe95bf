import { SimpleKVStore, type KVDict } from "../kv/simple-kv-store.js";
import { KVDocumentStore, type KVDocumentStoreOptions } from "./kv-document-store.js";

/**
 * In-memory document store (LlamaIndex's `SimpleDocumentStore`): a {@link KVDocumentStore} over a
 * {@link SimpleKVStore}. `toDict()` is exactly the content of LlamaIndex's `docstore.json`.
 */
export class SimpleDocumentStore extends KVDocumentStore {
  declare readonly kvStore: SimpleKVStore;

  constructor(kvStore: SimpleKVStore = new SimpleKVStore(), options: KVDocumentStoreOptions = {}) {
    super(kvStore, options);
  }

  /** Loads the `docstore.json` shape `{collection: {key: value}}`. The namespace is not in the file. */
  static fromDict(data: KVDict, options: KVDocumentStoreOptions = {}): SimpleDocumentStore {
    return new SimpleDocumentStore(SimpleKVStore.fromDict(data), options);
  }

  /** The `docstore.json` shape (deep copy). */
  toDict(): KVDict {
    return this.kvStore.toDict();
  }
}
