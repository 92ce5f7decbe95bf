import { randomUUID } from "node:crypto";
import type { JsonObject } from "../kv/types.js";
import type { IndexStruct } from "./types.js";

/** LlamaIndex's `IndexStructType` values (the `__type__` of a stored index struct). */
export const IndexStructType = {
  VECTOR_STORE: "vector_store",
  MULTIMODAL: "multimodal",
  LIST: "list",
  KEYWORD_TABLE: "keyword_table",
  TREE: "tree",
  KG: "kg",
  SIMPLE_LPG: "simple_lpg",
  DOCUMENT_SUMMARY: "document_summary",
  EMPTY: "empty",
  SQL: "sql",
  PANDAS: "pandas",
} as const;
export type IndexStructType = (typeof IndexStructType)[keyof typeof IndexStructType];

/** Payload of an `IndexDict` (`VectorStoreIndex`): vector id -> node id, plus two deprecated empty maps. */
export interface IndexDictData extends JsonObject {
  nodes_dict: Record<string, string>;
  doc_id_dict: JsonObject;
  embeddings_dict: JsonObject;
}

export interface IndexDict extends IndexStruct {
  type: "vector_store" | "multimodal";
  data: IndexDictData;
}

/** A new `IndexDict` (LlamaIndex's `IndexDict()`); `indexId` defaults to a random UUID. */
export function createIndexDict(init: { indexId?: string; summary?: string | null; nodesDict?: Record<string, string> } = {}): IndexDict {
  return {
    indexId: init.indexId ?? randomUUID(),
    type: IndexStructType.VECTOR_STORE,
    summary: init.summary ?? null,
    data: { nodes_dict: { ...(init.nodesDict ?? {}) }, doc_id_dict: {}, embeddings_dict: {} },
  };
}

/** `IndexDict.add_node`: records the node under `textId` (default the node id); returns the vector id. */
export function indexDictAddNode(struct: IndexDict, nodeId: string, textId?: string): string {
  const vectorId = textId ?? nodeId;
  struct.data.nodes_dict[vectorId] = nodeId;
  return vectorId;
}

/** `IndexDict.delete`: forgets a vector id; resolves whether it was there. */
export function indexDictDelete(struct: IndexDict, vectorId: string): boolean {
  if (!(vectorId in struct.data.nodes_dict)) return false;
  delete struct.data.nodes_dict[vectorId];
  return true;
}

/** Whether a struct is an `IndexDict` with a well-formed `nodes_dict`. */
export function isIndexDict(struct: IndexStruct): struct is IndexDict {
  const nd = struct.data["nodes_dict"];
  return (
    (struct.type === IndexStructType.VECTOR_STORE || struct.type === IndexStructType.MULTIMODAL) &&
    typeof nd === "object" &&
    nd !== null &&
    !Array.isArray(nd) &&
    Object.values(nd).every((v) => typeof v === "string")
  );
}

/** A new `IndexList` (`SummaryIndex`): an ordered list of node ids. */
export function createIndexList(init: { indexId?: string; summary?: string | null; nodes?: string[] } = {}): IndexStruct {
  return {
    indexId: init.indexId ?? randomUUID(),
    type: IndexStructType.LIST,
    summary: init.summary ?? null,
    data: { nodes: [...(init.nodes ?? [])] },
  };
}
