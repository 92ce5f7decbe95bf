export * from "./types.js";
export {
  DEFAULT_DOCSTORE_NAMESPACE,
  KVDocumentStore,
  parseRefDocInfo,
  refDocInfoToJson,
  type KVDocumentStoreOptions,
} from "./kv-document-store.js";
export { SimpleDocumentStore } from "./simple-document-store.js";
export { Mutex } from "./mutex.js";
