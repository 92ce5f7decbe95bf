/**
 * LlamaIndex's `property_graph_store.json` shape (pydantic dump of `LabelledPropertyGraph`):
 *
 * ```json
 * { "nodes": { "<id>": {"label", "embedding", "properties", "name"}            // EntityNode
 *              "<id>": {"label", "embedding", "properties", "text", "id_"} },  // ChunkNode
 *   "relations": { "<source>_<label>_<target>": {"label", "source_id", "target_id", "properties"} },
 *   "triplets": [["<source>", "<label>", "<target>"]] }
 * ```
 *
 * Reading: nodes are told apart by shape (`name` → entity, `text` → chunk). The dictionary KEY is
 * the node's id (Python keys entities by `name.replace('"', ' ')`, and relations point at that
 * key), so an entity's name is taken from its key. Relations are read from `relations` (their
 * key is ignored: Python's `src_label_tgt` is ambiguous when ids contain `_`); `triplets` mirrors
 * `relations` and is not needed. Null property values are dropped (null means "no value").
 *
 * Writing: when two relations map to the same Python key (ids containing `_`), the later one
 * gets a `#2`, `#3`… suffix so nothing is lost; Python still loads it (though its own lookups by
 * the ambiguous key then find the first relation for both).
 */
import { errors } from "../errors.js";
import { DEFAULT_CHUNK_LABEL, DEFAULT_ENTITY_LABEL } from "./model.js";
import type { LabelledNode, Properties, Relation } from "./types.js";

export interface EntityNodeJson {
  label: string;
  embedding: number[] | null;
  properties: Properties;
  name: string;
}

export interface ChunkNodeJson {
  label: string;
  embedding: number[] | null;
  properties: Properties;
  text: string;
  id_: string;
}

export interface RelationJson {
  label: string;
  source_id: string;
  target_id: string;
  properties: Properties;
}

export interface PropertyGraphStoreJson {
  nodes: Record<string, EntityNodeJson | ChunkNodeJson>;
  relations: Record<string, RelationJson>;
  triplets: [string, string, string][];
}

function define<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

export function toPythonDict(nodes: Iterable<LabelledNode>, relations: Iterable<Relation>): PropertyGraphStoreJson {
  const outNodes: Record<string, EntityNodeJson | ChunkNodeJson> = {};
  for (const n of nodes) {
    const embedding = n.embedding ? Array.from(n.embedding) : null;
    const properties = structuredClone(n.properties);
    if (n.kind === "entity") {
      define(outNodes, n.name, { label: n.label, embedding, properties, name: n.name });
    } else {
      define(outNodes, n.id, { label: n.label, embedding, properties, text: n.text, id_: n.id });
    }
  }
  const outRelations: Record<string, RelationJson> = {};
  const triplets: [string, string, string][] = [];
  for (const r of relations) {
    const base = `${r.sourceId}_${r.label}_${r.targetId}`;
    let key = base;
    for (let i = 2; Object.hasOwn(outRelations, key); i++) key = `${base}#${i}`;
    define(outRelations, key, {
      label: r.label,
      source_id: r.sourceId,
      target_id: r.targetId,
      properties: structuredClone(r.properties),
    });
    triplets.push([r.sourceId, r.label, r.targetId]);
  }
  return { nodes: outNodes, relations: outRelations, triplets };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Parses the Python shape into nodes and relations (validated later by the store's upserts). */
export function fromPythonDict(json: unknown, store: string): { nodes: LabelledNode[]; relations: Relation[] } {
  const bad = (msg: string) => errors.corrupt(`property graph document: ${msg}`, { store });
  if (!isObject(json)) throw bad("expected an object with `nodes` and `relations`");
  const rawNodes = json["nodes"] ?? {};
  const rawRelations = json["relations"] ?? {};
  if (!isObject(rawNodes)) throw bad("`nodes` must be an object");
  if (!isObject(rawRelations)) throw bad("`relations` must be an object");
  const nodes: LabelledNode[] = [];
  for (const [key, v] of Object.entries(rawNodes)) {
    if (!isObject(v)) throw bad(`node ${JSON.stringify(key)} is not an object`);
    const label = v["label"] ?? undefined;
    const properties = (v["properties"] ?? {}) as Properties;
    const embedding = (v["embedding"] ?? null) as number[] | null;
    if (typeof v["name"] === "string") {
      nodes.push({ kind: "entity", name: key, label: (label ?? DEFAULT_ENTITY_LABEL) as string, properties, embedding });
    } else if (typeof v["text"] === "string") {
      nodes.push({ kind: "chunk", id: key, text: v["text"], label: (label ?? DEFAULT_CHUNK_LABEL) as string, properties, embedding });
    } else {
      throw bad(`node ${JSON.stringify(key)} is neither an entity (name) nor a chunk (text)`);
    }
  }
  const relations: Relation[] = [];
  for (const [key, v] of Object.entries(rawRelations)) {
    if (!isObject(v)) throw bad(`relation ${JSON.stringify(key)} is not an object`);
    relations.push({
      label: v["label"] as string,
      sourceId: v["source_id"] as string,
      targetId: v["target_id"] as string,
      properties: (v["properties"] ?? {}) as Properties,
    });
  }
  return { nodes, relations };
}
