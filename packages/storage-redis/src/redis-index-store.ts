import { KVIndexStore, type KVIndexStoreOptions } from "@larder/core/indexstore";
import { RedisKVStore, type RedisKVStoreOptions } from "./redis-kv-store.js";

export type RedisIndexStoreOptions = KVIndexStoreOptions;

/**
 * LlamaIndex's index store on Redis: the core {@link KVIndexStore} over a {@link RedisKVStore}. As in
 * Python's `RedisIndexStore`, index structs live in the collection `{ns}/index` (namespace default
 * `index_store`), so an index store written by Python (with an empty key prefix) is read as is.
 *
 * Pass a `RedisKVStore` (left open by `close()`) or connection options (the store creates its own
 * `RedisKVStore` and closes it).
 */
export class RedisIndexStore extends KVIndexStore {
  override readonly kvStore: RedisKVStore;
  readonly #ownsKv: boolean;

  constructor(kv: RedisKVStore | RedisKVStoreOptions, options: RedisIndexStoreOptions = {}) {
    const owns = !(kv instanceof RedisKVStore);
    const kvStore = kv instanceof RedisKVStore ? kv : new RedisKVStore(kv);
    super(kvStore, { collectionSuffix: "/index", ...options, name: options.name ?? "RedisIndexStore" });
    this.kvStore = kvStore;
    this.#ownsKv = owns;
  }

  /** Closes the KV store (and so its client) only if this index store created it. */
  override async close(): Promise<void> {
    if (this.#ownsKv) await this.kvStore.close();
  }
}
