import type { JsonObject, JsonValue } from "../kv/types.js";

export type ChatRole = "system" | "developer" | "user" | "assistant" | "function" | "tool" | "chatbot" | "model" | (string & {});

/** A content block (LlamaIndex's `TextBlock`, `ImageBlock`, ...): `block_type` plus fields. */
export type ContentBlock = { block_type: string } & JsonObject;

/**
 * LlamaIndex's `ChatMessage`. `content` is a string or a list of blocks; `additional_kwargs` holds tool
 * calls and anything provider-specific. Stores round-trip every field exactly.
 */
export interface ChatMessage {
  role: ChatRole;
  content?: string | ContentBlock[] | null;
  additional_kwargs?: JsonObject;
  [extra: string]: JsonValue | undefined;
}

export interface GetMessagesOptions {
  /** At most this many messages: the last `limit` before `before`. */
  limit?: number;
  /** Only messages with index < before (for paging backwards). */
  before?: number;
}

/**
 * Ordered, lossless chat histories by key. Indexes are 0-based positions in the history. A key
 * whose history is empty does not exist: `getMessages` resolves `[]` and `getKeys` omits it.
 * Keys are non-empty strings; messages are validated (plain JSON, non-empty string `role`) before
 * anything is written.
 */
export interface ChatStore {
  setMessages(key: string, messages: readonly ChatMessage[]): Promise<void>;
  getMessages(key: string, options?: GetMessagesOptions): Promise<ChatMessage[]>;
  addMessage(key: string, message: ChatMessage): Promise<void>;
  /** Appends atomically, in order, in one round trip. */
  addMessages(key: string, messages: readonly ChatMessage[]): Promise<void>;
  /** Deletes the whole history; resolves the deleted messages (empty when none). */
  deleteMessages(key: string): Promise<ChatMessage[]>;
  /** Deletes one message by index; `undefined` when out of range. `idx` must be a non-negative integer (else `INVALID_ARGUMENT`). */
  deleteMessage(key: string, idx: number): Promise<ChatMessage | undefined>;
  deleteLastMessage(key: string): Promise<ChatMessage | undefined>;
  /** Keys with at least one message. Order unspecified. */
  getKeys(): Promise<string[]>;
  close?(): Promise<void>;
}
