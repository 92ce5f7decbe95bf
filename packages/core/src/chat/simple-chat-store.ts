import { StorageError } from "../errors.js";
import { isPlainObject } from "../kv/validate.js";
import type { ChatMessage, ChatStore, GetMessagesOptions } from "./types.js";
import {
  assertChatKey,
  assertChatMessage,
  assertChatMessages,
  assertGetMessagesOptions,
  assertMessageIndex,
  messageWindow,
} from "./validate.js";

/** LlamaIndex's `chat_store.json` shape. */
export interface ChatStoreDict {
  store: Record<string, ChatMessage[]>;
  class_name: "SimpleChatStore";
}

const NAME = "SimpleChatStore";

/**
 * In-memory chat store (LlamaIndex's `SimpleChatStore`). Histories are ordered and lossless:
 * messages are deep-copied in and out, every field is kept. A key whose history is empty does not
 * exist (`getKeys` omits it), as in Redis.
 */
export class SimpleChatStore implements ChatStore {
  readonly name: string = NAME;
  readonly #store = new Map<string, ChatMessage[]>();

  /** Loads `chat_store.json` content; also the legacy double-encoded string form. */
  static fromDict(data: ChatStoreDict | string): SimpleChatStore {
    let d: unknown = data;
    if (typeof d === "string") {
      try {
        d = JSON.parse(d);
      } catch (cause) {
        throw new StorageError("INVALID_ARGUMENT", "chat store data is a string that is not JSON", { store: NAME, cause });
      }
    }
    const raw = isPlainObject(d) ? d["store"] : undefined;
    if (!isPlainObject(raw)) throw new StorageError("INVALID_ARGUMENT", 'chat store data must be {"store": {key: [messages]}}', { store: NAME });
    const s = new SimpleChatStore();
    const staged: [string, ChatMessage[]][] = [];
    for (const [k, msgs] of Object.entries(raw)) {
      assertChatKey(k, NAME);
      assertChatMessages(msgs, NAME);
      if (msgs.length) staged.push([k, structuredClone(msgs as ChatMessage[])]);
    }
    for (const [k, m] of staged) s.#store.set(k, m);
    return s;
  }

  /** `chat_store.json` content (deep copy). */
  toDict(): ChatStoreDict {
    return { store: Object.fromEntries([...this.#store].map(([k, v]) => [k, structuredClone(v)])), class_name: "SimpleChatStore" };
  }

  async setMessages(key: string, messages: readonly ChatMessage[]): Promise<void> {
    assertChatKey(key, this.name);
    assertChatMessages(messages, this.name);
    if (messages.length === 0) this.#store.delete(key);
    else this.#store.set(key, structuredClone([...messages]));
  }

  async getMessages(key: string, options?: GetMessagesOptions): Promise<ChatMessage[]> {
    assertChatKey(key, this.name);
    assertGetMessagesOptions(options, this.name);
    const list = this.#store.get(key) ?? [];
    const [start, end] = messageWindow(list.length, options);
    return structuredClone(list.slice(start, end));
  }

  async addMessage(key: string, message: ChatMessage): Promise<void> {
    assertChatKey(key, this.name);
    assertChatMessage(message, this.name);
    this.#append(key, [structuredClone(message)]);
  }

  async addMessages(key: string, messages: readonly ChatMessage[]): Promise<void> {
    assertChatKey(key, this.name);
    assertChatMessages(messages, this.name);
    if (messages.length) this.#append(key, structuredClone([...messages]));
  }

  async deleteMessages(key: string): Promise<ChatMessage[]> {
    assertChatKey(key, this.name);
    const list = this.#store.get(key) ?? [];
    this.#store.delete(key);
    return list;
  }

  async deleteMessage(key: string, idx: number): Promise<ChatMessage | undefined> {
    assertChatKey(key, this.name);
    assertMessageIndex(idx, this.name);
    const list = this.#store.get(key);
    if (!list || idx >= list.length) return undefined;
    const [removed] = list.splice(idx, 1);
    if (list.length === 0) this.#store.delete(key);
    return removed;
  }

  async deleteLastMessage(key: string): Promise<ChatMessage | undefined> {
    assertChatKey(key, this.name);
    const list = this.#store.get(key);
    if (!list || list.length === 0) return undefined;
    const removed = list.pop();
    if (list.length === 0) this.#store.delete(key);
    return removed;
  }

  async getKeys(): Promise<string[]> {
    return [...this.#store.keys()];
  }

  async close(): Promise<void> {}

  #append(key: string, messages: ChatMessage[]): void {
    const list = this.#store.get(key);
    if (list) for (const m of messages) list.push(m);
    else this.#store.set(key, messages);
  }
}
