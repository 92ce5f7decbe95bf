// The LangChain code paths over core's in-memory Larder stores (no service needed).
import { describe } from "vitest";
import { uniqueNamespace } from "@larder/conformance";
import { SimpleChatStore } from "@larder/core/chat";
import { SimpleKVStore } from "@larder/core/kv";
import { SimpleVectorStore } from "@larder/core/vector";
import { describeChatAdapter } from "./testing/chat-suite.js";
import { describeKVAdapter } from "./testing/kv-suite.js";
import { describeVectorAdapter } from "./testing/vector-suite.js";

describe("LarderVectorStore over SimpleVectorStore", () => describeVectorAdapter(() => new SimpleVectorStore()));
describe("LarderByteStore / LarderKVBaseStore over SimpleKVStore", () => describeKVAdapter(() => new SimpleKVStore()));
describe("LarderChatMessageHistory over SimpleChatStore", () => describeChatAdapter(() => new SimpleChatStore(), () => uniqueNamespace("chat")));
