export * from "./node.js";
export { pyRepr, pyStr } from "./python-repr.js";
/** For KV stores that keep values as JSON text: parse so that nodes read from it keep exact metadata. */
export { jsonSourceOf, parseJsonKeepingSource } from "./exact-json.js";
export type { ExactMember, ExactMetadata } from "./exact-json.js";
