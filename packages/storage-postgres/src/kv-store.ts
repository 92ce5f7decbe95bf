import { StorageError } from "@larder/core/errors";
import {
  DEFAULT_COLLECTION,
  assertBatchSize,
  assertCollection,
  assertJsonObject,
  assertKey,
  assertKeys,
  type JsonObject,
  type KVStore,
} from "@larder/core/kv";
import type pg from "pg";
import { DDL_LOCK_SQL, Db, Once, type PostgresConnectionOptions, type Queryable } from "./connection.js";
import { checkText, isWellFormedUtf16, quoteIdentifier, quoteSchema } from "./identifiers.js";
import { checkTableLayout } from "./layout.js";

export interface PostgresKVStoreOptions extends PostgresConnectionOptions {
  /** Schema of the table (created if missing). Default `"public"`. Case-sensitive, always quoted. */
  schema?: string;
  /** Table name. Default `"larder_kv"`. Case-sensitive, always quoted. */
  table?: string;
  /** Rows per INSERT statement in `putAll` (all chunks commit in one transaction). Default 1000. */
  batchSize?: number;
}

const STORE = "PostgresKVStore";

/**
 * A KVStore on one Postgres table `(collection text, key text, value json, PRIMARY KEY (collection, key))`.
 *
 * `value` is `json`, not `jsonb`: json keeps the text as written, so key order survives (node hashes
 * and LlamaIndex-format exports depend on it) and so do U+0000 and lone surrogates, which jsonb refuses.
 * The `->`/`->>` operators work on it as usual.
 * The table (and schema) are created on first use, once per instance, under an advisory lock.
 * `transaction(lock, fn)` runs `fn` in one transaction holding a transaction-scoped advisory lock
 * (the core's `KVDocumentStore` keeps its bookkeeping exact across processes with it).
 */
export class PostgresKVStore implements KVStore {
  readonly schema: string;
  readonly table: string;
  /** `"schema"."table"`, quoted. */
  readonly qualifiedTable: string;
  private readonly qSchema: string;
  private readonly db: Db;
  private readonly batchSize: number;
  private readonly ready: Once<void>;

  constructor(options: PostgresKVStoreOptions) {
    this.schema = options.schema ?? "public";
    this.table = options.table ?? "larder_kv";
    this.qSchema = quoteSchema(this.schema, STORE);
    this.qualifiedTable = `${this.qSchema}.${quoteIdentifier(this.table, "table name", STORE)}`;
    this.batchSize = positiveInt(options.batchSize ?? 1000, "batchSize");
    this.db = new Db(options, STORE);
    this.ready = new Once(() => this.setup());
  }

  /** The pool or client this store runs on. */
  get client() {
    return this.db.raw;
  }

  private async setup(): Promise<void> {
    await this.db.tx(async (q) => {
      await q.query(DDL_LOCK_SQL);
      await q.query(`CREATE SCHEMA IF NOT EXISTS ${this.qSchema}`);
      await q.query(
        `CREATE TABLE IF NOT EXISTS ${this.qualifiedTable} (
           collection text COLLATE "C" NOT NULL,
           key text COLLATE "C" NOT NULL,
           value json NOT NULL,
           PRIMARY KEY (collection, key))`,
      );
      await checkTableLayout(q, this.schema, this.table, { collection: "text", key: "text", value: "json" }, STORE);
    }, "schema setup");
  }

  async put(key: string, value: JsonObject, collection: string = DEFAULT_COLLECTION): Promise<void> {
    assertKey(key, STORE);
    assertCollection(collection, STORE);
    checkText(key, "key", STORE);
    checkText(collection, "collection", STORE);
    const json = encodeValue(value);
    await this.ready.run();
    await this.db.query(
      `INSERT INTO ${this.qualifiedTable} (collection, key, value) VALUES ($1, $2, $3::json)
       ON CONFLICT (collection, key) DO UPDATE SET value = EXCLUDED.value`,
      [collection, key, json],
      "put",
    );
  }

  async putAll(
    entries: Iterable<readonly [string, JsonObject]>,
    collection: string = DEFAULT_COLLECTION,
    options: { batchSize?: number } = {},
  ): Promise<void> {
    assertCollection(collection, STORE);
    checkText(collection, "collection", STORE);
    assertBatchSize(options?.batchSize, STORE);
    const batchSize = options?.batchSize ?? this.batchSize;
    // Validate and encode everything before the first write; the last value of a repeated key wins
    // (one INSERT cannot touch the same row twice).
    const byKey = new Map<string, string>();
    for (const entry of entries) {
      if (!Array.isArray(entry) || entry.length < 2) {
        throw new StorageError("INVALID_ARGUMENT", "putAll entries must be [key, value] pairs", { store: STORE });
      }
      const [key, value] = entry as readonly [string, JsonObject];
      assertKey(key, STORE);
      checkText(key, "key", STORE);
      byKey.delete(key);
      byKey.set(key, encodeValue(value));
    }
    if (byKey.size === 0) return;
    await this.ready.run();
    const keys = [...byKey.keys()];
    const values = [...byKey.values()];
    const sql = `INSERT INTO ${this.qualifiedTable} (collection, key, value)
       SELECT $1, k, v::json FROM unnest($2::text[], $3::text[]) AS u(k, v)
       ON CONFLICT (collection, key) DO UPDATE SET value = EXCLUDED.value`;
    if (keys.length <= batchSize) {
      await this.db.query(sql, [collection, keys, values], "putAll");
      return;
    }
    // Several statements (one round trip per chunk), all-or-nothing.
    await this.db.tx(async (q) => {
      for (let i = 0; i < keys.length; i += batchSize) {
        await q.query(sql, [collection, keys.slice(i, i + batchSize), values.slice(i, i + batchSize)]);
      }
    }, "putAll");
  }

  async get(key: string, collection: string = DEFAULT_COLLECTION): Promise<JsonObject | undefined> {
    assertKey(key, STORE);
    assertCollection(collection, STORE);
    if (!readableText(key) || !readableText(collection)) return undefined;
    await this.ready.run();
    const r = await this.db.query<{ v: string }>(
      `SELECT value::text AS v FROM ${this.qualifiedTable} WHERE collection = $1 AND key = $2`,
      [collection, key],
      "get",
    );
    const row = r.rows[0];
    return row ? JSON.parse(row.v) : undefined;
  }

  async getMany(keys: readonly string[], collection: string = DEFAULT_COLLECTION): Promise<(JsonObject | undefined)[]> {
    assertKeys(keys, STORE);
    assertCollection(collection, STORE);
    if (keys.length === 0 || !readableText(collection)) return keys.map(() => undefined);
    const wanted = keys.filter(readableText);
    await this.ready.run();
    const r = await this.db.query<{ k: string; v: string }>(
      `SELECT key AS k, value::text AS v FROM ${this.qualifiedTable} WHERE collection = $1 AND key = ANY($2::text[])`,
      [collection, wanted],
      "getMany",
    );
    const found = new Map(r.rows.map((row) => [row.k, row.v]));
    return keys.map((k) => {
      const v = found.get(k);
      return v === undefined ? undefined : JSON.parse(v);
    });
  }

  async getAll(collection: string = DEFAULT_COLLECTION): Promise<Record<string, JsonObject>> {
    assertCollection(collection, STORE);
    const out: Record<string, JsonObject> = {};
    if (!readableText(collection)) return out;
    await this.ready.run();
    const r = await this.db.query<{ k: string; v: string }>(
      `SELECT key AS k, value::text AS v FROM ${this.qualifiedTable} WHERE collection = $1 ORDER BY key`,
      [collection],
      "getAll",
    );
    for (const row of r.rows) {
      // defineProperty: a key like "__proto__" must become an own property, not the prototype.
      Object.defineProperty(out, row.k, { value: JSON.parse(row.v), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  async delete(key: string, collection: string = DEFAULT_COLLECTION): Promise<boolean> {
    assertKey(key, STORE);
    assertCollection(collection, STORE);
    if (!readableText(key) || !readableText(collection)) return false;
    await this.ready.run();
    const r = await this.db.query(`DELETE FROM ${this.qualifiedTable} WHERE collection = $1 AND key = $2`, [collection, key], "delete");
    return (r.rowCount ?? 0) > 0;
  }

  async deleteMany(keys: readonly string[], collection: string = DEFAULT_COLLECTION): Promise<number> {
    assertKeys(keys, STORE);
    assertCollection(collection, STORE);
    const wanted = [...new Set(keys.filter(readableText))];
    if (wanted.length === 0 || !readableText(collection)) return 0;
    await this.ready.run();
    const r = await this.db.query(
      `DELETE FROM ${this.qualifiedTable} WHERE collection = $1 AND key = ANY($2::text[])`,
      [collection, wanted],
      "deleteMany",
    );
    return r.rowCount ?? 0;
  }

  /** Keyset pagination on the primary key: each page is one indexed query, no server-side cursor to leak. */
  async *scan(collection: string = DEFAULT_COLLECTION, options: { batchSize?: number } = {}): AsyncIterable<readonly [string, JsonObject]> {
    assertCollection(collection, STORE);
    assertBatchSize(options?.batchSize, STORE);
    const batchSize = options?.batchSize ?? this.batchSize;
    if (!readableText(collection)) return;
    await this.ready.run();
    let after: string | null = null;
    for (;;) {
      // Each page depends on the last key of the previous one, so the awaits are sequential by nature.
      const r: { rows: { k: string; v: string }[] } = await this.db.query<{ k: string; v: string }>(
        `SELECT key AS k, value::text AS v FROM ${this.qualifiedTable}
         WHERE collection = $1 AND ($2::text IS NULL OR key > $2::text) ORDER BY key LIMIT $3`,
        [collection, after, batchSize],
        "scan",
      );
      for (const row of r.rows) yield [row.k, JSON.parse(row.v)] as const;
      if (r.rows.length < batchSize) return;
      after = r.rows[r.rows.length - 1]!.k;
    }
  }

  async collections(): Promise<string[]> {
    await this.ready.run();
    const r = await this.db.query<{ c: string }>(
      `SELECT DISTINCT collection AS c FROM ${this.qualifiedTable} ORDER BY collection`,
      [],
      "collections",
    );
    return r.rows.map((row) => row.c);
  }

  /**
   * {@link KVStore.transaction}: BEGIN, `pg_advisory_xact_lock` on (table, `lock`), `fn(kv)`, COMMIT
   * (ROLLBACK if `fn` rejects). `kv` is this store bound to the transaction's connection: every read
   * and write `fn` makes through it is part of the transaction, so they commit all together or not
   * at all, and no other holder of the same lock (any `PostgresKVStore` on this table, in any
   * process) runs in between. The lock goes with the transaction, also when the connection dies.
   * Readers are never blocked. `fn` holds one connection of the pool for its whole run. Re-entrant:
   * `kv.transaction` with the same lock inside `fn` joins the transaction.
   */
  async transaction<T>(lock: string, fn: (kv: KVStore) => Promise<T>): Promise<T> {
    assertKey(lock, STORE, "lock");
    checkText(lock, "lock", STORE);
    if (typeof fn !== "function") throw new StorageError("INVALID_ARGUMENT", "fn must be a function", { store: STORE });
    await this.ready.run();
    let failed: { error: unknown } | undefined;
    try {
      return await this.db.tx(async (q) => {
        // One 64-bit lock per (table, lock name); the pair is JSON-encoded, so no two pairs share a text.
        await q.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [JSON.stringify(["larder:kv", this.qualifiedTable, lock])]);
        try {
          return await fn(this.boundTo(q));
        } catch (error) {
          failed = { error };
          throw error;
        }
      }, "transaction");
    } catch (e) {
      // fn's own rejection is passed on as it is (the transaction was rolled back); anything else is ours.
      throw failed ? failed.error : e;
    }
  }

  /**
   * This store with every query going to `q` (a connection inside a transaction). A view inherits
   * from the store, so this is `private`, not `#private`: a view must be able to call it too (a
   * `transaction` inside `fn`).
   */
  private boundTo(q: Queryable): PostgresKVStore {
    const view = Object.create(this) as PostgresKVStore;
    Object.defineProperty(view, "db", { value: new TransactionDb(q), enumerable: false });
    return view;
  }

  /** Drops the table (for tests and teardown). */
  async drop(): Promise<void> {
    await this.db.query(`DROP TABLE IF EXISTS ${this.qualifiedTable}`, [], "drop");
    this.ready.reset();
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/**
 * A {@link Db} on a connection that is already inside a transaction: statements run on it in order,
 * and a multi-statement write (`tx`) joins the transaction instead of opening another.
 */
class TransactionDb extends Db {
  readonly #conn: Queryable;
  constructor(conn: Queryable) {
    super({ client: conn as pg.Client }, STORE);
    this.#conn = conn;
  }
  override async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return fn(this.#conn);
  }
}

function encodeValue(value: unknown): string {
  assertJsonObject(value, STORE);
  return JSON.stringify(value);
}

/** A key we could have stored (anything else is simply absent). */
function readableText(s: unknown): s is string {
  return typeof s === "string" && s !== "" && !s.includes("\u0000") && isWellFormedUtf16(s);
}

function positiveInt(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1) {
    throw new StorageError("INVALID_ARGUMENT", `${what} must be a positive integer`, { store: STORE });
  }
  return n;
}
