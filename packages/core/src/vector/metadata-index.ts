import type { MetadataFilter, MetadataFilters } from "../filters/types.js";
import { storedValue } from "../filters/evaluate.js";
import { isFilterGroup } from "../filters/validate.js";

/**
 * An inverted index from metadata (key, value) to row numbers, used to prune candidates before
 * the vector scan. It only ever produces a SUPERSET of the rows a filter matches; the caller still
 * evaluates the exact predicate on each candidate, so the index never decides semantics.
 *
 * Scalars (string, number, boolean) are indexed under their key; elements of a stored array are
 * indexed separately (for `contains`/`any`/`all`). Types are kept apart, so `"3"` and `3` never
 * share a posting. A posting is a row number while it has one row, a Set after that.
 */
type Posting = number | Set<number>;

class ValueMaps {
  str = new Map<string, Posting>();
  num = new Map<number, Posting>();
  bool = new Map<boolean, Posting>();
  mapFor(v: unknown): Map<unknown, Posting> | undefined {
    switch (typeof v) {
      case "string":
        return this.str as Map<unknown, Posting>;
      case "number":
        return Number.isFinite(v) ? (this.num as Map<unknown, Posting>) : undefined;
      case "boolean":
        return this.bool as Map<unknown, Posting>;
      default:
        return undefined;
    }
  }
}

interface KeyEntry {
  scalars: ValueMaps;
  elements: ValueMaps;
}

function add(map: Map<unknown, Posting>, v: unknown, row: number): void {
  const p = map.get(v);
  if (p === undefined) map.set(v, row);
  else if (typeof p === "number") {
    if (p !== row) map.set(v, new Set([p, row]));
  } else p.add(row);
}

function remove(map: Map<unknown, Posting>, v: unknown, row: number): void {
  const p = map.get(v);
  if (p === undefined) return;
  if (typeof p === "number") {
    if (p === row) map.delete(v);
  } else {
    p.delete(row);
    if (p.size === 1) map.set(v, p.values().next().value as number);
    else if (p.size === 0) map.delete(v);
  }
}

const EMPTY: ReadonlySet<number> = new Set();

export interface Candidates {
  rows: ReadonlySet<number>;
  exact: boolean;
}

/** Applies `fn(map, value)` to every posting a stored value has under one key. */
function eachPosting(e: KeyEntry, v: unknown, fn: (map: Map<unknown, Posting>, v: unknown) => void): void {
  if (v === null || v === undefined) return;
  if (Array.isArray(v)) {
    for (const el of v) {
      const m = e.elements.mapFor(el);
      if (m) fn(m, el);
    }
  } else {
    const m = e.scalars.mapFor(v);
    if (m) fn(m, v);
  }
}

/**
 * Keys are indexed on demand: the first filter that can use a key builds its postings from every
 * row (one pass), after which writes keep them current. Keys never filtered on cost nothing.
 */
export class MetadataIndex {
  private keys = new Map<string, KeyEntry>();

  /** `rows()` returns the metadata of every row, by row number. */
  constructor(private readonly rows: () => readonly (Readonly<Record<string, unknown>> | undefined)[]) {}

  /** Number of keys with postings (for tests and memory accounting). */
  get indexedKeys(): number {
    return this.keys.size;
  }

  private entry(key: string): KeyEntry {
    let e = this.keys.get(key);
    if (!e) {
      e = { scalars: new ValueMaps(), elements: new ValueMaps() };
      const rows = this.rows();
      for (let r = 0; r < rows.length; r++) {
        const md = rows[r];
        if (md) eachPosting(e, storedValue(md, key), (m, v) => add(m, v, r));
      }
      this.keys.set(key, e);
    }
    return e;
  }

  add(row: number, metadata: Readonly<Record<string, unknown>>): void {
    if (this.keys.size === 0) return;
    for (const [key, e] of this.keys) eachPosting(e, storedValue(metadata, key), (m, v) => add(m, v, row));
  }

  remove(row: number, metadata: Readonly<Record<string, unknown>>): void {
    for (const [key, e] of this.keys) eachPosting(e, storedValue(metadata, key), (m, v) => remove(m, v, row));
  }

  /** The row with this metadata moved from `from` to `to` (swap-remove). */
  move(from: number, to: number, metadata: Readonly<Record<string, unknown>>): void {
    for (const [key, e] of this.keys) {
      eachPosting(e, storedValue(metadata, key), (m, v) => {
        remove(m, v, from);
        add(m, v, to);
      });
    }
  }

  clear(): void {
    this.keys.clear();
  }

  private posting(key: string, elements: boolean, v: unknown): ReadonlySet<number> {
    const e = this.entry(key);
    const m = (elements ? e.elements : e.scalars).mapFor(v);
    const p = m?.get(v);
    if (p === undefined) return EMPTY;
    return typeof p === "number" ? new Set([p]) : p;
  }

  private union(key: string, elements: boolean, values: readonly unknown[]): ReadonlySet<number> {
    if (values.length === 1) return this.posting(key, elements, values[0]);
    const out = new Set<number>();
    for (const v of values) for (const r of this.posting(key, elements, v)) out.add(r);
    return out;
  }

  private leaf(f: MetadataFilter): ReadonlySet<number> | null {
    switch (f.operator) {
      case "==":
        return this.posting(f.key, false, f.value);
      case "in":
        return this.union(f.key, false, f.value as unknown[]);
      case "contains":
        return this.posting(f.key, true, f.value);
      case "any":
        return this.union(f.key, true, f.value as unknown[]);
      case "all": {
        const vals = f.value as unknown[];
        if (vals.length === 0) return null;
        return intersect(vals.map((v) => this.posting(f.key, true, v)));
      }
      default:
        return null;
    }
  }

  /**
   * Candidate rows for a validated tree: a superset of the matching rows, or `null` when the
   * index cannot narrow it (negations, ranges, text, empty groups...). `exact` is true when the
   * rows are exactly the matches (the tree is made only of indexable leaves under and/or), so the
   * caller may skip evaluating them; index postings follow the evaluator's strict equality.
   */
  candidates(tree: MetadataFilters): Candidates | null {
    const children = tree.filters;
    if (children.length === 0) return null;
    const plans = children.map((c): Candidates | null => {
      if (isFilterGroup(c)) return this.candidates(c);
      const rows = this.leaf(c);
      return rows ? { rows, exact: true } : null;
    });
    switch (tree.condition ?? "and") {
      case "and": {
        const known = plans.filter((p): p is Candidates => p !== null);
        if (!known.length) return null;
        return { rows: intersect(known.map((p) => p.rows)), exact: known.length === plans.length && known.every((p) => p.exact) };
      }
      case "or": {
        if (plans.some((p) => p === null)) return null;
        const out = new Set<number>();
        for (const p of plans as Candidates[]) for (const r of p.rows) out.add(r);
        return { rows: out, exact: (plans as Candidates[]).every((p) => p.exact) };
      }
      case "not":
        return null;
    }
  }
}

function intersect(sets: ReadonlySet<number>[]): ReadonlySet<number> {
  sets.sort((a, b) => a.size - b.size);
  const [first, ...rest] = sets;
  if (!first || first.size === 0) return EMPTY;
  if (rest.length === 0) return first;
  const out = new Set<number>();
  outer: for (const r of first) {
    for (const s of rest) if (!s.has(r)) continue outer;
    out.add(r);
  }
  return out;
}
