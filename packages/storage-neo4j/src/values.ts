import neo4j from "neo4j-driver";
import { CASE_FOLD_VERSION, foldCase } from "@larder/core/filters";
import {
  DEFAULT_CHUNK_LABEL,
  DEFAULT_ENTITY_LABEL,
  type LabelledNode,
  type Properties,
  type PropertyValue,
  type Relation,
} from "@larder/core";
import { CHUNK_LABEL, ENTITY_LABEL, NAMESPACE_LABEL_PREFIX, NODE_LABEL, namespaceLabel } from "./cypher.js";

/**
 * Properties the store itself keeps on a node (LlamaIndex's layout): `id` (the unique key),
 * `name` (entities), `text` (chunks), `embedding`. A user property with one of these keys, or
 * with a key starting with {@link ESCAPE}, is stored under `ESCAPE + key`, so user data can never
 * overwrite the structure and every key round-trips. `__proto__` is escaped too (on nodes and
 * relations): the driver decodes maps by assignment, which would swallow that key.
 */
export const STRUCTURAL_KEYS: ReadonlySet<string> = new Set(["id", "name", "text", "embedding"]);
export const ESCAPE = "__larder_prop__:";

/**
 * The case fold of `text_match_insensitive` is core's pinned table, not the server's `toLower`
 * (the JVM's Unicode version). So the store keeps, next to every string property whose fold differs
 * from it, `FOLD_PREFIX + storedKey` = its fold, and marks the node with `FOLD_MARKER` = the
 * table's `CASE_FOLD_VERSION` once all of them are written. Both are the store's own properties
 * (never returned as user properties; a user key with these names is escaped).
 */
export const FOLD_PREFIX = "__larder_fold__:";
export const FOLD_MARKER = "__larder_fold__";

const isFoldKey = (key: string) => key === FOLD_MARKER || key.startsWith(FOLD_PREFIX);

export function encodeKey(key: string, onNode = true): string {
  return (onNode && STRUCTURAL_KEYS.has(key)) || key === "__proto__" || key.startsWith(ESCAPE) || isFoldKey(key) ? ESCAPE + key : key;
}

/** The user key of a stored key; undefined for the store's own node properties. */
export function decodeKey(stored: string, onNode = true): string | undefined {
  if (stored.startsWith(ESCAPE)) return stored.slice(ESCAPE.length);
  return onNode && (STRUCTURAL_KEYS.has(stored) || isFoldKey(stored)) ? undefined : stored;
}

/**
 * The fold properties to merge (`SET n += ...`) for a node whose stored user properties become
 * `stored` (encoded keys; a null value removes the key): `FOLD_PREFIX + key` = fold for every string
 * value the fold changes, null (remove) for every other key in `stored` and for every fold property
 * in `previous` (the node's current properties when its fold marker is not current) no longer needed.
 */
export function foldProperties(stored: Record<string, unknown>, previous?: Record<string, unknown>): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  const set = (k: string, v: string | null) => Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  if (previous) {
    for (const k of Object.keys(previous)) if (k.startsWith(FOLD_PREFIX)) set(k, null);
    for (const [k, v] of Object.entries(previous)) {
      if (!Object.prototype.hasOwnProperty.call(stored, k) && decodeKey(k) !== undefined) fold1(k, v, set);
    }
  }
  for (const [k, v] of Object.entries(stored)) fold1(k, v, set);
  return out;
}

function fold1(k: string, v: unknown, set: (k: string, v: string | null) => void): void {
  const f = typeof v === "string" ? foldCase(v) : undefined;
  set(FOLD_PREFIX + k, f !== undefined && f !== v ? f : null);
}

export { CASE_FOLD_VERSION };

/** User properties -> the map given to `SET x += $props` (null values remove keys there). */
export function encodeProperties(props: Properties | undefined, onNode = true): Record<string, PropertyValue> {
  const out: Record<string, PropertyValue> = {};
  if (!props) return out;
  for (const [k, v] of Object.entries(props)) {
    Object.defineProperty(out, encodeKey(k, onNode), { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Converts driver values to plain JS: Integer -> number, graph objects -> plain maps. */
export function toPlain(value: unknown): unknown {
  if (value === null || value === undefined) return value ?? null;
  if (neo4j.isInt(value)) return (value as { toNumber(): number }).toNumber();
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map(toPlain);
  if (typeof value !== "object") return value;
  if (neo4j.isNode(value as never)) {
    const n = value as unknown as { elementId: string; labels: string[]; properties: Record<string, unknown> };
    return { elementId: n.elementId, labels: [...n.labels], properties: toPlainMap(n.properties) };
  }
  if (neo4j.isRelationship(value as never)) {
    const r = value as unknown as {
      elementId: string;
      type: string;
      startNodeElementId: string;
      endNodeElementId: string;
      properties: Record<string, unknown>;
    };
    return {
      elementId: r.elementId,
      type: r.type,
      startNodeElementId: r.startNodeElementId,
      endNodeElementId: r.endNodeElementId,
      properties: toPlainMap(r.properties),
    };
  }
  if (neo4j.isPath(value as never)) {
    const p = value as unknown as { start: unknown; end: unknown; segments: { start: unknown; relationship: unknown; end: unknown }[] };
    return {
      start: toPlain(p.start),
      end: toPlain(p.end),
      segments: p.segments.map((s) => ({ start: toPlain(s.start), relationship: toPlain(s.relationship), end: toPlain(s.end) })),
    };
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    // Temporal and spatial values: their ISO / WKT-like string form.
    return String(value);
  }
  return toPlainMap(value as Record<string, unknown>);
}

function toPlainMap(map: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(map)) {
    Object.defineProperty(out, k, { value: toPlain(v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Labels that are structure, not the user's label (namespace labels are recognised by their prefix). */
export function internalLabels(namespace: string | undefined): ReadonlySet<string> {
  const s = new Set([NODE_LABEL, ENTITY_LABEL]);
  if (namespace !== undefined) s.add(namespaceLabel(namespace));
  return s;
}

function isInternal(label: string, internal: ReadonlySet<string>): boolean {
  return internal.has(label) || label.startsWith(NAMESPACE_LABEL_PREFIX);
}

/**
 * The user label of a stored node. We write exactly one user label; nodes written by Python's
 * store carry `__Node__`, `__Entity__` and the entity label, or `__Node__` and `Chunk`. `Chunk`
 * counts as the label only when nothing else is there (a chunk whose label is "Chunk", or one
 * written by Python).
 */
export function userLabel(labels: readonly string[], isEntity: boolean, internal: ReadonlySet<string>): string {
  const rest = labels.filter((l) => !isInternal(l, internal));
  const own = rest.filter((l) => l !== CHUNK_LABEL).sort();
  if (own.length > 0) return own[0]!;
  if (rest.includes(CHUNK_LABEL)) return CHUNK_LABEL;
  return isEntity ? DEFAULT_ENTITY_LABEL : DEFAULT_CHUNK_LABEL;
}

/** A node row as returned by {@link NODE_PROJECTION}: `{labels, props}`. */
export interface NodeRow {
  labels: string[];
  props: Record<string, unknown>;
}

export function decodeProperties(stored: Record<string, unknown>, onNode = true): Properties {
  const out: Properties = {};
  for (const [k, v] of Object.entries(stored)) {
    const key = decodeKey(k, onNode);
    if (key === undefined || v === null || v === undefined) continue;
    Object.defineProperty(out, key, { value: toPlain(v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

export function decodeNode(row: NodeRow, internal: ReadonlySet<string>): LabelledNode {
  const p = row.props;
  const isEntity = row.labels.includes(ENTITY_LABEL);
  const id = String(p["id"]);
  const label = userLabel(row.labels, isEntity, internal);
  const properties = decodeProperties(p);
  const emb = p["embedding"];
  const embedding = Array.isArray(emb) ? (emb.map((x) => Number(toPlain(x))) as number[]) : undefined;
  const node: LabelledNode = isEntity
    ? { kind: "entity", name: id, label, properties }
    : { kind: "chunk", id, text: typeof p["text"] === "string" ? p["text"] : "", label, properties };
  if (embedding) node.embedding = embedding;
  return node;
}

export function decodeRelation(type: string, sourceId: string, targetId: string, props: Record<string, unknown>): Relation {
  return { label: type, sourceId, targetId, properties: decodeProperties(props, false) };
}
