import { SimpleKVStore, type KVDict } from "../kv/simple-kv-store.js";
import { KVIndexStore, type KVIndexStoreOptions } from "./kv-index-store.js";

/** In-memory index store (LlamaIndex's `SimpleIndexStore`); `toDict()` is `index_store.json`'s content. */
export class SimpleIndexStore extends KVIndexStore {
  declare readonly kvStore: SimpleKVStore;

  constructor(kvStore: SimpleKVStore = new SimpleKVStore(), options: KVIndexStoreOptions = {}) {
    super(kvStore, options);
  }

  static fromDict(data: KVDict, options: KVIndexStoreOptions = {}): SimpleIndexStore {
    return new SimpleIndexStore(SimpleKVStore.fromDict(data), options);
  }

  toDict(): KVDict {
    return this.kvStore.toDict();
  }
}
