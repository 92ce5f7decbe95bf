export * from "./types.js";
export * from "./model.js";
export * from "./python-format.js";
export * from "./simple-property-graph-store.js";
export { SIMPLE_GRAPH_FILTER_OPERATORS, validateGraphVectorQuery, DEFAULT_GRAPH_TOP_K } from "./vector-query.js";
export * from "./llama-nodes.js";
