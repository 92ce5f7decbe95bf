import { StorageError } from "@larder/core/errors";
import {
  assertChatKey,
  assertChatMessages,
  assertGetMessagesOptions,
  assertMessageIndex,
  type ChatMessage,
  type ChatStore,
  type GetMessagesOptions,
} from "@larder/core/chat";
import { DDL_LOCK_SQL, Db, Once, type PostgresConnectionOptions } from "./connection.js";
import { checkText, isWellFormedUtf16, quoteIdentifier, quoteSchema } from "./identifiers.js";
import { checkTableLayout } from "./layout.js";

export interface PostgresChatStoreOptions extends PostgresConnectionOptions {
  /** Default `"public"`. */
  schema?: string;
  /** Default `"larder_chat"`. */
  table?: string;
  /**
   * Sliding expiry: a history whose last write is older than this many seconds reads as empty,
   * is not listed by `getKeys`, and is replaced by the next write to its key (`purgeExpired()`
   * deletes all of them). Default: no expiry.
   */
  ttlSeconds?: number;
}

const STORE = "PostgresChatStore";

/**
 * A ChatStore on one table `(key, seq, ord, message json)`.
 *
 * Every write statement takes ONE value from the table's sequence (`seq`) and numbers its
 * messages `ord` = 1..n, so a history is `ORDER BY seq, ord`: appends are single atomic
 * statements that never block each other, a batch is never interleaved with another, and the
 * 0-based index of a message is its position in that order (deleting one renumbers the rest
 * implicitly, with nothing to rewrite).
 */
export class PostgresChatStore implements ChatStore {
  readonly schema: string;
  readonly table: string;
  readonly qualifiedTable: string;
  private readonly qSchema: string;
  private readonly db: Db;
  private readonly ready: Once<void>;
  private readonly ttlSeconds: number | undefined;

  constructor(options: PostgresChatStoreOptions) {
    this.schema = options.schema ?? "public";
    this.table = options.table ?? "larder_chat";
    this.qSchema = quoteSchema(this.schema, STORE);
    this.qualifiedTable = `${this.qSchema}.${quoteIdentifier(this.table, "table name", STORE)}`;
    if (options.ttlSeconds !== undefined && !(typeof options.ttlSeconds === "number" && options.ttlSeconds > 0 && Number.isFinite(options.ttlSeconds))) {
      throw new StorageError("INVALID_ARGUMENT", "ttlSeconds must be a positive number", { store: STORE });
    }
    this.ttlSeconds = options.ttlSeconds;
    this.db = new Db(options, STORE);
    this.ready = new Once(() => this.setup());
  }

  /** `AND <the history of key $1 has not expired>` (empty without a TTL). The TTL is a validated number. */
  private get alive(): string {
    if (this.ttlSeconds === undefined) return "";
    return ` AND (SELECT max(x.created_at) FROM ${this.qualifiedTable} x WHERE x.key = $1) > now() - make_interval(secs => ${this.ttlSeconds})`;
  }

  get client() {
    return this.db.raw;
  }

  private async setup(): Promise<void> {
    await this.db.tx(async (q) => {
      await q.query(DDL_LOCK_SQL);
      await q.query(`CREATE SCHEMA IF NOT EXISTS ${this.qSchema}`);
      await q.query(
        `CREATE TABLE IF NOT EXISTS ${this.qualifiedTable} (
           key text COLLATE "C" NOT NULL,
           seq bigserial NOT NULL,
           ord integer NOT NULL,
           message json NOT NULL,
           created_at timestamptz NOT NULL DEFAULT now(),
           PRIMARY KEY (key, seq, ord))`,
      );
      await checkTableLayout(
        q,
        this.schema,
        this.table,
        { key: "text", seq: "bigint", ord: "integer", message: "json" },
        STORE,
      );
    }, "schema setup");
  }

  /** The INSERT of a batch: one sequence value for the statement (materialized CTE), `ord` from the array position. */
  private insertSql(extraCte?: string): string {
    return `WITH ${extraCte ? `${extraCte}, ` : ""}b AS MATERIALIZED (SELECT nextval(pg_get_serial_sequence($3, 'seq')) AS s)
      INSERT INTO ${this.qualifiedTable} (key, seq, ord, message)
      SELECT $1, b.s, u.ord, u.m::json FROM b, unnest($2::text[]) WITH ORDINALITY AS u(m, ord)`;
  }

  async setMessages(key: string, messages: readonly ChatMessage[]): Promise<void> {
    assertChatKey(key, STORE);
    checkText(key, "chat key", STORE);
    const encoded = encodeMessages(messages);
    await this.ready.run();
    // One statement: the old rows are deleted and the new ones inserted atomically.
    await this.db.query(
      this.insertSql(`d AS (DELETE FROM ${this.qualifiedTable} WHERE key = $1)`),
      [key, encoded, this.qualifiedTable],
      "setMessages",
    );
  }

  async getMessages(key: string, options: GetMessagesOptions = {}): Promise<ChatMessage[]> {
    assertGetMessagesOptions(options, STORE);
    const { limit, before } = options;
    if (!readable(key)) return [];
    if (limit === 0 || before === 0) return [];
    await this.ready.run();
    const r = await this.db.query<{ m: string }>(
      `SELECT m FROM (
         SELECT message::text AS m, seq, ord FROM (
           SELECT message, seq, ord FROM ${this.qualifiedTable} WHERE key = $1${this.alive} ORDER BY seq, ord LIMIT $2
         ) first_before ORDER BY seq DESC, ord DESC LIMIT $3
       ) last_n ORDER BY seq, ord`,
      [key, before ?? null, limit ?? null],
      "getMessages",
    );
    return r.rows.map((row) => JSON.parse(row.m));
  }

  async addMessage(key: string, message: ChatMessage): Promise<void> {
    await this.addMessages(key, [message]);
  }

  async addMessages(key: string, messages: readonly ChatMessage[]): Promise<void> {
    assertChatKey(key, STORE);
    checkText(key, "chat key", STORE);
    const encoded = encodeMessages(messages);
    if (encoded.length === 0) return;
    await this.ready.run();
    const purge = this.ttlSeconds === undefined ? undefined : `d AS (DELETE FROM ${this.qualifiedTable} WHERE key = $1 AND NOT (TRUE${this.alive}))`;
    await this.db.query(this.insertSql(purge), [key, encoded, this.qualifiedTable], "addMessages");
  }

  async deleteMessages(key: string): Promise<ChatMessage[]> {
    if (!readable(key)) return [];
    await this.ready.run();
    const r = await this.db.query<{ m: string; seq: string; ord: number; alive: boolean }>(
      `WITH a AS (SELECT (TRUE${this.alive}) AS alive)
       DELETE FROM ${this.qualifiedTable} WHERE key = $1 RETURNING message::text AS m, seq, ord, (SELECT alive FROM a) AS alive`,
      [key],
      "deleteMessages",
    );
    return r.rows
      .filter((row) => row.alive)
      .sort((a, b) => compareSeq(a.seq, b.seq) || a.ord - b.ord)
      .map((row) => JSON.parse(row.m));
  }

  async deleteMessage(key: string, idx: number): Promise<ChatMessage | undefined> {
    assertMessageIndex(idx, STORE);
    if (!readable(key)) return undefined;
    await this.ready.run();
    const r = await this.db.query<{ m: string }>(
      `WITH target AS (
         SELECT seq, ord FROM ${this.qualifiedTable} WHERE key = $1${this.alive} ORDER BY seq, ord OFFSET $2 LIMIT 1 FOR UPDATE
       )
       DELETE FROM ${this.qualifiedTable} t USING target
        WHERE t.key = $1 AND t.seq = target.seq AND t.ord = target.ord
       RETURNING t.message::text AS m`,
      [key, idx],
      "deleteMessage",
    );
    const row = r.rows[0];
    return row ? JSON.parse(row.m) : undefined;
  }

  async deleteLastMessage(key: string): Promise<ChatMessage | undefined> {
    if (!readable(key)) return undefined;
    await this.ready.run();
    const r = await this.db.query<{ m: string }>(
      `WITH target AS (
         SELECT seq, ord FROM ${this.qualifiedTable} WHERE key = $1${this.alive} ORDER BY seq DESC, ord DESC LIMIT 1 FOR UPDATE
       )
       DELETE FROM ${this.qualifiedTable} t USING target
        WHERE t.key = $1 AND t.seq = target.seq AND t.ord = target.ord
       RETURNING t.message::text AS m`,
      [key],
      "deleteLastMessage",
    );
    const row = r.rows[0];
    return row ? JSON.parse(row.m) : undefined;
  }

  async getKeys(): Promise<string[]> {
    await this.ready.run();
    const having = this.ttlSeconds === undefined ? "" : ` HAVING max(created_at) > now() - make_interval(secs => ${this.ttlSeconds})`;
    const r = await this.db.query<{ k: string }>(
      `SELECT key AS k FROM ${this.qualifiedTable} GROUP BY key${having} ORDER BY key`,
      [],
      "getKeys",
    );
    return r.rows.map((row) => row.k);
  }

  /** Deletes every expired history (with `ttlSeconds`); resolves how many messages were removed. */
  async purgeExpired(): Promise<number> {
    if (this.ttlSeconds === undefined) return 0;
    await this.ready.run();
    const r = await this.db.query(
      `DELETE FROM ${this.qualifiedTable} WHERE key IN (
         SELECT key FROM ${this.qualifiedTable} GROUP BY key HAVING max(created_at) <= now() - make_interval(secs => ${this.ttlSeconds}))`,
      [],
      "purgeExpired",
    );
    return r.rowCount ?? 0;
  }

  /** Drops the table (tests, teardown). */
  async drop(): Promise<void> {
    await this.db.query(`DROP TABLE IF EXISTS ${this.qualifiedTable}`, [], "drop");
    this.ready.reset();
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

function encodeMessages(messages: readonly ChatMessage[]): string[] {
  assertChatMessages(messages, STORE);
  return messages.map((m) => JSON.stringify(m));
}

/** A key we could have stored (anything else has no messages). */
function readable(key: unknown): key is string {
  assertChatKey(key, STORE);
  return !key.includes("\u0000") && isWellFormedUtf16(key);
}

function compareSeq(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
