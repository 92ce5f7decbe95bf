/**
 * Constructors, constants and validation for property graph values. Every store validates with
 * these functions, so "what is a valid label" has one answer across backends.
 */
import { errors } from "../errors.js";
import { sha256 } from "../schema/node.js";
import type {
  ChunkNode,
  EntityNode,
  GraphSchema,
  GraphSchemaPattern,
  GraphSelector,
  LabelledNode,
  Properties,
  PropertyValue,
  RelMapOptions,
  Relation,
  Triplet,
  TripletSelector,
} from "./types.js";

export const DEFAULT_ENTITY_LABEL = "entity";
export const DEFAULT_CHUNK_LABEL = "text_chunk";
/** Property of an entity (and of a relation) naming the chunk it was extracted from (LlamaIndex's). */
export const TRIPLET_SOURCE_KEY = "triplet_source_id";
export const VECTOR_SOURCE_KEY = "vector_source_id";

/** Longest label / relation type / property key, in UTF-16 code units. */
export const MAX_LABEL_LENGTH = 256;
export const MAX_PROPERTY_KEY_LENGTH = 256;
/**
 * Longest node id (entity name, chunk id), in UTF-16 code units: 2048 units are at most 6 KiB of
 * UTF-8, under the ~8 KiB key limit of Neo4j's range indexes that back unique ids.
 */
export const MAX_ID_LENGTH = 2048;

export const RELMAP_DEFAULTS = { depth: 2, limit: 30 } as const;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
/** Fast path: printable ASCII with a non-space character (most labels). */
const PRINTABLE_ASCII = /^[\x20-\x7e]*[\x21-\x7e][\x20-\x7e]*$/;
/** Cheap pre-check: only strings with a surrogate need the (slower) lone-surrogate test. */
const SURROGATE = /[\uD800-\uDFFF]/;
const hasLoneSurrogate = (s: string): boolean => SURROGATE.test(s) && LONE_SURROGATE.test(s);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

type Opts = { store?: string | undefined };

function fail(message: string, o: Opts, details?: Record<string, unknown>): never {
  throw errors.invalid(message, { store: o.store, details });
}

/** Where a value sits, for messages; a thunk so hot paths build no string unless they fail. */
export type Where = string | (() => string);
const at = (w: Where): string => (typeof w === "string" ? w : w());

function preview(s: string): string {
  const cut = s.length > 40 ? `${s.slice(0, 40)}…` : s;
  return JSON.stringify(cut);
}

/**
 * A label or relation type: a string of 1..256 UTF-16 code units with at least one non-space
 * character, well-formed Unicode, and no control characters (U+0000–U+001F, U+007F). Everything
 * else — quotes, backticks, braces, spaces, emoji, any script — is stored exactly: backends quote
 * or bind labels, they never paste them into a query.
 */
export function validateLabel(label: unknown, what: Where = "label", o: Opts = {}): string {
  if (typeof label !== "string") fail(`${at(what)} must be a string, got ${typeof label}`, o);
  if (label.length <= MAX_LABEL_LENGTH && PRINTABLE_ASCII.test(label)) return label;
  if (label.trim() === "") fail(`${at(what)} must not be empty or blank`, o);
  if (label.length > MAX_LABEL_LENGTH) {
    fail(`${at(what)} is ${label.length} characters long; the limit is ${MAX_LABEL_LENGTH}`, o);
  }
  if (CONTROL.test(label)) fail(`${at(what)} ${preview(label)} contains a control character`, o);
  if (hasLoneSurrogate(label)) fail(`${at(what)} ${preview(label)} is not well-formed Unicode (lone surrogate)`, o);
  return label;
}

/** A node id (entity name, chunk id, relation endpoint): 1..2048 code units, well-formed Unicode. */
export function validateId(id: unknown, what = "id", o: Opts = {}): string {
  if (typeof id !== "string") fail(`${what} must be a string, got ${id === null ? "null" : typeof id}`, o);
  if (id.length === 0) fail(`${what} must not be empty`, o);
  if (id.length > MAX_ID_LENGTH) fail(`${what} is ${id.length} characters long; the limit is ${MAX_ID_LENGTH}`, o);
  if (hasLoneSurrogate(id)) fail(`${what} ${preview(id)} is not well-formed Unicode (lone surrogate)`, o);
  return id;
}

/** A property key: validated like a label (1..256 code units, no control characters). */
export function validatePropertyKey(key: string, o: Opts = {}): string {
  return validateLabel(key, "property key", o);
}

function validateString(value: string, where: Where, o: Opts): void {
  if (hasLoneSurrogate(value)) fail(`${at(where)}: string is not well-formed Unicode (lone surrogate)`, o);
}

/**
 * Checks one property value (see `PropertyValue`). `allowNull`: whether `null` ("remove this key")
 * is acceptable here.
 */
export function validatePropertyValue(value: unknown, where: Where, o: Opts = {}, allowNull = true): void {
  if (value === null) {
    if (!allowNull) fail(`${at(where)}: null is not allowed here`, o);
    return;
  }
  switch (typeof value) {
    case "string":
      validateString(value, where, o);
      return;
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(value)) fail(`${at(where)}: ${value} is not a finite number`, o);
      return;
    case "object":
      if (Array.isArray(value)) {
        let type: string | undefined;
        for (const item of value as unknown[]) {
          const t = typeof item;
          if (item === null || (t !== "string" && t !== "number" && t !== "boolean")) {
            fail(`${at(where)}: array items must be strings, numbers or booleans`, o);
          }
          if (type !== undefined && t !== type) fail(`${at(where)}: array items must all have the same type`, o);
          type = t;
          if (t === "number" && !Number.isFinite(item)) fail(`${at(where)}: ${String(item)} is not a finite number`, o);
          if (t === "string") validateString(item as string, where, o);
        }
        return;
      }
      fail(`${at(where)}: nested objects are not property values (store them as a JSON string)`, o);
    // falls through (unreachable: fail throws)
    default:
      fail(`${at(where)}: ${typeof value} is not a property value`, o);
  }
}

/**
 * A property value read from a LlamaIndex file: Python accepts any JSON value (nested objects,
 * nested or mixed arrays), and such values are kept verbatim when loaded (see `validateNode`'s
 * `loaded`). Checked: plain JSON (finite numbers, no functions or `undefined`).
 */
function validateLoadedValue(value: unknown, where: Where, o: Opts): void {
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) fail(`${at(where)}: ${value} is not a finite number`, o);
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) validateLoadedValue(item, where, o);
    return;
  }
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) validateLoadedValue(v, where, o);
    return;
  }
  fail(`${at(where)}: ${typeof value} is not a JSON value`, o);
}

/**
 * Checks a properties object; `allowNull` as in {@link validatePropertyValue}. `loaded`: the
 * properties come from a LlamaIndex file, where any JSON value is accepted (kept verbatim).
 */
export function validateProperties(props: unknown, where: Where, o: Opts = {}, allowNull = true, loaded = false): Properties {
  if (props === undefined) return {};
  if (typeof props !== "object" || props === null || Array.isArray(props)) {
    fail(`${at(where)}: properties must be a plain object`, o);
  }
  for (const [k, v] of Object.entries(props)) {
    validatePropertyKey(k, o);
    if (loaded && v !== null && typeof v === "object") validateLoadedValue(v, () => `${at(where)}, property ${preview(k)}`, o);
    else validatePropertyValue(v, () => `${at(where)}, property ${preview(k)}`, o, allowNull);
  }
  return props as Properties;
}

/** An embedding: a non-empty array of finite numbers, or `null`/`undefined`. */
export function validateEmbedding(e: unknown, where: Where, o: Opts = {}): void {
  if (e === undefined || e === null) return;
  if (!Array.isArray(e) && !(e instanceof Float32Array) && !(e instanceof Float64Array)) {
    fail(`${at(where)}: embedding must be an array of numbers`, o);
  }
  const arr = e as ArrayLike<unknown>;
  if (arr.length === 0) fail(`${at(where)}: embedding must not be empty`, o);
  for (let i = 0; i < arr.length; i++) {
    const x = arr[i];
    if (typeof x !== "number" || !Number.isFinite(Math.fround(x))) fail(`${at(where)}: embedding[${i}] is not a finite float32 number`, o);
  }
}

/** The id of a node: an entity's name, a chunk's id. */
export function nodeId(node: LabelledNode): string {
  return node.kind === "entity" ? node.name : node.id;
}

/**
 * Validates any node (plain objects included) and returns its id. `loaded`: read from a LlamaIndex
 * file, whose property values may be any JSON value (nested objects and arrays Python accepted).
 */
export function validateNode(node: unknown, o: Opts = {}, loaded = false): string {
  if (typeof node !== "object" || node === null) fail("a node must be an object", o);
  const n = node as Partial<EntityNode> & Partial<Omit<ChunkNode, "kind">> & { kind?: unknown };
  let id: string;
  if (n.kind === "entity") {
    id = validateId(n.name, "entity name", o);
  } else if (n.kind === "chunk") {
    id = validateId(n.id, "chunk id", o);
    if (typeof n.text !== "string") fail(`chunk ${preview(id)}: text must be a string`, o);
    validateString(n.text, () => `chunk ${preview(id)} text`, o);
  } else {
    fail(`a node's kind must be "entity" or "chunk", got ${JSON.stringify(n.kind) ?? "undefined"}`, o);
  }
  validateLabel(n.label, () => `label of node ${preview(id)}`, o);
  validateProperties(n.properties, () => `node ${preview(id)}`, o, true, loaded);
  validateEmbedding(n.embedding, () => `node ${preview(id)}`, o);
  return id;
}

/** Validates any relation (plain objects included); `loaded` as in {@link validateNode}. */
export function validateRelation(rel: unknown, o: Opts = {}, loaded = false): Relation {
  if (typeof rel !== "object" || rel === null) fail("a relation must be an object", o);
  const r = rel as Partial<Relation>;
  validateLabel(r.label, "relation label", o);
  validateId(r.sourceId, "relation sourceId", o);
  validateId(r.targetId, "relation targetId", o);
  validateProperties(r.properties, () => `relation ${preview(`${r.sourceId}-[${r.label}]->${r.targetId}`)}`, o, true, loaded);
  return r as Relation;
}

function copyEmbedding(e: readonly number[] | ArrayLike<number> | null | undefined): number[] | null | undefined {
  if (e === undefined || e === null) return e;
  return Array.from(e);
}

/** Builds (and validates) an entity; `label` defaults to `"entity"`. */
export function entityNode(init: {
  name: string;
  label?: string;
  properties?: Properties;
  embedding?: readonly number[] | null;
}): EntityNode {
  const node: EntityNode = {
    kind: "entity",
    name: init.name,
    label: init.label ?? DEFAULT_ENTITY_LABEL,
    properties: { ...init.properties },
  };
  if (init.embedding !== undefined) node.embedding = copyEmbedding(init.embedding);
  validateNode(node);
  return node;
}

/**
 * Builds (and validates) a chunk; `label` defaults to `"text_chunk"`; `id` defaults to the
 * sha256 hex digest of the text (stable across processes, unlike Python's `hash(text)`).
 */
export function chunkNode(init: {
  text: string;
  id?: string;
  label?: string;
  properties?: Properties;
  embedding?: readonly number[] | null;
}): ChunkNode {
  if (typeof init.text !== "string") fail("chunk text must be a string", {});
  const node: ChunkNode = {
    kind: "chunk",
    id: init.id ?? sha256(init.text),
    text: init.text,
    label: init.label ?? DEFAULT_CHUNK_LABEL,
    properties: { ...init.properties },
  };
  if (init.embedding !== undefined) node.embedding = copyEmbedding(init.embedding);
  validateNode(node);
  return node;
}

/** Builds (and validates) a relation; endpoints may be given as nodes or ids. */
export function relation(init: {
  label: string;
  sourceId?: string;
  targetId?: string;
  source?: LabelledNode;
  target?: LabelledNode;
  properties?: Properties;
}): Relation {
  const rel: Relation = {
    label: init.label,
    sourceId: (init.source ? nodeId(init.source) : init.sourceId) as string,
    targetId: (init.target ? nodeId(init.target) : init.targetId) as string,
    properties: { ...init.properties },
  };
  validateRelation(rel);
  return rel;
}

/** `[source, relation, target]` with a relation built from the two nodes. */
export function triplet(source: LabelledNode, label: string, target: LabelledNode, properties?: Properties): Triplet {
  return [source, relation({ label, source, target, ...(properties ? { properties } : {}) }), target];
}

/**
 * An unambiguous string key for `(sourceId, label, targetId)` (length-prefixed, unlike Python's
 * `f"{source}_{label}_{target}"` which confuses ids containing `_`).
 */
export function relationKey(sourceId: string, label: string, targetId: string): string {
  return `${sourceId.length}:${sourceId}${label.length}:${label}${targetId}`;
}

/** Strict equality of property values (no coercion; arrays item by item). */
export function propertyValueEquals(a: PropertyValue | undefined, b: PropertyValue | undefined): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  return false;
}

/** Whether `props` has every key of `wanted` with an equal value (AND). */
export function matchesProperties(props: Properties, wanted: Properties): boolean {
  for (const k in wanted) {
    if (!Object.hasOwn(wanted, k)) continue;
    if (!Object.hasOwn(props, k)) return false;
    if (!propertyValueEquals(props[k], wanted[k])) return false;
  }
  return true;
}

/**
 * Merges `update` into `base` (new values win, `null` removes the key). Returns a new object; a
 * key named `__proto__` is defined, not assigned, so it stays an ordinary own property.
 */
export function mergeProperties(base: Properties | undefined, update: Properties | undefined): Properties {
  const out: Properties = { ...base };
  if (update) {
    for (const [k, v] of Object.entries(update)) {
      if (v === null) delete out[k];
      else if (k === "__proto__") Object.defineProperty(out, k, { value: cloneValue(v), enumerable: true, writable: true, configurable: true });
      else out[k] = cloneValue(v);
    }
  }
  return out;
}

function cloneValue(v: PropertyValue): PropertyValue {
  return Array.isArray(v) ? (v.slice() as PropertyValue) : v;
}

function validateStringList(list: unknown, what: string, o: Opts, check: (s: unknown, w: string, o: Opts) => string): void {
  if (list === undefined) return;
  if (!Array.isArray(list)) fail(`${what} must be an array of strings`, o);
  for (const item of list) check(item, `${what} item`, o);
}

/** Validates a `get` selector (selector property values must not be null). */
export function validateGraphSelector(sel: GraphSelector | undefined, o: Opts = {}): void {
  if (sel === undefined) return;
  if (typeof sel !== "object" || sel === null) fail("selector must be an object", o);
  validateStringList(sel.ids, "ids", o, (s, w, oo) => validateId(s, w, oo));
  if (sel.properties !== undefined) validateProperties(sel.properties, "selector", o, false);
}

/** Validates a `getTriplets`/`delete` selector. */
export function validateTripletSelector(sel: TripletSelector | undefined, o: Opts = {}): void {
  validateGraphSelector(sel, o);
  if (sel === undefined) return;
  validateStringList(sel.entityNames, "entityNames", o, (s, w, oo) => validateId(s, w, oo));
  validateStringList(sel.relationNames, "relationNames", o, (s, w, oo) => validateLabel(s, w, oo));
}

/** Whether the selector has at least one criterion (an empty list counts as a criterion). */
export function hasCriteria(sel: TripletSelector | undefined): boolean {
  if (!sel) return false;
  return (
    sel.ids !== undefined ||
    sel.entityNames !== undefined ||
    sel.relationNames !== undefined ||
    (sel.properties !== undefined && Object.keys(sel.properties).length > 0)
  );
}

/** Validates `getRelMap` options and fills the defaults. */
export function resolveRelMapOptions(options: RelMapOptions | undefined, o: Opts = {}): Required<RelMapOptions> {
  const depth = options?.depth ?? RELMAP_DEFAULTS.depth;
  const limit = options?.limit ?? RELMAP_DEFAULTS.limit;
  if (!Number.isInteger(depth) || depth < 0) fail(`depth must be an integer ≥ 0, got ${String(depth)}`, o);
  if (!Number.isInteger(limit) || limit < 0) fail(`limit must be an integer ≥ 0, got ${String(limit)}`, o);
  const ignoreRels = options?.ignoreRels ?? [];
  validateStringList(ignoreRels, "ignoreRels", o, (s, w, oo) => {
    if (typeof s !== "string") fail(`${w} must be a string`, oo);
    return s;
  });
  return { depth, limit, ignoreRels };
}

/** Validates the seeds of `getRelMap` and returns their distinct ids, in order. */
export function seedIds(nodes: readonly LabelledNode[], o: Opts = {}): string[] {
  if (!Array.isArray(nodes)) fail("getRelMap: nodes must be an array of nodes", o);
  const seen = new Set<string>();
  for (const n of nodes) {
    if (typeof n !== "object" || n === null) fail("getRelMap: each seed must be a node", o);
    const id = n.kind === "entity" ? n.name : n.kind === "chunk" ? n.id : fail("getRelMap: a seed's kind must be \"entity\" or \"chunk\"", o);
    validateId(id, "seed id", o);
    seen.add(id);
  }
  return [...seen];
}

/**
 * The schema as prompt text (LlamaIndex's `get_schema_str`): node properties by label,
 * relationship properties by type, then the relationship patterns. Labels are printed as stored
 * (JSON-quoted when they are not plain identifiers), so a hostile label cannot forge a line.
 */
export function formatGraphSchema(schema: GraphSchema): string {
  const name = (s: string) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? s : JSON.stringify(s));
  const props = (m: Record<string, string[]>) =>
    Object.entries(m).map(([label, keys]) => `- ${name(label)}: ${keys.length ? keys.map(name).join(", ") : "(none)"}`);
  return [
    "Node properties:",
    ...props(schema.nodeProperties),
    "Relationship properties:",
    ...props(schema.relationProperties),
    "The relationships:",
    ...schema.patterns.map((p) => `(:${name(p.source)})-[:${name(p.relation)}]->(:${name(p.target)})`),
  ].join("\n");
}

/**
 * Builds a {@link GraphSchema} from what a store collected (label -> property keys, and patterns keyed
 * by any string unique per pattern). Every list is sorted by UTF-16 code units, so two backends
 * holding the same graph report the same schema.
 */
export function graphSchemaFrom(
  nodeProps: ReadonlyMap<string, ReadonlySet<string>>,
  relProps: ReadonlyMap<string, ReadonlySet<string>>,
  patterns: ReadonlyMap<string, GraphSchemaPattern>,
): GraphSchema {
  const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const sorted = (it: Iterable<string>) => [...it].sort(order);
  return {
    nodeLabels: sorted(nodeProps.keys()),
    relationTypes: sorted(relProps.keys()),
    // Object.fromEntries defines own properties, so a label named "__proto__" stays a key.
    nodeProperties: Object.fromEntries(sorted(nodeProps.keys()).map((l) => [l, sorted(nodeProps.get(l)!)])),
    relationProperties: Object.fromEntries(sorted(relProps.keys()).map((l) => [l, sorted(relProps.get(l)!)])),
    patterns: [...patterns.entries()].sort(([a], [b]) => order(a, b)).map(([, p]) => p),
  };
}
