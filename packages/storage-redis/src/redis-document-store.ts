import { KVDocumentStore, type KVDocumentStoreOptions } from "@larder/core/docstore";
import { RedisKVStore, type RedisKVStoreOptions } from "./redis-kv-store.js";

export type RedisDocumentStoreOptions = Omit<KVDocumentStoreOptions, "name"> & { name?: string };

/**
 * LlamaIndex's document store on Redis: the core {@link KVDocumentStore} over a {@link RedisKVStore}
 * (no Redis-specific logic). As in Python's `RedisDocumentStore`, nodes live in `{ns}/doc` (not
 * `{ns}/data`), next to `{ns}/metadata` and `{ns}/ref_doc_info`, so a docstore written by Python
 * with the same namespace (and an empty key prefix) is read as is.
 *
 * Pass a `RedisKVStore` (left open by `close()`) or connection options (the store creates its own
 * `RedisKVStore` and closes it).
 */
export class RedisDocumentStore extends KVDocumentStore {
  override readonly kvStore: RedisKVStore;
  readonly #ownsKv: boolean;

  constructor(kv: RedisKVStore | RedisKVStoreOptions, options: RedisDocumentStoreOptions = {}) {
    const owns = !(kv instanceof RedisKVStore);
    const kvStore = kv instanceof RedisKVStore ? kv : new RedisKVStore(kv);
    super(kvStore, { nodeCollectionSuffix: "/doc", ...options, name: options.name ?? "RedisDocumentStore" });
    this.kvStore = kvStore;
    this.#ownsKv = owns;
  }

  /** Closes the KV store (and so its client) only if this docstore created it. */
  override async close(): Promise<void> {
    if (this.#ownsKv) await this.kvStore.close();
  }
}
