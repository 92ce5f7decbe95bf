// Node conversion between LlamaIndexTS (`@llamaindex/core/schema`) and Larder (`@larder/core`).
//
// LlamaIndexTS keys relationships by name ("SOURCE") and object types by name ("DOCUMENT"), keeps
// camelCase fields and its own content hash; Larder keeps LlamaIndex's (Python's) JSON model
// (digit codes, snake_case on disk). Everything a LlamaIndexTS text node carries maps to a field of
// a Larder node, so a node converted there and back is equal to the original (same id, text,
// metadata, relationships, embedding, offsets, templates and hash).
import {
  BaseNode as LarderBaseNode,
  type BaseNodeInit,
  Document as LarderDocument,
  errors,
  IndexNode as LarderIndexNode,
  type RelatedNodeInfo as LarderRelatedNodeInfo,
  type Relationships as LarderRelationships,
  TextNode as LarderTextNode,
} from "@larder/core";
import {
  type BaseNode,
  Document,
  IndexNode,
  type Metadata,
  type NodeRelationship,
  type ObjectType,
  type RelatedNodeInfo,
  TextNode,
} from "@llamaindex/core/schema";

const REL_TO_LARDER: Record<string, "1" | "2" | "3" | "4" | "5"> = { SOURCE: "1", PREVIOUS: "2", NEXT: "3", PARENT: "4", CHILD: "5" };
const REL_FROM_LARDER: Record<string, NodeRelationship> = {
  "1": "SOURCE" as NodeRelationship,
  "2": "PREVIOUS" as NodeRelationship,
  "3": "NEXT" as NodeRelationship,
  "4": "PARENT" as NodeRelationship,
  "5": "CHILD" as NodeRelationship,
};
const TYPE_TO_LARDER: Record<string, string> = { TEXT: "1", IMAGE: "2", INDEX: "3", DOCUMENT: "4", IMAGE_DOCUMENT: "2" };
const TYPE_FROM_LARDER: Record<string, ObjectType> = {
  "1": "TEXT" as ObjectType,
  "2": "IMAGE" as ObjectType,
  "3": "INDEX" as ObjectType,
  "4": "DOCUMENT" as ObjectType,
  TextNode: "TEXT" as ObjectType,
  Document: "DOCUMENT" as ObjectType,
  IndexNode: "INDEX" as ObjectType,
  ImageNode: "IMAGE" as ObjectType,
};

/** Larder's default text template; LlamaIndexTS's is `""` and its `getContent` ignores it. */
const LARDER_TEXT_TEMPLATE = "{metadata_str}\n\n{content}";

interface TextLike {
  text?: unknown;
  textTemplate?: unknown;
  startCharIdx?: unknown;
  endCharIdx?: unknown;
  metadataSeparator?: unknown;
  indexId?: unknown;
}

/**
 * A LlamaIndexTS node as a Larder node. Text, document and index nodes are supported; image nodes
 * are `UNSUPPORTED` (their image may be a `Blob`, which no store keeps). The LlamaIndexTS hash is
 * kept as the Larder node's own `hash`, so docstores record the hash LlamaIndexTS compares with.
 */
export function toLarderNode(node: BaseNode, options: { keepEmbedding?: boolean } = {}): LarderBaseNode {
  if (node === null || typeof node !== "object" || typeof (node as { id_?: unknown }).id_ !== "string") {
    throw errors.invalid("expected a LlamaIndexTS node (an object with a string id_)");
  }
  const type = String(node.type);
  if (type === "IMAGE" || type === "IMAGE_DOCUMENT") {
    throw errors.unsupported(`node ${JSON.stringify(node.id_)} is an ${type} node: @larder/llamaindex stores text, document and index nodes only`);
  }
  if (type !== "TEXT" && type !== "DOCUMENT" && type !== "INDEX") throw errors.invalid(`node ${JSON.stringify(node.id_)} has an unknown type ${JSON.stringify(type)}`);
  const t = node as unknown as TextLike;
  const embedding = options.keepEmbedding === false ? null : node.embedding;
  if (embedding !== undefined && embedding !== null && !Array.isArray(embedding)) throw errors.invalid(`node ${JSON.stringify(node.id_)}: embedding must be an array of numbers`);
  const textTemplate = typeof t.textTemplate === "string" && t.textTemplate !== "" ? t.textTemplate : undefined;
  const init: BaseNodeInit = {
    id: node.id_,
    text: typeof t.text === "string" ? t.text : "",
    metadata: node.metadata,
    relationships: relationshipsToLarder(node),
    embedding: embedding ?? null,
    excludedEmbedMetadataKeys: node.excludedEmbedMetadataKeys,
    excludedLlmMetadataKeys: node.excludedLlmMetadataKeys,
    ...(textTemplate !== undefined ? { textTemplate } : {}),
    ...(typeof t.metadataSeparator === "string" ? { metadataSeparator: t.metadataSeparator } : {}),
    startCharIdx: typeof t.startCharIdx === "number" ? t.startCharIdx : null,
    endCharIdx: typeof t.endCharIdx === "number" ? t.endCharIdx : null,
  };
  const out =
    type === "DOCUMENT"
      ? new LarderDocument(init)
      : type === "INDEX"
        ? new LarderIndexNode({ ...init, indexId: typeof t.indexId === "string" ? t.indexId : "" })
        : new LarderTextNode(init);
  const hash = node.hash;
  if (typeof hash === "string" && hash !== "") {
    // Shadows Larder's (Python) hash: LlamaIndexTS's docstore strategies compare their own hashes.
    Object.defineProperty(out, "hash", { value: hash, enumerable: false, configurable: true, writable: true });
  }
  return out;
}

function relationshipsToLarder(node: BaseNode): LarderRelationships {
  const out: Record<string, LarderRelatedNodeInfo | LarderRelatedNodeInfo[]> = {};
  for (const [name, rel] of Object.entries(node.relationships ?? {})) {
    if (rel === undefined) continue;
    const code = REL_TO_LARDER[name];
    if (code === undefined) throw errors.invalid(`node ${JSON.stringify(node.id_)} has an unknown relationship ${JSON.stringify(name)}`);
    out[code] = Array.isArray(rel) ? rel.map(relatedToLarder) : relatedToLarder(rel);
  }
  return out as LarderRelationships;
}

function relatedToLarder(r: RelatedNodeInfo): LarderRelatedNodeInfo {
  if (r === null || typeof r !== "object" || typeof r.nodeId !== "string") throw errors.invalid("a relationship must be {nodeId, metadata, hash?}");
  return {
    nodeId: r.nodeId,
    nodeType: r.nodeType !== undefined ? (TYPE_TO_LARDER[String(r.nodeType)] ?? null) : null,
    metadata: r.metadata ?? {},
    hash: r.hash ?? null,
  };
}

/** A Larder node as a LlamaIndexTS node (`TextNode`, `Document` or `IndexNode`). */
export function fromLarderNode(node: LarderBaseNode, options: { keepEmbedding?: boolean } = {}): BaseNode {
  const relationships: Partial<Record<NodeRelationship, RelatedNodeInfo | RelatedNodeInfo[]>> = {};
  for (const [code, rel] of Object.entries(node.relationships)) {
    const name = REL_FROM_LARDER[code];
    if (name === undefined || rel === undefined) continue;
    relationships[name] = Array.isArray(rel) ? rel.map(relatedFromLarder) : relatedFromLarder(rel as LarderRelatedNodeInfo);
  }
  const init = {
    id_: node.id,
    text: node.text,
    metadata: node.metadata as Metadata,
    relationships,
    excludedEmbedMetadataKeys: node.excludedEmbedMetadataKeys,
    excludedLlmMetadataKeys: node.excludedLlmMetadataKeys,
    ...(options.keepEmbedding !== false && node.embedding !== null ? { embedding: node.embedding } : {}),
    ...(node.textTemplate !== LARDER_TEXT_TEMPLATE ? { textTemplate: node.textTemplate } : {}),
    metadataSeparator: node.metadataSeparator,
    ...(node.startCharIdx !== null ? { startCharIdx: node.startCharIdx } : {}),
    ...(node.endCharIdx !== null ? { endCharIdx: node.endCharIdx } : {}),
  };
  if (node instanceof LarderDocument || node.type === "4") return new Document(init);
  if (node instanceof LarderIndexNode || node.type === "3") return new IndexNode({ ...init, indexId: (node as LarderIndexNode).indexId ?? "" });
  if (node.type === "2") throw errors.unsupported(`node ${JSON.stringify(node.id)} is an image node: @larder/llamaindex reads text, document and index nodes only`);
  return new TextNode(init);
}

function relatedFromLarder(r: LarderRelatedNodeInfo): RelatedNodeInfo {
  const nodeType = r.nodeType !== undefined && r.nodeType !== null ? TYPE_FROM_LARDER[r.nodeType] : undefined;
  return {
    nodeId: r.nodeId,
    metadata: (r.metadata ?? {}) as Metadata,
    ...(nodeType !== undefined ? { nodeType } : {}),
    ...(typeof r.hash === "string" ? { hash: r.hash } : {}),
  };
}
