import { randomUUID } from "node:crypto";
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
import {
  assertEncodable,
  clientKeyPrefix,
  closeOwned,
  guarded,
  resolveClient,
  scanKeys,
  type RedisClient,
  type RedisConnectionOptions,
} from "./client.js";

export interface RedisChatStoreOptions extends RedisConnectionOptions {
  /**
   * Prepended to every chat key to form the Redis key of its list. Default `""`, the layout of
   * LlamaIndex Python's `RedisChatStore` (list name = chat key). Use a distinct prefix per
   * application so `getKeys()` lists only your conversations.
   */
  prefix?: string;
  /** Seconds a conversation lives after the write that (re)starts its clock. Default: no expiry. */
  ttl?: number;
  /**
   * `"sliding"` (default): every write (`setMessages`, `addMessage(s)`) restarts the TTL, as Python
   * does. `"fixed"`: the TTL is set when the conversation is created (by its first append or by
   * `setMessages`) and later appends do not extend it.
   */
  ttlMode?: "sliding" | "fixed";
  /** Name used in error messages. Default `"RedisChatStore"`. */
  name?: string;
}

/**
 * Removes one element by index atomically: LSET marks it with a tombstone unique to this call, LREM
 * removes that tombstone. A script runs without interleaving, so a concurrent append or delete can
 * never make us remove the wrong element. Returns the removed element, or false when out of range.
 */
const DELETE_AT = `
local v = redis.call('LINDEX', KEYS[1], ARGV[1])
if not v then return false end
redis.call('LSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('LREM', KEYS[1], 1, ARGV[2])
return v`;

/**
 * Applies the TTL after an append, inside the same MULTI. It only touches a list: if the RPUSH before
 * it failed because the key holds another type, that key's expiry must not change. In fixed mode the
 * TTL is only set when the list has none yet (EXPIRE ... NX needs Redis 7; this works on 6).
 */
const APPLY_TTL = `
if redis.call('TYPE', KEYS[1]).ok ~= 'list' then return 0 end
if ARGV[2] == 'fixed' and redis.call('TTL', KEYS[1]) ~= -1 then return 0 end
return redis.call('EXPIRE', KEYS[1], ARGV[1])`;

/** DEL, but only of a list (or nothing): a key of another type is reported, never destroyed. */
const DELETE_LIST = `
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' then return 0 end
if t ~= 'list' then return redis.error_reply('WRONGTYPE Operation against a key holding the wrong kind of value') end
return redis.call('DEL', KEYS[1])`;

/**
 * The messages with index in [max(0, end - limit), end) where end = min(before, length): one round
 * trip even though the window depends on the length. ARGV: before, limit (-1 = none).
 */
const WINDOW = `
local len = redis.call('LLEN', KEYS[1])
local stop = len
local before = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
if before < stop then stop = before end
local start = 0
if limit >= 0 then start = math.max(0, stop - limit) end
if stop <= start then return {} end
return redis.call('LRANGE', KEYS[1], start, stop - 1)`;

/** Messages per RPUSH command inside one MULTI (keeps argument lists small; still one round trip). */
const PUSH_CHUNK = 1000;

/**
 * {@link ChatStore} on Redis: one list per conversation (`RPUSH <prefix><key> <message json>...`), so
 * order is append order and concurrent appends never interleave within a batch. A batch append and
 * its TTL go in one MULTI (one round trip); index deletes run as one Lua script.
 */
export class RedisChatStore implements ChatStore {
  readonly name: string;
  readonly client: RedisClient;
  readonly prefix: string;
  readonly ttl: number | undefined;
  readonly ttlMode: "sliding" | "fixed";
  readonly #owned: boolean;

  constructor(options: RedisChatStoreOptions) {
    this.name = options.name ?? "RedisChatStore";
    const prefix = options.prefix ?? "";
    if (typeof prefix !== "string") throw new StorageError("INVALID_ARGUMENT", "prefix must be a string", { store: this.name });
    assertEncodable(prefix, this.name, "prefix");
    if (options.ttl !== undefined && (!Number.isInteger(options.ttl) || options.ttl <= 0)) {
      throw new StorageError("INVALID_ARGUMENT", `ttl must be a positive integer number of seconds, got ${String(options.ttl)}`, {
        store: this.name,
      });
    }
    const mode = options.ttlMode ?? "sliding";
    if (mode !== "sliding" && mode !== "fixed") {
      throw new StorageError("INVALID_ARGUMENT", `ttlMode must be "sliding" or "fixed", got ${String(mode)}`, { store: this.name });
    }
    this.prefix = prefix;
    this.ttl = options.ttl;
    this.ttlMode = mode;
    const { client, owned } = resolveClient(options, this.name);
    this.client = client;
    this.#owned = owned;
  }

  /** The Redis key of a conversation's list (without the client's own ioredis `keyPrefix`, if any). */
  keyFor(key: string): string {
    assertChatKey(key, this.name);
    assertEncodable(key, this.name, "chat key");
    return this.prefix + key;
  }

  async setMessages(key: string, messages: readonly ChatMessage[]): Promise<void> {
    const list = this.keyFor(key);
    const encoded = this.#encodeAll(messages);
    await guarded(this.client, this.name, "setMessages", async () => {
      const tx = this.client.multi().eval(DELETE_LIST, 1, list);
      for (let i = 0; i < encoded.length; i += PUSH_CHUNK) tx.rpush(list, ...encoded.slice(i, i + PUSH_CHUNK));
      // A rewrite creates a new list, so both modes start its clock here.
      if (encoded.length > 0 && this.ttl !== undefined) tx.eval(APPLY_TTL, 1, list, this.ttl, "sliding");
      await execMulti(tx);
    });
  }

  async addMessage(key: string, message: ChatMessage): Promise<void> {
    await this.addMessages(key, [message]);
  }

  async addMessages(key: string, messages: readonly ChatMessage[]): Promise<void> {
    const list = this.keyFor(key);
    const encoded = this.#encodeAll(messages);
    if (encoded.length === 0) return;
    await guarded(this.client, this.name, "addMessages", async () => {
      const tx = this.client.multi();
      for (let i = 0; i < encoded.length; i += PUSH_CHUNK) tx.rpush(list, ...encoded.slice(i, i + PUSH_CHUNK));
      if (this.ttl !== undefined) tx.eval(APPLY_TTL, 1, list, this.ttl, this.ttlMode);
      await execMulti(tx);
    });
  }

  async getMessages(key: string, options: GetMessagesOptions = {}): Promise<ChatMessage[]> {
    const list = this.keyFor(key);
    assertGetMessagesOptions(options, this.name);
    const { limit, before } = options;
    if (limit === 0 || before === 0) return [];
    const raws = await guarded(this.client, this.name, "getMessages", async (): Promise<string[]> => {
      // LRANGE bounds are inclusive and clamp to the list, so without `before` one LRANGE is exact.
      if (before === undefined) return this.client.lrange(list, limit === undefined ? 0 : -limit, -1);
      return (await this.client.eval(WINDOW, 1, list, before, limit ?? -1)) as string[];
    });
    return raws.map((r) => this.#decode(r, key));
  }

  async deleteMessages(key: string): Promise<ChatMessage[]> {
    const list = this.keyFor(key);
    const replies = await guarded(this.client, this.name, "deleteMessages", () => execMulti(this.client.multi().lrange(list, 0, -1).eval(DELETE_LIST, 1, list)));
    return (replies[0] as string[]).map((r) => this.#decode(r, key));
  }

  async deleteMessage(key: string, idx: number): Promise<ChatMessage | undefined> {
    const list = this.keyFor(key);
    assertMessageIndex(idx, this.name);
    // The tombstone is not JSON (messages always are), and unique per call.
    const tombstone = `larder:tombstone:${randomUUID()}`;
    const raw = await guarded(this.client, this.name, "deleteMessage", () => this.client.eval(DELETE_AT, 1, list, idx, tombstone));
    return typeof raw === "string" ? this.#decode(raw, key) : undefined;
  }

  async deleteLastMessage(key: string): Promise<ChatMessage | undefined> {
    const list = this.keyFor(key);
    const raw = await guarded(this.client, this.name, "deleteLastMessage", () => this.client.rpop(list));
    return raw === null ? undefined : this.#decode(raw, key);
  }

  async getKeys(): Promise<string[]> {
    const raw = clientKeyPrefix(this.client) + this.prefix;
    const keys = await guarded(this.client, this.name, "getKeys", () => scanKeys(this.client, raw, "list"));
    return keys.map((k) => k.slice(raw.length)).filter((k) => k.length > 0);
  }

  async close(): Promise<void> {
    if (this.#owned) await closeOwned(this.client);
  }

  #encodeAll(messages: readonly ChatMessage[]): string[] {
    assertChatMessages(messages, this.name);
    return messages.map((m) => JSON.stringify(m));
  }

  #decode(raw: string, key: string): ChatMessage {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw new StorageError("CORRUPT", `a message of chat ${short(key)} is not JSON`, { store: this.name, cause: e, details: { key } });
    }
    if (typeof value !== "object" || value === null || Array.isArray(value) || typeof (value as { role?: unknown }).role !== "string") {
      throw new StorageError("CORRUPT", `a message of chat ${short(key)} is not a chat message object`, { store: this.name, details: { key } });
    }
    return value as ChatMessage;
  }
}

/** EXEC and unwrap: throws the first command error (or the abort) instead of returning it. */
async function execMulti(tx: { exec(): Promise<[Error | null, unknown][] | null> }): Promise<unknown[]> {
  const results = await tx.exec();
  if (results === null) throw new Error("Connection is closed (the transaction was aborted)");
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

function short(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}
