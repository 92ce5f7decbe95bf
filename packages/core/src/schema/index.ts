export * from "./node.js";
export { pyRepr, pyStr } from "./python-repr.js";
