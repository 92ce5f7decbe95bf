/**
 * Checking LlamaIndex persist-dir files value by value: used when loading (documents and index
 * structs are otherwise parsed only when first read) and by `verifyLlamaIndexFolder` (the
 * `larder verify` of a LlamaIndex folder, which has no checksums). Damage is `CORRUPT` naming the
 * file, the collection and the key (`err.details = {file, collection, key}`).
 */
import { SimpleChatStore, type ChatStoreDict } from "../chat/simple-chat-store.js";
import { errors, isStorageError, type StorageError } from "../errors.js";
import type { FileSystem } from "../fs/types.js";
import { SimplePropertyGraphStore } from "../graph/simple-property-graph-store.js";
import { jsonToIndexStruct } from "../indexstore/kv-index-store.js";
import type { JsonObject } from "../kv/types.js";
import { jsonToNode } from "../schema/node.js";
import { SimpleVectorStore, type LlamaIndexVectorStoreDict } from "../vector/simple-vector-store.js";
import { joinPath, readFile } from "./fs-io.js";
import { parseJsonBytes } from "./json-stream.js";
import { isLlamaIndexDir, LLAMAINDEX_FILES, listDir, normaliseChatDict, normaliseVectorDict, vectorNamespaces } from "./llamaindex-format.js";
import { SimpleGraphStore } from "./simple-graph-store.js";

/** Where a damaged value sits. */
export interface LlamaIndexDamage {
  /** Path of the file (inside the FileSystem). */
  file: string;
  /** The collection (docstore/index store), or the top-level member (`embedding_dict`, `nodes`, `store`...). */
  collection?: string;
  key?: string;
  message: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function damaged(file: string, collection: string | undefined, key: string | undefined, message: string, cause?: unknown): StorageError {
  const where = [collection !== undefined ? `collection ${JSON.stringify(collection)}` : "", key !== undefined ? `key ${JSON.stringify(key)}` : ""]
    .filter(Boolean)
    .join(", ");
  return errors.corrupt(`${file}${where ? `: ${where}` : ""}: ${message}`, {
    cause,
    details: { file, ...(collection !== undefined ? { collection } : {}), ...(key !== undefined ? { key } : {}) },
  });
}

const causeMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function topObject(value: unknown, file: string): Record<string, unknown> {
  if (!isObject(value)) throw damaged(file, undefined, undefined, "does not hold a JSON object");
  return value;
}

function collections(value: unknown, file: string): [string, Record<string, unknown>][] {
  const out: [string, Record<string, unknown>][] = [];
  for (const [c, entries] of Object.entries(topObject(value, file))) {
    if (!isObject(entries)) throw damaged(file, c, undefined, "the collection is not an object");
    out.push([c, entries]);
  }
  return out;
}

/** `__type__` of Python's `Node` class (`ObjectType.MULTIMODAL`). */
const PYTHON_NODE_TYPES: ReadonlySet<string> = new Set(["5", "Node"]);

function parseData(d: unknown): unknown {
  if (typeof d !== "string") return d;
  try {
    return JSON.parse(d) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Checks every value of a parsed `docstore.json`: each node in `{ns}/data` must be a
 * `{__type__, __data__}` LlamaIndex reads (known type, `__data__` an object or a JSON string of one,
 * well-typed fields); `{ns}/metadata` and `{ns}/ref_doc_info` entries must be objects of the right
 * shape. Throws `CORRUPT` at the first damaged value.
 */
export function checkDocstoreDict(value: unknown, file: string): void {
  for (const [c, entries] of collections(value, file)) {
    for (const key of Object.keys(entries)) {
      const v = entries[key];
      if (!isObject(v)) throw damaged(file, c, key, "the value is not an object");
      if (c === "data" || c.endsWith("/data")) {
        if (PYTHON_NODE_TYPES.has(v["__type__"] as string)) {
          // Python's multimodal `Node` (0.12+): a node LlamaIndex reads, which this library does
          // not read yet (reading it is an error then): only its envelope is checked here.
          if (!isObject(parseData(v["__data__"]))) throw damaged(file, c, key, "__data__ is not an object (or a JSON string of one)");
          continue;
        }
        try {
          jsonToNode(v);
        } catch (err) {
          throw damaged(file, c, key, causeMessage(err), err);
        }
      } else if (c.endsWith("/metadata")) {
        if (v["doc_hash"] !== undefined && v["doc_hash"] !== null && typeof v["doc_hash"] !== "string") throw damaged(file, c, key, "doc_hash is not a string");
        if (v["ref_doc_id"] !== undefined && v["ref_doc_id"] !== null && typeof v["ref_doc_id"] !== "string") throw damaged(file, c, key, "ref_doc_id is not a string");
      } else if (c.endsWith("/ref_doc_info")) {
        const ids = v["node_ids"];
        if (ids !== undefined && (!Array.isArray(ids) || ids.some((x) => typeof x !== "string"))) throw damaged(file, c, key, "node_ids is not a list of strings");
        if (v["metadata"] !== undefined && v["metadata"] !== null && !isObject(v["metadata"])) throw damaged(file, c, key, "metadata is not an object");
      }
    }
  }
}

/**
 * Checks every index struct of a parsed `index_store.json` (`{__type__, __data__}` with a string
 * type and `__data__` an object or a JSON string of one). Throws `CORRUPT` at the first damaged one.
 */
export function checkIndexStoreDict(value: unknown, file: string): void {
  for (const [c, entries] of collections(value, file)) {
    for (const key of Object.keys(entries)) {
      const v = entries[key];
      if (!isObject(v)) throw damaged(file, c, key, "the value is not an object");
      if (c === "data" || c.endsWith("/data")) {
        try {
          jsonToIndexStruct(v as JsonObject, key);
        } catch (err) {
          throw damaged(file, c, key, causeMessage(err), err);
        }
      }
    }
  }
}

function checkVectorDict(value: unknown, file: string): void {
  const o = topObject(value, file);
  for (const c of ["embedding_dict", "text_id_to_ref_doc_id", "metadata_dict"]) {
    const part = o[c];
    if (part === undefined) continue;
    if (!isObject(part)) throw damaged(file, c, undefined, "is not an object");
    for (const key of Object.keys(part)) {
      const v = part[key];
      if (c === "embedding_dict" && (!Array.isArray(v) || v.some((x) => typeof x !== "number"))) throw damaged(file, c, key, "the embedding is not a list of numbers");
      if (c === "text_id_to_ref_doc_id" && typeof v !== "string") throw damaged(file, c, key, "the reference is not a string");
      if (c === "metadata_dict" && !isObject(v)) throw damaged(file, c, key, "the metadata is not an object");
    }
  }
}

function checkGraphDict(value: unknown, file: string): void {
  const gd = topObject(value, file)["graph_dict"];
  if (gd === undefined) return;
  if (!isObject(gd)) throw damaged(file, "graph_dict", undefined, "is not an object");
  for (const key of Object.keys(gd)) {
    const list = gd[key];
    if (!Array.isArray(list) || list.some((p) => !Array.isArray(p) || p.length !== 2 || typeof p[0] !== "string" || typeof p[1] !== "string")) {
      throw damaged(file, "graph_dict", key, "is not a list of [relation, object] pairs");
    }
  }
}

function checkPropertyGraph(value: unknown, file: string): void {
  const o = topObject(value, file);
  for (const c of ["nodes", "relations"]) {
    const part = o[c];
    if (part === undefined) continue;
    if (!isObject(part)) throw damaged(file, c, undefined, "is not an object");
    for (const key of Object.keys(part)) {
      const v = part[key];
      if (!isObject(v)) throw damaged(file, c, key, "the value is not an object");
      // Each node / relation on its own: the store's loader gives the precise message.
      const one = c === "nodes" ? { nodes: { [key]: v }, relations: {} } : { nodes: {}, relations: { [key]: v } };
      try {
        SimplePropertyGraphStore.fromDict(one);
      } catch (err) {
        throw damaged(file, c, key, causeMessage(err).replace(/^property graph document: /, ""), err);
      }
    }
  }
}

function checkChat(value: unknown, file: string): void {
  let dict: Record<string, unknown>;
  try {
    dict = normaliseChatDict(value, file);
  } catch (err) {
    throw damaged(file, undefined, undefined, causeMessage(err).replace(`${file}: `, ""), err);
  }
  const store = dict["store"];
  if (!isObject(store)) throw damaged(file, "store", undefined, "is not an object");
  for (const key of Object.keys(store)) {
    try {
      SimpleChatStore.fromDict({ store: { [key]: store[key] }, class_name: "SimpleChatStore" } as ChatStoreDict);
    } catch (err) {
      throw damaged(file, "store", key, causeMessage(err), err);
    }
  }
}

/** One file of a verified LlamaIndex folder. */
export interface LlamaIndexVerifyFile {
  file: string;
  /** `docstore`, `index_store`, `vector_store/<namespace>`, `graph_store`, `property_graph_store`, `chat_store`. */
  component: string;
  bytes: number;
  ok: boolean;
  /** The first damaged value (when not ok). */
  damage?: LlamaIndexDamage;
}

export interface LlamaIndexVerifyResult {
  ok: boolean;
  files: LlamaIndexVerifyFile[];
  /** The first damaged value of the folder (files in the order listed). */
  firstDamage?: LlamaIndexDamage;
}

/**
 * Verifies a LlamaIndex persist dir (which has no checksums) by parsing every value of every
 * LlamaIndex file in it, the way loading and first reads would: each file is reported ok or with
 * its first damaged value (file, collection, key, message). A directory without LlamaIndex files
 * is `NOT_FOUND`; an I/O failure is thrown as it is.
 */
export async function verifyLlamaIndexFolder(fs: FileSystem, dir: string): Promise<LlamaIndexVerifyResult> {
  const names = await listDir(fs, dir);
  if (!isLlamaIndexDir(names)) throw errors.notFound(`no LlamaIndex files in ${JSON.stringify(dir === "" ? "." : dir)}`, { details: { dir } });
  const checks: [string, string, (v: unknown, path: string) => void][] = [];
  if (names.includes(LLAMAINDEX_FILES.docstore)) checks.push([LLAMAINDEX_FILES.docstore, "docstore", checkDocstoreDict]);
  if (names.includes(LLAMAINDEX_FILES.indexStore)) checks.push([LLAMAINDEX_FILES.indexStore, "index_store", checkIndexStoreDict]);
  for (const [ns, file] of vectorNamespaces(names)) {
    checks.push([
      file,
      `vector_store/${ns}`,
      (v, path) => {
        checkVectorDict(v, path);
        SimpleVectorStore.fromDict(normaliseVectorDict(v, path) as LlamaIndexVectorStoreDict);
      },
    ]);
  }
  if (names.includes(LLAMAINDEX_FILES.graphStore)) {
    checks.push([
      LLAMAINDEX_FILES.graphStore,
      "graph_store",
      (v, path) => {
        checkGraphDict(v, path);
        SimpleGraphStore.fromDict(v);
      },
    ]);
  }
  if (names.includes(LLAMAINDEX_FILES.propertyGraphStore)) {
    checks.push([
      LLAMAINDEX_FILES.propertyGraphStore,
      "property_graph_store",
      (v, path) => {
        checkPropertyGraph(v, path);
        SimplePropertyGraphStore.fromDict(v);
      },
    ]);
  }
  if (names.includes(LLAMAINDEX_FILES.chatStore)) checks.push([LLAMAINDEX_FILES.chatStore, "chat_store", checkChat]);

  const files: LlamaIndexVerifyFile[] = [];
  let firstDamage: LlamaIndexDamage | undefined;
  for (const [name, component, check] of checks) {
    const path = joinPath(dir, name);
    let bytes = 0;
    let damage: LlamaIndexDamage | undefined;
    try {
      const data = await readFile(fs, path);
      bytes = data.byteLength;
      check(parseJsonBytes(data, path, 2), path);
    } catch (err) {
      if (!isStorageError(err) || (err.code !== "CORRUPT" && err.code !== "INVALID_ARGUMENT" && err.code !== "DIMENSION_MISMATCH")) throw err;
      const d = (err.details ?? {}) as { collection?: unknown; key?: unknown };
      damage = {
        file: path,
        ...(typeof d.collection === "string" ? { collection: d.collection } : {}),
        ...(typeof d.key === "string" ? { key: d.key } : {}),
        message: err.message,
      };
    }
    files.push({ file: path, component, bytes, ok: damage === undefined, ...(damage ? { damage } : {}) });
    firstDamage ??= damage;
  }
  return { ok: firstDamage === undefined, files, ...(firstDamage ? { firstDamage } : {}) };
}
