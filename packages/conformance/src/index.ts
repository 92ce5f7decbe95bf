export * from "./harness.js";
export * from "./hostile.js";
