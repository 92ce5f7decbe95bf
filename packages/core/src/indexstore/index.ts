export * from "./types.js";
export * from "./index-structs.js";
export {
  DEFAULT_INDEX_STORE_NAMESPACE,
  KVIndexStore,
  indexStructToJson,
  jsonToIndexStruct,
  type KVIndexStoreOptions,
} from "./kv-index-store.js";
export { SimpleIndexStore } from "./simple-index-store.js";
