import { StorageError } from "../errors.js";
import { assertJsonObject, assertKey, describe, isPlainObject } from "../kv/validate.js";
import type { ChatMessage, GetMessagesOptions } from "./types.js";

/**
 * Validation shared by every chat store, so all backends refuse the same input the same way.
 * A message is a plain JSON object with a non-empty string `role`; `content`, when present, is a
 * string, null, or an array of content blocks (objects with a string `block_type`);
 * `additional_kwargs`, when present, is an object. Everything else is kept verbatim.
 */
export function assertChatMessage(message: unknown, store: string, what = "message"): asserts message is ChatMessage {
  assertJsonObject(message, store, what);
  const m = message as Record<string, unknown>;
  if (typeof m["role"] !== "string" || m["role"] === "") {
    throw new StorageError("INVALID_ARGUMENT", `${what}.role must be a non-empty string, got ${describe(m["role"])}`, { store });
  }
  const content = m["content"];
  if (content !== undefined && content !== null && typeof content !== "string") {
    if (!Array.isArray(content)) {
      throw new StorageError("INVALID_ARGUMENT", `${what}.content must be a string, null or an array of blocks`, { store });
    }
    content.forEach((b: unknown, i) => {
      if (!isPlainObject(b) || typeof b["block_type"] !== "string") {
        throw new StorageError("INVALID_ARGUMENT", `${what}.content[${i}] must be a block with a string block_type`, { store });
      }
    });
  }
  const kw = m["additional_kwargs"];
  if (kw !== undefined && !isPlainObject(kw)) {
    throw new StorageError("INVALID_ARGUMENT", `${what}.additional_kwargs must be an object`, { store });
  }
}

export function assertChatMessages(messages: unknown, store: string): asserts messages is readonly ChatMessage[] {
  if (!Array.isArray(messages)) throw new StorageError("INVALID_ARGUMENT", `messages must be an array, got ${describe(messages)}`, { store });
  messages.forEach((m, i) => assertChatMessage(m, store, `messages[${i}]`));
}

export function assertChatKey(key: unknown, store: string): asserts key is string {
  assertKey(key, store, "chat key");
}

/** Index argument of `deleteMessage`: a non-negative integer. */
export function assertMessageIndex(idx: unknown, store: string): asserts idx is number {
  if (typeof idx !== "number" || !Number.isInteger(idx) || idx < 0) {
    throw new StorageError("INVALID_ARGUMENT", `message index must be a non-negative integer, got ${describe(idx)}`, { store });
  }
}

export function assertGetMessagesOptions(options: GetMessagesOptions | undefined, store: string): void {
  if (options === undefined) return;
  if (!isPlainObject(options)) throw new StorageError("INVALID_ARGUMENT", "options must be an object", { store });
  for (const k of ["limit", "before"] as const) {
    const v = options[k];
    if (v !== undefined && (typeof v !== "number" || !Number.isInteger(v) || v < 0)) {
      throw new StorageError("INVALID_ARGUMENT", `${k} must be a non-negative integer, got ${describe(v)}`, { store });
    }
  }
}

/** The `[start, end)` slice `getMessages` returns for a history of `length` messages. */
export function messageWindow(length: number, options: GetMessagesOptions = {}): [number, number] {
  const end = Math.min(options.before ?? length, length);
  const start = options.limit === undefined ? 0 : Math.max(0, end - options.limit);
  return [start, end];
}
