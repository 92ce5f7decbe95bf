import { errors } from "../errors.js";
import { VectorMatrix } from "../vector/kernel.js";
import {
  DEFAULT_ENTITY_LABEL,
  graphSchemaFrom,
  hasCriteria,
  matchesProperties,
  mergeProperties,
  nodeId,
  resolveRelMapOptions,
  seedIds,
  validateGraphSelector,
  validateNode,
  validateRelation,
  validateTripletSelector,
} from "./model.js";
import { fromPythonDict, toPythonDict, type PropertyGraphStoreJson } from "./python-format.js";
import { graphVectorQuery, SIMPLE_GRAPH_FILTER_OPERATORS } from "./vector-query.js";
import type {
  GraphSchema,
  GraphSchemaPattern,
  GraphSelector,
  GraphVectorQuery,
  GraphVectorQueryResult,
  LabelledNode,
  PropertyGraphCapabilities,
  PropertyGraphStore,
  Properties,
  RelMapOptions,
  Relation,
  Triplet,
  TripletSelector,
} from "./types.js";

const STORE = "SimplePropertyGraphStore";
const o = { store: STORE };

/** Freezes a stored value: the object, its properties and their array values (known shape). */
function freezeStored<T extends { properties: Properties; embedding?: number[] | null }>(value: T): T {
  const props = value.properties;
  for (const k in props) {
    const v = props[k] as unknown;
    if (typeof v === "object" && v !== null) deepFreeze(v);
  }
  Object.freeze(props);
  // Embedding arrays are NOT frozen: freezing a double array makes V8 box every component.
  return Object.freeze(value);
}

/** Freezes a JSON value (nested values loaded from a LlamaIndex file included). */
function deepFreeze(v: object): void {
  if (Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const x of Object.values(v)) if (typeof x === "object" && x !== null) deepFreeze(x as object);
}

/** A node and its adjacency. The slot outlives merges of the node (only `node` is replaced). */
interface NodeSlot {
  node: LabelledNode;
  /** Outgoing / incoming relations (arrays with back-pointers: O(1) swap-remove, no hashing). */
  out: RelEntry[] | undefined;
  in: RelEntry[] | undefined;
  /**
   * Lookup of outgoing relations by target slot, built once the out-degree passes
   * `OUT_INDEX_THRESHOLD` (below it a scan of `out` is cheaper than a map).
   */
  outIndex: Map<NodeSlot, RelEntry | RelEntry[]> | undefined;
  /** Traversal epoch marks (visited), see `nextEpoch`. */
  mark: number;
}

interface RelEntry {
  rel: Relation;
  source: NodeSlot;
  target: NodeSlot;
  mark: number;
  /** Positions in `rels`, the type list, `source.out`, `target.in`. */
  pos: number;
  typePos: number;
  outPos: number;
  inPos: number;
}

const OUT_INDEX_THRESHOLD = 16;

/** Removes `list[i]` by moving the last item into its place; `setPos` re-points the moved item. */
function swapRemove<T>(list: T[], i: number, setPos: (item: T, pos: number) => void): void {
  const last = list.pop()!;
  if (i < list.length) {
    list[i] = last;
    setPos(last, i);
  }
}

function findOut(source: NodeSlot, target: NodeSlot, label: string): RelEntry | undefined {
  if (source.outIndex) {
    const v = source.outIndex.get(target);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) return v.rel.label === label ? v : undefined;
    for (const e of v) if (e.rel.label === label) return e;
    return undefined;
  }
  const out = source.out;
  if (out) for (let i = 0; i < out.length; i++) if (out[i]!.target === target && out[i]!.rel.label === label) return out[i];
  return undefined;
}

function indexOut(index: Map<NodeSlot, RelEntry | RelEntry[]>, e: RelEntry): void {
  const v = index.get(e.target);
  if (v === undefined) index.set(e.target, e);
  else if (Array.isArray(v)) v.push(e);
  else index.set(e.target, [v, e]);
}

function unindexOut(index: Map<NodeSlot, RelEntry | RelEntry[]>, e: RelEntry): void {
  const v = index.get(e.target);
  if (v === e) index.delete(e.target);
  else if (Array.isArray(v)) {
    const rest = v.filter((x) => x !== e);
    if (rest.length === 1) index.set(e.target, rest[0]!);
    else index.set(e.target, rest);
  }
}

/**
 * LlamaIndex's in-memory property graph, with indexes: nodes by id; each node's outgoing and
 * incoming relations; relations by type. Upserts are O(batch), deletes O(1) per relation,
 * `getRelMap` touches only the neighbourhood it returns (epoch marks, no per-call sets), and
 * embeddings live in the core vector kernel's matrix.
 *
 * Stored values are frozen (except embedding arrays, for speed) and handed out as is (no copy per
 * read): never mutate them; build a new value and upsert it.
 */
export class SimplePropertyGraphStore implements PropertyGraphStore {
  readonly capabilities: PropertyGraphCapabilities = {
    structuredQuery: false,
    vectorQuery: true,
    filterOperators: SIMPLE_GRAPH_FILTER_OPERATORS,
    nestedFilters: true,
  };

  private readonly nodes = new Map<string, NodeSlot>();
  /** Every relation. */
  private readonly rels: RelEntry[] = [];
  /** relation label -> relations. */
  private readonly byType = new Map<string, RelEntry[]>();
  private epoch = 0;
  /**
   * Embeddings in the core vector kernel's matrix (float32, SIMD-scored); `rowIds[row]` is the
   * node id of a row. The matrix fixes the dimension; it is dropped when its last row goes.
   */
  private matrix: VectorMatrix | undefined;
  private rowIds: string[] = [];
  private readonly rowOf = new Map<string, number>();
  private schemaCache: GraphSchema | undefined;

  /** Number of nodes / relations stored (cheap; for tests and tooling). */
  get size(): { nodes: number; relations: number } {
    return { nodes: this.nodes.size, relations: this.rels.length };
  }

  async get(selector?: GraphSelector): Promise<LabelledNode[]> {
    validateGraphSelector(selector, o);
    const props = selector?.properties;
    const hasProps = props !== undefined && Object.keys(props).length > 0;
    const out: LabelledNode[] = [];
    if (selector?.ids !== undefined) {
      const epoch = this.nextEpoch();
      for (const id of selector.ids) {
        const slot = this.nodes.get(id);
        if (!slot || slot.mark === epoch) continue;
        slot.mark = epoch;
        if (!hasProps || matchesProperties(slot.node.properties, props)) out.push(slot.node);
      }
      return out;
    }
    for (const slot of this.nodes.values()) {
      if (!hasProps || matchesProperties(slot.node.properties, props)) out.push(slot.node);
    }
    return out;
  }

  async getTriplets(selector?: TripletSelector): Promise<Triplet[]> {
    validateTripletSelector(selector, o);
    const out: Triplet[] = [];
    const matches = this.matcher(selector);
    for (const e of this.candidateRelations(selector)) {
      if (matches(e)) out.push([e.source.node, e.rel, e.target.node]);
    }
    return out;
  }

  async getRelMap(nodes: readonly LabelledNode[], options?: RelMapOptions): Promise<Triplet[]> {
    const { depth, limit, ignoreRels } = resolveRelMapOptions(options, o);
    const seeds = seedIds(nodes, o);
    const out: Triplet[] = [];
    if (depth === 0 || limit === 0) return out;
    const ignore = ignoreRels.length ? new Set(ignoreRels) : undefined;
    const epoch = this.nextEpoch();
    let frontier: NodeSlot[] = [];
    for (const id of seeds) {
      const slot = this.nodes.get(id);
      if (slot && slot.mark !== epoch) {
        slot.mark = epoch;
        frontier.push(slot);
      }
    }
    // Breadth first: every triplet of hop h is emitted before any of hop h+1, so truncating at
    // `limit` keeps the nearest ones.
    for (let hop = 1; hop <= depth && frontier.length > 0; hop++) {
      const next: NodeSlot[] = [];
      for (const slot of frontier) {
        for (const adj of [slot.out, slot.in]) {
          if (!adj) continue;
          for (const e of adj) {
            if (e.mark === epoch || (ignore && ignore.has(e.rel.label))) continue;
            e.mark = epoch;
            out.push([e.source.node, e.rel, e.target.node]);
            if (out.length >= limit) return out;
            const other = e.source === slot ? e.target : e.source;
            if (other.mark !== epoch) {
              other.mark = epoch;
              next.push(other);
            }
          }
        }
      }
      frontier = next;
    }
    return out;
  }

  async upsertNodes(nodes: readonly LabelledNode[]): Promise<void> {
    this.upsertNodesSync(nodes);
  }

  async upsertRelations(relations: readonly Relation[]): Promise<void> {
    this.upsertRelationsSync(relations);
  }

  async delete(selector: TripletSelector): Promise<void> {
    validateTripletSelector(selector, o);
    if (!hasCriteria(selector)) {
      throw errors.invalid("delete needs at least one of entityNames, ids, relationNames, properties (it never deletes everything)", o);
    }
    const slots = new Set<NodeSlot>();
    const entries = new Set<RelEntry>();
    for (const id of selector.ids ?? []) {
      const slot = this.nodes.get(id);
      if (slot) slots.add(slot);
    }
    for (const name of selector.entityNames ?? []) {
      const slot = this.nodes.get(name);
      if (slot?.node.kind === "entity") slots.add(slot);
    }
    for (const type of selector.relationNames ?? []) for (const e of this.byType.get(type) ?? []) entries.add(e);
    const props = selector.properties;
    if (props !== undefined && Object.keys(props).length > 0) {
      for (const slot of this.nodes.values()) if (matchesProperties(slot.node.properties, props)) slots.add(slot);
      for (const e of this.rels) if (matchesProperties(e.rel.properties, props)) entries.add(e);
    }
    for (const slot of slots) {
      for (const e of slot.out ?? []) entries.add(e);
      for (const e of slot.in ?? []) entries.add(e);
    }
    for (const e of entries) this.removeRelation(e);
    for (const slot of slots) {
      const id = nodeId(slot.node);
      this.setEmbedding(id, undefined);
      this.nodes.delete(id);
    }
    if (slots.size || entries.size) this.schemaCache = undefined;
  }

  async getSchema(refresh = false): Promise<GraphSchema> {
    if (!this.schemaCache || refresh) this.schemaCache = this.computeSchema();
    return structuredClone(this.schemaCache);
  }

  async structuredQuery(_query: string, _params?: Record<string, unknown>): Promise<Record<string, unknown>[]> {
    throw errors.unsupported("structuredQuery is not supported: the in-memory store has no query language", o);
  }

  async vectorQuery(query: GraphVectorQuery): Promise<GraphVectorQueryResult> {
    return graphVectorQuery(
      { matrix: this.matrix, rowOf: this.rowOf, rowIds: this.rowIds, node: (id) => this.nodes.get(id)?.node },
      query,
      STORE,
    );
  }

  /** The graph in Python's `property_graph_store.json` shape (see ./python-format.ts). */
  toDict(): PropertyGraphStoreJson {
    return toPythonDict(
      Array.from(this.nodes.values(), (s) => s.node),
      Array.from(this.rels, (e) => e.rel),
    );
  }

  /**
   * Loads Python's `property_graph_store.json` shape; a malformed document is `CORRUPT`. Property
   * values may be any JSON value there (Python accepts nested objects): they are kept verbatim and
   * written back unchanged, although `upsertNodes`/`upsertRelations` accept only `PropertyValue`s.
   */
  static fromDict(json: unknown): SimplePropertyGraphStore {
    const { nodes, relations } = fromPythonDict(json, STORE);
    const store = new SimplePropertyGraphStore();
    try {
      store.upsertNodesSync(nodes, true);
      store.upsertRelationsSync(relations, true);
    } catch (e) {
      throw errors.corrupt(`property graph document: ${e instanceof Error ? e.message : String(e)}`, { ...o, cause: e });
    }
    return store;
  }

  // -- internals -----------------------------------------------------------------------------

  private nextEpoch(): number {
    this.epoch = this.epoch >= 0x3fffffff ? 1 : this.epoch + 1;
    if (this.epoch === 1) {
      // Wrapped around (after ~10^9 traversals): clear stale marks once.
      for (const slot of this.nodes.values()) slot.mark = 0;
      for (const e of this.rels) e.mark = 0;
    }
    return this.epoch;
  }

  private upsertNodesSync(nodes: readonly LabelledNode[], loaded = false): void {
    if (!Array.isArray(nodes)) throw errors.invalid("upsertNodes expects an array of nodes", o);
    // Validate the whole batch (including embedding dimensions) before writing anything.
    let dim = this.matrix?.dim;
    for (const n of nodes) {
      validateNode(n, o, loaded);
      const e = n.embedding;
      if (e) {
        if (dim !== undefined && e.length !== dim) {
          throw errors.dimension(`node ${JSON.stringify(nodeId(n))} has an embedding of dimension ${e.length}; the store holds dimension ${dim}`, o);
        }
        dim = e.length;
      }
    }
    for (const n of nodes) this.putNode(n);
    if (nodes.length) this.schemaCache = undefined;
  }

  private upsertRelationsSync(relations: readonly Relation[], loaded = false): void {
    if (!Array.isArray(relations)) throw errors.invalid("upsertRelations expects an array of relations", o);
    for (const r of relations) validateRelation(r, o, loaded);
    for (const r of relations) {
      const source = this.slotOrPlaceholder(r.sourceId);
      const target = this.slotOrPlaceholder(r.targetId);
      const prev = findOut(source, target, r.label);
      const rel: Relation = freezeStored({
        label: r.label,
        sourceId: r.sourceId,
        targetId: r.targetId,
        properties: mergeProperties(prev?.rel.properties, r.properties),
      });
      if (prev) {
        prev.rel = rel;
        continue;
      }
      let typed = this.byType.get(r.label);
      if (!typed) this.byType.set(r.label, (typed = []));
      const out = (source.out ??= []);
      const inc = (target.in ??= []);
      const e: RelEntry = { rel, source, target, mark: 0, pos: this.rels.length, typePos: typed.length, outPos: out.length, inPos: inc.length };
      this.rels.push(e);
      typed.push(e);
      out.push(e);
      inc.push(e);
      if (source.outIndex) indexOut(source.outIndex, e);
      else if (out.length > OUT_INDEX_THRESHOLD) {
        source.outIndex = new Map();
        for (const x of out) indexOut(source.outIndex, x);
      }
    }
    if (relations.length) this.schemaCache = undefined;
  }

  private slotOrPlaceholder(id: string): NodeSlot {
    let slot = this.nodes.get(id);
    if (!slot) {
      const node: LabelledNode = freezeStored({ kind: "entity", name: id, label: DEFAULT_ENTITY_LABEL, properties: {} });
      slot = { node, out: undefined, in: undefined, outIndex: undefined, mark: 0 };
      this.nodes.set(id, slot);
    }
    return slot;
  }

  private setEmbedding(id: string, embedding: readonly number[] | undefined): void {
    const row = this.rowOf.get(id);
    if (embedding) {
      this.matrix ??= new VectorMatrix({ dim: embedding.length });
      if (row !== undefined) this.matrix.set(row, embedding);
      else {
        const r = this.matrix.push(embedding);
        this.rowIds[r] = id;
        this.rowOf.set(id, r);
      }
      return;
    }
    if (row === undefined || !this.matrix) return;
    const moved = this.matrix.swapRemove(row);
    if (moved !== -1) {
      const movedId = this.rowIds[moved]!;
      this.rowIds[row] = movedId;
      this.rowOf.set(movedId, row);
    }
    this.rowIds.pop();
    this.rowOf.delete(id);
    if (this.matrix.size === 0) this.matrix = undefined;
  }

  private putNode(n: LabelledNode): void {
    const id = nodeId(n);
    const slot = this.nodes.get(id);
    const prev = slot?.node;
    let embedding: number[] | undefined;
    if (n.embedding === undefined) embedding = prev?.embedding ?? undefined;
    else if (n.embedding === null) embedding = undefined;
    else embedding = Array.from(n.embedding);
    const properties = mergeProperties(prev?.properties, n.properties);
    const base = { label: n.label, properties, ...(embedding ? { embedding } : {}) };
    const node: LabelledNode = freezeStored(
      n.kind === "entity" ? { kind: "entity", name: id, ...base } : { kind: "chunk", id, text: n.text, ...base },
    );
    if (embedding !== prev?.embedding) this.setEmbedding(id, embedding);
    if (slot) slot.node = node;
    else this.nodes.set(id, { node, out: undefined, in: undefined, outIndex: undefined, mark: 0 });
  }

  private removeRelation(e: RelEntry): void {
    if (this.rels[e.pos] !== e) return;
    swapRemove(this.rels, e.pos, (x, i) => (x.pos = i));
    swapRemove(e.source.out!, e.outPos, (x, i) => (x.outPos = i));
    swapRemove(e.target.in!, e.inPos, (x, i) => (x.inPos = i));
    if (e.source.outIndex) unindexOut(e.source.outIndex, e);
    const typed = this.byType.get(e.rel.label)!;
    swapRemove(typed, e.typePos, (x, i) => (x.typePos = i));
    if (typed.length === 0) this.byType.delete(e.rel.label);
    e.pos = -1;
  }

  /** The smallest index-backed candidate set for a triplet selector (then filtered exactly). */
  private candidateRelations(sel: TripletSelector | undefined): Iterable<RelEntry> {
    const endpointIds = sel?.ids ?? sel?.entityNames;
    if (endpointIds !== undefined) {
      const epoch = this.nextEpoch();
      const found: RelEntry[] = [];
      for (const id of endpointIds) {
        const slot = this.nodes.get(id);
        if (!slot) continue;
        for (const adj of [slot.out, slot.in]) {
          if (!adj) continue;
          for (const e of adj) {
            if (e.mark === epoch) continue;
            e.mark = epoch;
            found.push(e);
          }
        }
      }
      return found;
    }
    if (sel?.relationNames !== undefined) {
      const found: RelEntry[] = [];
      for (const type of new Set(sel.relationNames)) for (const e of this.byType.get(type) ?? []) found.push(e);
      return found;
    }
    return this.rels;
  }

  private matcher(sel: TripletSelector | undefined): (e: RelEntry) => boolean {
    if (!sel) return () => true;
    const ids = sel.ids !== undefined ? new Set(sel.ids) : undefined;
    const names = sel.entityNames !== undefined ? new Set(sel.entityNames) : undefined;
    const types = sel.relationNames !== undefined ? new Set(sel.relationNames) : undefined;
    const p = sel.properties !== undefined && Object.keys(sel.properties).length > 0 ? sel.properties : undefined;
    const named = (n: LabelledNode) => n.kind === "entity" && names!.has(n.name);
    return (e) => {
      const s = e.source.node;
      const t = e.target.node;
      if (ids && !ids.has(nodeId(s)) && !ids.has(nodeId(t))) return false;
      if (names && !named(s) && !named(t)) return false;
      if (types && !types.has(e.rel.label)) return false;
      if (p && !matchesProperties(s.properties, p) && !matchesProperties(e.rel.properties, p) && !matchesProperties(t.properties, p)) {
        return false;
      }
      return true;
    };
  }

  private computeSchema(): GraphSchema {
    const nodeProps = new Map<string, Set<string>>();
    for (const { node } of this.nodes.values()) {
      const set = nodeProps.get(node.label) ?? new Set<string>();
      for (const k of Object.keys(node.properties)) set.add(k);
      nodeProps.set(node.label, set);
    }
    const relProps = new Map<string, Set<string>>();
    const patterns = new Map<string, GraphSchemaPattern>();
    for (const { rel, source, target } of this.rels) {
      const set = relProps.get(rel.label) ?? new Set<string>();
      for (const k of Object.keys(rel.properties)) set.add(k);
      relProps.set(rel.label, set);
      const p = { source: source.node.label, relation: rel.label, target: target.node.label };
      patterns.set(JSON.stringify([p.source, p.relation, p.target]), p);
    }
    return graphSchemaFrom(nodeProps, relProps, patterns);
  }
}
