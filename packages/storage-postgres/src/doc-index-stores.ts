import { KVDocumentStore, type KVDocumentStoreOptions } from "@larder/core/docstore";
import { KVIndexStore, type KVIndexStoreOptions } from "@larder/core/indexstore";
import { PostgresKVStore, type PostgresKVStoreOptions } from "./kv-store.js";

export type PostgresDocumentStoreOptions = PostgresKVStoreOptions & Omit<KVDocumentStoreOptions, "batchSize">;

/**
 * LlamaIndex's document store (core's `KVDocumentStore`: `{ns}/data`, `{ns}/metadata`,
 * `{ns}/ref_doc_info` collections) on a {@link PostgresKVStore}. Default table `larder_docstore`.
 * Pass `{kvStore}` to share one KV store (and table) between several stores.
 */
export class PostgresDocumentStore extends KVDocumentStore {
  constructor(options: PostgresDocumentStoreOptions | ({ kvStore: PostgresKVStore } & Omit<KVDocumentStoreOptions, "batchSize">)) {
    const kv = "kvStore" in options ? options.kvStore : new PostgresKVStore({ table: "larder_docstore", ...options });
    super(kv, { ...options, name: options.name ?? "PostgresDocumentStore" });
  }
}

export type PostgresIndexStoreOptions = PostgresKVStoreOptions & KVIndexStoreOptions;

/** LlamaIndex's index store (core's `KVIndexStore`) on a {@link PostgresKVStore}. Default table `larder_index_store`. */
export class PostgresIndexStore extends KVIndexStore {
  constructor(options: PostgresIndexStoreOptions | ({ kvStore: PostgresKVStore } & KVIndexStoreOptions)) {
    const kv = "kvStore" in options ? options.kvStore : new PostgresKVStore({ table: "larder_index_store", ...options });
    super(kv, { ...options, name: options.name ?? "PostgresIndexStore" });
  }
}
