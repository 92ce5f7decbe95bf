/**
 * How `larder migrate` copies a property graph. Python's `property_graph_store.json` may hold
 * property values Larder's contract refuses (nested objects, mixed arrays); a loaded
 * `SimplePropertyGraphStore` keeps them verbatim, so a copy into an empty in-memory graph (a folder
 * target, either format) is the source graph itself, rebuilt from its dict: every value exact. Any
 * other target gets `upsertNodes`/`upsertRelations`, so its values are checked first, before the
 * migration writes anything: a value the contract refuses is `INVALID_ARGUMENT` naming the node
 * (or relation) and the key.
 */
import {
  type LabelledNode,
  type PropertyGraphStore,
  type Relation,
  SimplePropertyGraphStore,
  validateNode,
  validateRelation,
} from "@larder/core";

export type GraphCopy = { kind: "verbatim"; copy: () => SimplePropertyGraphStore } | { kind: "upsert" };

const isEmptySimple = (g: PropertyGraphStore | undefined): boolean =>
  g instanceof SimplePropertyGraphStore && g.size.nodes === 0 && g.size.relations === 0;

/**
 * Decides how the graph is copied and, for an upsert copy, checks every node and relation with
 * the contract's rules (throws before anything is written). `target` is the target's graph store
 * (`undefined`: a persist location that has none yet, which gets an in-memory one).
 */
export function planGraphCopy(
  source: PropertyGraphStore,
  target: PropertyGraphStore | undefined,
  nodes: readonly LabelledNode[],
  relations: readonly Relation[],
): GraphCopy {
  if (source instanceof SimplePropertyGraphStore && (target === undefined || isEmptySimple(target))) {
    return { kind: "verbatim", copy: () => SimplePropertyGraphStore.fromDict(source.toDict()) };
  }
  const o = { store: target?.constructor.name ?? "SimplePropertyGraphStore" };
  for (const n of nodes) validateNode(n, o);
  for (const r of relations) validateRelation(r, o);
  return { kind: "upsert" };
}
