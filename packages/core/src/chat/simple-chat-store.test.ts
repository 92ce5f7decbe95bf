import { describe, expect, it } from "vitest";
import { SimpleChatStore } from "./simple-chat-store.js";

describe("SimpleChatStore persistence shape", () => {
  const file = {
    store: {
      "user-1": [
        { role: "user", additional_kwargs: {}, blocks: [{ block_type: "text", text: "Hi" }] },
        { role: "assistant", additional_kwargs: {}, blocks: [{ block_type: "text", text: "Hello!" }] },
      ],
    },
    class_name: "SimpleChatStore" as const,
  };

  it("reads and writes LlamaIndex's chat_store.json", async () => {
    const cs = SimpleChatStore.fromDict(file);
    expect(await cs.getMessages("user-1")).toEqual(file.store["user-1"]);
    expect(cs.toDict()).toEqual(file);
  });

  it("accepts the legacy double-encoded string", async () => {
    const cs = SimpleChatStore.fromDict(JSON.stringify(file));
    expect(await cs.getKeys()).toEqual(["user-1"]);
  });

  it("refuses malformed files with INVALID_ARGUMENT", () => {
    expect(() => SimpleChatStore.fromDict("{oops")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => SimpleChatStore.fromDict({ store: { k: [{ content: "no role" }] } } as never)).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
  });
});
