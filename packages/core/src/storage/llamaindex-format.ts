/**
 * LlamaIndex's persist-dir files, written the way Python writes them and read from directories
 * Python wrote (including older variants). Shapes: ../../../../shared reference §2.5, §3.4, §4.4,
 * §5.3, §5.4, §6.3, §7. Each file is streamed (never one big string) and written atomically, but
 * the set of files is not committed as a whole: that is what the Larder format adds.
 */
import { errors, isStorageError } from "../errors.js";
import type { FileSystem } from "../fs/types.js";
import { exactObjectJson, mayBeInexactIn, valueFingerprint } from "../schema/exact-json.js";
import type { SimpleVectorStore } from "../vector/simple-vector-store.js";
import { joinPath, readFileIfExists, writeHashed, type WrittenFile } from "./fs-io.js";
import { parseJsonBytes, parseRawEntryDict, pyFloatList, type RawEntryDict, pyJson, pyJsonFromJsonText, pyJsonParts, pyJsonString, utf8Chunks } from "./json-stream.js";

export const LLAMAINDEX_FILES = {
  docstore: "docstore.json",
  indexStore: "index_store.json",
  graphStore: "graph_store.json",
  propertyGraphStore: "property_graph_store.json",
  /** Python writes it relative to the CWD; Larder keeps it in the persist dir. */
  chatStore: "chat_store.json",
} as const;

export const VECTOR_STORE_SUFFIX = "vector_store.json";
/** LlamaIndex's `NAMESPACE_SEP`. */
export const NAMESPACE_SEP = "__";

export function vectorStoreFileName(namespace: string): string {
  return `${namespace}${NAMESPACE_SEP}${VECTOR_STORE_SUFFIX}`;
}

/** `{embedding_dict, text_id_to_ref_doc_id, metadata_dict}` (`SimpleVectorStoreData`). */
export interface VectorStoreDict {
  embedding_dict: Record<string, ArrayLike<number>>;
  text_id_to_ref_doc_id: Record<string, string>;
  metadata_dict: Record<string, Record<string, unknown>>;
}

/** Streams a Python-`json.dumps`-style file. */
export function writePyJson(fs: FileSystem, dir: string, file: string, parts: Iterable<string>): Promise<WrittenFile> {
  return writeHashed(fs, joinPath(dir, file), utf8Chunks(parts));
}

/** `docstore.json`, `index_store.json`, `graph_store.json`: `json.dumps` of a 2-level dict. */
export function pyDictParts(dict: Record<string, unknown>): Generator<string> {
  return pyJsonParts(dict, 2);
}

/**
 * `{ns}__vector_store.json`: embeddings as Python float lists, streamed entry by entry. `sources`
 * (what {@link readVectorStoreFile} kept of a Python-written file): a `metadata_dict` entry whose
 * node metadata and ref doc are unchanged is written back as Python wrote it, and an embedding
 * with an exact source (`sources.embeddings`, rows unchanged since they were read) as that source.
 */
export function* vectorStoreParts(d: VectorStoreDict, sources?: VectorSources): Generator<string> {
  yield* pyJsonParts(
    {
      embedding_dict: d.embedding_dict,
      text_id_to_ref_doc_id: d.text_id_to_ref_doc_id,
      metadata_dict: d.metadata_dict,
    },
    2,
    (v, key, path) => {
      if (path[0] === "embedding_dict") {
        const exact = sources?.embeddings?.get(key);
        return exact === undefined ? pyFloatList(v as ArrayLike<number>) : typeof exact === "string" ? exact : pyFloatList(exact);
      }
      if (path[0] === "metadata_dict" && sources !== undefined) {
        const src = sources.metadata.get(key);
        if (src !== undefined && src.ref === d.text_id_to_ref_doc_id[key] && vectorMetadataFingerprint(v) === src.fingerprint) return pyJsonFromJsonText(src.text);
        const exact = sources.nodeMetadata?.get(key);
        if (exact !== undefined && typeof v === "object" && v !== null) return pyJsonFromJsonText(entryWithExactMetadata(exact, v as Record<string, unknown>));
      }
      return pyJson(v);
    },
  );
}

/** What a loaded `{ns}__vector_store.json` keeps to write unchanged `metadata_dict` entries exactly. */
export interface VectorSources {
  /** node id -> the entry's text as read, the ref doc it had, and the fingerprint of its node metadata. */
  metadata: Map<string, { text: string; ref: unknown; fingerprint: string }>;
  /**
   * node id -> the node's metadata as exact compact JSON (from a row loaded from a Larder file and
   * unchanged since): the entry is that metadata followed by LlamaIndex's keys.
   */
  nodeMetadata?: Map<string, string>;
  /**
   * node id -> the exact embedding of a row unchanged since it was read (see {@link exactEmbeddingsOf}),
   * written instead of the store's float32 values.
   */
  embeddings?: ReadonlyMap<string, ExactEmbedding>;
}

/**
 * An embedding as read, where the store's float32 values would change it: its values as doubles
 * (Python's floats; `pyFloatList` prints them as Python did), or, when the list held integer
 * tokens (`1`, not `1.0`), the list's text as read.
 */
export type ExactEmbedding = Float64Array | string;

/**
 * The exact source of an embedding read as `values` (its list text `text()`, asked for only when
 * needed), or `undefined` when the float32 values print the same list (every value float32-exact,
 * no integer tokens).
 */
export function exactEmbedding(values: ArrayLike<number>, text: () => string | undefined): ExactEmbedding | undefined {
  let inexact = false;
  let integral = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Math.fround(v) !== v) inexact = true;
    else if (!integral && Number.isInteger(v)) integral = true;
  }
  if (integral) {
    const t = text();
    if (t !== undefined && hasIntegerToken(t)) return Buffer.from(t, "utf8").toString("utf8"); // a copy, not a slice of the file
  }
  return inexact ? Float64Array.from(values) : undefined;
}

/** Whether a JSON number list's text has a number token without `.`/`e` (Python's int). */
function hasIntegerToken(t: string): boolean {
  let inToken = false;
  let float = false;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c === 0x2c || c === 0x5d) {
      if (inToken && !float) return true;
      inToken = false;
      float = false;
    } else if (c === 0x2e || c === 0x65 || c === 0x45) float = true;
    else if ((c >= 0x30 && c <= 0x39) || c === 0x2d) inToken = true;
  }
  return false;
}

/** Exact embeddings of a store's rows, valid for the rows unchanged since the store's mutation counter was `version`. */
const exactEmbeddingStore = new WeakMap<object, { map: Map<string, ExactEmbedding>; version: number }>();

/** Remembers exact embeddings of `store`'s rows as they are now (loaded from a file). */
export function rememberExactEmbeddings(store: SimpleVectorStore, map: Map<string, ExactEmbedding> | undefined): void {
  if (map === undefined || map.size === 0) exactEmbeddingStore.delete(store);
  else exactEmbeddingStore.set(store, { map, version: store.version });
}

/**
 * The exact embeddings of `store`'s rows that nobody changed since they were read. A row written
 * (added again, even unchanged) or deleted since loses its entry for good; `undefined` when none
 * is left (or a `clear()` happened).
 */
export function exactEmbeddingsOf(store: SimpleVectorStore): ReadonlyMap<string, ExactEmbedding> | undefined {
  const kept = exactEmbeddingStore.get(store);
  if (kept === undefined) return undefined;
  if (kept.version !== store.version) {
    const changes = store.changesSince(kept.version);
    if (changes === undefined) {
      exactEmbeddingStore.delete(store);
      return undefined;
    }
    if (changes.rows.length > 0) for (const id of store.snapshotRows(changes.rows).ids) kept.map.delete(id);
    for (const id of changes.deleted) kept.map.delete(id);
    kept.version = store.version;
    if (kept.map.size === 0) {
      exactEmbeddingStore.delete(store);
      return undefined;
    }
  }
  return kept.map;
}

/** A `metadata_dict` entry as compact JSON: `exact` node metadata, then `entry`'s LlamaIndex keys. */
function entryWithExactMetadata(exact: string, entry: Record<string, unknown>): string {
  const inner = exact.slice(1, -1);
  const own = Object.keys(entry)
    .filter((k) => VECTOR_ENTRY_KEY_SET.has(k))
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(entry[k])}`)
    .join(",");
  return `{${inner}${inner !== "" && own !== "" ? "," : ""}${own}}`;
}

/** Fingerprint of the node metadata in a `metadata_dict` entry or node JSON's metadata (LlamaIndex's keys left out). */
export function nodeMetadataFingerprint(metadata: unknown): string {
  return vectorMetadataFingerprint(metadata);
}

/** LlamaIndex's keys of a `metadata_dict` entry (the rest is the node's metadata). */
export const VECTOR_ENTRY_KEY_SET: ReadonlySet<string> = new Set(["_node_content", "_node_type", "document_id", "doc_id", "ref_doc_id"]);

/** Fingerprint of the node metadata in a `metadata_dict` entry (LlamaIndex's keys left out). */
function vectorMetadataFingerprint(entry: unknown): string {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return valueFingerprint(entry);
  const user: Record<string, unknown> = {};
  for (const k of Object.keys(entry)) {
    if (!VECTOR_ENTRY_KEY_SET.has(k)) Object.defineProperty(user, k, { value: (entry as Record<string, unknown>)[k], enumerable: true });
  }
  return valueFingerprint(user);
}

const vectorSources = new WeakMap<object, VectorSources>();

/** Remembers what was kept of the file `store` was loaded from (see {@link vectorStoreParts}). */
export function rememberVectorSources(store: SimpleVectorStore, sources: VectorSources): void {
  const { embeddings, ...rest } = sources;
  vectorSources.set(store, rest);
  rememberExactEmbeddings(store, embeddings as Map<string, ExactEmbedding> | undefined);
}

/** What was kept of the Python file `store` was loaded from, if it was. */
export function keptVectorSourcesOf(store: object): VectorSources | undefined {
  return vectorSources.get(store);
}

/**
 * After `to` received copies of `from`'s rows (same ids, embeddings and metadata, e.g. by
 * `larder migrate`): `to` writes those rows' embeddings and unchanged `metadata_dict` entries as
 * exactly as `from` would. Only rows `from` has not changed since reading count; the metadata
 * entries stay guarded by their fingerprint and ref doc, the embeddings hold until `to`'s rows change.
 */
export function copyExactSources(from: SimpleVectorStore, to: SimpleVectorStore): void {
  if (from === to) return;
  const embeddings = exactEmbeddingsOf(from);
  if (embeddings !== undefined) {
    const mine = exactEmbeddingsOf(to);
    const map = new Map(mine ?? []);
    const ids = new Set(to.snapshotRows(null).ids);
    for (const [id, e] of embeddings) if (ids.has(id)) map.set(id, e);
    rememberExactEmbeddings(to, map);
  }
  // `to`'s own rows loaded from a Larder file stay exact once it has kept sources: guard them too.
  const mine = vectorSources.get(to) ?? { metadata: guardedMetadata(to) };
  const metadata = new Map(mine.metadata);
  for (const [id, src] of guardedMetadata(from)) metadata.set(id, src);
  if (metadata.size > 0) vectorSources.set(to, { ...mine, metadata });
}

/**
 * `store`'s exact `metadata_dict` entries as kept sources (guarded by fingerprint and ref doc):
 * those kept from a Python file, or those of rows still as read from a Larder file.
 */
function guardedMetadata(store: SimpleVectorStore): VectorSources["metadata"] {
  const sources = vectorSourcesOf(store);
  const out: VectorSources["metadata"] = new Map(sources?.metadata ?? []);
  if (sources?.nodeMetadata !== undefined) {
    const d = store.toDict();
    for (const [id, exact] of sources.nodeMetadata) {
      const entry = d.metadata_dict?.[id];
      if (entry === undefined) continue;
      out.set(id, { text: entryWithExactMetadata(exact, entry), ref: d.text_id_to_ref_doc_id[id], fingerprint: vectorMetadataFingerprint(JSON.parse(exact)) });
    }
  }
  return out;
}

/**
 * What `store`'s LlamaIndex file is written with: what was kept of the file it was loaded from, or
 * for a store loaded from a Larder file, the exact metadata of its rows that are still the bytes
 * read (rows added since hold JS values, which are then the truth).
 */
export function vectorSourcesOf(store: SimpleVectorStore): VectorSources | undefined {
  const embeddings = exactEmbeddingsOf(store);
  const kept = vectorSources.get(store);
  if (kept !== undefined) return embeddings === undefined ? kept : { ...kept, embeddings };
  const rows = store.snapshotRows(null);
  let nodeMetadata: Map<string, string> | undefined;
  const decoder = new TextDecoder();
  for (let i = 0; i < rows.ids.length; i++) {
    const line = rows.node(i);
    if (typeof line === "string") continue;
    const text = decoder.decode(line);
    const node = JSON.parse(text) as { __data__?: { metadata?: unknown } };
    if (!mayBeInexactIn(node.__data__?.metadata, text)) continue;
    const exact = exactObjectJson(text, ["__data__", "metadata"], VECTOR_ENTRY_KEY_SET);
    if (exact !== undefined) (nodeMetadata ??= new Map()).set(rows.ids[i]!, exact);
  }
  if (nodeMetadata === undefined && embeddings === undefined) return undefined;
  return { metadata: new Map(), ...(nodeMetadata !== undefined ? { nodeMetadata } : {}), ...(embeddings !== undefined ? { embeddings } : {}) };
}

/**
 * Reads `{ns}__vector_store.json`: the parsed value (for `normaliseVectorDict`), and the text of
 * every `metadata_dict` entry (copied out of the file, which is not kept). `undefined`
 * when the file is missing; bad JSON is `CORRUPT`.
 */
export async function readVectorStoreFile(fs: FileSystem, dir: string, file: string): Promise<{ value: unknown; sources: VectorSources } | undefined> {
  const path = joinPath(dir, file);
  const bytes = await readFileIfExists(fs, path);
  if (bytes === undefined) return undefined;
  let raw: RawEntryDict;
  try {
    raw = parseRawEntryDict(bytes, path, { objectsOnly: false });
  } catch (err) {
    // Not a dict of dicts (a damaged or unusual file): the ordinary reader names the problem.
    if (!isStorageError(err, "CORRUPT")) throw err;
    return { value: parseJsonBytes(bytes, path, 2), sources: { metadata: new Map() } };
  }
  const metadata: VectorSources["metadata"] = new Map();
  const entries = raw.maps.get("metadata_dict");
  const refs = raw.dict["text_id_to_ref_doc_id"] ?? {};
  const decoder = new TextDecoder();
  if (entries !== undefined) {
    for (const [id, v] of entries) {
      // A copy (not a slice of the file's text, which would keep every embedding alive).
      const text = typeof v === "string" ? Buffer.from(v, "utf8").toString("utf8") : v instanceof Uint8Array ? decoder.decode(v) : undefined;
      if (text === undefined) continue;
      metadata.set(id, { text, ref: refs[id], fingerprint: vectorMetadataFingerprint(raw.dict["metadata_dict"]![id]) });
    }
  }
  const embeddings = new Map<string, ExactEmbedding>();
  const lists = raw.maps.get("embedding_dict");
  const values = raw.dict["embedding_dict"] as Record<string, unknown> | undefined;
  if (lists !== undefined && values !== undefined) {
    for (const [id, v] of lists) {
      const list = values[id];
      // Anything but a number list is for normaliseVectorDict to refuse.
      if (!Array.isArray(list) || list.some((x) => typeof x !== "number")) continue;
      const exact = exactEmbedding(list as number[], () => (typeof v === "string" ? v : v instanceof Uint8Array ? decoder.decode(v) : undefined));
      if (exact !== undefined) embeddings.set(id, exact);
    }
  }
  return { value: raw.dict, sources: { metadata, ...(embeddings.size > 0 ? { embeddings } : {}) } };
}

/**
 * Pydantic's `model_dump_json()` (property graph, chat store): compact separators and raw UTF-8,
 * unlike `json.dumps`. Streams the members at `depth`.
 */
export function* compactJsonParts(value: Record<string, unknown>, depth: number): Generator<string> {
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  yield "{";
  let first = true;
  for (const [k, v] of entries) {
    yield `${first ? "" : ","}${JSON.stringify(k)}:`;
    first = false;
    if (depth > 1 && typeof v === "object" && v !== null && !Array.isArray(v)) yield* compactJsonParts(v as Record<string, unknown>, depth - 1);
    else if (depth > 1 && Array.isArray(v)) {
      yield "[";
      for (let i = 0; i < v.length; i++) yield `${i ? "," : ""}${JSON.stringify(v[i])}`;
      yield "]";
    } else yield JSON.stringify(v);
  }
  yield "}";
}

/** Reads and parses a JSON file (value by value when it is too big for one string). `undefined` when missing. */
export async function readJsonFile(fs: FileSystem, dir: string, file: string): Promise<unknown> {
  const path = joinPath(dir, file);
  const bytes = await readFileIfExists(fs, path);
  if (bytes === undefined) return undefined;
  return parseJsonBytes(bytes, path, 2);
}

/** Names of the files directly in `dir`. */
export async function listDir(fs: FileSystem, dir: string): Promise<string[]> {
  const prefix = dir === "" ? "" : `${dir.replace(/\/+$/, "")}/`;
  const all = await fs.list(prefix);
  return all.map((p) => p.slice(prefix.length)).filter((n) => n !== "" && !n.includes("/"));
}

/**
 * Vector namespaces present in a directory: `{ns}__vector_store.json` gives `ns`; a plain
 * `vector_store.json` (LlamaIndex before namespaces) is `default` unless `default__vector_store.json`
 * exists too. Returns namespace -> file name.
 */
export function vectorNamespaces(files: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of files) {
    if (!f.endsWith(VECTOR_STORE_SUFFIX)) continue;
    if (f === VECTOR_STORE_SUFFIX) continue;
    if (!f.endsWith(`${NAMESPACE_SEP}${VECTOR_STORE_SUFFIX}`)) continue;
    const ns = f.slice(0, -(NAMESPACE_SEP.length + VECTOR_STORE_SUFFIX.length));
    if (ns !== "") out.set(ns, f);
  }
  if (files.includes(VECTOR_STORE_SUFFIX) && !out.has("default")) out.set("default", VECTOR_STORE_SUFFIX);
  return out;
}

/**
 * Whether a listing looks like a LlamaIndex persist dir: any of its files, including a folder that
 * holds only a chat store (`chat_store.json`) or only a graph store.
 */
export function isLlamaIndexDir(files: readonly string[]): boolean {
  return Object.values(LLAMAINDEX_FILES).some((f) => files.includes(f)) || vectorNamespaces(files).size > 0;
}

/**
 * Whether a listing holds index data (docstore, index store or vector stores). A folder without
 * any holds only graph and/or chat files: its document and index stores start empty, whereas a
 * folder with index data must have both `docstore.json` and `index_store.json`.
 */
export function hasLlamaIndexIndexData(files: readonly string[]): boolean {
  return files.includes(LLAMAINDEX_FILES.docstore) || files.includes(LLAMAINDEX_FILES.indexStore) || vectorNamespaces(files).size > 0;
}

/** Checks a parsed file is an object (Python never writes anything else at the top level). */
export function expectObject(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw errors.corrupt(`${path} does not hold a JSON object`, { details: { file: path } });
  }
  return value as Record<string, unknown>;
}

/**
 * A vector store file read from disk, normalised to `VectorStoreDict`. Older files may lack
 * `metadata_dict` or `text_id_to_ref_doc_id`; embeddings must be number lists.
 */
export function normaliseVectorDict(value: unknown, path: string): VectorStoreDict {
  const o = expectObject(value, path);
  const embedding_dict = (o["embedding_dict"] ?? {}) as Record<string, unknown>;
  const refs = (o["text_id_to_ref_doc_id"] ?? {}) as Record<string, unknown>;
  const metadata = (o["metadata_dict"] ?? {}) as Record<string, unknown>;
  for (const [name, part] of [["embedding_dict", embedding_dict], ["text_id_to_ref_doc_id", refs], ["metadata_dict", metadata]] as const) {
    if (typeof part !== "object" || part === null || Array.isArray(part)) {
      throw errors.corrupt(`${path}: ${name} is not an object`, { details: { file: path } });
    }
  }
  for (const [id, emb] of Object.entries(embedding_dict)) {
    if (!Array.isArray(emb) || emb.some((x) => typeof x !== "number")) {
      throw errors.corrupt(`${path}: embedding of ${JSON.stringify(id)} is not a list of numbers`, { details: { file: path } });
    }
  }
  return {
    embedding_dict: embedding_dict as Record<string, number[]>,
    text_id_to_ref_doc_id: refs as Record<string, string>,
    metadata_dict: metadata as Record<string, Record<string, unknown>>,
  };
}

/**
 * The LlamaIndex version whose file forms `persist({format: "llamaindex"})` writes where the
 * versions differ. `chat_store.json`:
 * - `"0.10"`: a JSON *string* holding `json.dumps` of the store (0.10 reads only this form; 0.12
 *   and 0.14 read it too);
 * - `"0.12"`: the object as `json.dumps` writes it (`", "`/`": "` separators, `\uXXXX` escapes);
 * - `"0.14"`: the object as pydantic's `model_dump_json` writes it (compact, raw UTF-8).
 * `property_graph_store.json`: `json.dumps` form for `"0.10"`, compact for `"0.12"` and `"0.14"`
 * (every version reads both).
 */
export type LlamaIndexVersion = "0.10" | "0.12" | "0.14";
export const LLAMAINDEX_VERSIONS: readonly LlamaIndexVersion[] = ["0.10", "0.12", "0.14"];
/** The form written for a chat store that was not loaded from a LlamaIndex folder. */
export const DEFAULT_LLAMAINDEX_VERSION: LlamaIndexVersion = "0.14";

/** Which version's form a `chat_store.json` has (from its bytes; see {@link LlamaIndexVersion}). */
export function chatStoreFileVersion(bytes: Uint8Array): LlamaIndexVersion {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  if (bytes[i] === 0x22) return "0.10";
  // `{"store": ` (json.dumps) vs `{"store":` (model_dump_json): the byte after the first key's colon.
  const head = new TextDecoder().decode(bytes.subarray(i, Math.min(bytes.length, i + 64)));
  const m = /^\{\s*"(?:[^"\\]|\\.)*"\s*:(.)/s.exec(head);
  return m && m[1] === " " ? "0.12" : "0.14";
}

/** `chat_store.json` content in the form `version` writes (see {@link LlamaIndexVersion}). */
export function* chatStoreParts(dict: Record<string, unknown>, version: LlamaIndexVersion): Generator<string> {
  if (version === "0.14") yield* compactJsonParts(dict, 2);
  else if (version === "0.12") yield* pyJsonParts(dict, 2);
  // Python 0.10: `json.dumps(self.json())`, i.e. the json.dumps text, itself dumped as a string.
  else yield pyJsonString([...pyJsonParts(dict, 2)].join(""));
}

/** The form each loaded chat store's (and property graph's) file had (persist writes it back in that form). */
const chatForms = new WeakMap<object, LlamaIndexVersion>();

/** Remembers that `store` was loaded from a `chat_store.json` (or `property_graph_store.json`) of `version`'s form. */
export function rememberFileVersion(store: object, version: LlamaIndexVersion): void {
  chatForms.set(store, version);
}

/** The form `store`'s file had when it was loaded (`undefined`: not loaded from a LlamaIndex folder). */
export function fileVersionOf(store: object): LlamaIndexVersion | undefined {
  return chatForms.get(store);
}

/**
 * The Larder format keeps the form too: `tree` (a chat store's or property graph's dict) with a
 * `llamaindex_version` member when `store` has a remembered form.
 */
export function withFileVersion<T extends object>(tree: T, store: object): T {
  const v = chatForms.get(store);
  return v === undefined ? tree : { ...tree, llamaindex_version: v };
}

/** Remembers the form recorded by {@link withFileVersion} in a tree read from a Larder file. */
export function rememberFileVersionFrom(store: object, tree: unknown): void {
  const v = typeof tree === "object" && tree !== null ? (tree as Record<string, unknown>)["llamaindex_version"] : undefined;
  if (typeof v === "string" && (LLAMAINDEX_VERSIONS as readonly string[]).includes(v)) chatForms.set(store, v as LlamaIndexVersion);
}

/** Reads `chat_store.json` with the version its form says (`undefined` when missing). */
export async function readChatStoreFile(fs: FileSystem, dir: string): Promise<{ value: unknown; version: LlamaIndexVersion } | undefined> {
  const path = joinPath(dir, LLAMAINDEX_FILES.chatStore);
  const bytes = await readFileIfExists(fs, path);
  if (bytes === undefined) return undefined;
  return { value: parseJsonBytes(bytes, path, 2), version: chatStoreFileVersion(bytes) };
}

/**
 * Which version's form a `property_graph_store.json` has: `"0.10"` for pydantic v1's `.json()`
 * (`json.dumps` separators), else `undefined` (the compact dump 0.12 and 0.14 write).
 */
export function propertyGraphFileVersion(bytes: Uint8Array): LlamaIndexVersion | undefined {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  const head = new TextDecoder().decode(bytes.subarray(i, Math.min(bytes.length, i + 64)));
  const m = /^\{\s*"(?:[^"\\]|\\.)*"\s*:(.)/s.exec(head);
  return m && m[1] === " " ? "0.10" : undefined;
}

/** `property_graph_store.json` content in the form `version` writes (0.10: `json.dumps`; later: compact). */
export function propertyGraphParts(dict: Record<string, unknown>, version: LlamaIndexVersion): Generator<string> {
  return version === "0.10" ? pyJsonParts(dict, 2) : compactJsonParts(dict, 2);
}

/** Reads `property_graph_store.json` with the version its form says (`undefined` when missing). */
export async function readPropertyGraphFile(fs: FileSystem, dir: string): Promise<{ value: unknown; version: LlamaIndexVersion | undefined } | undefined> {
  const path = joinPath(dir, LLAMAINDEX_FILES.propertyGraphStore);
  const bytes = await readFileIfExists(fs, path);
  if (bytes === undefined) return undefined;
  return { value: parseJsonBytes(bytes, path, 2), version: propertyGraphFileVersion(bytes) };
}

/** Checks a `llamaIndexVersion` option. */
export function checkLlamaIndexVersion(v: unknown): LlamaIndexVersion | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !(LLAMAINDEX_VERSIONS as readonly string[]).includes(v)) {
    throw errors.invalid(`llamaIndexVersion must be one of ${LLAMAINDEX_VERSIONS.map((x) => JSON.stringify(x)).join(", ")}, got ${JSON.stringify(v) ?? String(v)}`);
  }
  return v as LlamaIndexVersion;
}

/** Legacy chat stores were a JSON *string* holding the object. */
export function normaliseChatDict(value: unknown, path: string): Record<string, unknown> {
  let v = value;
  if (typeof v === "string") {
    try {
      v = JSON.parse(v);
    } catch (cause) {
      throw errors.corrupt(`${path}: legacy string content is not JSON`, { cause, details: { file: path } });
    }
  }
  return expectObject(v, path);
}

/**
 * Reads `docstore.json` / `index_store.json` (`{collection: {key: value}}`) for a `SimpleKVStore`
 * (`fromTrustedMaps(maps)`): each value is kept as the bytes Python wrote (checked to be a JSON
 * object), so a value nobody changes is written back byte for byte in both formats, with its big
 * integers, `-0.0`, `1.0` and key order. `dict` holds the parsed values for load-time checks.
 * `undefined` when the file is missing; bad content is `CORRUPT`.
 */
export async function readKVFile(fs: FileSystem, dir: string, file: string): Promise<RawEntryDict | undefined> {
  const path = joinPath(dir, file);
  const bytes = await readFileIfExists(fs, path);
  if (bytes === undefined) return undefined;
  const raw = parseRawEntryDict(bytes, path);
  for (const [c, m] of raw.maps) {
    if (c === "" || [...m.keys()].some((k) => k === "")) {
      throw errors.corrupt(`${path}: an empty collection name or key`, { details: { file: path } });
    }
    if (m.size === 0) raw.maps.delete(c);
  }
  return raw;
}
