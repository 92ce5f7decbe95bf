/**
 * JSON helpers for persistence that never build one giant string.
 *
 * V8 caps a string at ~2^29 UTF-16 units (~512 MiB), and a 100k-node store serialised with one
 * `JSON.stringify` gets close to it. Everything here works on small parts: values are stringified
 * one entry at a time and the parts are packed into ~1 MiB UTF-8 chunks for `FileSystem.writeStream`;
 * reading goes line by line (Larder's JSON-lines files) or value by value (big LlamaIndex files).
 */
import { StringDecoder } from "node:string_decoder";
import { errors } from "../errors.js";
import { concatBytes } from "../fs/path.js";

const CHUNK_TARGET = 1 << 20;

/**
 * Encodes parts as UTF-8 straight into ~`target`-byte buffers (no joined string in between): a
 * string is encoded, bytes (a value kept as the bytes it was loaded as) are copied as they are.
 * Every chunk is a fresh buffer: consumers may keep it.
 */
export async function* utf8Chunks(
  parts: Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>,
  target: number = CHUNK_TARGET,
): AsyncGenerator<Uint8Array> {
  const packer = new Utf8Packer(target);
  if (Symbol.iterator in parts) {
    // A sync source is drained synchronously: `for await` would cost a microtask per part.
    for (const part of parts) yield* packer.push(part);
  } else {
    for await (const part of parts) yield* packer.push(part);
  }
  yield* packer.flush();
}

/** Packs parts as UTF-8 into fresh ~`target`-byte buffers; shared by both source kinds. */
class Utf8Packer {
  #buf: Buffer;
  #off = 0;
  constructor(private readonly target: number) {
    this.#buf = Buffer.allocUnsafe(target);
  }
  *push(part: string | Uint8Array): Generator<Uint8Array> {
    if (typeof part !== "string") {
      if (this.#off + part.byteLength > this.#buf.length) {
        yield* this.flush();
        if (part.byteLength > this.#buf.length) {
          yield part.slice();
          return;
        }
      }
      this.#buf.set(part, this.#off);
      this.#off += part.byteLength;
      return;
    }
    // UTF-16 unit -> at most 3 UTF-8 bytes.
    if (this.#off + part.length * 3 > this.#buf.length) {
      yield* this.flush();
      if (part.length * 3 > this.#buf.length) {
        yield Buffer.from(part, "utf8");
        return;
      }
    }
    this.#off += this.#buf.write(part, this.#off, "utf8");
  }
  *flush(): Generator<Uint8Array> {
    if (this.#off === 0) return;
    yield this.#buf.subarray(0, this.#off);
    this.#buf = Buffer.allocUnsafe(this.target);
    this.#off = 0;
  }
}

/**
 * Incremental line splitter over bytes, calling `onLine(bytes, start, end)` synchronously for each
 * complete line (without the `\n`): the line is `bytes[start..end)`, where `bytes` is the chunk it
 * lies in, or a fresh buffer for a line spanning chunks. Nothing is decoded and no object is made
 * per line, so callers can keep values as views of the chunks; those stay valid because a
 * `FileSystem.readStream` chunk is never reused by the file system (the kit checks that).
 */
export class ByteLineSplitter {
  #rest: Uint8Array[] = [];
  constructor(private readonly onLine: (bytes: Buffer, start: number, end: number) => void) {}

  push(chunk: Uint8Array): void {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let nl = bytes.indexOf(10);
    if (nl < 0) {
      if (chunk.byteLength > 0) this.#rest.push(chunk);
      return;
    }
    if (this.#rest.length > 0) {
      this.#rest.push(chunk.subarray(0, nl));
      const line = concatBytes(this.#rest);
      this.#rest = [];
      this.onLine(line, 0, line.length);
    } else this.onLine(bytes, 0, nl);
    let start = nl + 1;
    for (nl = bytes.indexOf(10, start); nl >= 0; nl = bytes.indexOf(10, start)) {
      this.onLine(bytes, start, nl);
      start = nl + 1;
    }
    if (start < chunk.byteLength) this.#rest.push(chunk.subarray(start));
  }

  end(): void {
    if (this.#rest.length === 0) return;
    const line = concatBytes(this.#rest);
    this.#rest = [];
    if (line.length > 0) this.onLine(line, 0, line.length);
  }
}

/**
 * Incremental line splitter over UTF-8 chunks, calling `onLine` synchronously for each complete
 * line (no promise per line, unlike {@link utf8Lines}); `end()` flushes a final unterminated line.
 */
export class Utf8LineSplitter {
  // Not fatal: damaged bytes become U+FFFD and the checksum check names the file. Node's
  // StringDecoder (carries a character split across chunks) decodes ~1.6x faster than TextDecoder.
  readonly #decoder = new StringDecoder("utf8");
  #rest = "";
  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Uint8Array): void {
    const text = this.#decoder.write(chunk);
    let nl = text.indexOf("\n");
    if (nl < 0) {
      this.#rest += text;
      return;
    }
    // Only the line spanning the previous chunk is concatenated; the others are slices of `text`.
    this.onLine(this.#rest + text.slice(0, nl));
    let start = nl + 1;
    for (nl = text.indexOf("\n", start); nl >= 0; nl = text.indexOf("\n", start)) {
      this.onLine(text.slice(start, nl));
      start = nl + 1;
    }
    this.#rest = text.slice(start);
  }

  end(): void {
    const rest = this.#rest + this.#decoder.end();
    this.#rest = "";
    if (rest.length > 0) this.onLine(rest);
  }
}

/** Splits a UTF-8 byte stream into lines (without the `\n`). A final unterminated line is yielded too. */
export async function* utf8Lines(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<string> {
  // Not fatal: damaged bytes become U+FFFD and the checksum check names the file.
  const decoder = new TextDecoder("utf-8");
  let rest = "";
  for await (const chunk of chunks) {
    const text = rest + decoder.decode(chunk, { stream: true });
    const lines = text.split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) yield line;
  }
  rest += decoder.decode();
  if (rest.length > 0) yield rest;
}

/** Whether a JSON value holds `-0` anywhere (JSON.stringify writes it as `0`). */
export function hasNegativeZero(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "number") {
      if (v === 0 && 1 / v < 0) return true;
    } else if (typeof v === "object" && v !== null) {
      if (Array.isArray(v)) for (const x of v) stack.push(x);
      else for (const k of Object.keys(v)) stack.push((v as Record<string, unknown>)[k]);
    }
  }
  return false;
}

/**
 * `JSON.stringify(value)`, except that `-0` is written `-0.0` (JSON.stringify writes `0`, which
 * reads back as `0`): a metadata value `-0.0` survives the Larder format and keeps its hash.
 */
export function jsonTextKeepingNegativeZero(value: unknown): string {
  if (!hasNegativeZero(value)) return JSON.stringify(value);
  const marker = `larder-negative-zero-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`;
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === "number" && v === 0 && 1 / v < 0 ? marker : v));
  return text.split(JSON.stringify(marker)).join("-0.0");
}

// ---------------------------------------------------------------------------------------------
// JSON "tree lines": a big nested object written as one line per entry, so it can be streamed out
// and parsed back line by line. Line = `[path, value]`; containers above `depth` get a marker line
// (`[path, {}]` or `[path, []]`) before their children, so empty containers survive the round trip.
// ---------------------------------------------------------------------------------------------

type Path = (string | number)[];

/** Lines (each ending in `\n`) encoding `value`, exploding objects/arrays down to `depth` levels. */
export function* treeLines(value: unknown, depth: number): Generator<string> {
  if (depth === 2 && isDictOfDicts(value)) {
    // Fast path for `{collection: {key: value}}` (docstore, index store): no per-entry path arrays.
    yield "[[],{}]\n";
    for (const [c, entries] of Object.entries(value)) {
      const prefix = `[[${JSON.stringify(c)},`;
      yield `${prefix.slice(0, -1)}],{}]\n`;
      for (const [k, v] of Object.entries(entries)) {
        if (v === undefined) continue;
        yield `${prefix}${JSON.stringify(k)}],${jsonTextKeepingNegativeZero(v)}]\n`;
      }
    }
    return;
  }
  function* walk(v: unknown, path: Path, level: number): Generator<string> {
    const container = typeof v === "object" && v !== null;
    if (!container || level >= depth) {
      yield `[${JSON.stringify(path)},${jsonTextKeepingNegativeZero(v === undefined ? null : v)}]\n`;
      return;
    }
    if (Array.isArray(v)) {
      yield `${JSON.stringify([path, []])}\n`;
      for (let i = 0; i < v.length; i++) yield* walk(v[i], [...path, i], level + 1);
    } else {
      yield `${JSON.stringify([path, {}])}\n`;
      for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
        if (child === undefined) continue;
        yield* walk(child, [...path, k], level + 1);
      }
    }
  }
  yield* walk(value, [], 0);
}

function isDictOfDicts(v: unknown): v is Record<string, Record<string, unknown>> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  for (const x of Object.values(v)) if (typeof x !== "object" || x === null || Array.isArray(x)) return false;
  return true;
}

/** Rebuilds the value written by {@link treeLines}; `file` names the file in `CORRUPT` errors. */
export class TreeAssembler {
  private root: unknown;
  private lineNo = 0;
  /**
   * `root`: start from an existing value (applying a delta file): then `[path]` lines delete and
   * missing parents are created.
   */
  constructor(
    private readonly file: string,
    root?: unknown,
  ) {
    this.root = root;
    this.delta = root !== undefined;
  }
  private readonly delta: boolean;

  addLine(line: string): void {
    this.lineNo += 1;
    if (line.length === 0) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (cause) {
      throw errors.corrupt(`${this.file}: line ${this.lineNo} is not JSON`, { cause, details: { file: this.file } });
    }
    const isDelete = this.delta && Array.isArray(parsed) && parsed.length === 1 && Array.isArray(parsed[0]);
    if (!Array.isArray(parsed) || (parsed.length !== 2 && !isDelete) || !Array.isArray(parsed[0])) {
      throw errors.corrupt(`${this.file}: line ${this.lineNo} is not a [path, value] pair`, { details: { file: this.file } });
    }
    const path = parsed[0] as unknown[];
    const value = parsed[1] as unknown;
    if (path.length === 0) {
      if (!isDelete) this.root = value;
      return;
    }
    let node = this.root;
    for (let i = 0; i < path.length - 1; i++) {
      if (typeof node !== "object" || node === null) break;
      let next = (node as Record<string, unknown>)[path[i] as string];
      if ((next === undefined || !Object.prototype.hasOwnProperty.call(node, path[i] as string)) && this.delta && !isDelete) {
        next = {};
        Object.defineProperty(node, path[i] as string, { value: next, enumerable: true, writable: true, configurable: true });
      }
      node = next;
    }
    if (isDelete) {
      if (typeof node === "object" && node !== null) delete (node as Record<string, unknown>)[path[path.length - 1] as string];
      return;
    }
    const key = path[path.length - 1];
    if (typeof node !== "object" || node === null || (typeof key !== "string" && typeof key !== "number")) {
      throw errors.corrupt(`${this.file}: line ${this.lineNo} has a path with no parent`, { details: { file: this.file } });
    }
    if (key === "__proto__") Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true });
    else (node as Record<string | number, unknown>)[key] = value;
  }

  result(): unknown {
    if (this.root === undefined) {
      throw errors.corrupt(`${this.file}: no root line`, { details: { file: this.file } });
    }
    return this.root;
  }
}

// ---------------------------------------------------------------------------------------------
// Python-compatible JSON (what `json.dumps(obj)` writes with its defaults): `", "` and `": "`
// separators, `ensure_ascii=True` (every character outside printable ASCII as a lowercase
// `\uXXXX`, astral characters as surrogate pairs), floats in `repr` form (`1.0`, `1e-05`).
// ---------------------------------------------------------------------------------------------

const NON_ASCII = /[\u007f-\uffff]/g;

/** A JSON string literal as Python's `json.dumps` (ensure_ascii) writes it. */
export function pyJsonString(s: string): string {
  const json = JSON.stringify(s);
  return json.replace(NON_ASCII, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Python's `repr(float)`: shortest round trip, always with a `.` or an exponent of 2+ digits. */
export function pyFloat(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "Infinity";
  if (n === -Infinity) return "-Infinity";
  if (n === 0) return Object.is(n, -0) ? "-0.0" : "0.0";
  const abs = n < 0 ? -n : n;
  if (abs >= 1e-4 && abs < 1e16) {
    // Both languages print the shortest round-trip digits in fixed notation in this range.
    const fixed = String(n);
    return fixed.includes(".") ? fixed : `${fixed}.0`;
  }
  const [mantissa, expText] = n.toExponential().split("e") as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) {
    return `${mantissa}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  const fixed = String(n);
  return fixed.includes(".") ? fixed : `${fixed}.0`;
}

/**
 * A JS number as Python's `json.dumps` writes the value Larder hands Python: an integral number that
 * JavaScript prints as digits (below 1e21) is an int, written with those digits; anything else,
 * and `-0`, is a float (`-0.0`, `1e+21`, `0.5`).
 */
function pyNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21 && !Object.is(n, -0)) return String(n);
  return pyFloat(n);
}

/**
 * A JSON number token as Python's `json.dumps(json.loads(token))` writes it: an integer token is a
 * Python int, printed with exactly its digits (`9007199254740993`, `18446744073709551616`; `-0` is
 * `0`); a token with a fraction or exponent is a float, printed in `repr` form (`1.0`, `-0.0`,
 * `1e+308`, `5e-324`; `1E5` is `100000.0`). `asFloat`: an int token written as a float (the numbers of
 * an `embedding` list from JavaScript text).
 */
export function pyNumberToken(token: string, asFloat = false): string {
  if (!/[.eE]/.test(token)) {
    if (asFloat) return pyFloat(Number(token));
    return token === "-0" ? "0" : token;
  }
  return pyFloat(Number(token));
}

/** Keys whose number arrays Python holds as floats (so `0` is written `0.0`). */
const FLOAT_ARRAY_KEYS = new Set(["embedding", "text_embedding"]);

/** Python-style `json.dumps(value)`. Arrays under `embedding` keys are written as floats. */
export function pyJson(value: unknown, key?: string): string {
  if (value === null || value === undefined) return "null";
  switch (typeof value) {
    case "string":
      return pyJsonString(value);
    case "number":
      return pyNumber(value);
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (Array.isArray(value) || ArrayBuffer.isView(value)) {
        const arr = value as ArrayLike<unknown>;
        if (arr.length === 0) return "[]";
        const floats = key !== undefined && FLOAT_ARRAY_KEYS.has(key);
        const parts: string[] = new Array(arr.length);
        for (let i = 0; i < arr.length; i++) {
          const v = arr[i];
          parts[i] = floats && typeof v === "number" ? pyFloat(v) : pyJson(v);
        }
        return `[${parts.join(", ")}]`;
      }
      const toJSON = (value as { toJSON?: () => unknown }).toJSON;
      if (typeof toJSON === "function") return pyJson(toJSON.call(value), key);
      const parts: string[] = [];
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (v === undefined) continue;
        parts.push(`${pyJsonString(k)}: ${pyJson(v, k)}`);
      }
      return parts.length === 0 ? "{}" : `{${parts.join(", ")}}`;
    }
    default:
      throw errors.invalid(`cannot serialise a ${typeof value} as JSON`);
  }
}

/** A float list as Python writes it (`[0.1, -2.0]`). */
export function pyFloatList(values: ArrayLike<number>): string {
  if (values.length === 0) return "[]";
  const parts: string[] = new Array(values.length);
  for (let i = 0; i < values.length; i++) parts[i] = pyFloat(values[i]!);
  return `[${parts.join(", ")}]`;
}

/**
 * `json.dumps(json.loads(text))` as Python computes it, from the text itself (no object tree is
 * built): a space after every `,` and `:` outside strings (other whitespace dropped), every
 * character from U+007F up escaped as `\uXXXX`, and every number token printed as Python prints
 * the value it reads ({@link pyNumberToken}: integers keep their digits, however long; floats keep
 * `1.0` and `-0.0`). Text Python wrote comes out byte for byte as it went in.
 *
 * For text `JSON.stringify` produced (no whitespace outside strings), this equals
 * `pyJson(JSON.parse(text))`: the integer numbers of an array directly under an `embedding` key are
 * written as floats there, as Python holds embeddings. Text with Python's separators is taken to be
 * Python's own and its numbers are never changed from int to float.
 */
export function pyJsonFromJsonText(t: string): string {
  const out: string[] = [];
  const n = t.length;
  let from = 0; // start of the run of characters not yet copied
  // Open containers: for an object, the key being read; for an array, whether its numbers are floats.
  const stack: { array: boolean; floats: boolean; key: string }[] = [];
  // Decided at the first separator: Python writes `", "` and `": "`, JSON.stringify no space.
  let pythonText: boolean | undefined;
  let i = 0;
  while (i < n) {
    const c = t.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      let ascii = true;
      let escaped = false;
      for (;;) {
        const d = t.charCodeAt(j);
        if (d === 0x5c) {
          escaped = true;
          j += 2;
        } else if (d === 0x22) break;
        else {
          if (d >= 0x7f) ascii = false;
          j++;
        }
      }
      if (t.charCodeAt(j + 1) === 0x3a) {
        const top = stack[stack.length - 1];
        if (top && !top.array) top.key = escaped ? (JSON.parse(t.slice(i, j + 1)) as string) : t.slice(i + 1, j);
      }
      if (!ascii) {
        if (i > from) out.push(t.slice(from, i));
        out.push(t.slice(i, j + 1).replace(NON_ASCII, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`));
        from = j + 1;
      }
      i = j + 1;
    } else if (c === 0x2c || c === 0x3a) {
      pythonText ??= t.charCodeAt(i + 1) === 0x20;
      out.push(t.slice(from, i + 1), " ");
      from = ++i;
    } else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
      // Whitespace outside strings (Python's own spaces): dropped, the separators bring theirs.
      if (i > from) out.push(t.slice(from, i));
      from = ++i;
    } else if (c === 0x7b || c === 0x5b) {
      const top = stack[stack.length - 1];
      const floats = c === 0x5b && top !== undefined && !top.array && pythonText !== true && FLOAT_ARRAY_KEYS.has(top.key);
      stack.push({ array: c === 0x5b, floats, key: "" });
      i++;
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      i++;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      for (;;) {
        const d = t.charCodeAt(j);
        if ((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) j++;
        else break;
      }
      if (i > from) out.push(t.slice(from, i));
      out.push(pyNumberToken(t.slice(i, j), stack[stack.length - 1]?.floats === true));
      from = i = j;
    } else i++; // true, false, null: copied as they are
  }
  if (n > from) out.push(t.slice(from));
  return out.join("");
}


/**
 * Python-style JSON of an object whose values at `depth` are emitted one by one, so the whole text
 * never exists as one string. `depth` 1 streams the top-level members, 2 the members of those, ...
 * `write` receives the value and its key and returns its JSON (default {@link pyJson}).
 */
export function* pyJsonParts(
  value: Record<string, unknown>,
  depth: number,
  write: (v: unknown, key: string, path: readonly string[]) => string = (v, k) => pyJson(v, k),
  path: readonly string[] = [],
): Generator<string> {
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (entries.length === 0) {
    yield "{}";
    return;
  }
  yield "{";
  let first = true;
  for (const [k, v] of entries) {
    yield `${first ? "" : ", "}${pyJsonString(k)}: `;
    first = false;
    if (depth > 1 && typeof v === "object" && v !== null && !Array.isArray(v)) {
      yield* pyJsonParts(v as Record<string, unknown>, depth - 1, write, [...path, k]);
    } else {
      yield write(v, k, [...path, k]);
    }
  }
  yield "}";
}

// ---------------------------------------------------------------------------------------------
// Parsing JSON that may not fit in one string.
// ---------------------------------------------------------------------------------------------

/** Beyond this many bytes the text would approach V8's string limit: parse value by value. */
const ONE_STRING_LIMIT = 256 * 1024 * 1024;

/**
 * Parses a JSON document from bytes. Small documents go through `JSON.parse`; big ones are split
 * at the first `splitDepth` levels of objects/arrays and each deeper value is parsed on its own,
 * so a 2 GB `docstore.json` loads as long as each node fits in a string.
 * Syntax errors are `CORRUPT` naming `file`.
 */
export function parseJsonBytes(bytes: Uint8Array, file: string, splitDepth = 2, limit = ONE_STRING_LIMIT): unknown {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  try {
    if (bytes.byteLength < limit) return JSON.parse(decoder.decode(bytes));
    return new SplitParser(bytes, decoder, splitDepth).parseDocument();
  } catch (cause) {
    throw errors.corrupt(`${file} is not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
      details: { file },
    });
  }
}

/**
 * Reads a `{collection: {key: {...}}}` file (`docstore.json`, `index_store.json`) keeping every
 * entry value as the bytes it was written as (a view of `bytes`), so an entry nobody changes is
 * written back exactly: integers beyond 2^53, `-0.0`, `1.0` and key order included. Each value is
 * parsed once (`JSON.parse`) to check it is a JSON object; the parsed values are returned too
 * (`dict`, null-prototype objects) for checks while loading. A value holding a raw line break (a
 * file written with `indent`) cannot be kept as one line: its parsed object is kept instead.
 * Syntax errors, non-object values (unless `objectsOnly` is false) and invalid UTF-8 are `CORRUPT`
 * naming `file`.
 */
export function parseRawEntryDict(bytes: Uint8Array, file: string, options: { objectsOnly?: boolean } = {}, limit = ONE_STRING_LIMIT): RawEntryDict {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const objectsOnly = options.objectsOnly ?? true;
  try {
    // Below V8's string limit: one native decode and JSON.parse, then the values' places are found
    // in the text (values kept as slices of it). Beyond: value by value from the bytes.
    if (bytes.byteLength < limit) return rawEntryDictFromText(decoder.decode(bytes), objectsOnly);
    return new SplitParser(bytes, decoder, 2).rawEntryDict(objectsOnly);
  } catch (cause) {
    if (cause instanceof Error && (cause as { code?: unknown }).code === "CORRUPT") throw cause;
    throw errors.corrupt(`${file} is not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
      details: { file },
    });
  }
}

/** See {@link parseRawEntryDict}. */
export interface RawEntryDict {
  /** collection -> key -> the value's text or bytes (a view of the file), or its parsed object. */
  maps: Map<string, Map<string, string | Uint8Array | Record<string, unknown>>>;
  /** The parsed values, `{collection: {key: value}}` (objects unless `objectsOnly` was false). */
  dict: Record<string, Record<string, Record<string, unknown>>>;
}

/**
 * {@link parseRawEntryDict} for a text `JSON.parse` accepts: the parse gives the values, a walk
 * over the text (strings skipped with native searches) gives each value's place.
 */
function rawEntryDictFromText(t: string, objectsOnly: boolean): RawEntryDict {
  const top: unknown = JSON.parse(t);
  if (typeof top !== "object" || top === null || Array.isArray(top)) throw new SyntaxError("the file does not hold an object");
  const maps: RawEntryDict["maps"] = new Map();
  const dict = Object.create(null) as RawEntryDict["dict"];
  let i = 0;
  const ws = () => {
    for (let c = t.charCodeAt(i); c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = t.charCodeAt(++i));
  };
  const stringEnd = (start: number): number => {
    for (let j = start + 1; ; ) {
      const q = t.indexOf('"', j);
      let k = q - 1;
      while (k > start && t.charCodeAt(k) === 0x5c) k--;
      if ((q - 1 - k) % 2 === 0) return q + 1;
      j = q + 1;
    }
  };
  const valueEnd = (start: number): number => {
    const c = t.charCodeAt(start);
    if (c === 0x22) return stringEnd(start);
    let j = start;
    if (c === 0x7b || c === 0x5b) {
      let depth = 0;
      for (;;) {
        const x = t.charCodeAt(j);
        if (x === 0x22) {
          j = stringEnd(j);
          continue;
        }
        if (x === 0x7b || x === 0x5b) depth++;
        else if ((x === 0x7d || x === 0x5d) && --depth === 0) return j + 1;
        j++;
      }
    }
    for (let x = t.charCodeAt(j); j < t.length && x !== 0x2c && x !== 0x7d && x !== 0x5d && x !== 0x20 && x !== 0x0a && x !== 0x0d && x !== 0x09; x = t.charCodeAt(++j));
    return j;
  };
  const key = (): string => {
    const end = stringEnd(i);
    const k = t.slice(i, end);
    i = end;
    ws();
    i++; // ':'
    ws();
    return k.includes("\\") ? (JSON.parse(k) as string) : k.slice(1, -1);
  };
  /** Calls `onMember(key)` for each member of the object at `i`, with `i` at the member's value. */
  const members = (onMember: (k: string) => void) => {
    ws();
    i++; // '{'
    ws();
    if (t.charCodeAt(i) === 0x7d) {
      i++;
      return;
    }
    for (;;) {
      ws();
      onMember(key());
      ws();
      if (t.charCodeAt(i++) === 0x7d) return;
    }
  };
  members((c) => {
    const collection = (top as Record<string, unknown>)[c];
    if (typeof collection !== "object" || collection === null || Array.isArray(collection)) {
      throw new SyntaxError(`the value of ${JSON.stringify(c)} is not an object`);
    }
    let m = maps.get(c);
    if (!m) maps.set(c, (m = new Map()));
    const entries = m;
    const parsed = (dict[c] ??= Object.create(null) as Record<string, Record<string, unknown>>);
    members((k) => {
      const start = i;
      i = valueEnd(start);
      const value = (collection as Record<string, unknown>)[k];
      if (objectsOnly && (typeof value !== "object" || value === null || Array.isArray(value))) {
        throw new SyntaxError(`the value of ${JSON.stringify(c)} / ${JSON.stringify(k)} is not an object`);
      }
      const raw = t.slice(start, i);
      // A repeated key: JSON.parse kept the last value, and so does the map.
      entries.set(k, raw.includes("\n") || raw.includes("\r") ? (value as Record<string, unknown>) : raw);
      parsed[k] = value as Record<string, unknown>;
    });
  });
  return { maps, dict };
}

class SplitParser {
  private i = 0;
  constructor(
    private readonly b: Uint8Array,
    private readonly decoder: { decode(b: Uint8Array): string },
    private readonly splitDepth: number,
  ) {}

  parseDocument(): unknown {
    const v = this.value(0);
    this.ws();
    if (this.i !== this.b.length) throw new SyntaxError(`unexpected data at byte ${this.i}`);
    return v;
  }

  /** See {@link parseRawEntryDict}. */
  rawEntryDict(objectsOnly: boolean): RawEntryDict {
    const out = new Map<string, Map<string, Uint8Array | Record<string, unknown>>>();
    const dict = Object.create(null) as RawEntryDict["dict"];
    this.members((collection) => {
      let m = out.get(collection);
      if (!m) out.set(collection, (m = new Map()));
      const entries = m;
      const parsed = (dict[collection] ??= Object.create(null) as Record<string, Record<string, unknown>>);
      this.members((key) => {
        const start = this.i;
        const end = this.skip();
        this.i = end;
        const raw = this.b.subarray(start, end);
        const value: unknown = JSON.parse(this.decoder.decode(raw));
        if (objectsOnly && (typeof value !== "object" || value === null || Array.isArray(value))) {
          throw new SyntaxError(`the value of ${JSON.stringify(collection)} / ${JSON.stringify(key)} is not an object`);
        }
        const oneLine = raw.indexOf(0x0a) < 0 && raw.indexOf(0x0d) < 0;
        entries.set(key, oneLine ? raw : (value as Record<string, unknown>));
        parsed[key] = value as Record<string, unknown>;
      });
    });
    this.ws();
    if (this.i !== this.b.length) throw new SyntaxError(`unexpected data at byte ${this.i}`);
    return { maps: out, dict };
  }

  /** Reads an object at `this.i`, calling `onMember(key)` with `this.i` at the start of each value. */
  private members(onMember: (key: string) => void): void {
    this.expect(0x7b);
    this.ws();
    if (this.b[this.i] === 0x7d) {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.b[this.i] !== 0x22) throw new SyntaxError(`expected a key at byte ${this.i}`);
      const end = this.stringEnd(this.i);
      const key = JSON.parse(this.decoder.decode(this.b.subarray(this.i, end))) as string;
      this.i = end;
      this.expect(0x3a);
      this.ws();
      if (this.i >= this.b.length) throw new SyntaxError("unexpected end of data");
      onMember(key);
      this.ws();
      const sep = this.b[this.i++];
      if (sep === 0x7d) return;
      if (sep !== 0x2c) throw new SyntaxError(`expected ',' or '}' at byte ${this.i - 1}`);
    }
  }

  private ws(): void {
    const b = this.b;
    while (this.i < b.length) {
      const c = b[this.i];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++;
      else break;
    }
  }

  private expect(c: number): void {
    this.ws();
    if (this.b[this.i] !== c) throw new SyntaxError(`expected '${String.fromCharCode(c)}' at byte ${this.i}`);
    this.i++;
  }

  private stringEnd(start: number): number {
    const b = this.b;
    let j = start + 1;
    for (;;) {
      // Jump to the next quote (native search), then count the backslashes before it: an odd
      // number escapes it. Long strings (node text) are not walked byte by byte.
      const q = b.indexOf(0x22, j);
      if (q < 0) throw new SyntaxError("unterminated string");
      let k = q - 1;
      while (k > start && b[k] === 0x5c) k--;
      if ((q - 1 - k) % 2 === 0) return q + 1;
      j = q + 1;
    }
  }

  /** End (exclusive) of the value starting at `this.i`. */
  private skip(): number {
    const b = this.b;
    const c = b[this.i];
    if (c === 0x22) return this.stringEnd(this.i);
    if (c === 0x7b || c === 0x5b) {
      let depth = 0;
      let j = this.i;
      while (j < b.length) {
        const x = b[j];
        if (x === 0x22) {
          j = this.stringEnd(j);
          continue;
        }
        if (x === 0x7b || x === 0x5b) depth++;
        else if (x === 0x7d || x === 0x5d) {
          depth--;
          if (depth === 0) return j + 1;
        }
        j++;
      }
      throw new SyntaxError("unterminated container");
    }
    let j = this.i;
    while (j < b.length) {
      const x = b[j];
      if (x === 0x2c || x === 0x7d || x === 0x5d || x === 0x20 || x === 0x0a || x === 0x0d || x === 0x09) break;
      j++;
    }
    return j;
  }

  private value(level: number): unknown {
    this.ws();
    const c = this.b[this.i];
    if (level < this.splitDepth && c === 0x7b) {
      const obj: Record<string, unknown> = {};
      this.members((key) => {
        const v = this.value(level + 1);
        if (key === "__proto__") Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true, configurable: true });
        else obj[key] = v;
      });
      return obj;
    }
    if (level < this.splitDepth && c === 0x5b) {
      this.i++;
      const arr: unknown[] = [];
      this.ws();
      if (this.b[this.i] === 0x5d) {
        this.i++;
        return arr;
      }
      for (;;) {
        arr.push(this.value(level + 1));
        this.ws();
        const sep = this.b[this.i++];
        if (sep === 0x5d) return arr;
        if (sep !== 0x2c) throw new SyntaxError(`expected ',' or ']' at byte ${this.i - 1}`);
      }
    }
    if (this.i >= this.b.length) throw new SyntaxError("unexpected end of data");
    const start = this.i;
    const end = this.skip();
    this.i = end;
    return JSON.parse(this.decoder.decode(this.b.subarray(start, end)));
  }
}
