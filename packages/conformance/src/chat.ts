import { expect } from "vitest";
import type { ChatMessage, ChatStore } from "@larder/core/chat";
import { defineSuite, expectStorageError, type TestBody } from "./harness.js";
import { HOSTILE_STRINGS } from "./hostile.js";
import { PROTOTYPE_KEYS, acceptedOrInvalid, expectSameMembers, label } from "./kv-helpers.js";

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ChatStoreCapabilities {}

type Body = TestBody<ChatStore, ChatStoreCapabilities>;

const msg = (i: number, role = i % 2 === 0 ? "user" : "assistant"): ChatMessage => ({ role, content: `message ${i}` });

/** Messages using every part of LlamaIndex's ChatMessage: roles, blocks, tool calls, kwargs. */
export function richConversation(): ChatMessage[] {
  return [
    { role: "system", content: "You are a helpful llama.", additional_kwargs: {} },
    {
      role: "user",
      additional_kwargs: {},
      blocks: [
        { block_type: "text", text: "What is in this image? 🦙" },
        { block_type: "image", image: null, path: null, url: "https://example.com/a.png", image_mimetype: "image/png", detail: "high" },
      ],
    },
    {
      role: "user",
      content: [
        { block_type: "text", text: "Block content too" },
        { block_type: "document", data: "aGVsbG8=", title: "doc.pdf", document_mimetype: "application/pdf" },
      ],
    },
    {
      role: "assistant",
      content: null,
      additional_kwargs: {
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city": "Lima", "unit": "°C"}' } },
          { id: "call_2", type: "function", function: { name: "noop", arguments: "{}" } },
        ],
        nested: { deep: [1, 2.5, true, null, { x: "y" }] },
      },
    },
    { role: "tool", content: '{"temp": 21}', additional_kwargs: { tool_call_id: "call_1", name: "get_weather" } },
    { role: "developer", content: "" },
    { role: "assistant", content: "It is 21 °C in Lima.\n\nAnything else?", additional_kwargs: { usage: { prompt_tokens: 10, completion_tokens: 12 } } },
    { role: "custom-role", content: "unknown roles survive", extra_field: { kept: true } },
  ];
}

export const chatStoreTests = {
  "chat.get.missing-is-empty": (async (ctx) => {
    const cs = await ctx.store();
    expect(await cs.getMessages("nobody")).toEqual([]);
    expect(await cs.getMessages("nobody", { limit: 5 })).toEqual([]);
    expect(await cs.getKeys()).toEqual([]);
  }) as Body,

  "chat.set.roundtrip-lossless": (async (ctx) => {
    const cs = await ctx.store();
    const conv = richConversation();
    await cs.setMessages("k", conv);
    expect(await cs.getMessages("k")).toEqual(conv);
    expect(await cs.getMessages("k")).toEqual(richConversation());
  }) as Body,

  "chat.set.replaces": (async (ctx) => {
    const cs = await ctx.store();
    await cs.setMessages("k", [msg(0), msg(1), msg(2)]);
    await cs.setMessages("k", [msg(9)]);
    expect(await cs.getMessages("k")).toEqual([msg(9)]);
    await cs.setMessages("k", []);
    expect(await cs.getMessages("k")).toEqual([]);
    expect(await cs.getKeys()).toEqual([]);
  }) as Body,

  "chat.add.appends-in-order": (async (ctx) => {
    const cs = await ctx.store();
    for (let i = 0; i < 60; i++) await cs.addMessage("k", msg(i));
    expect(await cs.getMessages("k")).toEqual(Array.from({ length: 60 }, (_, i) => msg(i)));
  }) as Body,

  "chat.addMessages.batch-in-order": (async (ctx) => {
    const cs = await ctx.store();
    await cs.addMessage("k", msg(0));
    await cs.addMessages("k", Array.from({ length: 500 }, (_, i) => msg(i + 1)));
    await cs.addMessages("k", []);
    await cs.addMessages("k", richConversation());
    const got = await cs.getMessages("k");
    expect(got).toHaveLength(501 + richConversation().length);
    expect(got.slice(0, 501)).toEqual(Array.from({ length: 501 }, (_, i) => msg(i)));
    expect(got.slice(501)).toEqual(richConversation());
  }) as Body,

  "chat.add.concurrent-appends-lose-nothing": (async (ctx) => {
    const cs = await ctx.store();
    await Promise.all(Array.from({ length: 50 }, (_, i) => cs.addMessage("k", msg(i))));
    await Promise.all([cs.addMessages("k", [msg(100), msg(101), msg(102)]), cs.addMessages("k", [msg(200), msg(201), msg(202)])]);
    const got = await cs.getMessages("k");
    expect(got).toHaveLength(56);
    expectSameMembers(
      got.map((m) => m.content as string),
      [...Array.from({ length: 50 }, (_, i) => `message ${i}`), ...[100, 101, 102, 200, 201, 202].map((i) => `message ${i}`)],
    );
    // A batch appends atomically: its messages stay adjacent and in order.
    const i100 = got.findIndex((m) => m.content === "message 100");
    expect(got.slice(i100, i100 + 3).map((m) => m.content)).toEqual(["message 100", "message 101", "message 102"]);
    const i200 = got.findIndex((m) => m.content === "message 200");
    expect(got.slice(i200, i200 + 3).map((m) => m.content)).toEqual(["message 200", "message 201", "message 202"]);
  }) as Body,

  "chat.get.limit-and-before": (async (ctx) => {
    const cs = await ctx.store();
    const all = Array.from({ length: 10 }, (_, i) => msg(i));
    await cs.setMessages("k", all);
    expect(await cs.getMessages("k", { limit: 3 })).toEqual(all.slice(7));
    expect(await cs.getMessages("k", { limit: 0 })).toEqual([]);
    expect(await cs.getMessages("k", { limit: 100 })).toEqual(all);
    expect(await cs.getMessages("k", { before: 4 })).toEqual(all.slice(0, 4));
    expect(await cs.getMessages("k", { before: 4, limit: 2 })).toEqual(all.slice(2, 4));
    expect(await cs.getMessages("k", { before: 1, limit: 5 })).toEqual(all.slice(0, 1));
    expect(await cs.getMessages("k", { before: 0 })).toEqual([]);
    expect(await cs.getMessages("k", { before: 50, limit: 2 })).toEqual(all.slice(8));
    // Paging backwards visits every message exactly once.
    const pages: ChatMessage[] = [];
    let before = 10;
    while (before > 0) {
      const page = await cs.getMessages("k", { before, limit: 3 });
      pages.unshift(...page);
      before -= page.length;
    }
    expect(pages).toEqual(all);
    await expectStorageError(() => cs.getMessages("k", { limit: -1 }), "INVALID_ARGUMENT");
    await expectStorageError(() => cs.getMessages("k", { before: 1.5 }), "INVALID_ARGUMENT");
  }) as Body,

  "chat.deleteMessages.returns-and-clears": (async (ctx) => {
    const cs = await ctx.store();
    await cs.setMessages("k", [msg(0), msg(1)]);
    await cs.setMessages("other", [msg(5)]);
    expect(await cs.deleteMessages("k")).toEqual([msg(0), msg(1)]);
    expect(await cs.getMessages("k")).toEqual([]);
    expect(await cs.deleteMessages("k")).toEqual([]);
    expect(await cs.deleteMessages("never")).toEqual([]);
    expect(await cs.getKeys()).toEqual(["other"]);
    expect(await cs.getMessages("other")).toEqual([msg(5)]);
  }) as Body,

  "chat.deleteMessage.by-index-keeps-order": (async (ctx) => {
    const cs = await ctx.store();
    await cs.setMessages("k", Array.from({ length: 6 }, (_, i) => msg(i)));
    expect(await cs.deleteMessage("k", 2)).toEqual(msg(2));
    expect(await cs.getMessages("k")).toEqual([msg(0), msg(1), msg(3), msg(4), msg(5)]);
    expect(await cs.deleteMessage("k", 0)).toEqual(msg(0));
    expect(await cs.deleteMessage("k", 3)).toEqual(msg(5));
    expect(await cs.getMessages("k")).toEqual([msg(1), msg(3), msg(4)]);
    expect(await cs.deleteMessage("k", 3)).toBeUndefined();
    expect(await cs.deleteMessage("k", 99)).toBeUndefined();
    expect(await cs.deleteMessage("never", 0)).toBeUndefined();
    await expectStorageError(() => cs.deleteMessage("k", -1), "INVALID_ARGUMENT");
    await expectStorageError(() => cs.deleteMessage("k", 0.5), "INVALID_ARGUMENT");
    await expectStorageError(() => cs.deleteMessage("k", Number.NaN), "INVALID_ARGUMENT");
    expect(await cs.getMessages("k")).toEqual([msg(1), msg(3), msg(4)]);
  }) as Body,

  "chat.deleteMessage.returns-full-message": (async (ctx) => {
    const cs = await ctx.store();
    const conv = richConversation();
    await cs.setMessages("k", conv);
    expect(await cs.deleteMessage("k", 3)).toEqual(conv[3]);
    expect(await cs.deleteLastMessage("k")).toEqual(conv[conv.length - 1]);
    expect(await cs.getMessages("k")).toEqual([...conv.slice(0, 3), ...conv.slice(4, -1)]);
  }) as Body,

  "chat.deleteLastMessage": (async (ctx) => {
    const cs = await ctx.store();
    expect(await cs.deleteLastMessage("never")).toBeUndefined();
    await cs.setMessages("k", [msg(0), msg(1)]);
    expect(await cs.deleteLastMessage("k")).toEqual(msg(1));
    expect(await cs.deleteLastMessage("k")).toEqual(msg(0));
    expect(await cs.deleteLastMessage("k")).toBeUndefined();
    expect(await cs.getKeys()).toEqual([]);
    await cs.addMessage("k", msg(7));
    expect(await cs.getMessages("k")).toEqual([msg(7)]);
  }) as Body,

  "chat.keys.lists-non-empty": (async (ctx) => {
    const cs = await ctx.store();
    await cs.setMessages("a", [msg(0)]);
    await cs.addMessage("b", msg(1));
    await cs.addMessages("c", [msg(2)]);
    await cs.setMessages("empty", []);
    await cs.addMessages("empty2", []);
    expectSameMembers(await cs.getKeys(), ["a", "b", "c"]);
    await cs.deleteMessage("b", 0);
    await cs.deleteMessages("c");
    expect(await cs.getKeys()).toEqual(["a"]);
  }) as Body,

  "chat.keys.isolated": (async (ctx) => {
    const cs = await ctx.store();
    await cs.setMessages("user-1", [msg(1)]);
    await cs.setMessages("user-10", [msg(10)]);
    await cs.setMessages("user", [msg(0)]);
    await cs.addMessage("user-1", msg(2));
    expect(await cs.getMessages("user-1")).toEqual([msg(1), msg(2)]);
    expect(await cs.getMessages("user-10")).toEqual([msg(10)]);
    expect(await cs.getMessages("user")).toEqual([msg(0)]);
    await cs.deleteMessages("user");
    expect(await cs.getMessages("user-1")).toEqual([msg(1), msg(2)]);
  }) as Body,

  "chat.copy.not-aliased": (async (ctx) => {
    const cs = await ctx.store();
    const m: ChatMessage = { role: "user", content: "hi", additional_kwargs: { list: [1] } };
    await cs.addMessage("k", m);
    (m.additional_kwargs!["list"] as number[]).push(2);
    m.content = "changed";
    const got = await cs.getMessages("k");
    got[0]!.content = "mutated";
    got.push(msg(9));
    expect(await cs.getMessages("k")).toEqual([{ role: "user", content: "hi", additional_kwargs: { list: [1] } }]);
  }) as Body,

  "chat.large-history": (async (ctx) => {
    const cs = await ctx.store();
    const all = Array.from({ length: 3000 }, (_, i) => ({ ...msg(i), additional_kwargs: { i } }));
    await cs.setMessages("k", all);
    expect(await cs.getMessages("k")).toEqual(all);
    expect(await cs.getMessages("k", { limit: 2 })).toEqual(all.slice(2998));
    expect(await cs.deleteMessage("k", 1500)).toEqual(all[1500]);
    expect((await cs.getMessages("k", { before: 1501, limit: 2 })).map((m) => m.additional_kwargs?.["i"])).toEqual([1499, 1501]);
  }) as Body,

  "chat.hostile.keys-and-content": (async (ctx) => {
    const cs = await ctx.store();
    await cs.setMessages("sentinel", [msg(0)]);
    const accepted: string[] = [];
    for (const s of [...HOSTILE_STRINGS, ...PROTOTYPE_KEYS]) {
      const m: ChatMessage = { role: "user", content: s, additional_kwargs: { [s]: s } };
      if (await acceptedOrInvalid(() => cs.setMessages(s, [m, { role: "assistant", content: s }]), `chat key ${label(s)}`)) {
        accepted.push(s);
      }
    }
    expect(accepted.length).toBeGreaterThan(0);
    for (const s of accepted) {
      expect(await cs.getMessages(s), label(s)).toEqual([
        { role: "user", content: s, additional_kwargs: { [s]: s } },
        { role: "assistant", content: s },
      ]);
    }
    expectSameMembers(await cs.getKeys(), [...accepted, "sentinel"]);
    for (const s of accepted) expect(await cs.deleteLastMessage(s)).toEqual({ role: "assistant", content: s });
    expect(await cs.getMessages("sentinel")).toEqual([msg(0)]);
    // Hostile message contents under a safe key.
    const contents: ChatMessage[] = [];
    for (const s of HOSTILE_STRINGS) {
      if (await acceptedOrInvalid(() => cs.addMessage("contents", { role: "user", content: s }), `content ${label(s)}`)) {
        contents.push({ role: "user", content: s });
      }
    }
    expect(contents.length).toBeGreaterThan(HOSTILE_STRINGS.length / 2);
    expect(await cs.getMessages("contents")).toEqual(contents);
  }) as Body,

  "chat.invalid.messages-change-nothing": (async (ctx) => {
    const cs = await ctx.store();
    await cs.setMessages("k", [msg(0), msg(1)]);
    const bad: unknown[] = [
      null,
      "hello",
      [],
      { content: "no role" },
      { role: "", content: "empty role" },
      { role: 5, content: "numeric role" },
      { role: "user", content: 42 },
      { role: "user", content: [{ text: "block without block_type" }] },
      { role: "user", content: "x", additional_kwargs: [] },
      { role: "user", content: "x", additional_kwargs: { n: Number.NaN } },
      { role: "user", content: "x", when: new Date(0) },
      { role: "user", content: undefined, extra: undefined },
      // Nested 20,000 levels: INVALID_ARGUMENT (core's MAX_JSON_DEPTH), never a stack overflow.
      { role: "user", content: "x", additional_kwargs: JSON.parse(`${'{"d":'.repeat(20_000)}1${"}".repeat(20_000)}`) as unknown },
    ];
    for (const b of bad) {
      await expectStorageError(() => cs.addMessage("k", b as ChatMessage), "INVALID_ARGUMENT");
      await expectStorageError(() => cs.addMessages("k", [msg(7), b as ChatMessage]), "INVALID_ARGUMENT");
      await expectStorageError(() => cs.setMessages("k", [msg(8), b as ChatMessage]), "INVALID_ARGUMENT");
    }
    await expectStorageError(() => cs.setMessages("k", "nope" as unknown as ChatMessage[]), "INVALID_ARGUMENT");
    for (const key of ["", 3, null] as unknown as string[]) {
      await expectStorageError(() => cs.addMessage(key, msg(0)), "INVALID_ARGUMENT");
      await expectStorageError(() => cs.getMessages(key), "INVALID_ARGUMENT");
      await expectStorageError(() => cs.deleteMessages(key), "INVALID_ARGUMENT");
    }
    expect(await cs.getMessages("k")).toEqual([msg(0), msg(1)]);
    expect(await cs.getKeys()).toEqual(["k"]);
  }) as Body,
} satisfies Record<string, Body>;

export type ChatStoreTestId = keyof typeof chatStoreTests;

/** The chat-store suite: order, lossless round trip, paging, deletes by index, isolation. */
export const describeChatStore = defineSuite<ChatStore, ChatStoreTestId, ChatStoreCapabilities>("ChatStore", chatStoreTests, {
  timeout: 120_000,
});
