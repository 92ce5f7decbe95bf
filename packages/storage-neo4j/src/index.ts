export { Neo4jPropertyGraphStore, type Neo4jPropertyGraphStoreOptions } from "./neo4j-property-graph-store.js";
export { compileFilters, NEO4J_FILTER_OPERATORS, type CompiledFilter } from "./filters.js";
export { quote as quoteCypherName } from "./cypher.js";
export { mapNeo4jError } from "./errors.js";
