import { errors } from "../errors.js";

/** `graph_store.json`: `{graph_dict: {subject: [[relation, object], ...]}}`. */
export interface GraphStoreDict {
  graph_dict: Record<string, [string, string][]>;
}

/**
 * LlamaIndex's legacy triplet store (`SimpleGraphStore`, used by `KnowledgeGraphIndex`), kept so
 * `graph_store.json` round-trips. Unlike the Python version, `delete` really deletes.
 * New code should use `SimplePropertyGraphStore`.
 */
export class SimpleGraphStore {
  readonly name = "SimpleGraphStore";
  #graph = new Map<string, [string, string][]>();
  #version = 0;

  /** Mutation counter (persistence reuses unchanged files). */
  get version(): number {
    return this.#version;
  }

  async get(subj: string): Promise<[string, string][]> {
    return (this.#graph.get(subj) ?? []).map(([r, o]) => [r, o]);
  }

  async upsertTriplet(subj: string, rel: string, obj: string): Promise<void> {
    for (const [k, v] of [["subject", subj], ["relation", rel], ["object", obj]] as const) {
      if (typeof v !== "string" || v === "") throw errors.invalid(`${k} must be a non-empty string`, { store: this.name });
    }
    const list = this.#graph.get(subj) ?? [];
    if (!list.some(([r, o]) => r === rel && o === obj)) list.push([rel, obj]);
    this.#graph.set(subj, list);
    this.#version++;
  }

  async delete(subj: string, rel: string, obj: string): Promise<boolean> {
    const list = this.#graph.get(subj);
    if (!list) return false;
    const i = list.findIndex(([r, o]) => r === rel && o === obj);
    if (i < 0) return false;
    list.splice(i, 1);
    if (list.length === 0) this.#graph.delete(subj);
    this.#version++;
    return true;
  }

  /**
   * `{subject: [[subject, rel, object], [object, rel2, object2], ...]}`: paths of up to `depth`
   * hops from each subject (all subjects when none given), at most `limit` triplets per subject.
   */
  async getRelMap(subjs?: readonly string[], depth = 2, limit = 30): Promise<Record<string, string[][]>> {
    const out: Record<string, string[][]> = {};
    for (const s of subjs ?? [...this.#graph.keys()]) {
      const acc: string[][] = [];
      const walk = (node: string, d: number, seen: Set<string>) => {
        if (d <= 0 || acc.length >= limit) return;
        for (const [r, o] of this.#graph.get(node) ?? []) {
          if (acc.length >= limit) return;
          acc.push([node, r, o]);
          if (!seen.has(o)) walk(o, d - 1, new Set([...seen, o]));
        }
      };
      walk(s, depth, new Set([s]));
      out[s] = acc;
    }
    return out;
  }

  toDict(): GraphStoreDict {
    const graph_dict: Record<string, [string, string][]> = {};
    for (const [s, list] of this.#graph) graph_dict[s] = list.map(([r, o]) => [r, o]);
    return { graph_dict };
  }

  static fromDict(d: unknown): SimpleGraphStore {
    const store = new SimpleGraphStore();
    const gd = (d as { graph_dict?: unknown } | null)?.graph_dict ?? {};
    if (typeof gd !== "object" || gd === null || Array.isArray(gd)) throw errors.invalid("graph_dict must be an object", { store: store.name });
    for (const [s, list] of Object.entries(gd as Record<string, unknown>)) {
      if (!Array.isArray(list)) throw errors.invalid(`graph_dict[${JSON.stringify(s)}] must be a list`, { store: store.name });
      const pairs: [string, string][] = [];
      for (const p of list) {
        if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== "string" || typeof p[1] !== "string") {
          throw errors.invalid(`graph_dict[${JSON.stringify(s)}] must hold [relation, object] pairs`, { store: store.name });
        }
        pairs.push([p[0], p[1]]);
      }
      if (pairs.length) store.#graph.set(s, pairs);
    }
    return store;
  }
}
