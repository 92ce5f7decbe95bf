// Test-only (excluded from the build): LangChain's chat-history users (RunnableWithMessageHistory)
// over LarderChatMessageHistory on the given Larder chat store.
import { expect, it } from "vitest";
import { expectStorageError } from "@larder/conformance";
import type { ChatStore } from "@larder/core/chat";
import {
  AIMessage,
  ChatMessage,
  ToolMessage,
  mapChatMessagesToStoredMessages,
  type BaseMessage,
} from "@langchain/core/messages";
import { ChatPromptTemplate, MessagesPlaceholder } from "@langchain/core/prompts";
import { RunnableWithMessageHistory } from "@langchain/core/runnables";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import { LarderChatMessageHistory } from "../index.js";
import { everyKindOfMessage } from "./chat-messages.js";

/** What LangChain itself would store, as plain JSON (undefined members dropped). */
function stored(messages: BaseMessage[]): unknown {
  return JSON.parse(JSON.stringify(mapChatMessagesToStoredMessages(messages)));
}

export function describeChatAdapter(create: () => ChatStore, sessionId: () => string): void {
  it("every message type (tool calls, invalid tool calls, usage, artifacts, content parts, generic roles) round-trips exactly", async () => {
    const chatStore = create();
    const sid = sessionId();
    const history = new LarderChatMessageHistory({ chatStore, sessionId: sid });
    const messages = everyKindOfMessage();
    await history.addMessages(messages.slice(0, 3));
    for (const m of messages.slice(3)) await history.addMessage(m);
    const reloaded = await new LarderChatMessageHistory({ chatStore, sessionId: sid }).getMessages();
    expect(stored(reloaded)).toEqual(stored(messages));
    expect(reloaded.map((m) => m.constructor.name)).toEqual(messages.map((m) => m.constructor.name));
    expect((reloaded[2] as AIMessage).tool_calls).toEqual((messages[2] as AIMessage).tool_calls);
    // Other apps reading the Larder store see roles and text they know.
    const raw = await chatStore.getMessages(sid);
    expect(raw.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool", "function", "user", "assistant", "critic"]);
    expect(raw[1]!.content).toBe("What's the weather in Paris?");
    expect(raw[5]!.content).toEqual([
      { block_type: "text", text: "And this picture?" },
      { block_type: "image_url", image_url: { url: "https://example.com/p.png", detail: "low" } },
    ]);
  });

  it("a message JSON cannot hold (a Date in additional_kwargs) is INVALID_ARGUMENT; the batch writes nothing", async () => {
    const chatStore = create();
    const sid = sessionId();
    const history = new LarderChatMessageHistory({ chatStore, sessionId: sid });
    await history.addUserMessage("kept");
    await expectStorageError(
      () => history.addMessages([new AIMessage("fine"), new AIMessage({ content: "bad", additional_kwargs: { when: new Date(0) as never } })]),
      "INVALID_ARGUMENT",
    );
    expect((await history.getMessages()).map((m) => m.content)).toEqual(["kept"]);
  });

  it("clear() empties only its own session", async () => {
    const chatStore = create();
    const [a, b] = [sessionId(), sessionId()];
    const ha = new LarderChatMessageHistory({ chatStore, sessionId: a });
    const hb = new LarderChatMessageHistory({ chatStore, sessionId: b });
    await ha.addUserMessage("hello a");
    await hb.addAIMessage("hello b");
    await ha.clear();
    expect(await ha.getMessages()).toEqual([]);
    expect(stored(await hb.getMessages())).toEqual(stored([new AIMessage("hello b")]));
  });

  it("RunnableWithMessageHistory with a fake chat model: turns are stored, fed back into the prompt, and reload equal", async () => {
    const chatStore = create();
    const sid = sessionId();
    const model = new FakeListChatModel({ responses: ["Hi Ana!", "You said your name is Ana."] });
    const prompt = ChatPromptTemplate.fromMessages([["system", "You are a helpful bot."], new MessagesPlaceholder("history"), ["human", "{input}"]]);
    const chain = new RunnableWithMessageHistory({
      runnable: prompt.pipe(model),
      getMessageHistory: (id: string) => new LarderChatMessageHistory({ chatStore, sessionId: id }),
      inputMessagesKey: "input",
      historyMessagesKey: "history",
    });
    const seen: BaseMessage[][] = [];
    const callbacks = [{ handleChatModelStart: async (_llm: unknown, msgs: BaseMessage[][]) => void seen.push(msgs[0]!) }];
    const r1 = await chain.invoke({ input: "I am Ana." }, { configurable: { sessionId: sid }, callbacks });
    const r2 = await chain.invoke({ input: "What is my name?" }, { configurable: { sessionId: sid }, callbacks });
    expect([r1.content, r2.content]).toEqual(["Hi Ana!", "You said your name is Ana."]);
    // The second prompt carried the first turn, read back from the Larder store.
    expect(seen[1]!.map((m) => [m.getType(), m.content])).toEqual([
      ["system", "You are a helpful bot."],
      ["human", "I am Ana."],
      ["ai", "Hi Ana!"],
      ["human", "What is my name?"],
    ]);
    const reloaded = await new LarderChatMessageHistory({ chatStore, sessionId: sid }).getMessages();
    expect(reloaded.map((m) => [m.getType(), m.content])).toEqual([
      ["human", "I am Ana."],
      ["ai", "Hi Ana!"],
      ["human", "What is my name?"],
      ["ai", "You said your name is Ana."],
    ]);
  });

  it("messages written by a non-LangChain app (Larder/LlamaIndex roles and blocks) read as LangChain messages", async () => {
    const chatStore = create();
    const sid = sessionId();
    await chatStore.addMessages(sid, [
      { role: "system", content: "sys" },
      { role: "user", content: [{ block_type: "text", text: "hi" }] },
      { role: "assistant", content: null, additional_kwargs: { tool_calls: [{ id: "t1" }] } },
      { role: "tool", content: "42", additional_kwargs: { tool_call_id: "t1" } },
      { role: "chatbot", content: "cohere-style" },
    ]);
    const got = await new LarderChatMessageHistory({ chatStore, sessionId: sid }).getMessages();
    expect(got.map((m) => m.getType())).toEqual(["system", "human", "ai", "tool", "generic"]);
    expect(got[1]!.content).toEqual([{ type: "text", text: "hi" }]);
    expect(got[2]!.content).toBe("");
    expect(got[2]!.additional_kwargs).toEqual({ tool_calls: [{ id: "t1" }] });
    expect((got[3] as ToolMessage).tool_call_id).toBe("t1");
    expect((got[4] as ChatMessage).role).toBe("chatbot");
  });
}
