/**
 * Docstores and index stores over a `SimpleKVStore`, in the Larder format, with incremental
 * persists. The context remembers the store's mutation counter at the last persist (or load) to a
 * place; the next persist asks the store for the keys put or deleted since
 * (`SimpleKVStore.changesSince`) and writes a delta of just those. An unchanged counter skips even
 * that.
 */
import { errors } from "../errors.js";
import type { JsonObject } from "../kv/types.js";
import type { SimpleKVStore } from "../kv/simple-kv-store.js";
import { joinPath, writeHashed } from "./fs-io.js";
import { TreeAssembler, utf8Chunks } from "./json-stream.js";
import { type LarderComponent, readVerifiedLines, sameFiles, writeTreeLinesEntry } from "./larder-format.js";
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
 * as `treeLines(dict, 2)`), from entries listed in collection order. Values are stringified as
 * the file is written (see the consistency note in {@link kvComponent}).
 */
function* dictLines(entries: readonly (readonly [string, string, JsonObject | string])[]): Generator<string> {
  yield "[[],{}]\n";
  let current: string | undefined;
  let prefix = "";
  for (const [c, k, v] of entries) {
    if (c !== current) {
      current = c;
      prefix = `[[${JSON.stringify(c)},`;
      yield `${prefix.slice(0, -1)}],{}]\n`;
    }
    yield `${prefix}${JSON.stringify(k)}],${valueText(v)}]\n`;
  }
}

/** A value's JSON: loaded values are kept as the text they were read as. */
const valueText = (v: JsonObject | string): string => (typeof v === "string" ? v : JSON.stringify(v));

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
        const lines: string[] = [];
        let deleted = 0;
        for (const [c, k, v] of changes) {
          if (v === undefined) {
            lines.push(`[[${JSON.stringify(c)},${JSON.stringify(k)}]]\n`);
            deleted++;
          } else lines.push(`[[${JSON.stringify(c)},${JSON.stringify(k)}],${valueText(v)}]\n`);
        }
        if (lines.length === 0) return { entry: prev!, reused: true };
        const deltas = prev!.deltas ?? [];
        const pendingEntries = deltas.reduce((n, d) => n + d.deleted + (d.upserts ?? 0), 0) + lines.length;
        if (deltas.length < MAX_DELTAS && pendingEntries <= MAX_DELTA_FRACTION * Math.max(kv.size, 1)) {
          const file = ctx.fileName(`${args.suffix}.delta.jsonl`);
          const w = await writeHashed(ctx.fs, joinPath(ctx.dir, file), utf8Chunks(lines));
          const delta: ComponentDelta = { file, bytes: w.bytes, sha256: w.sha256, generation: ctx.generation, deleted, upserts: lines.length - deleted };
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

/** Index of the `"` closing the JSON string that opens at `start`, or -1. */
function stringEnd(s: string, start: number): number {
  for (let i = start + 1; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch === 92) i++; // backslash: skip the escaped character
    else if (ch === 34) return i;
  }
  return -1;
}

/**
 * Splits an entry line `[["collection","key"],{...}]` without parsing the value: only the two
 * strings are parsed. Anything else (markers, deletions, other spacing) is `undefined`: the caller
 * parses the whole line.
 */
function splitEntry(line: string): [string, string, string] | undefined {
  if (!line.startsWith('[["') || !line.endsWith("}]")) return undefined;
  const e1 = stringEnd(line, 2);
  if (e1 < 0 || line.charCodeAt(e1 + 1) !== 44 || line.charCodeAt(e1 + 2) !== 34) return undefined;
  const e2 = stringEnd(line, e1 + 2);
  if (e2 < 0 || line.charCodeAt(e2 + 1) !== 93 || line.charCodeAt(e2 + 2) !== 44 || line.charCodeAt(e2 + 3) !== 123) return undefined;
  return [jsonString(line, 2, e1), jsonString(line, e1 + 2, e2), line.slice(e2 + 3, -1)];
}

/** The JSON string literal `s[start..end]` (quotes included); one without escapes is just sliced. */
function jsonString(s: string, start: number, end: number): string {
  const inner = s.slice(start + 1, end);
  return NEEDS_PARSE.test(inner) ? (JSON.parse(s.slice(start, end + 1)) as string) : inner;
}
// An escape, or a raw control character (invalid JSON: JSON.parse rejects it).
const NEEDS_PARSE = /[\\\u0000-\u001f]/;

/**
 * Reads a docstore / index store component (base and deltas) straight into maps
 * (`collection -> key -> value`), the layout `SimpleKVStore` keeps: no 100k-key objects in between.
 * Entry values are kept as their JSON text (the file verified against its checksum; the store
 * parses a value when it is read), which keeps loading to one pass over the bytes.
 */
export async function readKVComponent(fs: FileSystem, dir: string, entry: ComponentEntry): Promise<Map<string, Map<string, JsonObject | string>>> {
  const maps = new Map<string, Map<string, JsonObject | string>>();
  const apply = (file: string, delta: boolean) => {
    let n = 0;
    return (line: string) => {
      n++;
      if (line.length === 0) return;
      const fast = splitEntry(line);
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
        parsed = JSON.parse(line);
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
  await readVerifiedLines(fs, dir, entry, `component ${entry.kind}`, apply(joinPath(dir, entry.file), false));
  for (const d of entry.deltas ?? []) await readVerifiedLines(fs, dir, d, `component ${entry.kind} delta`, apply(joinPath(dir, d.file), true));
  for (const [c, m] of maps) if (m.size === 0) maps.delete(c);
  return maps;
}
