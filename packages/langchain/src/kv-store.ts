import { StorageError } from "@larder/core/errors";
import { assertJsonObject, type JsonObject, type JsonValue, type KVStore } from "@larder/core/kv";
import { Document } from "@langchain/core/documents";
import { BaseStore } from "@langchain/core/stores";

/** How values of type `T` are written to and read from a Larder KV value (a JSON object). */
export interface LarderValueCodec<T> {
  encode(value: T): JsonObject;
  decode(stored: JsonObject): T;
}

/** Any JSON value, stored as `{ "value": <the value> }`. Values JSON cannot hold exactly are refused. */
export const jsonValueCodec: LarderValueCodec<JsonValue> = {
  encode: (value) => ({ value }),
  decode: (stored) => {
    if (!("value" in stored)) throw new StorageError("CORRUPT", "stored entry has no \"value\" member", { store: "LarderKVBaseStore" });
    return stored["value"] as JsonValue;
  },
};

/**
 * LangChain documents (for `MultiVectorRetriever`'s `docstore`), stored as
 * `{ "pageContent": ..., "metadata": {...}, "id": ... }` and read back as `Document` instances.
 */
export const documentCodec: LarderValueCodec<Document> = {
  encode: (doc) => {
    if (typeof doc?.pageContent !== "string") {
      throw new StorageError("INVALID_ARGUMENT", "a document needs a string pageContent", { store: "LarderKVBaseStore" });
    }
    const out: JsonObject = { pageContent: doc.pageContent, metadata: (doc.metadata ?? {}) as JsonObject };
    if (doc.id !== undefined) out["id"] = doc.id;
    return out;
  },
  decode: (stored) => {
    const { pageContent, metadata, id } = stored;
    if (typeof pageContent !== "string") throw new StorageError("CORRUPT", "stored document has no string pageContent", { store: "LarderKVBaseStore" });
    return new Document({ pageContent, metadata: (metadata ?? {}) as Record<string, unknown>, ...(typeof id === "string" ? { id } : {}) });
  },
};

/**
 * Bytes, stored as `{ "base64": "<standard base64 with padding>" }`: a Larder KV value is a JSON
 * object, and base64 is the exact, compact way to hold any byte string in one. Read back as a
 * fresh `Uint8Array` equal byte for byte.
 */
export const bytesCodec: LarderValueCodec<Uint8Array> = {
  encode: (value) => {
    if (!(value instanceof Uint8Array)) {
      throw new StorageError("INVALID_ARGUMENT", "a byte store value must be a Uint8Array", { store: "LarderByteStore" });
    }
    return { base64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  },
  decode: (stored) => {
    const b64 = stored["base64"];
    if (typeof b64 !== "string") throw new StorageError("CORRUPT", "stored entry has no string \"base64\" member", { store: "LarderByteStore" });
    const buf = Buffer.from(b64, "base64");
    return new Uint8Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  },
};

export interface LarderKVBaseStoreArgs<T> {
  /** Any Larder KV store: `SimpleKVStore`, `RedisKVStore`, `PostgresKVStore`, ... */
  kv: KVStore;
  /** The KV collection the entries live in. Default `"langchain/store"`. */
  collection?: string;
  /** Default {@link jsonValueCodec} (any JSON value). */
  codec?: LarderValueCodec<T>;
}

/**
 * LangChain's `BaseStore<string, T>` over any Larder `KVStore`: each method is one batched call
 * (`mget` -> `getMany`, `mset` -> `putAll`, `mdelete` -> `deleteMany`), so a remote store does one
 * round trip per call. `yieldKeys(prefix)` scans the collection and keeps the keys that start with
 * `prefix`.
 */
export class LarderKVBaseStore<T = JsonValue> extends BaseStore<string, T> {
  lc_namespace = ["larder", "stores"];
  readonly kv: KVStore;
  readonly collection: string;
  readonly codec: LarderValueCodec<T>;
  protected readonly storeName: string = "LarderKVBaseStore";

  constructor(args: LarderKVBaseStoreArgs<T>) {
    super(args as unknown as Record<string, unknown>);
    if (!args?.kv || typeof args.kv.getMany !== "function") {
      throw new StorageError("INVALID_ARGUMENT", "args.kv must be a Larder KVStore", { store: "LarderKVBaseStore" });
    }
    this.kv = args.kv;
    this.collection = args.collection ?? "langchain/store";
    this.codec = args.codec ?? (jsonValueCodec as unknown as LarderValueCodec<T>);
  }

  async mget(keys: string[]): Promise<(T | undefined)[]> {
    const values = await this.kv.getMany(keys, this.collection);
    return values.map((v) => (v === undefined ? undefined : this.codec.decode(v)));
  }

  /** Encodes and checks every value first: a refused batch writes nothing. */
  async mset(keyValuePairs: [string, T][]): Promise<void> {
    if (!Array.isArray(keyValuePairs)) throw new StorageError("INVALID_ARGUMENT", "keyValuePairs must be an array of [key, value] pairs", { store: this.storeName });
    const entries = keyValuePairs.map(([key, value], i): [string, JsonObject] => {
      const encoded = this.codec.encode(value);
      assertJsonObject(encoded, this.storeName, `value of keyValuePairs[${i}]`);
      return [key, encoded];
    });
    await this.kv.putAll(entries, this.collection);
  }

  async mdelete(keys: string[]): Promise<void> {
    await this.kv.deleteMany(keys, this.collection);
  }

  async *yieldKeys(prefix?: string): AsyncGenerator<string> {
    for await (const [key] of this.kv.scan(this.collection)) {
      if (prefix === undefined || key.startsWith(prefix)) yield key;
    }
  }
}

export interface LarderByteStoreArgs {
  kv: KVStore;
  /** Default `"langchain/bytes"`. */
  collection?: string;
}

/**
 * LangChain's `BaseStore<string, Uint8Array>` (what `CacheBackedEmbeddings.fromBytesStore` takes)
 * over any Larder `KVStore`; bytes are stored base64-encoded ({@link bytesCodec}), losslessly.
 */
export class LarderByteStore extends LarderKVBaseStore<Uint8Array> {
  protected override readonly storeName: string = "LarderByteStore";

  constructor(args: LarderByteStoreArgs) {
    super({ kv: args?.kv, collection: args?.collection ?? "langchain/bytes", codec: bytesCodec });
  }
}
