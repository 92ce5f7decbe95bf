export { LarderVectorStore, toDocument, type LarderAddOptions, type LarderDeleteParams, type LarderVectorStoreArgs } from "./vector-store.js";
export { LarderTranslator } from "./translator.js";
export {
  LarderByteStore,
  LarderKVBaseStore,
  bytesCodec,
  documentCodec,
  jsonValueCodec,
  type LarderByteStoreArgs,
  type LarderKVBaseStoreArgs,
  type LarderValueCodec,
} from "./kv-store.js";
export { LarderChatMessageHistory, fromLarderMessages, toLarderMessages, type LarderChatMessageHistoryArgs } from "./chat-history.js";
