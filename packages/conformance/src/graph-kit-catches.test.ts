/**
 * "Kit catches X" for the property graph suite: each store below has ONE deliberate bug, most of
 * them real behaviours of the Python originals (see the reference, §5 and §10.21–23). The kit's
 * own test body must reject the broken store and pass on the correct one.
 */
import { describe, expect, it } from "vitest";
import { errors } from "@larder/core/errors";
import {
  nodeId,
  SimplePropertyGraphStore,
  type GraphSelector,
  type GraphVectorQuery,
  type LabelledNode,
  type PropertyGraphStore,
  type Relation,
  type RelMapOptions,
  type Triplet,
  type TripletSelector,
} from "@larder/core/graph";
import type { PropertyGraphCapabilities } from "@larder/core/graph";
import type { MetadataFilters } from "@larder/core/filters";
import type { SuiteContext } from "./harness.js";
import { graphTests, type GraphTestId } from "./graph.js";

function ctxFor(create: () => PropertyGraphStore): SuiteContext<PropertyGraphStore, PropertyGraphCapabilities> {
  return { store: async () => create(), capabilities: {} };
}

async function catches(id: GraphTestId, broken: () => PropertyGraphStore): Promise<void> {
  const body = graphTests[id];
  await body(ctxFor(() => new SimplePropertyGraphStore()));
  let failure: unknown;
  try {
    await body(ctxFor(broken));
  } catch (e) {
    failure = e;
  }
  expect(failure, `the broken store passed ${id}`).toBeDefined();
}

/** Python's simple store: `get_triplets()` without arguments returns []. */
class EmptyWithoutCriteria extends SimplePropertyGraphStore {
  override async getTriplets(sel?: TripletSelector): Promise<Triplet[]> {
    const any = sel && (sel.ids || sel.entityNames || sel.relationNames || (sel.properties && Object.keys(sel.properties).length));
    return any ? super.getTriplets(sel) : [];
  }
}

/** Python's simple store: property selectors are OR'ed. */
class OrProperties extends SimplePropertyGraphStore {
  override async get(sel?: GraphSelector): Promise<LabelledNode[]> {
    const props = sel?.properties;
    if (!props || Object.keys(props).length < 2) return super.get(sel);
    const all = await super.get(sel.ids ? { ids: sel.ids } : undefined);
    return all.filter((n) => Object.entries(props).some(([k, v]) => n.properties[k] === v));
  }
}

/** Python's `delete_triplet`: deleting a relation also deletes both endpoints. */
class DeleteEndpoints extends SimplePropertyGraphStore {
  override async delete(sel: TripletSelector): Promise<void> {
    if (sel.relationNames?.length) {
      const ts = await this.getTriplets({ relationNames: sel.relationNames });
      await super.delete(sel);
      const ids = ts.flatMap(([s, , t]) => [nodeId(s), nodeId(t)]);
      if (ids.length) await super.delete({ ids });
      return;
    }
    await super.delete(sel);
  }
}

/** Neo4j's Python store: `ignore_rels` filtered client-side after the traversal. */
class IgnoreAfterTraversal extends SimplePropertyGraphStore {
  override async getRelMap(nodes: readonly LabelledNode[], options?: RelMapOptions): Promise<Triplet[]> {
    const ignore = options?.ignoreRels ?? [];
    const ts = await super.getRelMap(nodes, { ...options, ignoreRels: [] });
    return ts.filter(([, r]) => !ignore.includes(r.label));
  }
}

/** Following outgoing relations only. */
class DirectedRelMap extends SimplePropertyGraphStore {
  override async getRelMap(nodes: readonly LabelledNode[], options?: RelMapOptions): Promise<Triplet[]> {
    const depth = options?.depth ?? 2;
    const limit = options?.limit ?? 30;
    const all = await this.getTriplets();
    let frontier = new Set(nodes.map(nodeId));
    const seen = new Set<Relation>();
    const out: Triplet[] = [];
    for (let d = 0; d < depth; d++) {
      const next = new Set<string>();
      for (const t of all) {
        if (frontier.has(t[1].sourceId) && !seen.has(t[1])) {
          seen.add(t[1]);
          out.push(t);
          next.add(t[1].targetId);
        }
      }
      frontier = next;
    }
    return out.slice(0, limit);
  }
}

/** Python's `add_triplet`: a second upsert of the same relation is ignored (no merge). */
class NoRelationMerge extends SimplePropertyGraphStore {
  override async upsertRelations(relations: readonly Relation[]): Promise<void> {
    const existing = new Set((await this.getTriplets()).map(([, r]) => JSON.stringify([r.sourceId, r.label, r.targetId])));
    await super.upsertRelations(relations.filter((r) => !existing.has(JSON.stringify([r.sourceId, r.label, r.targetId]))));
  }
}

/** `delete()` with no criteria deletes everything. */
class DeleteAll extends SimplePropertyGraphStore {
  override async delete(sel: TripletSelector): Promise<void> {
    const empty = !sel || (!sel.ids && !sel.entityNames && !sel.relationNames && !(sel.properties && Object.keys(sel.properties).length));
    if (empty) {
      const ids = (await this.get()).map(nodeId);
      if (ids.length) await super.delete({ ids });
      return;
    }
    await super.delete(sel);
  }
}

/** A label pasted into a query string: backticks break it with a raw driver error. */
class PastedLabels extends SimplePropertyGraphStore {
  override async upsertNodes(nodes: readonly LabelledNode[]): Promise<void> {
    if (nodes.some((n) => n.label.includes("`"))) throw new Error("Neo.ClientError.Statement.SyntaxError");
    await super.upsertNodes(nodes);
  }
}

/** Accepts blank labels (an LLM extracted nothing) and stores them. */
class BlankLabels extends SimplePropertyGraphStore {
  override async upsertNodes(nodes: readonly LabelledNode[]): Promise<void> {
    await super.upsertNodes(nodes.filter((n) => n.label.trim() !== ""));
  }
  override async upsertRelations(relations: readonly Relation[]): Promise<void> {
    await super.upsertRelations(relations.filter((r) => r.label.trim() !== ""));
  }
}

/** Filters silently ignored by vectorQuery (the Python Neo4j store passed unknown operators through). */
class IgnoresFilters extends SimplePropertyGraphStore {
  override async vectorQuery(q: GraphVectorQuery) {
    const { filters: _ignored, ...rest } = q;
    return super.vectorQuery(rest);
  }
}

/** entityNames also matching chunk ids. */
class EntityNamesMatchChunks extends SimplePropertyGraphStore {
  override async getTriplets(sel?: TripletSelector): Promise<Triplet[]> {
    if (sel?.entityNames && !sel.ids) {
      const { entityNames, ...rest } = sel;
      return super.getTriplets({ ...rest, ids: entityNames });
    }
    return super.getTriplets(sel);
  }
}

/** Declares no structured queries but answers them with an empty result. */
class SilentStructured extends SimplePropertyGraphStore {
  override async structuredQuery(): Promise<Record<string, unknown>[]> {
    return [];
  }
}

/** Returns nodes whose properties were coerced to strings ("3" equals 3). */
class CoercingMatch extends SimplePropertyGraphStore {
  override async get(sel?: GraphSelector): Promise<LabelledNode[]> {
    const props = sel?.properties;
    if (!props) return super.get(sel);
    const all = await super.get(sel.ids ? { ids: sel.ids } : undefined);
    return all.filter((n) => Object.entries(props).every(([k, v]) => n.properties[k] !== undefined && String(n.properties[k]) === String(v)));
  }
}

/** Refuses the hostile-but-valid names it should store (unknown code, not INVALID_ARGUMENT). */
class RefusesQuotes extends SimplePropertyGraphStore {
  override async upsertNodes(nodes: readonly LabelledNode[]): Promise<void> {
    if (nodes.some((n) => nodeId(n).includes("'"))) throw errors.unsupported("quotes in ids");
    await super.upsertNodes(nodes);
  }
}

/** The old graph rule: topK 0 is INVALID_ARGUMENT (vector stores return nothing). */
class RejectsTopKZero extends SimplePropertyGraphStore {
  override async vectorQuery(q: GraphVectorQuery) {
    if (q.topK === 0) throw errors.invalid("topK must be ≥ 1");
    return super.vectorQuery(q);
  }
}

/** No topK ceiling: a huge topK is clamped and sent on (Neo4j ran out of memory on it). */
class UncappedTopK extends SimplePropertyGraphStore {
  override async vectorQuery(q: GraphVectorQuery) {
    return super.vectorQuery(q.topK !== undefined && q.topK > 10_000 ? { ...q, topK: 10_000 } : q);
  }
}

/** Cypher's -0.0 < 0.0: a stored -0 orders below 0 (modelled as the smallest negative number). */
class NegativeZeroBelowZero extends SimplePropertyGraphStore {
  override async upsertNodes(nodes: readonly LabelledNode[]): Promise<void> {
    await super.upsertNodes(
      nodes.map((n) => ({
        ...n,
        properties: Object.fromEntries(Object.entries(n.properties).map(([k, v]) => [k, Object.is(v, -0) ? -Number.MIN_VALUE : v])),
      })),
    );
  }
}

/** The Bolt driver's encoding: a lone surrogate in a filter key arrives as U+FFFD. */
class LoneSurrogateKeysAsReplacement extends SimplePropertyGraphStore {
  override async vectorQuery(q: GraphVectorQuery) {
    const fix = (f: MetadataFilters): MetadataFilters => ({
      ...f,
      filters: f.filters.map((c) => ("filters" in c ? fix(c) : { ...c, key: c.key.replace(/[\uD800-\uDFFF]/g, "\uFFFD") })),
    });
    return super.vectorQuery(q.filters ? { ...q, filters: fix(q.filters) } : q);
  }
}

describe("graph kit catches", () => {
  const cases: [string, GraphTestId, () => PropertyGraphStore][] = [
    ["getTriplets() returning [] without criteria", "graph.triplets.all-when-no-criteria", () => new EmptyWithoutCriteria()],
    ["OR property matching", "graph.get.properties-and-no-coercion", () => new OrProperties()],
    ["coercing property equality", "graph.get.properties-and-no-coercion", () => new CoercingMatch()],
    ["deleting a relation's endpoints", "graph.delete.relations-keep-endpoints", () => new DeleteEndpoints()],
    ["ignoreRels applied after the traversal", "graph.relmap.ignore-rels-not-walked", () => new IgnoreAfterTraversal()],
    ["a directed-only rel map", "graph.relmap.depth-undirected", () => new DirectedRelMap()],
    ["no property merge on relation re-upsert", "graph.relations.upsert-idempotent-and-merge", () => new NoRelationMerge()],
    ["delete({}) deleting everything", "graph.delete.empty-selector-is-invalid", () => new DeleteAll()],
    ["labels pasted into a query", "graph.hostile.labels", () => new PastedLabels()],
    ["blank labels silently dropped", "graph.validation.labels", () => new BlankLabels()],
    ["vector filters ignored", "graph.vector.filters-match-reference-evaluator", () => new IgnoresFilters()],
    ["entityNames matching chunks", "graph.triplets.entity-names-and-ids", () => new EntityNamesMatchChunks()],
    ["structuredQuery answering although unsupported", "graph.structured.unsupported", () => new SilentStructured()],
    ["ordinary quotes refused in ids", "graph.hostile.names-and-values", () => new RefusesQuotes()],
    ["topK 0 refused", "graph.vector.top-k-limits", () => new RejectsTopKZero()],
    ["topK 0 refused (errors)", "graph.vector.errors", () => new RejectsTopKZero()],
    ["no topK ceiling", "graph.vector.top-k-limits", () => new UncappedTopK()],
    ["-0 ordered below 0", "graph.vector.filters-edge-cases", () => new NegativeZeroBelowZero()],
    ["lone-surrogate filter keys sent as U+FFFD", "graph.vector.filters-edge-cases", () => new LoneSurrogateKeysAsReplacement()],
  ];
  for (const [what, id, broken] of cases) {
    it(`${id} catches ${what}`, () => catches(id, broken));
  }
});
