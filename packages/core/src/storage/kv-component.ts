/**
 * Docstores and index stores over a `SimpleKVStore`, in the Larder format, with incremental
 * persists. The context remembers the store's mutation counter at the last persist (or load) to a
 * place; the next persist asks the store for the keys put or deleted since
 * (`SimpleKVStore.changesSince`) and writes a delta of just those. An unchanged counter skips even
 * that.
 */
import { errors } from "../errors.js";
import type { JsonObject } from "../kv/types.js";
import type { SimpleKVStore, Stored } from "../kv/simple-kv-store.js";
import { joinPath, writeHashed } from "./fs-io.js";
import { jsonTextKeepingNegativeZero, TreeAssembler, utf8Chunks } from "./json-stream.js";
import { type LarderComponent, readVerifiedLineBytes, readVerifiedLines, sameFiles, writeTreeLinesEntry } from "./larder-format.js";
import type { ComponentDelta, ComponentEntry, ComponentKind } from "./manifest.js";
import type { FileSystem } from "../fs/types.js";

/** What was last written to / read from a place: which store, at which mutation counter. */
export interface KVMemory {
  entry: ComponentEntry;
  version: number;
  kv: SimpleKVStore;
}

const MAX_DELTAS = 16;
const MAX_DELTA_FRACTION = 0.25;

/**
 * The `json-tree-lines` encoding of the store's `{collection: {key: value}}` dict (the same lines
 * as `treeLines(dict, 2)`), from entries listed in collection order. Object values are stringified
 * as the file is written (see the consistency note in {@link kvComponent}); values kept as text
 * or as loaded bytes go out as they are.
 */
function* dictLines(entries: readonly (readonly [string, string, Stored])[]): Generator<string | Uint8Array> {
  yield "[[],{}]\n";
  let current: string | undefined;
  let prefix = "";
  for (const [c, k, v] of entries) {
    if (c !== current) {
      current = c;
      prefix = `[[${JSON.stringify(c)},`;
      yield `${prefix.slice(0, -1)}],{}]\n`;
    }
    yield* entryLine(`${prefix}${JSON.stringify(k)}],`, v);
  }
}

/** `head` + the value's JSON + `]\n`; bytes are not decoded. */
function* entryLine(head: string, v: Stored): Generator<string | Uint8Array> {
  if (typeof v === "string") yield `${head}${v}]\n`;
  else if (ArrayBuffer.isView(v)) {
    yield head;
    yield v;
    yield "]\n";
  } else yield `${head}${jsonTextKeepingNegativeZero(v)}]\n`;
}

export function kvComponent(args: {
  name: string;
  kind: ComponentKind;
  storeName: string;
  suffix: string;
  kv: SimpleKVStore;
  memory: KVMemory | undefined;
  remember: (m: KVMemory) => void;
  incremental: boolean;
}): LarderComponent {
  let pending: number | undefined;
  return {
    name: args.name,
    kind: args.kind,
    storeName: args.storeName,
    async write(ctx) {
      const { kv, memory: mem } = args;
      const version = kv.version;
      pending = version;
      const prev = ctx.previous;
      const usable = args.incremental && prev?.encoding === "json-tree-lines" && mem !== undefined && mem.kv === kv && sameFiles(prev, mem.entry);
      if (usable && mem.version === version) return { entry: prev, reused: true };
      const changes = usable ? kv.changesSince(mem.version) : undefined;
      if (changes) {
        const lines: (string | Uint8Array)[] = [];
        let deleted = 0;
        let upserts = 0;
        for (const [c, k, v] of changes) {
          if (v === undefined) {
            lines.push(`[[${JSON.stringify(c)},${JSON.stringify(k)}]]\n`);
            deleted++;
          } else {
            lines.push(...entryLine(`[[${JSON.stringify(c)},${JSON.stringify(k)}],`, v));
            upserts++;
          }
        }
        if (deleted + upserts === 0) return { entry: prev!, reused: true };
        const deltas = prev!.deltas ?? [];
        const pendingEntries = deltas.reduce((n, d) => n + d.deleted + (d.upserts ?? 0), 0) + deleted + upserts;
        if (deltas.length < MAX_DELTAS && pendingEntries <= MAX_DELTA_FRACTION * Math.max(kv.size, 1)) {
          const file = ctx.fileName(`${args.suffix}.delta.jsonl`);
          const w = await writeHashed(ctx.fs, joinPath(ctx.dir, file), utf8Chunks(lines));
          const delta: ComponentDelta = { file, bytes: w.bytes, sha256: w.sha256, generation: ctx.generation, deleted, upserts };
          return { entry: { ...prev!, deltas: [...deltas, delta] }, reused: false };
        }
      }
      // A consistent view: the entry list is taken now; values are never mutated in place by the
      // store (a put stores a new object), so stringifying them while writing sees this state.
      return { entry: await writeTreeLinesEntry(ctx, args, dictLines(kv.serializedEntries())), reused: false };
    },
    committed(entry) {
      if (pending !== undefined && args.incremental) args.remember({ entry, version: pending, kv: args.kv });
      pending = undefined;
    },
  };
}

/** Reads a `json-tree-lines` component and applies its deltas; every file is verified first. */
export async function readTreeWithDeltas(fs: FileSystem, dir: string, entry: ComponentEntry): Promise<unknown> {
  const base = new TreeAssembler(joinPath(dir, entry.file));
  await readVerifiedLines(fs, dir, entry, `component ${entry.kind}`, (line) => base.addLine(line));
  let root = base.result();
  for (const d of entry.deltas ?? []) {
    const delta = new TreeAssembler(joinPath(dir, d.file), root);
    await readVerifiedLines(fs, dir, d, `component ${entry.kind} delta`, (line) => delta.addLine(line));
    root = delta.result();
  }
  return root;
}

/** Index of the `"` (byte 0x22) closing the JSON string that opens at `start`, before `end`; or -1. */
function stringEnd(b: Buffer, start: number, end: number): number {
  for (let i = start + 1; i < end; i++) {
    const ch = b[i]!;
    if (ch === 92) i++; // backslash: skip the escaped character (never part of a UTF-8 sequence)
    else if (ch === 34) return i;
  }
  return -1;
}

/**
 * Splits an entry line `[["collection","key"],{...}]` (`b[s..e)`) without decoding the value: only
 * the two strings are decoded, the value stays a view of the chunk. Anything else (markers,
 * deletions, other spacing) is `undefined`: the caller parses the whole line.
 */
function splitEntry(b: Buffer, s: number, e: number): [string, string, Uint8Array] | undefined {
  if (e - s < 9 || b[s] !== 91 || b[s + 1] !== 91 || b[s + 2] !== 34 || b[e - 2] !== 125 || b[e - 1] !== 93) return undefined;
  const e1 = stringEnd(b, s + 2, e);
  if (e1 < 0 || b[e1 + 1] !== 44 || b[e1 + 2] !== 34) return undefined;
  const e2 = stringEnd(b, e1 + 2, e);
  if (e2 < 0 || b[e2 + 1] !== 93 || b[e2 + 2] !== 44 || b[e2 + 3] !== 123) return undefined;
  return [jsonString(b, s + 2, e1), jsonString(b, e1 + 2, e2), new Uint8Array(b.buffer, b.byteOffset + e2 + 3, e - 1 - (e2 + 3))];
}

/** The JSON string literal `b[start..end]` (quotes included); one without escapes is just decoded. */
function jsonString(b: Buffer, start: number, end: number): string {
  for (let i = start + 1; i < end; i++) {
    // An escape, or a raw control character (invalid JSON: JSON.parse rejects it).
    if (b[i] === 92 || b[i]! < 32) return JSON.parse(b.toString("utf8", start, end + 1)) as string;
  }
  return b.toString("utf8", start + 1, end);
}

/**
 * Reads a docstore / index store component (base and deltas) straight into maps
 * (`collection -> key -> value`), the layout `SimpleKVStore` keeps: no 100k-key objects in between.
 * Entry values are kept as their UTF-8 bytes, views of the chunks they were read in (the file is
 * verified against its checksum; the store decodes and parses a value when it is read, and the
 * next persist writes the bytes back as they are): loading decodes only the keys.
 */
export async function readKVComponent(fs: FileSystem, dir: string, entry: ComponentEntry): Promise<Map<string, Map<string, Stored>>> {
  const maps = new Map<string, Map<string, Stored>>();
  const apply = (file: string, delta: boolean) => {
    let n = 0;
    return (bytes: Buffer, start: number, end: number) => {
      n++;
      if (end === start) return;
      const fast = splitEntry(bytes, start, end);
      if (fast) {
        let m = maps.get(fast[0]);
        if (!m) {
          m = new Map();
          maps.set(fast[0], m);
        }
        m.set(fast[1], fast[2]);
        return;
      }
      const bad = () => errors.corrupt(`${file}: line ${n} is not a docstore entry`, { details: { file } });
      let parsed: unknown;
      try {
        parsed = JSON.parse(bytes.toString("utf8", start, end));
      } catch (cause) {
        throw errors.corrupt(`${file}: line ${n} is not JSON`, { cause, details: { file } });
      }
      if (!Array.isArray(parsed) || !Array.isArray(parsed[0]) || (parsed.length !== 2 && !(delta && parsed.length === 1))) throw bad();
      const path = parsed[0] as unknown[];
      if (path.length === 0) return; // root marker
      const c = path[0];
      if (typeof c !== "string" || path.length > 2) throw bad();
      let m = maps.get(c);
      if (!m) {
        m = new Map();
        maps.set(c, m);
      }
      if (path.length === 1) return; // collection marker
      const k = path[1];
      if (typeof k !== "string") throw bad();
      if (parsed.length === 1) m.delete(k);
      else {
        const v = parsed[1] as unknown;
        if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad();
        m.set(k, v as JsonObject);
      }
    };
  };
  await readVerifiedLineBytes(fs, dir, entry, `component ${entry.kind}`, apply(joinPath(dir, entry.file), false));
  for (const d of entry.deltas ?? []) await readVerifiedLineBytes(fs, dir, d, `component ${entry.kind} delta`, apply(joinPath(dir, d.file), true));
  for (const [c, m] of maps) if (m.size === 0) maps.delete(c);
  return maps;
}
