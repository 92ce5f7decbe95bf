import { StorageError } from "../errors.js";
import { jsonSourceOf, parseJsonKeepingSource, valueFingerprint } from "../schema/exact-json.js";
import { DEFAULT_COLLECTION, type JsonObject, type KVStore } from "./types.js";
import { assertBatchSize, assertCollection, assertJsonObject, assertKey, assertKeys, assertSerializer, isPlainObject, serializedObjectText } from "./validate.js";

/** LlamaIndex's persisted KV shape: `{collection: {key: value}}` (`docstore.json`, `index_store.json`). */
export type KVDict = Record<string, Record<string, JsonObject>>;

const NAME = "SimpleKVStore";

/**
 * A stored value: a JSON object owned by the store; or its JSON text — a value put with
 * {@link SimpleKVStore.putAllSerialized} or adopted from a checksum-verified Larder file
 * ({@link SimpleKVStore.fromTrustedMaps}) — as a string or as UTF-8 bytes (a loaded file's bytes,
 * not decoded until read). Text is parsed only when read (a parse is a fresh copy, like the
 * `structuredClone` of object values) and written back as is by the next persist.
 */
export type Stored = JsonObject | string | Uint8Array;

/** The JSON text of a stored value kept as text or bytes. */
const textOf = (v: string | Uint8Array): string =>
  typeof v === "string" ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("utf8");
const isText = (v: Stored): v is string | Uint8Array => typeof v === "string" || ArrayBuffer.isView(v);

/**
 * A caller's copy of a stored value. A value kept as text remembers it (non-enumerably), so a node
 * read from it keeps the exact form of metadata JS values cannot hold (`jsonToNode`).
 */
const copyOut = (v: Stored): JsonObject => (isText(v) ? (parseJsonKeepingSource(textOf(v)) as JsonObject) : structuredClone(v));
const live = (v: Stored): JsonObject => (isText(v) ? (JSON.parse(textOf(v)) as JsonObject) : v);

/**
 * What a put stores: the text a value was read from (a value another store handed out, e.g. copied
 * by `larder migrate`) when it is unchanged since, so its exact numbers and key order are kept;
 * otherwise a deep copy.
 */
function storedCopy(v: JsonObject): Stored {
  const src = jsonSourceOf(v);
  // One line only: persistence writes stored text as one line of a JSON-lines file.
  if (src !== undefined && !/[\n\r]/.test(src) && valueFingerprint(v) === valueFingerprint(JSON.parse(src))) return src;
  return structuredClone(v);
}

/**
 * In-memory {@link KVStore} (LlamaIndex's `SimpleKVStore`). Values are deep-copied on the way in
 * and out (`structuredClone`), so callers can never alias stored data. Every string that is
 * non-empty is a valid key and collection name (including NUL, `__proto__`, 10 kB strings).
 * Persistence is not done here: `toDict()`/`fromDict()` give the LlamaIndex file shape to the
 * persistence layer.
 */
export class SimpleKVStore implements KVStore {
  readonly name: string = NAME;
  readonly #data = new Map<string, Map<string, Stored>>();
  #version = 0;
  /**
   * Change log for incremental persists: collection -> key -> counter value of the key's last put
   * or delete. Bounded: when it holds more keys than the store, it is dropped and `#resetAt` says
   * that changes before that point cannot be listed (a full rewrite is as cheap then).
   */
  #log = new Map<string, Map<string, number>>();
  #logSize = 0;
  #resetAt = 0;

  constructor(data?: KVDict) {
    if (data !== undefined) this.#load(data);
  }

  /** Builds a store from LlamaIndex's `{collection: {key: value}}` shape (validated, deep-copied). */
  static fromDict(data: KVDict): SimpleKVStore {
    return new SimpleKVStore(data);
  }

  /**
   * Mutation counter, bumped by every write (persistence uses it to reuse the files of a store that
   * did not change since the last persist).
   */
  get version(): number {
    return this.#version;
  }

  /**
   * For persistence only: the `[collection, key, value]` entries put or deleted (value `undefined`)
   * after mutation counter `version`, or `undefined` when that cannot be told any more (a
   * `clear()` since, or more changes than the store holds keys): then write everything. Values are
   * the live stored objects, or the JSON text of values adopted by {@link fromTrustedMaps} (see
   * {@link serializedEntries}). A put of an identical value counts as a change.
   */
  changesSince(version: number): [string, string, Stored | undefined][] | undefined {
    if (version < this.#resetAt || version > this.#version) return undefined;
    const out: [string, string, Stored | undefined][] = [];
    for (const [c, m] of this.#log) {
      const data = this.#data.get(c);
      for (const [k, v] of m) if (v > version) out.push([c, k, data?.get(k)]);
    }
    return out;
  }

  /** Number of stored entries over all collections. */
  get size(): number {
    let n = 0;
    for (const m of this.#data.values()) n += m.size;
    return n;
  }

  #logged(collection: string, keys: Iterable<string>): void {
    let m = this.#log.get(collection);
    if (!m) {
      m = new Map();
      this.#log.set(collection, m);
    }
    const v = this.#version;
    for (const k of keys) {
      const before = m.size;
      m.set(k, v);
      this.#logSize += m.size - before;
    }
    if (this.#logSize > 1024 && this.#logSize > this.size) {
      this.#log.clear();
      this.#logSize = 0;
      this.#resetAt = v;
    }
  }

  /**
   * For persistence only: the live stored values as `[collection, key, value]`, NOT copies (no
   * per-value clone, so 100k values serialise fast). Callers must not mutate or keep them.
   */
  *entriesView(): Generator<readonly [string, string, JsonObject]> {
    for (const [c, m] of this.#data) for (const [k, v] of m) yield [c, k, live(v)];
  }

  /**
   * For persistence only: `[collection, key, value]` with each value either the live stored
   * object (not a copy; callers must not mutate it) or the JSON text it was loaded as. Listed
   * synchronously: the store never mutates a stored object in place, so serialising them later
   * still sees this state.
   */
  serializedEntries(): (readonly [string, string, Stored])[] {
    const out: (readonly [string, string, Stored])[] = [];
    for (const [c, m] of this.#data) for (const [k, v] of m) out.push([c, k, v]);
    return out;
  }

  /**
   * For persistence only: adopts already-validated data (a checksum-verified Larder file) without
   * validation or copies; the maps become the store's own. A string value is the JSON text of an
   * object (this library's own serialisation), parsed when read. Use {@link fromDict} for anything else.
   */
  static fromTrustedMaps(data: Map<string, Map<string, Stored>>): SimpleKVStore {
    const store = new SimpleKVStore();
    for (const [c, m] of data) if (m.size > 0) store.#data.set(c, m);
    return store;
  }

  /** A deep copy of everything, in LlamaIndex's `{collection: {key: value}}` shape. */
  toDict(): KVDict {
    return Object.fromEntries(
      [...this.#data].map(([c, m]) => [c, Object.fromEntries([...m].map(([k, v]) => [k, copyOut(v)]))]),
    ) as KVDict;
  }

  async put(key: string, value: JsonObject, collection: string = DEFAULT_COLLECTION): Promise<void> {
    assertKey(key, this.name);
    assertCollection(collection, this.name);
    assertJsonObject(value, this.name);
    this.#collection(collection, true).set(key, storedCopy(value));
    this.#version++;
    this.#logged(collection, [key]);
  }

  async putAll(
    entries: Iterable<readonly [string, JsonObject]>,
    collection: string = DEFAULT_COLLECTION,
    options: { batchSize?: number } = {},
  ): Promise<void> {
    assertCollection(collection, this.name);
    assertBatchSize(options.batchSize, this.name);
    const list = materializeEntries(entries, this.name);
    if (list.length === 0) return;
    // Copy before the first write so a bad entry late in the batch leaves the store untouched.
    const copies = list.map(([k, v]) => [k, storedCopy(v)] as const);
    const target = this.#collection(collection, true);
    for (const [k, v] of copies) target.set(k, v);
    this.#version++;
    this.#logged(collection, copies.map(([k]) => k));
  }

  /**
   * {@link KVStore.putAllSerialized}: keys, collection and options are validated, then every text is
   * pulled and shape-checked (`{...}`) before the first one is stored, so a refusal leaves the store
   * untouched. The texts are kept as they are (a value stored as text is parsed when read, and
   * written back as is by the next persist): for node JSON this is cheaper than a deep copy of an
   * object tree, smaller in memory, and spares the persist a `JSON.stringify` per value.
   */
  async putAllSerialized(
    keys: readonly string[],
    serialize: (index: number) => string,
    collection: string = DEFAULT_COLLECTION,
    options: { batchSize?: number } = {},
  ): Promise<void> {
    assertCollection(collection, this.name);
    assertBatchSize(options.batchSize, this.name);
    assertKeys(keys, this.name);
    assertSerializer(serialize, this.name);
    if (keys.length === 0) return;
    const texts = new Array<string>(keys.length);
    for (let i = 0; i < keys.length; i++) texts[i] = serializedObjectText(serialize(i), i, this.name);
    const target = this.#collection(collection, true);
    for (let i = 0; i < keys.length; i++) target.set(keys[i]!, texts[i]!);
    this.#version++;
    this.#logged(collection, keys);
  }

  async get(key: string, collection: string = DEFAULT_COLLECTION): Promise<JsonObject | undefined> {
    assertKey(key, this.name);
    assertCollection(collection, this.name);
    const v = this.#data.get(collection)?.get(key);
    return v === undefined ? undefined : copyOut(v);
  }

  async getMany(keys: readonly string[], collection: string = DEFAULT_COLLECTION): Promise<(JsonObject | undefined)[]> {
    assertKeys(keys, this.name);
    assertCollection(collection, this.name);
    const m = this.#data.get(collection);
    return keys.map((k) => {
      const v = m?.get(k);
      return v === undefined ? undefined : copyOut(v);
    });
  }

  async getAll(collection: string = DEFAULT_COLLECTION): Promise<Record<string, JsonObject>> {
    assertCollection(collection, this.name);
    const m = this.#data.get(collection);
    // fromEntries defines own properties, so a key like "__proto__" stays an ordinary key.
    return m ? Object.fromEntries([...m].map(([k, v]) => [k, copyOut(v)])) : {};
  }

  async delete(key: string, collection: string = DEFAULT_COLLECTION): Promise<boolean> {
    assertKey(key, this.name);
    assertCollection(collection, this.name);
    const m = this.#data.get(collection);
    if (!m) return false;
    const deleted = m.delete(key);
    if (m.size === 0) this.#data.delete(collection);
    if (deleted) {
      this.#version++;
      this.#logged(collection, [key]);
    }
    return deleted;
  }

  async deleteMany(keys: readonly string[], collection: string = DEFAULT_COLLECTION): Promise<number> {
    assertKeys(keys, this.name);
    assertCollection(collection, this.name);
    const m = this.#data.get(collection);
    if (!m) return 0;
    const gone: string[] = [];
    for (const k of new Set(keys)) if (m.delete(k)) gone.push(k);
    if (m.size === 0) this.#data.delete(collection);
    if (gone.length > 0) {
      this.#version++;
      this.#logged(collection, gone);
    }
    return gone.length;
  }

  async *scan(collection: string = DEFAULT_COLLECTION, options: { batchSize?: number } = {}): AsyncIterable<readonly [string, JsonObject]> {
    assertCollection(collection, this.name);
    assertBatchSize(options.batchSize, this.name);
    // Snapshot the keys, then read each value at yield time: entries deleted meanwhile are skipped.
    const keys = [...(this.#data.get(collection)?.keys() ?? [])];
    for (const k of keys) {
      const v = this.#data.get(collection)?.get(k);
      if (v !== undefined) yield [k, copyOut(v)] as const;
    }
  }

  async collections(): Promise<string[]> {
    return [...this.#data.keys()].filter((c) => (this.#data.get(c)?.size ?? 0) > 0);
  }

  /** Removes everything (all collections). */
  async clear(): Promise<void> {
    this.#data.clear();
    this.#version++;
    this.#log.clear();
    this.#logSize = 0;
    this.#resetAt = this.#version;
  }

  async close(): Promise<void> {}

  #collection(name: string, create: true): Map<string, Stored> {
    let m = this.#data.get(name);
    if (!m && create) {
      m = new Map();
      this.#data.set(name, m);
    }
    return m as Map<string, Stored>;
  }

  #load(data: KVDict): void {
    if (!isPlainObject(data)) {
      throw new StorageError("INVALID_ARGUMENT", "KV data must be an object {collection: {key: value}}", { store: this.name });
    }
    const staged = new Map<string, Map<string, JsonObject>>();
    for (const [c, entries] of Object.entries(data)) {
      assertCollection(c, this.name);
      if (!isPlainObject(entries)) {
        throw new StorageError("INVALID_ARGUMENT", `collection ${JSON.stringify(c.slice(0, 80))} must be an object of key -> value`, {
          store: this.name,
        });
      }
      const m = new Map<string, JsonObject>();
      for (const [k, v] of Object.entries(entries)) {
        assertKey(k, this.name);
        assertJsonObject(v, this.name, `value of ${JSON.stringify(k.slice(0, 80))}`);
        m.set(k, structuredClone(v));
      }
      if (m.size > 0) staged.set(c, m);
    }
    for (const [c, m] of staged) this.#data.set(c, m);
  }
}

/** Validates a whole batch of `[key, value]` entries before any write. */
export function materializeEntries(entries: Iterable<readonly [string, JsonObject]>, store: string): (readonly [string, JsonObject])[] {
  if (entries === null || typeof entries !== "object" || typeof (entries as Iterable<unknown>)[Symbol.iterator] !== "function") {
    throw new StorageError("INVALID_ARGUMENT", "entries must be an iterable of [key, value] pairs", { store });
  }
  const list = [...entries];
  list.forEach((entry, i) => {
    if (!Array.isArray(entry) || entry.length !== 2) {
      throw new StorageError("INVALID_ARGUMENT", `entry ${i} must be a [key, value] pair`, { store });
    }
    assertKey(entry[0], store);
    assertJsonObject(entry[1], store, `value of entry ${i}`);
  });
  return list;
}
