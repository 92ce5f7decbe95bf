import { errors, type JsonObject, type KVStore } from "@larder/core";
import type { StoredValue } from "@llamaindex/core/schema";
import { BaseKVStore } from "@llamaindex/core/storage/kv-store";

/**
 * LlamaIndexTS's `BaseKVStore` over a Larder {@link KVStore} (in-memory, Redis, Postgres...).
 * Values are JSON objects (anything else is INVALID_ARGUMENT before a write); `get` of a missing
 * key resolves `null`; the default collection is `"data"`, as in LlamaIndexTS.
 */
export class LarderKVStore extends BaseKVStore {
  readonly #store: KVStore;

  constructor(kvStore: KVStore) {
    super();
    if (!kvStore || typeof kvStore.put !== "function") throw errors.invalid("LarderKVStore needs a Larder KVStore");
    this.#store = kvStore;
  }

  /** The Larder store underneath. */
  get larder(): KVStore {
    return this.#store;
  }

  async put(key: string, val: StoredValue, collection?: string): Promise<void> {
    if (val === null || typeof val !== "object" || Array.isArray(val)) throw errors.invalid(`the value of ${JSON.stringify(key)} must be a JSON object`);
    await this.#store.put(key, val as JsonObject, collection);
  }

  /** Many values in one batch (Larder's `putAll`). */
  async putAll(entries: Iterable<readonly [string, Record<string, unknown>]>, collection?: string): Promise<void> {
    await this.#store.putAll(entries as Iterable<readonly [string, JsonObject]>, collection);
  }

  async get(key: string, collection?: string): Promise<StoredValue> {
    return (await this.#store.get(key, collection)) ?? null;
  }

  async getAll(collection?: string): Promise<Record<string, StoredValue>> {
    return this.#store.getAll(collection);
  }

  async delete(key: string, collection?: string): Promise<boolean> {
    return this.#store.delete(key, collection);
  }
}
