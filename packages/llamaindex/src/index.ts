export { LarderVectorStore, type LarderVectorStoreOptions, type LarderQueryParams } from "./vector-store.js";
export { LarderDocumentStore } from "./doc-store.js";
export { LarderIndexStore, type LarderIndexStoreOptions, toLarderStruct } from "./index-store.js";
export { LarderKVStore } from "./kv-store.js";
export { LarderChatStore, fromLarderMessage, toLarderMessage } from "./chat-store.js";
export { toLarderFilters, type LarderFilterInput, type NestedMetadataFilters } from "./filters.js";
export { fromLarderNode, toLarderNode } from "./nodes.js";
export {
  storageContextFromLarder,
  type LarderStorage,
  type LarderStorageOptions,
  type LlamaIndexStorageContext,
} from "./storage-context.js";
