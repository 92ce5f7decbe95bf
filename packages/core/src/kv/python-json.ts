/**
 * `json.dumps(value)` exactly as Python writes it with default arguments: `", "` and `": "`
 * separators and `ensure_ascii=True` (every non-ASCII UTF-16 unit escaped as lowercase `\uXXXX`).
 * LlamaIndex writes its files and the double-encoded index-struct `__data__` strings this way, so a
 * byte-for-byte compatible writer needs it. Numbers are written as JavaScript writes them (a JS
 * number does not know whether Python had `1` or `1.0`).
 */
export function pythonJsonDumps(value: unknown): string {
  const out: string[] = [];
  write(value, out);
  return out.join("");
}

function write(value: unknown, out: string[]): void {
  if (value === null || value === undefined) {
    out.push("null");
  } else if (typeof value === "string") {
    out.push(asciiString(value));
  } else if (typeof value === "number") {
    out.push(Number.isFinite(value) ? JSON.stringify(value) : value > 0 ? "Infinity" : value < 0 ? "-Infinity" : "NaN");
  } else if (typeof value === "boolean") {
    out.push(value ? "true" : "false");
  } else if (Array.isArray(value)) {
    out.push("[");
    value.forEach((v: unknown, i) => {
      if (i > 0) out.push(", ");
      write(v, out);
    });
    out.push("]");
  } else if (typeof value === "object") {
    const toJSON = (value as { toJSON?: () => unknown }).toJSON;
    if (typeof toJSON === "function") return write(toJSON.call(value), out);
    out.push("{");
    let first = true;
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      if (!first) out.push(", ");
      first = false;
      out.push(asciiString(k), ": ");
      write(v, out);
    }
    out.push("}");
  } else {
    out.push("null");
  }
}

function asciiString(s: string): string {
  // JSON.stringify already escapes quotes, backslashes and control characters like Python does;
  // Python's ensure_ascii then escapes everything above 0x7F.
  return JSON.stringify(s).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
