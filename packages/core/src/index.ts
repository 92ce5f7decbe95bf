export * from "./errors.js";
export * from "./schema/index.js";
