/**
 * Data and oracles for the property graph suite: seeded random graphs, a BFS oracle for
 * `getRelMap`, a seeded corpus with embeddings and random filter trees for the differential
 * vector tests, and small comparison helpers.
 */
import type { FilterOperator, MetadataFilter, MetadataFilters } from "@larder/core/filters";
import {
  chunkNode,
  entityNode,
  nodeId,
  relation,
  type LabelledNode,
  type Properties,
  type Relation,
  type Triplet,
} from "@larder/core/graph";
import { seededRandom } from "./harness.js";

/** `source|label|target` of a triplet or relation (JSON, so any id is unambiguous). */
export function tripletKey(t: Triplet | Relation): string {
  const r = Array.isArray(t) ? t[1] : t;
  return JSON.stringify([r.sourceId, r.label, r.targetId]);
}

export function tripletKeys(ts: readonly Triplet[]): string[] {
  return ts.map(tripletKey).sort();
}

export function nodeIds(ns: readonly LabelledNode[]): string[] {
  return ns.map(nodeId).sort();
}

/** A node without its embedding, for exact comparisons (embeddings are compared approximately). */
export function plain(n: LabelledNode): Record<string, unknown> {
  return n.kind === "entity"
    ? { kind: n.kind, name: n.name, label: n.label, properties: n.properties }
    : { kind: n.kind, id: n.id, text: n.text, label: n.label, properties: n.properties };
}

/** Float32-tolerant embedding comparison (backends may store float32). */
export function embeddingsClose(a: readonly number[] | null | undefined, b: readonly number[]): boolean {
  if (!a || a.length !== b.length) return false;
  return a.every((x, i) => Math.abs(x - b[i]!) <= 1e-6 * Math.max(1, Math.abs(b[i]!)));
}

export interface RandomGraph {
  nodes: LabelledNode[];
  relations: Relation[];
  types: string[];
}

/**
 * A seeded random graph of `entityCount` entities and exactly `relationCount` distinct relations
 * (no self loops) over `typeCount` relation types.
 */
export function randomGraph(seed: number, entityCount: number, relationCount: number, typeCount = 8): RandomGraph {
  const rnd = seededRandom(seed);
  const types = Array.from({ length: typeCount }, (_, i) => `REL_${i}`);
  const labels = ["PERSON", "ORG", "PLACE", "THING"];
  const nodes: LabelledNode[] = [];
  for (let i = 0; i < entityCount; i++) {
    nodes.push(entityNode({ name: `e${i}`, label: labels[i % labels.length]!, properties: { idx: i, bucket: i % 7 } }));
  }
  const seen = new Set<string>();
  const relations: Relation[] = [];
  while (relations.length < relationCount) {
    const s = Math.floor(rnd() * entityCount);
    const t = Math.floor(rnd() * entityCount);
    if (s === t) continue;
    const type = types[Math.floor(rnd() * typeCount)]!;
    const key = `${s}|${type}|${t}`;
    if (seen.has(key)) continue;
    seen.add(key);
    relations.push(relation({ label: type, sourceId: `e${s}`, targetId: `e${t}`, properties: { w: relations.length % 5 } }));
  }
  return { nodes, relations, types };
}

/**
 * The contract's `getRelMap` without a limit: keys of every relation (not in `ignore`) whose nearer
 * endpoint is within `depth - 1` undirected hops of a seed, walking only non-ignored relations.
 */
export function relMapOracle(relations: readonly Relation[], seeds: readonly string[], depth: number, ignore: readonly string[] = []): Set<string> {
  const adj = new Map<string, Relation[]>();
  const ign = new Set(ignore);
  for (const r of relations) {
    if (ign.has(r.label)) continue;
    for (const id of [r.sourceId, r.targetId]) {
      const list = adj.get(id) ?? [];
      list.push(r);
      adj.set(id, list);
    }
  }
  const dist = new Map<string, number>();
  let frontier = [...new Set(seeds)];
  for (const s of frontier) dist.set(s, 0);
  const out = new Set<string>();
  for (let hop = 1; hop <= depth; hop++) {
    const next: string[] = [];
    for (const id of frontier) {
      for (const r of adj.get(id) ?? []) {
        out.add(tripletKey(r));
        const other = r.sourceId === id ? r.targetId : r.sourceId;
        if (!dist.has(other)) {
          dist.set(other, hop);
          next.push(other);
        }
      }
    }
    frontier = next;
  }
  return out;
}

// -- vector corpus and random filters -------------------------------------------------------

const WORDS = ["alpha", "Beta", "gamma", "delta", "ALPHA", "épée", "naïve", "zeta"];
const TAGS = ["red", "green", "blue", "cyan"];

/** A seeded corpus of entities and chunks with embeddings (dimension `dim`) and varied properties. */
export function vectorCorpus(seed: number, count: number, dim: number): LabelledNode[] {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const out: LabelledNode[] = [];
  for (let i = 0; i < count; i++) {
    const properties: Properties = {};
    if (rnd() < 0.85) {
      const num = Math.floor(rnd() * 20) - 5;
      // Half the zeros are stored as -0 (which equals 0, also in ordering operators).
      properties["num"] = num === 0 && i % 2 === 0 ? -0 : num;
    }
    if (rnd() < 0.85) properties["word"] = pick(WORDS) + (rnd() < 0.3 ? ` ${pick(WORDS)}` : "");
    if (rnd() < 0.7) properties["flag"] = rnd() < 0.5;
    if (rnd() < 0.7) {
      const tags = TAGS.filter(() => rnd() < 0.4);
      properties["tags"] = tags;
    }
    if (rnd() < 0.2) properties["word"] = "";
    if (rnd() < 0.3) properties["mixed"] = rnd() < 0.5 ? pick(WORDS) : Math.floor(rnd() * 10);
    const embedding = Array.from({ length: dim }, () => Math.round((rnd() * 2 - 1) * 1000) / 1000);
    out.push(
      i % 3 === 0
        ? chunkNode({ id: `c${i}`, text: `chunk ${i}`, properties, embedding })
        : entityNode({ name: `v${i}`, label: i % 2 ? "A" : "B", properties, embedding }),
    );
  }
  return out;
}

const KEYS = ["num", "word", "flag", "tags", "mixed", "absent"];

/** A value that often matches the key's stored values (so trees discriminate), sometimes not. */
function valueFor(rnd: () => number, key: string): string | number | boolean {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  if (rnd() < 0.15) return pick<string | number | boolean>(["", 3, true, "alpha", -1]);
  switch (key) {
    case "num": {
      const num = Math.floor(rnd() * 20) - 5;
      return num === 0 ? -0 : num; // the stored zeros are 0 and -0
    }
    case "word":
      return pick(WORDS);
    case "flag":
      return rnd() < 0.5;
    case "tags":
      return pick(TAGS);
    default:
      return rnd() < 0.5 ? pick(WORDS) : Math.floor(rnd() * 10);
  }
}

function randomLeaf(rnd: () => number, operators: readonly FilterOperator[]): MetadataFilter {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const operator = pick(operators);
  const key = rnd() < 0.05 ? "absent" : pick(KEYS.slice(0, 5));
  const scalar = () => valueFor(rnd, key);
  const orderable = () => {
    const v = valueFor(rnd, key);
    return typeof v === "boolean" ? (v ? "m" : 4) : v;
  };
  const array = () => Array.from({ length: Math.floor(rnd() * 4) }, scalar);
  switch (operator) {
    case "==":
    case "!=":
    case "contains":
      return { key, operator, value: scalar() };
    case ">":
    case ">=":
    case "<":
    case "<=":
      return { key, operator, value: orderable() };
    case "in":
    case "nin":
    case "any":
    case "all":
      return { key, operator, value: array() };
    case "text_match":
    case "text_match_insensitive":
      return { key, operator, value: pick(["al", "ALP", "é", "ta", "", "a b", "Beta"]) };
    case "is_empty":
      return { key, operator };
  }
}

/** A random, valid filter tree using only `operators` (groups nested when `nested`). */
export function randomFilters(rnd: () => number, operators: readonly FilterOperator[], nested: boolean, depth = 0): MetadataFilters {
  const conditions = ["and", "or", "not"] as const;
  const r = rnd();
  const condition = r < 0.45 ? "and" : r < 0.85 ? "or" : conditions[2];
  const size = 1 + Math.floor(rnd() * (depth === 0 ? 3 : 2));
  const filters: (MetadataFilter | MetadataFilters)[] = [];
  for (let i = 0; i < size; i++) {
    if (nested && depth < 2 && rnd() < 0.3) filters.push(randomFilters(rnd, operators, nested, depth + 1));
    else filters.push(randomLeaf(rnd, operators));
  }
  return { filters, condition };
}
