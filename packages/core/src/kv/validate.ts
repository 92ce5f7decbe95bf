import { StorageError } from "../errors.js";
import type { JsonObject } from "./types.js";

/**
 * Shared input validation for every KV-backed store, so that all backends refuse the same inputs
 * with the same code (`INVALID_ARGUMENT`) before anything is written. A backend may refuse *more*
 * (e.g. NUL in a Postgres text key), never less.
 */

export function assertKey(key: unknown, store: string, what = "key"): asserts key is string {
  if (typeof key !== "string") {
    throw new StorageError("INVALID_ARGUMENT", `${what} must be a string, got ${describe(key)}`, { store });
  }
  if (key.length === 0) throw new StorageError("INVALID_ARGUMENT", `${what} must be a non-empty string`, { store });
}

export function assertCollection(collection: unknown, store: string): asserts collection is string {
  assertKey(collection, store, "collection");
}

export function assertKeys(keys: unknown, store: string): asserts keys is readonly string[] {
  if (!Array.isArray(keys)) throw new StorageError("INVALID_ARGUMENT", `keys must be an array, got ${describe(keys)}`, { store });
  for (const k of keys) assertKey(k, store);
}

/** `putAllSerialized`'s `serialize` argument must be a function. */
export function assertSerializer(serialize: unknown, store: string): asserts serialize is (index: number) => string {
  if (typeof serialize !== "function") throw new StorageError("INVALID_ARGUMENT", "serialize must be a function", { store });
}

/**
 * What `serialize(i)` returned, when it is a string shaped like a JSON object's text (`{...}`): a
 * cheap shape check, not a parse (the caller promised `JSON.stringify` output of a validated
 * object). INVALID_ARGUMENT naming `value <i>` and, when given, its key otherwise.
 */
export function serializedObjectText(text: unknown, i: number, store: string, key?: string): string {
  if (typeof text !== "string" || text.charCodeAt(0) !== 0x7b || text.charCodeAt(text.length - 1) !== 0x7d) {
    const named = key === undefined ? "" : ` (key ${JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key)})`;
    throw new StorageError("INVALID_ARGUMENT", `value ${i}${named} must be the JSON text of an object`, { store });
  }
  return text;
}

export function assertBatchSize(batchSize: unknown, store: string): void {
  if (batchSize === undefined) return;
  if (typeof batchSize !== "number" || !Number.isInteger(batchSize) || batchSize < 1) {
    throw new StorageError("INVALID_ARGUMENT", `batchSize must be a positive integer, got ${describe(batchSize)}`, { store });
  }
}

/**
 * The deepest nesting of arrays and objects a stored JSON value may have: the value itself is level
 * 1, an object inside it level 2, and so on. Deeper values are `INVALID_ARGUMENT` on every store
 * (KV, docstore, index store, chat, vector metadata), so no backend ever fails on them with a stack
 * overflow. A node's metadata sits at level 3 of the node's JSON (`{"__data__": {"metadata": ...}}`),
 * so metadata itself may nest {@link MAX_JSON_DEPTH} − 2 levels; every store counts it that way.
 */
export const MAX_JSON_DEPTH = 100;

/** Options of {@link assertJsonObject} / {@link jsonProblem}. */
export interface JsonCheckOptions {
  /** Levels above the value in what is stored (node metadata: 2). Default 0. */
  depthOffset?: number;
  /**
   * A backend's extra refusal of a string (object keys and string values): the reason, completing
   * "... <path> <reason>" (e.g. `"contains U+0000, which Postgres cannot store"`), or `undefined`.
   * Called on the actual strings, never on JSON text.
   */
  refuseString?: (s: string) => string | undefined;
}

/**
 * A "plain JSON object": an object whose prototype is `Object.prototype` or `null`, whose values are
 * (recursively) strings, finite numbers, booleans, null, arrays of those, or plain JSON objects,
 * nested at most {@link MAX_JSON_DEPTH} levels. Refused: arrays/primitives at the top level, class
 * instances (Date, Map, Buffer...), `undefined` (also as a property value: JSON would silently drop
 * it), functions, symbols (as values or keys), bigints, NaN/±Infinity (JSON turns them into null),
 * holes in sparse arrays, cycles, and deeper nesting. This is THE check of stored values: every
 * store of every kind calls it (vector stores through {@link assertJsonMetadata}).
 */
export function assertJsonObject(value: unknown, store: string, what = "value", options?: JsonCheckOptions): asserts value is JsonObject {
  if (!isPlainObject(value)) {
    throw new StorageError("INVALID_ARGUMENT", `${what} must be a plain JSON object, got ${describe(value)}`, { store });
  }
  const problem = jsonProblem(value, what, options);
  if (problem) throw new StorageError("INVALID_ARGUMENT", problem, { store });
}

/**
 * A node's metadata as every store checks it: `null`/`undefined` stand for `{}`; anything else must
 * pass {@link assertJsonObject} counted at its depth inside the node JSON (level 3). `what` names
 * the node in the message (e.g. `node "n1" metadata`).
 */
export function assertJsonMetadata(
  metadata: unknown,
  store: string,
  what = "metadata",
  options?: Omit<JsonCheckOptions, "depthOffset">,
): asserts metadata is JsonObject | null | undefined {
  if (metadata === null || metadata === undefined) return;
  if (isPlainObject(metadata) && isJsonFast(metadata, 3, options?.refuseString)) return;
  assertJsonObject(metadata, store, what, { ...options, depthOffset: 2 });
}

/**
 * The first reason `value` (any JSON value, not only an object) is not storable JSON in
 * {@link assertJsonObject}'s sense, as a message starting with `what`; `undefined` when it is.
 * Iterative (an explicit stack): a value nested 100,000 levels deep gets a message, not a RangeError.
 */
export function jsonProblem(value: unknown, what = "value", options?: JsonCheckOptions): string | undefined {
  const offset = options?.depthOffset ?? 0;
  const refuse = options?.refuseString;
  // Fast pass first: no path strings, no cycle set. Only a value it cannot vouch for (a real
  // problem, a refused string, or too deep nesting, which is where a cycle ends up) takes the
  // precise walk that builds the message.
  if (isJsonFast(value, 1 + offset, refuse)) return undefined;
  return findNonJson(value, what, offset, refuse);
}

/**
 * True when `value` is certainly JSON in {@link assertJsonObject}'s sense (any JSON value, not only
 * an object, at most {@link MAX_JSON_DEPTH} levels deep counting `depthOffset` levels above it:
 * node metadata is 2 levels down in the node JSON); false means "not sure" (call
 * `assertJsonObject` or {@link jsonProblem} for the reason).
 */
export function isJsonValue(value: unknown, depthOffset = 0, refuseString?: (s: string) => string | undefined): boolean {
  return isJsonFast(value, 1 + depthOffset, refuseString);
}

/**
 * True when `value` is certainly JSON as {@link assertJsonObject} defines it. False means "not
 * sure": the caller then runs {@link findNonJson}, which is the authority (so both must agree on
 * every value this one accepts). Recursion is bounded: past {@link MAX_JSON_DEPTH} it answers false.
 */
function isJsonFast(value: unknown, depth: number, refuse: ((s: string) => string | undefined) | undefined): boolean {
  switch (typeof value) {
    case "string":
      return refuse === undefined || refuse(value) === undefined;
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object": {
      if (value === null) return true;
      if (depth > MAX_JSON_DEPTH) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          if (!(i in value) || !isJsonFast(value[i], depth + 1, refuse)) return false;
        }
        return true;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      const obj = value as Record<string, unknown>;
      for (const k of Object.keys(obj)) {
        if (refuse !== undefined && refuse(k) !== undefined) return false;
        if (!isJsonFast(obj[k], depth + 1, refuse)) return false;
      }
      return !hasSymbolKeys(obj);
    }
    default:
      return false;
  }
}

/**
 * Whether an object has symbol keys other than core's own JSON-source marker (the non-enumerable
 * `Symbol.for("larder.jsonSource")` that values parsed from stored JSON carry so their exact text
 * can be written back; it is not data).
 */
function hasSymbolKeys(obj: object): boolean {
  for (const sym of Object.getOwnPropertySymbols(obj)) if (sym !== JSON_SOURCE_MARKER) return true;
  return false;
}
const JSON_SOURCE_MARKER = Symbol.for("larder.jsonSource");

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const shortKey = (k: string) => (k.length > 40 ? `${k.slice(0, 40)}…` : k);

/** A path for a message: long ones (deep nesting, long keys) keep their start and end. */
const at = (path: string) => (path.length > 200 ? `${path.slice(0, 80)}…${path.slice(-100)}` : path);

/** A visit of a value at `path` (depth = its level in what is stored), or leaving a container. */
type Step = { v: unknown; path: string; depth: number } | { leave: object };

/** The precise, iterative walk: the first problem in document order, as a message. */
function findNonJson(root: unknown, what: string, offset: number, refuse: ((s: string) => string | undefined) | undefined): string | undefined {
  const stack: Step[] = [{ v: root, path: what, depth: 1 + offset }];
  /** Containers on the path from the root to the current value (a cycle revisits one). */
  const open = new Set<object>();
  while (stack.length > 0) {
    const step = stack.pop()!;
    if ("leave" in step) {
      open.delete(step.leave);
      continue;
    }
    const { v, path, depth } = step;
    switch (typeof v) {
      case "string": {
        const reason = refuse?.(v);
        if (reason !== undefined) return `${at(path)} ${reason}`;
        continue;
      }
      case "boolean":
        continue;
      case "number":
        if (Number.isFinite(v)) continue;
        return `${at(path)} is ${String(v)}, which JSON cannot represent`;
      case "object":
        break;
      default:
        return `${at(path)} is ${describe(v)}, which JSON cannot represent`;
    }
    if (v === null) continue;
    if (open.has(v)) return `${at(path)} is a circular reference`;
    if (depth > MAX_JSON_DEPTH) {
      return `${at(path)} is nested more than ${MAX_JSON_DEPTH} levels deep in the stored JSON (the limit for every stored value)`;
    }
    const children: Step[] = [];
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        // Holes in sparse arrays are `undefined` too (checked before anything is queued: a huge
        // sparse array answers at its first hole).
        if (!(i in v)) return `${at(path)}[${i}] is a hole in a sparse array, which JSON cannot represent`;
        children.push({ v: v[i], path: `${path}[${i}]`, depth: depth + 1 });
      }
    } else {
      if (!isPlainObject(v)) return `${at(path)} is ${describe(v)}, not a plain JSON object`;
      if (hasSymbolKeys(v)) return `${at(path)} has symbol keys, which JSON cannot represent`;
      for (const k of Object.keys(v)) {
        const reason = refuse?.(k);
        if (reason !== undefined) return `${at(path)} has a key (${JSON.stringify(shortKey(k))}) that ${reason}`;
        children.push({ v: v[k], path: `${path}.${shortKey(k)}`, depth: depth + 1 });
      }
    }
    open.add(v);
    stack.push({ leave: v });
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return undefined;
}

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") {
    const ctor = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
    return ctor && ctor !== "Object" ? `an instance of ${ctor}` : "an object";
  }
  if (typeof value === "string") return "a string";
  if (value === undefined) return "undefined";
  if (typeof value === "function") return "a function";
  if (typeof value === "symbol") return "a symbol";
  return `${typeof value} ${String(value)}`;
}
