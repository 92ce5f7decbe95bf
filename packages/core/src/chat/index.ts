export * from "./types.js";
export { SimpleChatStore, type ChatStoreDict } from "./simple-chat-store.js";
export {
  assertChatKey,
  assertChatMessage,
  assertChatMessages,
  assertGetMessagesOptions,
  assertMessageIndex,
  messageWindow,
} from "./validate.js";
