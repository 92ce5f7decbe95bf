import { StorageError } from "../errors.js";
import type { JsonObject, KVStore } from "../kv/types.js";
import { pythonJsonDumps } from "../kv/python-json.js";
import { assertJsonObject, assertKey, isPlainObject } from "../kv/validate.js";
import type { IndexStore, IndexStruct } from "./types.js";

export const DEFAULT_INDEX_STORE_NAMESPACE = "index_store";

export interface KVIndexStoreOptions {
  /** Default `"index_store"`; the collection is `{namespace}{collectionSuffix}`. */
  namespace?: string;
  /** Default `"/data"`. */
  collectionSuffix?: string;
  name?: string;
}

/**
 * LlamaIndex's `index_struct_to_json`: `{"__type__": type, "__data__": "<JSON string>"}`. The
 * payload is double-encoded exactly as Python's dataclasses-json writes it (`index_id`, `summary`,
 * then the struct's own fields; `", "`/`": "` separators; ASCII-escaped).
 */
export function indexStructToJson(struct: IndexStruct): JsonObject {
  const { index_id: _i, summary: _s, ...rest } = struct.data;
  return {
    __type__: struct.type,
    __data__: pythonJsonDumps({ index_id: struct.indexId, summary: struct.summary ?? null, ...rest }),
  };
}

/** Reads `{__type__, __data__}` where `__data__` is a JSON string (or, as LlamaIndex also accepts, an object). */
export function jsonToIndexStruct(value: JsonObject, key?: string, store?: string): IndexStruct {
  const type = value["__type__"];
  let data: unknown = value["__data__"];
  const where = key === undefined ? "index struct" : `index struct ${JSON.stringify(key)}`;
  if (typeof type !== "string" || type === "") {
    throw new StorageError("CORRUPT", `${where} has no string __type__`, { store });
  }
  if (typeof data === "string") {
    try {
      data = JSON.parse(data);
    } catch (cause) {
      throw new StorageError("CORRUPT", `${where}: __data__ is not valid JSON`, { store, cause });
    }
  }
  if (!isPlainObject(data)) throw new StorageError("CORRUPT", `${where}: __data__ is not an object`, { store });
  const { index_id, summary, ...rest } = data as JsonObject;
  const indexId = typeof index_id === "string" && index_id !== "" ? index_id : key;
  if (indexId === undefined) throw new StorageError("CORRUPT", `${where}: no index_id`, { store });
  return { indexId, type, summary: typeof summary === "string" ? summary : null, data: rest };
}

/**
 * LlamaIndex's `KVIndexStore` over any {@link KVStore}: one collection (`index_store/data`), key =
 * index id, value = {@link indexStructToJson}. Every KV backend is thereby an index store.
 */
export class KVIndexStore implements IndexStore {
  readonly name: string;
  readonly kvStore: KVStore;
  readonly namespace: string;
  readonly collection: string;

  constructor(kvStore: KVStore, options: KVIndexStoreOptions = {}) {
    this.name = options.name ?? new.target.name;
    if (kvStore === null || typeof kvStore !== "object" || typeof (kvStore as KVStore).get !== "function") {
      throw new StorageError("INVALID_ARGUMENT", "kvStore must be a KVStore", { store: this.name });
    }
    this.kvStore = kvStore;
    this.namespace = options.namespace ?? DEFAULT_INDEX_STORE_NAMESPACE;
    assertKey(this.namespace, this.name, "namespace");
    this.collection = `${this.namespace}${options.collectionSuffix ?? "/data"}`;
  }

  async addIndexStruct(struct: IndexStruct): Promise<void> {
    if (!isPlainObject(struct)) throw new StorageError("INVALID_ARGUMENT", "index struct must be an object", { store: this.name });
    assertKey(struct.indexId, this.name, "indexId");
    assertKey(struct.type, this.name, "type");
    if (struct.summary !== undefined && struct.summary !== null && typeof struct.summary !== "string") {
      throw new StorageError("INVALID_ARGUMENT", "summary must be a string or null", { store: this.name });
    }
    assertJsonObject(struct.data, this.name, "data");
    await this.kvStore.put(struct.indexId, indexStructToJson(struct), this.collection);
  }

  async getIndexStruct(id?: string): Promise<IndexStruct | undefined> {
    if (id === undefined) {
      const all = await this.indexStructs();
      if (all.length > 1) {
        throw new StorageError("CONFLICT", `there are ${all.length} index structs; pass the id of the one you want`, {
          store: this.name,
          details: { ids: all.slice(0, 20).map((s) => s.indexId) },
        });
      }
      return all[0];
    }
    assertKey(id, this.name, "id");
    const v = await this.kvStore.get(id, this.collection);
    return v === undefined ? undefined : jsonToIndexStruct(v, id, this.name);
  }

  async indexStructs(): Promise<IndexStruct[]> {
    const out: IndexStruct[] = [];
    for await (const [k, v] of this.kvStore.scan(this.collection)) out.push(jsonToIndexStruct(v, k, this.name));
    return out;
  }

  async deleteIndexStruct(id: string): Promise<boolean> {
    assertKey(id, this.name, "id");
    return this.kvStore.delete(id, this.collection);
  }

  async close(): Promise<void> {
    await this.kvStore.close?.();
  }
}
