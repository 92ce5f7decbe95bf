export {
  Neo4jPropertyGraphStore,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_RETRY_TIME_MS,
  type Neo4jPropertyGraphStoreOptions,
} from "./neo4j-property-graph-store.js";
export { compileFilters, NEO4J_FILTER_OPERATORS, type CompiledFilter } from "./filters.js";
export { quote as quoteCypherName, NAMESPACE_LABEL_PREFIX } from "./cypher.js";
export { mapNeo4jError } from "./errors.js";
