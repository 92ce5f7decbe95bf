/**
 * `JSON.parse(JSON.stringify(value))` without the text in between: the same result for JSON-like
 * data (non-finite numbers become null, `undefined`/functions/symbols are dropped from objects and
 * become null in arrays, `toJSON()` is honoured, `"__proto__"` stays an own key), several times
 * faster for the small objects nodes are made of. BigInt and cycles throw a TypeError, as JSON does.
 */
export function cloneJson(value: unknown): unknown {
  return clone(value, "", 0);
}

const MAX_DEPTH = 1_000;

function clone(v: unknown, key: string, depth: number): unknown {
  switch (typeof v) {
    case "string":
    case "boolean":
      return v;
    case "number":
      return Number.isFinite(v) ? v : null;
    case "bigint":
      throw new TypeError("Do not know how to serialize a BigInt");
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
  }
  if (v === null) return null;
  if (depth > MAX_DEPTH) throw new TypeError("value is cyclic or nested too deeply to serialize as JSON");
  const o = v as Record<string, unknown> & { toJSON?: (key: string) => unknown };
  if (typeof o.toJSON === "function") return clone(o.toJSON(key), key, depth + 1);
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) {
      const c = clone(v[i], String(i), depth + 1);
      out[i] = c === undefined ? null : c;
    }
    return out;
  }
  if (v instanceof Number || v instanceof String || v instanceof Boolean) return clone(v.valueOf(), key, depth + 1);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) {
    const c = clone(o[k], k, depth + 1);
    if (c === undefined) continue;
    if (k === "__proto__") Object.defineProperty(out, k, { value: c, enumerable: true, writable: true, configurable: true });
    else out[k] = c;
  }
  return out;
}
