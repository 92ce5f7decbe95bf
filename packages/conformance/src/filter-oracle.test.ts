/**
 * A second evaluator, written from packages/core/docs/filters.md (not from core's evaluate.ts), and
 * checked against the reference evaluator on random (metadata, filter) pairs — hostile ones and the
 * vector suite's ordinary ones. If the prose and the reference ever disagree, this test says where.
 */
import { describe, expect, it } from "vitest";
import {
  createFilterPredicate,
  FILTER_OPERATORS,
  foldCodePoint,
  validateFilters,
  type MetadataFilter,
  type MetadataFilters,
} from "@larder/core/filters";
import { seededRandom } from "./harness.js";
import { makeHostileMetadata, randomHostileFilter } from "./filter-hostile.js";
import { FILTER_SPEC_CASES } from "./filter-spec.js";
import { makeCorpus, randomFilterTree } from "./vector-corpus.js";

// ---- the oracle (filters.md, section by section) ----

/** "Strings are sequences of Unicode code points": a pair is one, a lone surrogate is one. */
function codePoints(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const d = s.charCodeAt(i + 1);
    if (c >= 0xd800 && c < 0xdc00 && d >= 0xdc00 && d < 0xe000) {
      out.push(0x10000 + (c - 0xd800) * 1024 + (d - 0xdc00));
      i++;
    } else out.push(c);
  }
  return out;
}

function cmpCodePoints(a: number[], b: number[]): number {
  for (let i = 0; i < a.length && i < b.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

function containsSeq(hay: number[], needle: number[]): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** "The case fold": each code point by its simple case folding (core's pinned table). */
const fold = (cps: number[]) => cps.map((c) => foldCodePoint(c));

const isScalar = (v: unknown) => typeof v === "string" || typeof v === "number" || typeof v === "boolean";
/** "no coercion": same type and same value; -0 equals 0. */
const same = (a: unknown, b: unknown) => isScalar(a) && typeof a === typeof b && (a === b);

function oracleLeaf(md: Record<string, unknown>, f: MetadataFilter): boolean {
  // "key ... matched literally against the node's top-level metadata" (own properties).
  const has = Object.prototype.hasOwnProperty.call(md, f.key);
  const v = has ? md[f.key] : undefined;
  const x = f.value;
  const missing = v === undefined || v === null;
  switch (f.operator) {
    case "==":
      return !missing && same(v, x);
    case "!=":
      return !(!missing && same(v, x));
    case "<":
    case "<=":
    case ">":
    case ">=": {
      let c: number;
      if (typeof v === "number" && typeof x === "number") c = v < x ? -1 : v > x ? 1 : 0;
      else if (typeof v === "string" && typeof x === "string") c = cmpCodePoints(codePoints(v), codePoints(x));
      else return false;
      return f.operator === "<" ? c < 0 : f.operator === "<=" ? c <= 0 : f.operator === ">" ? c > 0 : c >= 0;
    }
    case "in":
      return isScalar(v) && (x as unknown[]).some((e) => same(v, e));
    case "nin":
      return !(isScalar(v) && (x as unknown[]).some((e) => same(v, e)));
    case "any":
      return Array.isArray(v) && (x as unknown[]).some((e) => v.some((s) => same(s, e)));
    case "all":
      return Array.isArray(v) && (x as unknown[]).every((e) => v.some((s) => same(s, e)));
    case "contains":
      return Array.isArray(v) && v.some((s) => same(s, x));
    case "text_match":
      return typeof v === "string" && containsSeq(codePoints(v), codePoints(x as string));
    case "text_match_insensitive":
      return typeof v === "string" && containsSeq(fold(codePoints(v)), fold(codePoints(x as string)));
    case "is_empty":
      return missing || v === "" || (Array.isArray(v) && v.length === 0);
  }
}

function oracle(md: Record<string, unknown>, t: MetadataFilters): boolean {
  // "An empty group matches everything, whatever its condition."
  if (t.filters.length === 0) return true;
  const results = t.filters.map((c) => ("filters" in c ? oracle(md, c) : oracleLeaf(md, c)));
  switch (t.condition ?? "and") {
    case "and":
      return results.every(Boolean);
    case "or":
      return results.some(Boolean);
    case "not":
      return !results.some(Boolean);
  }
}

// ---- the comparison ----

describe("second evaluator (from filters.md) agrees with the reference", () => {
  it("on >= 100,000 random hostile and ordinary (metadata, filter) pairs", () => {
    const rng = seededRandom(0x5eed8);
    const hostile = [...makeHostileMetadata(rng, 150), ...makeHostileMetadata(rng, 50, { graph: true })];
    const ordinary = makeCorpus(rng, 100, 2).map((n) => n.metadata);
    let pairs = 0;
    const disagreements: string[] = [];
    const check = (records: Record<string, unknown>[], t: MetadataFilters) => {
      const canonical = validateFilters(t);
      const ref = createFilterPredicate(canonical);
      for (const md of records) {
        pairs++;
        if (ref(md) !== oracle(md, canonical) && disagreements.length < 5) {
          disagreements.push(`${JSON.stringify(md)} ${JSON.stringify(canonical)} reference=${ref(md)}`);
        }
      }
    };
    for (let i = 0; i < 500; i++) check(hostile, randomHostileFilter(rng, FILTER_OPERATORS));
    for (let i = 0; i < 300; i++) check(ordinary, randomFilterTree(rng, { operators: FILTER_OPERATORS }));
    expect(disagreements).toEqual([]);
    expect(pairs).toBeGreaterThanOrEqual(100_000);
  });

  it("every filters.spec case holds for the reference and the second evaluator", () => {
    for (const c of FILTER_SPEC_CASES) {
      for (const check of c.checks) {
        if (check.expect === "INVALID_ARGUMENT") {
          expect(() => validateFilters(check.filters), c.id).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
          continue;
        }
        const t = validateFilters(check.filters);
        const ref = createFilterPredicate(t);
        const byRef = c.metadata.flatMap((m, i) => (ref(m) ? [i] : []));
        const byOracle = c.metadata.flatMap((m, i) => (oracle(m, t) ? [i] : []));
        expect(byRef, `${c.id} ${JSON.stringify(check.filters).slice(0, 120)}`).toEqual(check.expect);
        expect(byOracle, c.id).toEqual(check.expect);
      }
    }
  });
});
