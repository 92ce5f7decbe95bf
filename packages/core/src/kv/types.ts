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
   * Optional capability: `putAll` for values the caller serializes itself, on demand. The core's
   * `KVDocumentStore` uses it for node JSON: it validates every node first, then lets the store pull
   * each node's JSON text only when that entry is about to be sent, so 100k node texts never sit in
   * memory together and the store neither validates nor stringifies them again. Callers must check
   * that the method exists and fall back to `putAll` otherwise.
   *
   * The store validates `keys`, `collection` and `batchSize` like `putAll` (all of them before the
   * first write, `INVALID_ARGUMENT`), then calls `serialize(i)` exactly once per key, in order,
   * while it writes. Caller's promise: `serialize(i)` returns `JSON.stringify(v)` of a `v` that
   * passed `assertJsonObject`, and does not throw (the values must not change while the call is in
   * flight). The store refuses text that is not shaped like a JSON object (`{...}`), but it does not
   * re-parse it; a refusal or a throw at that point can leave the entries before it written.
   * Afterwards `get` returns `JSON.parse(text)`. Same batching and last-value-wins rules as `putAll`.
   */
  putAllSerialized?(
    keys: readonly string[],
    serialize: (index: number) => string,
    collection?: string,
    options?: { batchSize?: number },
  ): Promise<void>;
  /**
   * Optional capability: runs `fn` while holding the exclusive lock named `lock`, which every
   * instance of this store on the same backend honours, in any process. `fn` does all its reads and
   * writes through the `kv` it is given (the store itself, or a view bound to a transaction), so a
   * read-modify-write inside it cannot interleave with another holder's. The core's
   * `KVDocumentStore` runs its ref-doc bookkeeping (and the node writes that go with it) this way,
   * which keeps it exact with many writers in many processes; without the capability it serializes
   * only the callers of one process. Callers must check that the method exists.
   *
   * The lock is released when `fn` settles; `fn`'s rejection is passed on. Whether `fn`'s writes
   * are also atomic (all or none) is the store's to document (Postgres: one transaction). A store
   * that cannot obtain the lock rejects with `CONFLICT` (timeout) or `CONNECTION`, without calling `fn`.
   */
  transaction?<T>(lock: string, fn: (kv: KVStore) => Promise<T>): Promise<T>;
}
