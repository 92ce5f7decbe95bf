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
 * Keys: Python keys a node by its id — a chunk's `id_`, an entity's `name` with every `"` replaced
 * by a space (`EntityNode.id`) — and relations point at those keys. Larder keeps an entity's name
 * exactly (its id IS its name), so:
 * - Reading: an entity's name (and id) is its `name` field, never its key; relation endpoints
 *   naming a node's key are mapped to that node's id. Null property values are dropped (null
 *   means "no value"); any other JSON value is kept verbatim (Python accepts nested objects).
 *   Relations are read from `relations` (their key is ignored: Python's `src_label_tgt` is
 *   ambiguous when ids contain `_`); `triplets` mirrors `relations` and is not needed.
 * - Writing: Python's keys (`The "Quoted" Co` is keyed `The  Quoted  Co`, and relations point at
 *   that key), so a folder Python wrote is written back as it was. When that key is already taken
 *   (another node is named `The  Quoted  Co`), the entity is keyed by its exact name instead, so
 *   nothing is merged or lost. When two relations map to the same Python key (ids containing
 *   `_`), the later one gets a `#2`, `#3`… suffix; Python still loads it (though its own lookups
 *   by the ambiguous key then find the first relation for both).
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

/** Python's `EntityNode.id`: the name with every `"` replaced by a space. */
export function pythonEntityKey(name: string): string {
  return name.includes('"') ? name.replaceAll('"', " ") : name;
}

/** The dictionary key of each node (see the module comment), by node id. */
function pythonKeys(nodes: readonly LabelledNode[]): Map<string, string> {
  const keyOf = new Map<string, string>();
  const taken = new Set<string>();
  // Chunks and quote-free entities are keyed by their id (ids are unique); quoted entities then
  // take Python's key when it is free.
  for (const n of nodes) {
    const id = n.kind === "entity" ? n.name : n.id;
    if (n.kind === "entity" && id.includes('"')) continue;
    keyOf.set(id, id);
    taken.add(id);
  }
  for (const n of nodes) {
    if (n.kind !== "entity" || !n.name.includes('"')) continue;
    const py = pythonEntityKey(n.name);
    const key = taken.has(py) ? n.name : py;
    keyOf.set(n.name, key);
    taken.add(key);
  }
  return keyOf;
}

export function toPythonDict(nodes: Iterable<LabelledNode>, relations: Iterable<Relation>): PropertyGraphStoreJson {
  const all = Array.from(nodes);
  const keyOf = pythonKeys(all);
  // An endpoint with no node (not possible in a store, which creates placeholders) keeps Python's key.
  const ref = (id: string) => keyOf.get(id) ?? pythonEntityKey(id);
  const outNodes: Record<string, EntityNodeJson | ChunkNodeJson> = {};
  for (const n of all) {
    const embedding = n.embedding ? Array.from(n.embedding) : null;
    const properties = structuredClone(n.properties);
    if (n.kind === "entity") {
      define(outNodes, keyOf.get(n.name)!, { label: n.label, embedding, properties, name: n.name });
    } else {
      define(outNodes, n.id, { label: n.label, embedding, properties, text: n.text, id_: n.id });
    }
  }
  const outRelations: Record<string, RelationJson> = {};
  const triplets: [string, string, string][] = [];
  for (const r of relations) {
    const source = ref(r.sourceId);
    const target = ref(r.targetId);
    const base = `${source}_${r.label}_${target}`;
    let key = base;
    for (let i = 2; Object.hasOwn(outRelations, key); i++) key = `${base}#${i}`;
    define(outRelations, key, {
      label: r.label,
      source_id: source,
      target_id: target,
      properties: structuredClone(r.properties),
    });
    triplets.push([source, r.label, target]);
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
  /** Dictionary key -> node id (they differ for entities whose name holds `"`). */
  const idOfKey = new Map<string, string>();
  const keyOfId = new Map<string, string>();
  for (const [key, v] of Object.entries(rawNodes)) {
    if (!isObject(v)) throw bad(`node ${JSON.stringify(key)} is not an object`);
    const label = v["label"] ?? undefined;
    const properties = (v["properties"] ?? {}) as Properties;
    const embedding = (v["embedding"] ?? null) as number[] | null;
    let id: string;
    if (typeof v["name"] === "string") {
      id = v["name"];
      nodes.push({ kind: "entity", name: id, label: (label ?? DEFAULT_ENTITY_LABEL) as string, properties, embedding });
    } else if (typeof v["text"] === "string") {
      id = key;
      nodes.push({ kind: "chunk", id, text: v["text"], label: (label ?? DEFAULT_CHUNK_LABEL) as string, properties, embedding });
    } else {
      throw bad(`node ${JSON.stringify(key)} is neither an entity (name) nor a chunk (text)`);
    }
    const other = keyOfId.get(id);
    if (other !== undefined) throw bad(`nodes ${JSON.stringify(other)} and ${JSON.stringify(key)} have the same id ${JSON.stringify(id)}`);
    keyOfId.set(id, key);
    idOfKey.set(key, id);
  }
  const relations: Relation[] = [];
  const endpoint = (v: unknown) => (typeof v === "string" ? (idOfKey.get(v) ?? v) : v);
  for (const [key, v] of Object.entries(rawRelations)) {
    if (!isObject(v)) throw bad(`relation ${JSON.stringify(key)} is not an object`);
    relations.push({
      label: v["label"] as string,
      sourceId: endpoint(v["source_id"]) as string,
      targetId: endpoint(v["target_id"]) as string,
      properties: (v["properties"] ?? {}) as Properties,
    });
  }
  return { nodes, relations };
}
