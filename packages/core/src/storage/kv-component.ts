/**
 * Docstores and index stores over a `SimpleKVStore`, in the Larder format, with incremental
 * persists. `SimpleKVStore` never mutates a stored value in place (a put stores a new copy), so the
 * identity of each value is an exact change signal: the context keeps the references it wrote last
 * time, and the next persist writes a delta of the entries whose reference changed plus deletions.
 * An unchanged mutation counter skips even that comparison.
 */
import { errors } from "../errors.js";
import type { JsonObject } from "../kv/types.js";
import type { SimpleKVStore } from "../kv/simple-kv-store.js";
import { joinPath, writeHashed } from "./fs-io.js";
import { TreeAssembler, treeLines, utf8Chunks } from "./json-stream.js";
import { type LarderComponent, readVerifiedLines, sameFiles } from "./larder-format.js";
import type { ComponentDelta, ComponentEntry, ComponentKind } from "./manifest.js";
import type { FileSystem } from "../fs/types.js";

/** What was last written to / read from a place: the value references per collection and key. */
export interface KVMemory {
  entry: ComponentEntry;
  version: number;
  kv: SimpleKVStore;
  refs: Map<string, Map<string, JsonObject>>;
}

const MAX_DELTAS = 16;
const MAX_DELTA_FRACTION = 0.25;

function collectRefs(kv: SimpleKVStore): Map<string, Map<string, JsonObject>> {
  const refs = new Map<string, Map<string, JsonObject>>();
  for (const [c, k, v] of kv.entriesView()) {
    let m = refs.get(c);
    if (!m) {
      m = new Map();
      refs.set(c, m);
    }
    m.set(k, v);
  }
  return refs;
}

/** The refs as the `{collection: {key: value}}` dict (null-prototype objects: any key is safe). */
function refsToDict(refs: Map<string, Map<string, JsonObject>>): Record<string, Record<string, JsonObject>> {
  const out = Object.create(null) as Record<string, Record<string, JsonObject>>;
  for (const [c, m] of refs) {
    const o = Object.create(null) as Record<string, JsonObject>;
    for (const [k, v] of m) o[k] = v;
    out[c] = o;
  }
  return out;
}

/** A copy of the map structure (values shared): what the context remembers while the store moves on. */
export function copyRefs(refs: Map<string, Map<string, JsonObject>>): Map<string, Map<string, JsonObject>> {
  const out = new Map<string, Map<string, JsonObject>>();
  for (const [c, m] of refs) out.set(c, new Map(m));
  return out;
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
  let pending: { refs: Map<string, Map<string, JsonObject>>; version: number } | undefined;
  return {
    name: args.name,
    kind: args.kind,
    storeName: args.storeName,
    async write(ctx) {
      const { kv, memory: mem } = args;
      const version = kv.version;
      const prev = ctx.previous;
      const usable = args.incremental && prev?.encoding === "json-tree-lines" && mem !== undefined && mem.kv === kv && sameFiles(prev, mem.entry);
      if (usable && mem.version === version) {
        pending = { refs: mem.refs, version };
        return { entry: prev, reused: true };
      }
      const refs = collectRefs(kv);
      pending = { refs, version };
      if (usable) {
        const lines: string[] = [];
        let deleted = 0;
        let total = 0;
        for (const [c, m] of refs) {
          const before = mem.refs.get(c);
          total += m.size;
          const prefix = `[[${JSON.stringify(c)},`;
          for (const [k, v] of m) if (before?.get(k) !== v) lines.push(`${prefix}${JSON.stringify(k)}],${JSON.stringify(v)}]\n`);
        }
        for (const [c, before] of mem.refs) {
          const now = refs.get(c);
          for (const k of before.keys()) {
            if (!now?.has(k)) {
              lines.push(`[[${JSON.stringify(c)},${JSON.stringify(k)}]]\n`);
              deleted++;
            }
          }
        }
        if (lines.length === 0) return { entry: prev, reused: true };
        const deltas = prev.deltas ?? [];
        const pendingEntries = deltas.reduce((n, d) => n + d.deleted + (d.upserts ?? 0), 0) + lines.length;
        if (deltas.length < MAX_DELTAS && pendingEntries <= MAX_DELTA_FRACTION * Math.max(total, 1)) {
          const file = ctx.fileName(`${args.suffix}.delta.jsonl`);
          const w = await writeHashed(ctx.fs, joinPath(ctx.dir, file), utf8Chunks(lines));
          const delta: ComponentDelta = { file, bytes: w.bytes, sha256: w.sha256, generation: ctx.generation, deleted, upserts: lines.length - deleted };
          return { entry: { ...prev, deltas: [...deltas, delta] }, reused: false };
        }
      }
      const file = ctx.fileName(`${args.suffix}.jsonl`);
      const w = await writeHashed(ctx.fs, joinPath(ctx.dir, file), utf8Chunks(treeLines(refsToDict(refs), 2)));
      const entry: ComponentEntry = {
        kind: args.kind,
        file,
        bytes: w.bytes,
        sha256: w.sha256,
        encoding: "json-tree-lines",
        generation: ctx.generation,
        store: args.storeName,
      };
      return { entry, reused: false };
    },
    committed(entry) {
      if (pending && args.incremental) args.remember({ entry, version: pending.version, kv: args.kv, refs: pending.refs });
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

/**
 * Reads a docstore / index store component (base and deltas) straight into maps
 * (`collection -> key -> value`), the layout `SimpleKVStore` keeps: no 100k-key objects in between.
 */
export async function readKVComponent(fs: FileSystem, dir: string, entry: ComponentEntry): Promise<Map<string, Map<string, JsonObject>>> {
  const maps = new Map<string, Map<string, JsonObject>>();
  const apply = (file: string, delta: boolean) => {
    let n = 0;
    return (line: string) => {
      n++;
      if (line.length === 0) return;
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
