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
 * A "plain JSON object": an object whose prototype is `Object.prototype` or `null`, whose values are
 * (recursively) strings, finite numbers, booleans, null, arrays of those, or plain JSON objects.
 * Refused: arrays/primitives at the top level, class instances (Date, Map, Buffer...), `undefined`
 * (also as a property value: JSON would silently drop it), functions, symbols, bigints, NaN/±Infinity
 * (JSON turns them into null) and cycles.
 */
export function assertJsonObject(value: unknown, store: string, what = "value"): asserts value is JsonObject {
  if (!isPlainObject(value)) {
    throw new StorageError("INVALID_ARGUMENT", `${what} must be a plain JSON object, got ${describe(value)}`, { store });
  }
  // Fast pass first: no path strings, no cycle set. Only a value it cannot vouch for (a real problem,
  // or nesting deeper than FAST_DEPTH, which is where a cycle would end up) takes the precise walk
  // that builds the message.
  if (isJsonFast(value, 0)) return;
  const problem = findNonJson(value, what, new Set());
  if (problem) throw new StorageError("INVALID_ARGUMENT", problem, { store });
}

/**
 * True when `value` is certainly JSON in {@link assertJsonObject}'s sense (any JSON value, not only
 * an object); false means "not sure" (call `assertJsonObject` or inspect it for the reason).
 */
export function isJsonValue(value: unknown): boolean {
  return isJsonFast(value, 0);
}

/** Nesting depth past which the fast pass gives up (cycles recurse forever; they land here). */
const FAST_DEPTH = 256;

/**
 * True when `value` is certainly JSON as {@link assertJsonObject} defines it. False means "not
 * sure": the caller then runs {@link findNonJson}, which is the authority (so both must agree on
 * every value this one accepts).
 */
function isJsonFast(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object": {
      if (value === null) return true;
      if (depth >= FAST_DEPTH) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          if (!(i in value) || !isJsonFast(value[i], depth + 1)) return false;
        }
        return true;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      const obj = value as Record<string, unknown>;
      for (const k of Object.keys(obj)) if (!isJsonFast(obj[k], depth + 1)) return false;
      return Object.getOwnPropertySymbols(obj).length === 0;
    }
    default:
      return false;
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function findNonJson(value: unknown, path: string, seen: Set<object>): string | undefined {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined;
    case "number":
      return Number.isFinite(value) ? undefined : `${path} is ${String(value)}, which JSON cannot represent`;
    case "object": {
      if (value === null) return undefined;
      if (seen.has(value)) return `${path} is a circular reference`;
      if (Array.isArray(value)) {
        seen.add(value);
        for (let i = 0; i < value.length; i++) {
          // Holes in sparse arrays are `undefined` too.
          if (!(i in value)) return `${path}[${i}] is a hole in a sparse array`;
          const p = findNonJson(value[i], `${path}[${i}]`, seen);
          if (p) return p;
        }
        seen.delete(value);
        return undefined;
      }
      if (!isPlainObject(value)) return `${path} is ${describe(value)}, not a plain JSON object`;
      seen.add(value);
      for (const k of Object.keys(value)) {
        const p = findNonJson(value[k], `${path}.${k.length > 40 ? `${k.slice(0, 40)}…` : k}`, seen);
        if (p) return p;
      }
      if (Object.getOwnPropertySymbols(value).length > 0) return `${path} has symbol keys`;
      seen.delete(value);
      return undefined;
    }
    default:
      return `${path} is ${describe(value)}, which JSON cannot represent`;
  }
}

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") {
    const ctor = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
    return ctor && ctor !== "Object" ? `an instance of ${ctor}` : "an object";
  }
  if (typeof value === "string") return `a string`;
  return `${typeof value} ${typeof value === "function" || typeof value === "symbol" ? "" : String(value)}`.trim();
}
