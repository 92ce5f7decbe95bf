import pg from "pg";
import { StorageError } from "@larder/core/errors";
import { wrapPgError } from "./pg-errors.js";

/**
 * How a store reaches Postgres. Exactly one of `pool`, `client` or `url`:
 * - `pool`: a `pg.Pool` you own; the store checks out connections per operation and never ends it.
 * - `client`: a connected `pg.Client` you own; the store serializes its work on it (one
 *   operation or transaction at a time) and never ends it.
 * - `url`: the store opens its own `pg.Pool` (`poolOptions` apply) and `close()` ends it.
 */
export interface PostgresConnectionOptions {
  pool?: pg.Pool;
  client?: pg.Client;
  url?: string;
  /** Extra `pg.Pool` options when the store opens its own pool from `url`. */
  poolOptions?: Omit<pg.PoolConfig, "connectionString">;
  /** How long to wait for a connection before failing with CONNECTION (own pool only). Default 5000 ms. */
  connectionTimeoutMillis?: number;
}

/** Anything that runs a query: a pool, a client, a checked-out pool client. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<pg.QueryResult>;
}

/** A store's handle on Postgres: queries, transactions, error mapping, ownership. */
export class Db {
  readonly store: string;
  private readonly pool: pg.Pool | undefined;
  private readonly client: pg.Client | undefined;
  private readonly ownsPool: boolean;
  /** With a single client, operations are chained so transactions never interleave. */
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(options: PostgresConnectionOptions, store: string) {
    this.store = store;
    const given = [options.pool, options.client, options.url].filter((x) => x !== undefined).length;
    if (given !== 1) {
      throw new StorageError("INVALID_ARGUMENT", "pass exactly one of {pool}, {client} or {url}", { store });
    }
    if (options.url !== undefined) {
      if (typeof options.url !== "string" || options.url === "") {
        throw new StorageError("INVALID_ARGUMENT", "url must be a non-empty connection string", { store });
      }
      this.pool = new pg.Pool({
        max: 10,
        idleTimeoutMillis: 10_000,
        ...options.poolOptions,
        connectionString: options.url,
        connectionTimeoutMillis: options.connectionTimeoutMillis ?? options.poolOptions?.connectionTimeoutMillis ?? 5_000,
      });
      // An idle connection dropped by the server (restart, admin kill) is reported here; without
      // a listener Node would crash the process. The next checkout simply opens a new connection.
      this.pool.on("error", () => {});
      this.ownsPool = true;
    } else {
      this.pool = options.pool;
      this.client = options.client;
      this.ownsPool = false;
    }
  }

  /** The pool or client the store uses, for what the abstraction does not cover. */
  get raw(): pg.Pool | pg.Client {
    return (this.pool ?? this.client)!;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError("CONNECTION", "the store is closed", { store: this.store });
  }

  /** One statement (autocommit). */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values: unknown[] = [],
    action = "query",
  ): Promise<pg.QueryResult<R>> {
    this.checkOpen();
    try {
      if (this.pool) return await this.pool.query<R>(text, values);
      return await this.serial(() => this.client!.query<R>(text, values));
    } catch (err) {
      throw wrapPgError(err, this.store, action);
    }
  }

  /**
   * Runs `fn` in a transaction on one connection: BEGIN, fn, COMMIT; ROLLBACK on any error (and a
   * broken connection is discarded, not returned to the pool).
   */
  async tx<T>(fn: (q: Queryable) => Promise<T>, action = "transaction", begin = "BEGIN"): Promise<T> {
    this.checkOpen();
    if (this.client) return this.serial(() => runTx(this.client!, fn, this.store, action, begin));
    let conn: pg.PoolClient;
    try {
      conn = await this.pool!.connect();
    } catch (err) {
      throw wrapPgError(err, this.store, action);
    }
    let broken: Error | undefined;
    const onError = (e: Error) => {
      broken = e;
    };
    conn.on("error", onError);
    try {
      return await runTx(conn, fn, this.store, action, begin);
    } catch (err) {
      if ((err as { code?: string }).code === "CONNECTION") broken ??= err as Error;
      throw err;
    } finally {
      conn.off("error", onError);
      conn.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsPool) await this.pool!.end();
  }
}

/** `begin` may carry `SET LOCAL` statements after BEGIN (one round trip; fixed text, no parameters). */
async function runTx<T>(conn: Queryable, fn: (q: Queryable) => Promise<T>, store: string, action: string, begin: string): Promise<T> {
  try {
    await conn.query(begin);
  } catch (err) {
    throw wrapPgError(err, store, action);
  }
  try {
    const out = await fn(conn);
    await conn.query("COMMIT");
    return out;
  } catch (err) {
    try {
      await conn.query("ROLLBACK");
    } catch {
      // The connection is gone; the server rolls the transaction back itself. The original
      // error is the one worth reporting.
    }
    throw wrapPgError(err, store, action);
  }
}

/**
 * A once-per-instance async initializer that retries after a failure (e.g. the server was down
 * when the first operation ran), and shares one run between concurrent callers.
 */
export class Once<T> {
  private pending: Promise<T> | undefined;
  constructor(private readonly fn: () => Promise<T>) {}
  run(): Promise<T> {
    if (!this.pending) {
      this.pending = this.fn().catch((err: unknown) => {
        this.pending = undefined;
        throw err;
      });
    }
    return this.pending;
  }
  reset(): void {
    this.pending = undefined;
  }
}

/** Serializes schema setup across processes: every Larder DDL runs under this transaction lock. */
export const DDL_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended('larder:ddl', 0))";
