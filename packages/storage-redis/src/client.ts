import { Cluster, Command, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from "ioredis";
import { StorageError, isStorageError } from "@larder/core/errors";

/** An ioredis client: a standalone `Redis` or a `Cluster`. */
export type RedisClient = Redis | Cluster;

/**
 * How a store reaches Redis. Give exactly one of `client`, `url` or `nodes`.
 *
 * - `client`: an existing ioredis `Redis` or `Cluster`. The store never closes it; its retry and
 *   queueing options are yours (see {@link failFastRedisOptions} for the ones we recommend).
 * - `url`: `redis://` / `rediss://` URL; the store creates a `Redis` client with fail-fast options
 *   and closes it in `close()`.
 * - `nodes`: seed nodes of a Redis Cluster (`"host:port"` or `{host, port}`); the store creates a
 *   `Cluster` client with fail-fast options and closes it in `close()`.
 */
export interface RedisConnectionOptions {
  client?: RedisClient;
  url?: string;
  nodes?: readonly (string | { host: string; port: number })[];
  /** ioredis options merged over {@link failFastRedisOptions} for a client the store creates (`url`, and per node for `nodes`). */
  redisOptions?: RedisOptions;
  /** ioredis Cluster options merged over the fail-fast defaults when the store creates a `Cluster`. */
  clusterOptions?: ClusterOptions;
}

/**
 * The ioredis options the stores use for clients they create, chosen so that an outage surfaces as a
 * `CONNECTION` error within about a second instead of a hang, and so that a write is never silently
 * replayed:
 *
 * - `lazyConnect`: the constructor does no I/O; the first command connects.
 * - `maxRetriesPerRequest: 0`: a command issued while disconnected waits for at most one reconnect
 *   attempt (the offline queue is flushed with an error at the next failed attempt).
 * - `retryStrategy`: reconnect in the background forever, at most 200 ms apart, so the first command
 *   after the server comes back succeeds, and a command issued during an outage fails after at most
 *   one such interval (plus `connectTimeout` for a host that does not answer at all).
 * - `autoResendUnfulfilledCommands: false`: a command in flight when the connection dropped is
 *   rejected (its outcome is unknown) and never re-sent behind the caller's back; re-sending an
 *   RPUSH would duplicate a chat message.
 * - `connectTimeout` / `commandTimeout`: bound a connect to a black-holed host and a reply that never comes.
 */
export const failFastRedisOptions: Readonly<RedisOptions> = Object.freeze({
  lazyConnect: true,
  enableOfflineQueue: true,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  connectTimeout: 2_000,
  commandTimeout: 15_000,
  retryStrategy: (times: number) => Math.min(times * 20, 200),
});

export interface ResolvedClient {
  client: RedisClient;
  /** True when the store created the client and must close it. */
  owned: boolean;
}

export function resolveClient(options: RedisConnectionOptions, store: string): ResolvedClient {
  const given = [options.client, options.url, options.nodes].filter((x) => x !== undefined).length;
  if (given !== 1) {
    throw new StorageError("INVALID_ARGUMENT", "give exactly one of `client`, `url` or `nodes`", { store });
  }
  if (options.client !== undefined) {
    const c = options.client as unknown as { isCluster?: unknown; sendCommand?: unknown };
    if (typeof c !== "object" || c === null || typeof c.sendCommand !== "function" || typeof c.isCluster !== "boolean") {
      throw new StorageError("INVALID_ARGUMENT", "`client` must be an ioredis Redis or Cluster instance", { store });
    }
    return { client: options.client, owned: false };
  }
  try {
    if (options.url !== undefined) {
      if (typeof options.url !== "string" || !/^rediss?:\/\//i.test(options.url)) {
        throw new StorageError("INVALID_ARGUMENT", "`url` must be a redis:// or rediss:// URL", { store });
      }
      const client = new Redis(options.url, { ...failFastRedisOptions, ...options.redisOptions });
      silenceErrorEvents(client);
      return { client, owned: true };
    }
    const nodes = (options.nodes ?? []).map((n) => parseNode(n, store));
    if (nodes.length === 0) throw new StorageError("INVALID_ARGUMENT", "`nodes` must list at least one cluster node", { store });
    const client = new Cluster(nodes, {
      lazyConnect: true,
      enableOfflineQueue: true,
      clusterRetryStrategy: (times: number) => Math.min(times * 100, 1_000),
      // A MOVED/ASK storm or a failover is retried briefly, then reported.
      maxRedirections: 16,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      ...options.clusterOptions,
      redisOptions: { ...failFastRedisOptions, ...options.clusterOptions?.redisOptions, ...options.redisOptions },
    });
    silenceErrorEvents(client);
    return { client, owned: true };
  } catch (e) {
    if (isStorageError(e)) throw e;
    throw new StorageError("INVALID_ARGUMENT", `cannot create a Redis client: ${e instanceof Error ? e.message : String(e)}`, {
      store,
      cause: e,
    });
  }
}

function parseNode(n: string | { host: string; port: number }, store: string): ClusterNode {
  if (typeof n === "string") {
    const i = n.lastIndexOf(":");
    const port = Number(n.slice(i + 1));
    if (i <= 0 || !Number.isInteger(port) || port <= 0) {
      throw new StorageError("INVALID_ARGUMENT", `cluster node ${JSON.stringify(n)} is not host:port`, { store });
    }
    return { host: n.slice(0, i), port };
  }
  return { host: n.host, port: n.port };
}

/**
 * ioredis prints "[ioredis] Unhandled error event" when a client has no `error` listener; library
 * code must not print. Connection errors still reach callers as rejected commands.
 */
function silenceErrorEvents(client: RedisClient): void {
  client.on("error", () => {});
}

/** Closes a client the store created: QUIT when connected (drains replies), otherwise disconnect. */
export async function closeOwned(client: RedisClient): Promise<void> {
  if (client.status === "end") return;
  if (client.status !== "ready") {
    client.disconnect();
    return;
  }
  try {
    await client.quit();
  } catch {
    // QUIT failed (connection already gone): nothing to drain, so a hard disconnect is equivalent.
    client.disconnect();
  }
}

/** The ioredis `keyPrefix` a (possibly user-supplied) client silently adds to every key command. */
export function clientKeyPrefix(client: RedisClient): string {
  const opts = client.options as { keyPrefix?: string; redisOptions?: { keyPrefix?: string } };
  return opts.keyPrefix ?? opts.redisOptions?.keyPrefix ?? "";
}

/** Escapes a literal for a Redis glob pattern (SCAN MATCH). */
export function globEscape(literal: string): string {
  return literal.replace(/[\\*?[\]]/g, (c) => `\\${c}`);
}

/**
 * Every key (as stored, including the client's keyPrefix) that starts with `rawPrefix` and holds a
 * value of `type`, via SCAN ... MATCH ... TYPE (Redis >= 6.0), never KEYS. On a cluster every
 * master is scanned (in parallel), since keys spread over all of them.
 */
export async function scanKeys(client: RedisClient, rawPrefix: string, type: "hash" | "list"): Promise<string[]> {
  const pattern = `${globEscape(rawPrefix)}*`;
  let nodes: Redis[];
  if (client instanceof Cluster || client.isCluster) {
    const cluster = client as Cluster;
    // A lazily connected cluster knows its nodes only once ready.
    await clusterReady(cluster);
    nodes = cluster.nodes("master");
  } else {
    nodes = [client as Redis];
  }
  const perNode = await Promise.all(
    nodes.map(async (node) => {
      const found: string[] = [];
      let cursor = "0";
      // SCAN is cursor-driven: each call needs the previous reply's cursor, so these awaits are sequential by nature.
      do {
        const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000, "TYPE", type);
        cursor = next;
        found.push(...keys);
      } while (cursor !== "0");
      return found;
    }),
  );
  // SCAN may return a key more than once (rehashing during the iteration).
  return [...new Set(perNode.flat())];
}

const CONNECTION_MESSAGES = [
  "Connection is closed",
  "Stream isn't writeable",
  "Reached the max retries per request limit",
  "Command timed out",
  "None of startup nodes is available",
  "Failed to refresh slots cache",
  "Cluster isn't ready",
  "Cluster is ended",
  "connect ETIMEDOUT",
];
const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);
/** Server replies that mean "the server cannot serve you right now", not "your request is wrong". */
const TRANSIENT_REPLIES = new Set([
  "LOADING", "BUSY", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "OOM", "NOAUTH", "WRONGPASS", "NOPERM", "MOVED", "ASK",
]);

/**
 * Maps anything an ioredis call threw to a StorageError (credentials are redacted by StorageError):
 * connection loss, timeouts and server-state replies are `CONNECTION`; `WRONGTYPE` (the key holds
 * another Redis type) is `CONFLICT`; an unknown command or syntax (an old server) is `UNSUPPORTED`.
 * Other server replies are reported as `CONNECTION` with the reply text.
 */
export function toRedisStorageError(err: unknown, store: string, op: string): StorageError {
  if (isStorageError(err)) return err;
  const e = err as { name?: string; message?: string; code?: string; lastNodeError?: unknown } | undefined;
  const message = typeof e?.message === "string" ? e.message : String(err);
  if (e?.name === "ReplyError") {
    const word = message.split(" ", 1)[0] ?? "";
    if (word === "WRONGTYPE") {
      return new StorageError("CONFLICT", `${op}: the Redis key holds a value of another type (${message})`, { store, cause: err });
    }
    if (word === "ERR" && /unknown command|syntax error|unknown subcommand|wrong number of arguments/i.test(message)) {
      return new StorageError("UNSUPPORTED", `${op}: the Redis server does not support a command this store needs (${message}); Redis >= 6.0 is required`, {
        store,
        cause: err,
      });
    }
    if (TRANSIENT_REPLIES.has(word)) {
      return new StorageError("CONNECTION", `${op}: Redis cannot serve the request (${message})`, { store, cause: err });
    }
    return new StorageError("CONNECTION", `${op}: Redis replied with an error (${message})`, { store, cause: err });
  }
  const looksLikeConnection =
    (e?.code !== undefined && CONNECTION_CODES.has(e.code)) ||
    e?.name === "MaxRetriesPerRequestError" ||
    e?.name === "ClusterAllFailedError" ||
    CONNECTION_MESSAGES.some((m) => message.includes(m));
  const what = looksLikeConnection ? "Redis is unreachable" : "the Redis call failed";
  return new StorageError("CONNECTION", `${op}: ${what} (${message}); the outcome of a write that failed this way is unknown`, {
    store,
    cause: err,
  });
}

/**
 * How long an operation on a Cluster waits for the cluster to be (again) ready before failing with
 * CONNECTION. ioredis queues commands of a cluster that is not ready without any bound, so the
 * stores gate every call on readiness instead: covers one `clusterRetryStrategy` interval (<= 1 s).
 */
export const CLUSTER_READY_TIMEOUT_MS = 1_500;

/**
 * Resolves when the cluster can take commands; rejects (without sending anything) when it is not
 * ready within the deadline, or when its first connection attempt fails.
 */
export async function clusterReady(cluster: Cluster, timeoutMs = CLUSTER_READY_TIMEOUT_MS): Promise<void> {
  if (cluster.status === "ready") return;
  if (cluster.status === "end") throw new Error("Connection is closed (the cluster client has ended)");
  await new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      cluster.off("ready", onReady);
      cluster.off("end", onEnd);
    };
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onEnd = () => {
      cleanup();
      reject(new Error("Connection is closed (the cluster client has ended)"));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Cluster isn't ready within ${timeoutMs} ms (status ${cluster.status})`));
    }, timeoutMs);
    cluster.once("ready", onReady);
    cluster.once("end", onEnd);
    if (cluster.status === "wait") {
      // A lazily created cluster connects on first use; a failed first attempt fails the call at once.
      cluster.connect().catch((e: unknown) => {
        cleanup();
        reject(e instanceof Error ? e : new Error(String(e)));
      });
    }
  });
}

/**
 * Runs one store operation against `client`, mapping whatever the client throws. On a Cluster the
 * call first waits (boundedly) for the cluster to be ready; see {@link clusterReady}.
 */
export async function guarded<T>(client: RedisClient, store: string, op: string, fn: () => Promise<T>): Promise<T> {
  try {
    if (client.isCluster) await clusterReady(client as Cluster);
    return await fn();
  } catch (e) {
    throw toRedisStorageError(e, store, op);
  }
}

/**
 * Redis stores bytes; ioredis sends JS strings as UTF-8. A lone UTF-16 surrogate has no UTF-8 form and
 * would come back as U+FFFD, so names containing one are refused up front.
 */
export function assertEncodable(name: string, store: string, what: string): void {
  if (!isWellFormed(name)) {
    throw new StorageError("INVALID_ARGUMENT", `${what} contains a lone UTF-16 surrogate, which Redis cannot store losslessly`, { store });
  }
}

/** `String.prototype.isWellFormed` (Node 20+), else the equivalent regular expression. */
const isWellFormed: (s: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === "function"
    ? (s) => (s as string & { isWellFormed(): boolean }).isWellFormed()
    : (s) => !/\p{Cs}/u.test(s);

/** Runs the pipeline and throws the first per-command error (ioredis reports them per command). */
export async function execPipeline(pipeline: { exec(): Promise<[Error | null, unknown][] | null> }): Promise<unknown[]> {
  const results = await pipeline.exec();
  if (results === null) throw new Error("Connection is closed (the pipeline was aborted)");
  const out: unknown[] = [];
  for (const [err, value] of results) {
    if (err) throw err;
    out.push(value);
  }
  return out;
}

/**
 * `HSET key f1 v1 f2 v2 ...` encoded straight into one RESP buffer: each field's UTF-8 bytes are
 * written once into their place, instead of ioredis concatenating five strings per argument and
 * encoding the result again on the socket (measurably cheaper for 100k values of ~1 KB). Only the
 * key goes through ioredis's argument handling (so a client `keyPrefix` and Cluster slot routing
 * apply as for any command); fields must be strings and have no lone surrogates (callers check).
 */
export class BulkHsetCommand extends Command {
  #fields: readonly string[] | undefined;
  #encoded: Buffer | undefined;

  constructor(key: string, fields: readonly string[], keyPrefix: string | undefined) {
    super("hset", [key], keyPrefix ? { keyPrefix } : {});
    if (fields.length === 0 || fields.length % 2 !== 0) throw new Error("HSET needs field/value pairs");
    this.#fields = fields;
  }

  /**
   * Encodes once and keeps only the bytes (a resend after a reconnect gets the same buffer): the
   * ~1 MB of value strings can be collected as soon as they are copied, not when Redis answers.
   */
  override toWritable(): Buffer {
    this.#encoded ??= this.#encode(this.#fields!);
    this.#fields = undefined;
    return this.#encoded;
  }

  #encode(fields: readonly string[]): Buffer {
    const key = String(this.args[0]);
    const lengths = new Array<number>(fields.length);
    const keyBytes = Buffer.byteLength(key);
    const head = `*${fields.length + 2}\r\n$4\r\nhset\r\n$${keyBytes}\r\n`;
    let total = head.length + keyBytes + 2;
    for (let i = 0; i < fields.length; i++) {
      const n = Buffer.byteLength(fields[i]!);
      lengths[i] = n;
      total += decimalDigits(n) + n + 5; // "$" n "\r\n" bytes "\r\n"
    }
    const out = Buffer.allocUnsafe(total);
    let at = out.write(head, 0, "latin1");
    at += out.write(key, at, "utf8");
    out[at++] = 13;
    out[at++] = 10;
    for (let i = 0; i < fields.length; i++) {
      at += out.write(`$${lengths[i]}\r\n`, at, "latin1");
      at += out.write(fields[i]!, at, "utf8");
      out[at++] = 13;
      out[at++] = 10;
    }
    if (at !== total) throw new Error(`HSET encoding wrote ${at} of ${total} bytes`);
    return out;
  }
}

function decimalDigits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}
