import { type ChatMessage as LarderChatMessage, type ChatStore, type ContentBlock, errors, type JsonObject } from "@larder/core";
import type { ChatMessage, MessageContent, MessageContentDetail, MessageType } from "@llamaindex/core/llms";
import { BaseChatStore } from "@llamaindex/core/storage/chat-store";

/**
 * LlamaIndexTS's `BaseChatStore` over a Larder {@link ChatStore} (in-memory, Redis, Postgres).
 *
 * Every method returns a Promise (LlamaIndexTS's signatures allow it); await them to see errors.
 * Calls on one instance run in the order they were made, also when the caller does not await, so
 * a `getMessages` sees every earlier `addMessage`. Messages map both ways without loss: `role`;
 * `content` as a string or blocks (`{type: "text", text}` <-> `{block_type: "text", text}`, other
 * details keep their fields with `type` as `block_type`); `options` (tool calls, tool results) as
 * `additional_kwargs`. `addMessage` with an index is UNSUPPORTED (Larder appends atomically; an
 * insert in the middle would be a read-modify-write that concurrent writers could lose).
 */
export class LarderChatStore<AdditionalMessageOptions extends object = object> extends BaseChatStore<AdditionalMessageOptions> {
  readonly #store: ChatStore;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(chatStore: ChatStore) {
    super();
    if (!chatStore || typeof chatStore.addMessages !== "function") throw errors.invalid("LarderChatStore needs a Larder ChatStore");
    this.#store = chatStore;
  }

  /** The Larder store underneath. */
  get larder(): ChatStore {
    return this.#store;
  }

  #inOrder<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  setMessages(key: string, messages: ChatMessage<AdditionalMessageOptions>[]): Promise<void> {
    return this.#inOrder(async () => {
      if (!Array.isArray(messages)) throw errors.invalid("setMessages expects an array of messages");
      await this.#store.setMessages(key, messages.map(toLarderMessage));
    });
  }

  getMessages(key: string): Promise<ChatMessage<AdditionalMessageOptions>[]> {
    return this.#inOrder(async () => (await this.#store.getMessages(key)).map((m) => fromLarderMessage<AdditionalMessageOptions>(m)));
  }

  addMessage(key: string, message: ChatMessage<AdditionalMessageOptions>, idx?: number): Promise<void> {
    return this.#inOrder(async () => {
      if (idx !== undefined) {
        throw errors.unsupported("addMessage with an index is not supported: Larder chat stores append atomically (use setMessages to rewrite a history)");
      }
      await this.#store.addMessage(key, toLarderMessage(message));
    });
  }

  /** Appends several messages atomically, in order, in one round trip. */
  addMessages(key: string, messages: ChatMessage<AdditionalMessageOptions>[]): Promise<void> {
    return this.#inOrder(async () => {
      if (!Array.isArray(messages)) throw errors.invalid("addMessages expects an array of messages");
      await this.#store.addMessages(key, messages.map(toLarderMessage));
    });
  }

  deleteMessages(key: string): Promise<void> {
    return this.#inOrder(async () => {
      await this.#store.deleteMessages(key);
    });
  }

  deleteMessage(key: string, idx: number): Promise<void> {
    return this.#inOrder(async () => {
      await this.#store.deleteMessage(key, idx);
    });
  }

  getKeys(): Promise<IterableIterator<string>> {
    return this.#inOrder(async () => (await this.#store.getKeys()).values());
  }
}

/** A LlamaIndexTS chat message as a Larder (LlamaIndex) message. */
export function toLarderMessage(m: ChatMessage<object>): LarderChatMessage {
  if (m === null || typeof m !== "object") throw errors.invalid("a chat message must be an object {role, content, options?}");
  if (typeof m.role !== "string" || (m.role as string) === "") throw errors.invalid("a chat message needs a non-empty string role");
  const out: LarderChatMessage = { role: m.role, content: contentToLarder(m.content) };
  if (m.options !== undefined) {
    if (m.options === null || typeof m.options !== "object" || Array.isArray(m.options)) throw errors.invalid("message options must be an object");
    out.additional_kwargs = m.options as JsonObject;
  }
  return out;
}

function contentToLarder(c: MessageContent): string | ContentBlock[] {
  if (typeof c === "string") return c;
  if (!Array.isArray(c)) throw errors.invalid("message content must be a string or an array of content details");
  return c.map((d: MessageContentDetail, i) => {
    if (d === null || typeof d !== "object" || typeof d.type !== "string") throw errors.invalid(`content[${i}] must be an object with a string type`);
    const { type, ...rest } = d as { type: string } & Record<string, unknown>;
    return { block_type: type, ...(rest as JsonObject) } as ContentBlock;
  });
}

/** A Larder (LlamaIndex) message as a LlamaIndexTS chat message. */
export function fromLarderMessage<O extends object = object>(m: LarderChatMessage): ChatMessage<O> {
  const c = m.content;
  const content: MessageContent =
    c === null || c === undefined
      ? ""
      : typeof c === "string"
        ? c
        : c.map((b) => {
            const { block_type, ...rest } = b;
            return { type: block_type, ...rest } as unknown as MessageContentDetail;
          });
  const out: ChatMessage<O> = { role: m.role as MessageType, content };
  if (m.additional_kwargs !== undefined && Object.keys(m.additional_kwargs).length > 0) out.options = m.additional_kwargs as O;
  return out;
}
