import { randomUUID } from "node:crypto";
import { StorageError } from "@larder/core/errors";
import {
  DEFAULT_COLLECTION,
  assertBatchSize,
  assertCollection,
  assertJsonObject,
  assertKey,
  assertKeys,
  assertSerializer,
  materializeEntries,
  serializedObjectText,
  type JsonObject,
  type KVStore,
} from "@larder/core/kv";
import {
  assertEncodable,
  clientKeyPrefix,
  closeOwned,
  BulkHsetCommand,
  execPipeline,
  guarded,
  resolveClient,
  scanKeys,
  type RedisClient,
  type RedisConnectionOptions,
} from "./client.js";

export interface RedisKVStoreOptions extends RedisConnectionOptions {
  /**
   * Prepended to every collection name to form the Redis key of its hash: collection `docstore/doc`
   * with prefix `"app1:"` lives in the hash `app1:docstore/doc`. Default `""`, which is exactly the
   * layout of LlamaIndex Python's `RedisKVStore` (hash name = collection name). Use a distinct
   * prefix per application or tenant so stores can share a server and `collections()` lists only
   * yours.
   */
  prefix?: string;
  /** Entries per Redis command (HSET / HMGET / HDEL / HSCAN COUNT) when a call gives none. Default 1000. */
  batchSize?: number;
  /** Name used in error messages. Default `"RedisKVStore"`. */
  name?: string;
  /**
   * Lease of the lock {@link RedisKVStore.transaction} holds, in ms: renewed every third of it while
   * the holder works, so it only runs out when the holder stops renewing (crashed, or paused for
   * longer than the lease). Default 30 000.
   */
  lockLeaseMs?: number;
  /** How long {@link RedisKVStore.transaction} waits for the lock before `CONFLICT`, in ms. Default 60 000. */
  lockWaitMs?: number;
}

const DEFAULT_BATCH_SIZE = 1000;
/** Payload (UTF-16 units) per HSET command, at most (fewer when `batchSize` fields come first). */
const COMMAND_BYTES = 1024 * 1024;
/** HSET commands sent and not yet answered, at most. */
const COMMANDS_IN_FLIGHT = 2;
const DEFAULT_LOCK_LEASE_MS = 30_000;
const DEFAULT_LOCK_WAIT_MS = 60_000;
/** Pause between two attempts to take a busy lock: random, growing to this many ms. */
const LOCK_RETRY_MAX_MS = 10;
/** Extends the lease if the lock is still ours: 1, else 0. */
const RENEW_LUA = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;
/** Deletes the lock if it is still ours: 1, else 0. */
const RELEASE_LUA = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

/**
 * {@link KVStore} on Redis: one Redis hash per collection (`HSET <prefix><collection> <key> <json>`),
 * values stored as JSON text. Works on a standalone server and on Redis Cluster: a collection is a
 * single key, so every command touches exactly one slot.
 */
export class RedisKVStore implements KVStore {
  readonly name: string;
  /** The ioredis client (for what the abstraction does not cover). */
  readonly client: RedisClient;
  readonly prefix: string;
  readonly #owned: boolean;
  readonly #batchSize: number;
  readonly #lockLeaseMs: number;
  readonly #lockWaitMs: number;

  constructor(options: RedisKVStoreOptions) {
    this.name = options.name ?? "RedisKVStore";
    const prefix = options.prefix ?? "";
    if (typeof prefix !== "string") throw new StorageError("INVALID_ARGUMENT", "prefix must be a string", { store: this.name });
    assertEncodable(prefix, this.name, "prefix");
    assertBatchSize(options.batchSize, this.name);
    this.prefix = prefix;
    this.#batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    this.#lockLeaseMs = positiveMs(options.lockLeaseMs, DEFAULT_LOCK_LEASE_MS, "lockLeaseMs", this.name);
    this.#lockWaitMs = positiveMs(options.lockWaitMs, DEFAULT_LOCK_WAIT_MS, "lockWaitMs", this.name);
    const { client, owned } = resolveClient(options, this.name);
    this.client = client;
    this.#owned = owned;
  }

  /** The Redis key of a collection's hash (without the client's own ioredis `keyPrefix`, if any). */
  keyFor(collection: string = DEFAULT_COLLECTION): string {
    this.#checkCollection(collection);
    return this.prefix + collection;
  }

  async put(key: string, value: JsonObject, collection: string = DEFAULT_COLLECTION): Promise<void> {
    this.#checkKey(key);
    assertJsonObject(value, this.name);
    const hash = this.keyFor(collection);
    const json = JSON.stringify(value);
    await guarded(this.client, this.name, "put", () => this.client.hset(hash, key, json));
  }

  async putAll(
    entries: Iterable<readonly [string, JsonObject]>,
    collection: string = DEFAULT_COLLECTION,
    options: { batchSize?: number } = {},
  ): Promise<void> {
    const hash = this.keyFor(collection);
    assertBatchSize(options.batchSize, this.name);
    const list = materializeEntries(entries, this.name);
    for (const [k] of list) assertEncodable(k, this.name, "key");
    if (list.length === 0) return;
    // Everything is validated above, so JSON.stringify below cannot fail: a bad value late in the
    // batch has already been refused before the first byte was sent.
    await this.#hsetAll(
      hash,
      list.map(([k]) => k),
      (i) => JSON.stringify(list[i]![1]),
      options.batchSize ?? this.#batchSize,
      "putAll",
    );
  }

  /**
   * {@link KVStore.putAllSerialized}: every key is validated first (as in `putAll`), then
   * `serialize(i)` is called for each entry only as its HSET is built, so only the texts of the
   * command being built (~1 MB) are alive at once. Texts not shaped like a JSON object are refused.
   */
  async putAllSerialized(
    keys: readonly string[],
    serialize: (index: number) => string,
    collection: string = DEFAULT_COLLECTION,
    options: { batchSize?: number } = {},
  ): Promise<void> {
    const hash = this.keyFor(collection);
    assertBatchSize(options.batchSize, this.name);
    assertKeys(keys, this.name);
    for (const k of keys) assertEncodable(k, this.name, "key");
    assertSerializer(serialize, this.name);
    if (keys.length === 0) return;
    const encode = (i: number): string => serializedObjectText(serialize(i), i, this.name, keys[i]);
    await this.#hsetAll(hash, keys, encode, options.batchSize ?? this.#batchSize, "putAllSerialized");
  }

  /**
   * Multi-field HSETs of at most `batch` entries and about {@link COMMAND_BYTES} each, at most
   * {@link COMMANDS_IN_FLIGHT} unanswered at a time: the next command is built while Redis works on
   * the previous ones, without buffering a huge batch client-side. Each is encoded straight into one
   * buffer ({@link BulkHsetCommand}). Inputs are already validated.
   */
  async #hsetAll(hash: string, keys: readonly string[], encode: (index: number) => string, batch: number, op: string): Promise<void> {
    const keyPrefix = clientKeyPrefix(this.client) || undefined;
    await guarded(this.client, this.name, op, async () => {
      const inFlight: Promise<unknown>[] = [];
      let fields: string[] = [];
      let bytes = 0;
      const send = async () => {
        const command = new BulkHsetCommand(hash, fields, keyPrefix);
        const p = this.client.sendCommand(command) as Promise<unknown>;
        p.catch(() => {}); // observed below; avoids an unhandled rejection while it waits its turn
        inFlight.push(p);
        fields = [];
        bytes = 0;
        if (inFlight.length >= COMMANDS_IN_FLIGHT) await inFlight.shift();
      };
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        const json = encode(i);
        fields.push(k, json);
        bytes += k.length + json.length;
        if (fields.length >= 2 * batch || bytes >= COMMAND_BYTES) await send();
      }
      if (fields.length > 0) await send();
      await Promise.all(inFlight);
    });
  }

  async get(key: string, collection: string = DEFAULT_COLLECTION): Promise<JsonObject | undefined> {
    this.#checkKey(key);
    const hash = this.keyFor(collection);
    const raw = await guarded(this.client, this.name, "get", () => this.client.hget(hash, key));
    return raw === null ? undefined : this.#parse(raw, key, collection);
  }

  async getMany(keys: readonly string[], collection: string = DEFAULT_COLLECTION): Promise<(JsonObject | undefined)[]> {
    assertKeys(keys, this.name);
    for (const k of keys) assertEncodable(k, this.name, "key");
    const hash = this.keyFor(collection);
    if (keys.length === 0) return [];
    const batch = this.#batchSize;
    const replies = await guarded(this.client, this.name, "getMany", () => {
      const pipeline = this.client.pipeline();
      for (let i = 0; i < keys.length; i += batch) pipeline.hmget(hash, ...keys.slice(i, i + batch));
      return execPipeline(pipeline);
    });
    const raws = (replies as (string | null)[][]).flat();
    return raws.map((raw, i) => (raw === null ? undefined : this.#parse(raw, keys[i] as string, collection)));
  }

  async getAll(collection: string = DEFAULT_COLLECTION): Promise<Record<string, JsonObject>> {
    const hash = this.keyFor(collection);
    const all = await guarded(this.client, this.name, "getAll", () => this.client.hgetall(hash));
    // fromEntries defines own properties, so a key such as "__proto__" stays an ordinary key.
    return Object.fromEntries(Object.entries(all).map(([k, raw]) => [k, this.#parse(raw, k, collection)]));
  }

  async delete(key: string, collection: string = DEFAULT_COLLECTION): Promise<boolean> {
    this.#checkKey(key);
    const hash = this.keyFor(collection);
    const n = await guarded(this.client, this.name, "delete", () => this.client.hdel(hash, key));
    return n > 0;
  }

  async deleteMany(keys: readonly string[], collection: string = DEFAULT_COLLECTION): Promise<number> {
    assertKeys(keys, this.name);
    for (const k of keys) assertEncodable(k, this.name, "key");
    const hash = this.keyFor(collection);
    const unique = [...new Set(keys)];
    if (unique.length === 0) return 0;
    const batch = this.#batchSize;
    const counts = await guarded(this.client, this.name, "deleteMany", () => {
      const pipeline = this.client.pipeline();
      for (let i = 0; i < unique.length; i += batch) pipeline.hdel(hash, ...unique.slice(i, i + batch));
      return execPipeline(pipeline);
    });
    return (counts as number[]).reduce((a, b) => a + b, 0);
  }

  async *scan(collection: string = DEFAULT_COLLECTION, options: { batchSize?: number } = {}): AsyncIterable<readonly [string, JsonObject]> {
    const hash = this.keyFor(collection);
    assertBatchSize(options.batchSize, this.name);
    const count = options.batchSize ?? this.#batchSize;
    // HSCAN may repeat an entry while the hash is being rehashed; the contract says each entry once.
    const seen = new Set<string>();
    let cursor = "0";
    // Cursor-driven: each HSCAN needs the previous reply's cursor, and we yield between pages.
    do {
      const [next, flat] = await guarded(this.client, this.name, "scan", () => this.client.hscan(hash, cursor, "COUNT", count));
      cursor = next;
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const k = flat[i] as string;
        if (seen.has(k)) continue;
        seen.add(k);
        yield [k, this.#parse(flat[i + 1] as string, k, collection)] as const;
      }
    } while (cursor !== "0");
  }

  async collections(): Promise<string[]> {
    const raw = clientKeyPrefix(this.client) + this.prefix;
    const keys = await guarded(this.client, this.name, "collections", () => scanKeys(this.client, raw, "hash"));
    return keys.map((k) => k.slice(raw.length)).filter((c) => c.length > 0);
  }

  /**
   * {@link KVStore.transaction}: runs `fn(this)` while holding the lock `lock`, a Redis string key
   * `<prefix><lock>` (taken with `SET NX PX`, holding a random token; renewed while `fn` runs;
   * deleted afterwards only if it still holds our token). Every `RedisKVStore` with the same
   * prefix on the same server or cluster honours it, in any process. It is a lease: if the holder
   * stops renewing for `lockLeaseMs` (crashed or paused), another can take it; if that happened
   * while `fn` ran, the call rejects with `CONFLICT` once `fn` is done. The writes of `fn` are not
   * atomic: a crash in the middle leaves the earlier ones. Waiting longer than `lockWaitMs` for
   * the lock is `CONFLICT`; `fn` is not called. Not re-entrant: `fn` must not ask for the same lock.
   */
  async transaction<T>(lock: string, fn: (kv: KVStore) => Promise<T>): Promise<T> {
    this.#checkKey(lock);
    if (typeof fn !== "function") throw new StorageError("INVALID_ARGUMENT", "fn must be a function", { store: this.name });
    const key = this.prefix + lock;
    const token = randomUUID();
    const lease = this.#lockLeaseMs;
    const deadline = Date.now() + this.#lockWaitMs;
    // Polling is the only way to wait for a Redis key to go away without a connection of our own
    // (BLPOP-style waits would need one per waiter); each attempt is one SET.
    for (let attempt = 0; ; attempt++) {
      let ok: string | null;
      try {
        ok = await guarded(this.client, this.name, "transaction", () => this.client.set(key, token, "PX", lease, "NX"));
      } catch (e) {
        // The SET may have been applied before the connection failed: free the lock if it is ours
        // (best effort; otherwise the lease frees it).
        (this.client.eval(RELEASE_LUA, 1, key, token) as Promise<unknown>).catch(() => {});
        throw e;
      }
      if (ok === "OK") break;
      if (Date.now() >= deadline) {
        throw new StorageError("CONFLICT", `timed out after ${this.#lockWaitMs} ms waiting for the lock ${short(lock)}`, {
          store: this.name,
          details: { lock },
        });
      }
      await new Promise((r) => setTimeout(r, 1 + Math.random() * Math.min(LOCK_RETRY_MAX_MS, 2 ** attempt)));
    }
    let lost = false;
    let renewing: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      renewing = (this.client.eval(RENEW_LUA, 1, key, token, lease) as Promise<number>).then(
        (n) => {
          if (n !== 1) lost = true;
        },
        () => {}, // a failed renewal is retried at the next tick; the lease covers two more
      );
    }, Math.max(1, Math.floor(lease / 3)));
    timer.unref();
    /** Stops renewing and deletes the lock if it is still ours; resolves whether it was (true when unknown). */
    const release = async (): Promise<boolean> => {
      clearInterval(timer);
      await renewing;
      try {
        return (await this.client.eval(RELEASE_LUA, 1, key, token)) === 1;
      } catch {
        return true; // unknown (connection lost): not the caller's problem, the lease expires on its own
      }
    };
    let out: T;
    try {
      out = await fn(this);
    } catch (e) {
      await release();
      throw e;
    }
    if (!(await release()) || lost) {
      throw new StorageError("CONFLICT", `the lock ${short(lock)} expired while its holder was writing; another writer may have interleaved`, {
        store: this.name,
        details: { lock },
      });
    }
    return out;
  }

  /** Closes the client if this store created it (from `url` or `nodes`); a passed-in client is left open. */
  async close(): Promise<void> {
    if (this.#owned) await closeOwned(this.client);
  }

  #checkKey(key: string): void {
    assertKey(key, this.name);
    assertEncodable(key, this.name, "key");
  }

  #checkCollection(collection: string): void {
    assertCollection(collection, this.name);
    assertEncodable(collection, this.name, "collection");
  }

  #parse(raw: string, key: string, collection: string): JsonObject {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw this.#corrupt(key, collection, "is not JSON", e);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw this.#corrupt(key, collection, "is not a JSON object");
    return value as JsonObject;
  }

  #corrupt(key: string, collection: string, what: string, cause?: unknown): StorageError {
    return new StorageError("CORRUPT", `the value of ${short(key)} in collection ${short(collection)} ${what}`, {
      store: this.name,
      cause,
      details: { key, collection },
    });
  }
}

function positiveMs(v: number | undefined, dflt: number, what: string, store: string): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1) throw new StorageError("INVALID_ARGUMENT", `${what} must be a positive integer (ms)`, { store });
  return v;
}

function short(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}
