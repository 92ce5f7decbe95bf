/** A JSON object value, as stored in a KV collection. */
export type JsonObject = { [key: string]: JsonValue };
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

export const DEFAULT_COLLECTION = "data";

/**
 * Key-value store of JSON objects in named collections (LlamaIndex's `BaseKVStore`).
 *
 * - Keys and collection names are non-empty strings; a store refuses what it cannot represent with
 *   `INVALID_ARGUMENT` before writing anything.
 * - Values must be plain JSON objects (not arrays, not primitives): anything else is `INVALID_ARGUMENT`.
 * - `put` replaces the whole value (no merge). Values are copied on the way in and out: mutating a
 *   returned object never changes what is stored.
 * - Batch methods do one round trip per batch (per `batchSize` chunk), never one per key, and are
 *   validated as a whole before the first write.
 */
export interface KVStore {
  /** Upsert one value. */
  put(key: string, value: JsonObject, collection?: string): Promise<void>;
  /** Upsert many values; the whole batch is validated before anything is written. A key repeated in the batch: the last value wins. */
  putAll(entries: Iterable<readonly [string, JsonObject]>, collection?: string, options?: { batchSize?: number }): Promise<void>;
  /** The value, or `undefined` when the key is missing. */
  get(key: string, collection?: string): Promise<JsonObject | undefined>;
  /** Values for many keys in one round trip; the result has the same length and order as `keys` (`undefined` for missing). */
  getMany(keys: readonly string[], collection?: string): Promise<(JsonObject | undefined)[]>;
  /** The whole collection as a plain object (`{}` for an unknown collection). Use `scan` for big ones. */
  getAll(collection?: string): Promise<Record<string, JsonObject>>;
  /** Whether something was deleted. */
  delete(key: string, collection?: string): Promise<boolean>;
  /** Deletes many keys in one round trip; resolves how many distinct keys existed (duplicates count once). */
  deleteMany(keys: readonly string[], collection?: string): Promise<number>;
  /** Iterates a collection without loading it whole. Order is unspecified; every entry appears once if not modified during the scan. */
  scan(collection?: string, options?: { batchSize?: number }): AsyncIterable<readonly [string, JsonObject]>;
  /** Names of the collections that hold at least one entry (a collection whose last key is deleted disappears). Order unspecified. */
  collections(): Promise<string[]>;
  /** Releases what the store itself opened (never a client that was passed in). */
  close?(): Promise<void>;
  /**
   * Optional capability: `putAll` for values that are already JSON text, so a caller that has just
   * validated and serialized them (the core's `KVDocumentStore` does, for node JSON) does not pay
   * for a second validation and a second `JSON.stringify` inside the store. Callers must check that
   * the method exists and fall back to `putAll` otherwise.
   *
   * Caller's promise: every value is `JSON.stringify(v)` of a `v` that passed `assertJsonObject`
   * (a plain JSON object). The store still validates keys, collection and `batchSize` like
   * `putAll` (the whole batch before the first write, `INVALID_ARGUMENT`) and refuses anything that
   * is not a string shaped like a JSON object (`{...}`), but it does not re-parse the text.
   * Afterwards `get` returns `JSON.parse(text)`. Same batching and last-value-wins rules as `putAll`.
   */
  putAllSerialized?(
    entries: readonly (readonly [string, string])[],
    collection?: string,
    options?: { batchSize?: number },
  ): Promise<void>;
}
