export { PostgresKVStore, type PostgresKVStoreOptions } from "./kv-store.js";
export {
  PostgresDocumentStore,
  PostgresIndexStore,
  type PostgresDocumentStoreOptions,
  type PostgresIndexStoreOptions,
} from "./doc-index-stores.js";
export { PostgresChatStore, type PostgresChatStoreOptions } from "./chat-store.js";
export { PostgresVectorStore, type PostgresVectorIndex, type PostgresVectorStoreOptions } from "./vector-store.js";
export type { PostgresBulkLoad } from "./bulk-load.js";
export type { PostgresConnectionOptions } from "./connection.js";
export { compileFilters, SQL_FILTER_OPERATORS, type CompiledFilter } from "./filter-sql.js";
export { classifyPgError } from "./pg-errors.js";
