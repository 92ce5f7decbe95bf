/**
 * LlamaIndex's bridge between document nodes and graph chunks (`upsert_llama_nodes` /
 * `get_llama_nodes`): a `TextNode` becomes a `ChunkNode` whose properties are
 * `node_to_metadata_dict(node, remove_text=True)` — the metadata, `_node_content` (the node's JSON
 * without text and embedding, as Python's `json.dumps` writes it), `_node_type`, `document_id`,
 * `doc_id`, `ref_doc_id` — and back.
 */
import { pythonJsonDumps } from "../kv/python-json.js";
import { jsonToNode, TextNode, type BaseNode } from "../schema/node.js";
import { chunkNode, validatePropertyValue } from "./model.js";
import type { ChunkNode, Properties, PropertyValue } from "./types.js";

function isPropertyValue(v: unknown): v is PropertyValue {
  try {
    validatePropertyValue(v, "", {}, false);
    return true;
  } catch {
    // Not storable as a property: the caller encodes it (documented in chunkNodeFromNode).
    return false;
  }
}

/**
 * A chunk for `node`: id and embedding kept, text = the node's content. Metadata values that are
 * not property values (nested objects, mixed arrays) are stored as JSON strings and `null`s are
 * dropped; the exact metadata always survives in `_node_content`, which `nodeFromChunkNode` reads.
 */
export function chunkNodeFromNode(node: BaseNode): ChunkNode {
  const json = node.toJSON();
  const data: Record<string, unknown> = { ...json.__data__, text: "", embedding: null };
  const ref = node.refDocId ?? "None";
  const properties: Properties = {};
  for (const [k, v] of Object.entries(node.metadata)) {
    if (v === null || v === undefined) continue;
    Object.defineProperty(properties, k, {
      value: isPropertyValue(v) ? v : JSON.stringify(v),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  properties["_node_content"] = pythonJsonDumps(data);
  properties["_node_type"] = node.className;
  properties["document_id"] = ref;
  properties["doc_id"] = ref;
  properties["ref_doc_id"] = ref;
  return chunkNode({
    id: node.id,
    text: node.text,
    properties,
    ...(node.embedding ? { embedding: node.embedding } : {}),
  });
}

/**
 * The node a chunk was made from (LlamaIndex's `metadata_dict_to_node` + `set_content`): rebuilt
 * from `_node_content` when present, else a `TextNode` with the chunk's id, text and properties.
 */
export function nodeFromChunkNode(chunk: ChunkNode): BaseNode {
  const content = chunk.properties["_node_content"];
  if (typeof content === "string") {
    const type = chunk.properties["_node_type"];
    const node = jsonToNode({ __data__: JSON.parse(content), __type__: typeof type === "string" ? type : "TextNode" });
    node.text = chunk.text;
    if (chunk.embedding) node.embedding = Array.from(chunk.embedding);
    return node;
  }
  return new TextNode({ id: chunk.id, text: chunk.text, metadata: { ...chunk.properties }, embedding: chunk.embedding ?? null });
}
