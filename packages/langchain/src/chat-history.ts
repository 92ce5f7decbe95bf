import { StorageError } from "@larder/core/errors";
import type { ChatMessage, ChatStore, ContentBlock } from "@larder/core/chat";
import { jsonProblem, type JsonObject, type JsonValue } from "@larder/core/kv";
import { BaseListChatMessageHistory } from "@langchain/core/chat_history";
import {
  mapChatMessagesToStoredMessages,
  mapStoredMessagesToChatMessages,
  type BaseMessage,
  type StoredMessage,
  type StoredMessageData,
} from "@langchain/core/messages";

const STORE = "LarderChatMessageHistory";

/** LangChain message type -> Larder (LlamaIndex) role. A `generic` message keeps its own role. */
const ROLE_OF: Record<string, string> = { human: "user", ai: "assistant", system: "system", tool: "tool", function: "function" };
const TYPE_OF: Record<string, string> = { user: "human", assistant: "ai", system: "system", developer: "system", tool: "tool", function: "function" };

export interface LarderChatMessageHistoryArgs {
  /** Any Larder chat store: `SimpleChatStore`, `RedisChatStore`, `PostgresChatStore`, ... */
  chatStore: ChatStore;
  /** The conversation's key in the chat store (e.g. a session id). */
  sessionId: string;
}

/**
 * LangChain's `BaseListChatMessageHistory` over any Larder `ChatStore`, one history per session
 * key. Messages go through LangChain's own serialization (`mapChatMessagesToStoredMessages`) and
 * come back equal (type, content, tool calls, `additional_kwargs`, `response_metadata`, ids...).
 * `addMessages` appends the batch in one call (one round trip on Redis and Postgres).
 */
export class LarderChatMessageHistory extends BaseListChatMessageHistory {
  lc_namespace = ["larder", "chat_history"];
  readonly chatStore: ChatStore;
  readonly sessionId: string;

  constructor(args: LarderChatMessageHistoryArgs) {
    super(args as unknown as Record<string, unknown>);
    if (!args?.chatStore || typeof args.chatStore.addMessages !== "function") {
      throw new StorageError("INVALID_ARGUMENT", "args.chatStore must be a Larder ChatStore", { store: STORE });
    }
    if (typeof args.sessionId !== "string" || args.sessionId === "") {
      throw new StorageError("INVALID_ARGUMENT", "args.sessionId must be a non-empty string", { store: STORE });
    }
    this.chatStore = args.chatStore;
    this.sessionId = args.sessionId;
  }

  async getMessages(): Promise<BaseMessage[]> {
    return fromLarderMessages(await this.chatStore.getMessages(this.sessionId));
  }

  async addMessage(message: BaseMessage): Promise<void> {
    await this.chatStore.addMessages(this.sessionId, toLarderMessages([message]));
  }

  override async addMessages(messages: BaseMessage[]): Promise<void> {
    await this.chatStore.addMessages(this.sessionId, toLarderMessages(messages));
  }

  override async clear(): Promise<void> {
    await this.chatStore.deleteMessages(this.sessionId);
  }
}

/**
 * LangChain messages as Larder chat messages: `role` (human -> user, ai -> assistant, system,
 * tool, function; a generic message its own role), `content` (a string, or content parts as Larder
 * blocks: `{type: "text", text}` -> `{block_type: "text", text}`), `additional_kwargs`, and the
 * rest of LangChain's stored form (tool calls, ids, `response_metadata`, `tool_call_id`, ...) under
 * `langchain: {type, data}`. Properties whose value is `undefined` are left out (as JSON does);
 * anything else JSON cannot hold exactly (`Date`, `Map`, `NaN`, ...) is `INVALID_ARGUMENT`,
 * checked on the messages themselves before LangChain's serialization could change it.
 */
export function toLarderMessages(messages: readonly BaseMessage[]): ChatMessage[] {
  if (!Array.isArray(messages)) throw new StorageError("INVALID_ARGUMENT", "messages must be an array of LangChain messages", { store: STORE });
  messages.forEach(assertJsonFields);
  const stored = mapChatMessagesToStoredMessages(messages as BaseMessage[]);
  return stored.map((m) => {
    const { content, additional_kwargs, role, ...rest } = m.data as StoredMessageData & Record<string, unknown>;
    const larderRole = m.type === "generic" ? role : ROLE_OF[m.type];
    if (typeof larderRole !== "string" || larderRole === "") {
      throw new StorageError("INVALID_ARGUMENT", `a ${m.type} message has no role Larder can store`, { store: STORE });
    }
    const data = withoutUndefined(rest) as JsonObject;
    const blocks = toBlocks(content);
    if (blocks === undefined) data["content"] = withoutUndefined(content) as JsonValue; // parts that are not blocks: kept as they are
    const out: ChatMessage = {
      role: larderRole,
      content: blocks === undefined ? null : blocks,
      additional_kwargs: (withoutUndefined(additional_kwargs ?? {}) as JsonObject),
      langchain: { type: m.type, data },
    };
    return out;
  });
}

/**
 * Larder chat messages as LangChain messages. Messages written by this adapter come back exactly;
 * others (written by a LlamaIndex-style app) are read by role: user -> human, assistant -> ai,
 * system/developer -> system, tool -> tool (when a `tool_call_id` is found at the top level or in
 * `additional_kwargs`), function -> function (with a `name`), any other role -> a generic
 * `ChatMessage`; `null` content is `""` and blocks become content parts.
 */
export function fromLarderMessages(messages: readonly ChatMessage[]): BaseMessage[] {
  return mapStoredMessagesToChatMessages(messages.map(toStored));
}

/** The message fields LangChain's serialization carries (`toDict().data`). */
const MESSAGE_FIELDS = [
  "content", "additional_kwargs", "response_metadata", "tool_calls", "invalid_tool_calls", "tool_call_chunks",
  "usage_metadata", "artifact", "name", "id", "tool_call_id", "status", "role",
] as const;

/**
 * LangChain's serialization turns a `Date` or a `Map` into `{}` and keeps `NaN`; Larder refuses to
 * change data silently, so every field is checked on the message itself first (`undefined`
 * members aside, which JSON leaves out), with the message the chat stores give.
 */
function assertJsonFields(message: BaseMessage, i: number): void {
  if (message === null || typeof message !== "object" || typeof (message as { toDict?: unknown }).toDict !== "function") {
    throw new StorageError("INVALID_ARGUMENT", `messages[${i}] is not a LangChain message`, { store: STORE });
  }
  const fields = message as unknown as Record<string, unknown>;
  for (const field of MESSAGE_FIELDS) {
    const value = fields[field];
    if (value === undefined) continue;
    const problem = jsonProblem(withoutUndefined(value), `messages[${i}].${field}`);
    if (problem) throw new StorageError("INVALID_ARGUMENT", problem, { store: STORE });
  }
}

function toStored(m: ChatMessage, i: number): StoredMessage {
  const lc = m["langchain"];
  const content = fromBlocks(m.content);
  const additional_kwargs = m.additional_kwargs ?? {};
  if (isObject(lc) && typeof lc["type"] === "string" && isObject(lc["data"])) {
    const data = { ...(lc["data"] as JsonObject) } as Record<string, unknown>;
    if (!("content" in data)) data["content"] = content;
    data["additional_kwargs"] = additional_kwargs;
    if (lc["type"] === "generic") data["role"] = m.role;
    return { type: lc["type"], data: data as unknown as StoredMessageData };
  }
  const data: Record<string, unknown> = { content, additional_kwargs };
  let type = TYPE_OF[m.role] ?? "generic";
  if (type === "tool") {
    const id = m["tool_call_id"] ?? additional_kwargs["tool_call_id"];
    if (typeof id === "string") data["tool_call_id"] = id;
    else type = "generic";
  }
  if (type === "function") {
    const name = m["name"] ?? additional_kwargs["name"];
    if (typeof name === "string") data["name"] = name;
    else type = "generic";
  }
  if (type === "generic") data["role"] = m.role;
  if (typeof m["id"] === "string") data["id"] = m["id"];
  if (typeof m.role !== "string") throw new StorageError("CORRUPT", `message ${i} has no role`, { store: STORE });
  return { type, data: data as unknown as StoredMessageData };
}

function toBlocks(content: unknown): string | ContentBlock[] | undefined {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return undefined;
  const blocks: ContentBlock[] = [];
  for (const part of content) {
    if (!isObject(part) || typeof part["type"] !== "string" || "block_type" in part) return undefined;
    const { type, ...rest } = part;
    blocks.push({ block_type: type as string, ...(withoutUndefined(rest) as JsonObject) });
  }
  return blocks;
}

function fromBlocks(content: ChatMessage["content"]): string | Record<string, unknown>[] {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  return content.map(({ block_type, ...rest }) => ({ type: block_type, ...rest }));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Drops object properties whose value is `undefined` (deeply); everything else is kept as is. */
function withoutUndefined(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutUndefined);
  if (isObject(v) && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = withoutUndefined(x);
    return out;
  }
  return v;
}
