import { describe, expect, it } from "vitest";
import { FILTER_OPERATORS, compareByCodePoint, type MetadataFilters } from "@larder/core/filters";
import { HOSTILE_STRINGS, seededRandom } from "@larder/conformance";
import { HOSTILE_FILTER_KEYS, HOSTILE_FILTER_ONLY_STRINGS, HOSTILE_FILTER_STRINGS, randomHostileFilter } from "@larder/conformance/vector";
import { HOSTILE_FILTER_NUMBERS } from "@larder/conformance/vector";
import {
  ALWAYS_TOKEN,
  MAX_TOKEN,
  ORDERED_SEARCH_FILTER_OPERATORS,
  ORDER_BYTES,
  SEARCH_FILTER_OPERATORS,
  compileFilters,
  eqToken,
  metadataTokens,
  numberNibbles,
  queryText,
  searchLiteral,
  stringNibbles,
  tagIn,
} from "./search-filter.js";
import { textTerms } from "./redis-vector-store.js";

/** Decodes searchLiteral (its inverse), to prove it loses nothing. */
const decode = (hex: string) => String.fromCharCode(...(hex.match(/.{4}/g) ?? []).map((h) => parseInt(h, 16)));

const ALL_STRINGS = [...HOSTILE_STRINGS, ...HOSTILE_FILTER_KEYS, ...HOSTILE_FILTER_STRINGS, ...HOSTILE_FILTER_ONLY_STRINGS];

function randomString(rng: () => number): string {
  const n = Math.floor(rng() * 12);
  let s = "";
  for (let i = 0; i < n; i++) {
    const r = rng();
    // ASCII punctuation (query syntax), any BMP unit (lone surrogates included), astral pairs
    s += r < 0.4 ? String.fromCharCode(32 + Math.floor(rng() * 95)) : r < 0.8 ? String.fromCharCode(Math.floor(rng() * 0x10000)) : String.fromCodePoint(0x10000 + Math.floor(rng() * 0xfffff));
  }
  return s;
}

describe("searchLiteral (the one escaping function)", () => {
  it("gives only [0-9a-f], and is injective: it decodes back to the input (hostile and 20,000 random strings)", () => {
    const rng = seededRandom(42);
    const inputs = [...ALL_STRINGS, ...Array.from({ length: 20_000 }, () => randomString(rng))];
    const seen = new Map<string, string>();
    for (const s of inputs) {
      const h = searchLiteral(s);
      expect(h).toMatch(/^[0-9a-f]*$/);
      expect(h.length).toBe(s.length * 4);
      expect(decode(h)).toBe(s);
      const prev = seen.get(h);
      if (prev !== undefined) expect(prev).toBe(s);
      seen.set(h, s);
    }
  });
});

describe("metadata tokens", () => {
  it("are [0-9a-z] only, bounded in length, and carry the always-present token", () => {
    const rng = seededRandom(7);
    for (let i = 0; i < 2000; i++) {
      const meta: Record<string, unknown> = {};
      for (let j = 0; j < 4; j++) meta[randomString(rng) || "k"] = rng() < 0.3 ? [randomString(rng), 1.5, true] : rng() < 0.6 ? randomString(rng) : -0;
      const toks = metadataTokens(meta);
      expect(toks[0]).toBe(ALWAYS_TOKEN);
      for (const t of toks) {
        expect(t).toMatch(/^[0-9a-z]+$/);
        expect(t.length).toBeLessThanOrEqual(MAX_TOKEN + 1);
      }
    }
  });

  it("keep types apart and follow the spec's equalities (-0 is 0, 2^53+1 is 2^53, \"3\" is not 3, true is not 1)", () => {
    expect(eqToken("k", -0)).toBe(eqToken("k", 0));
    expect(eqToken("k", 2 ** 53 + 1)).toBe(eqToken("k", 2 ** 53));
    expect(eqToken("k", "3")).not.toBe(eqToken("k", 3));
    expect(eqToken("k", true)).not.toBe(eqToken("k", 1));
    expect(eqToken("k", "true")).not.toBe(eqToken("k", true));
    expect(eqToken("a", "bc")).not.toBe(eqToken("ab", "c"));
    const long = "x".repeat(5000);
    expect(eqToken("k", long)).toMatch(/^l[0-9a-f]{64}$/);
    expect(eqToken("k", long)).not.toBe(eqToken("k", `${long}y`));
  });

  it("'' is equal to '' and empty; null, [] and missing keys have no tokens but the array marker for []", () => {
    expect(metadataTokens({ e: "" })).toEqual([ALWAYS_TOKEN, eqToken("e", "")]);
    expect(metadataTokens({ n: null })).toEqual([ALWAYS_TOKEN]);
    expect(metadataTokens({ a: [] })).toHaveLength(2);
    expect(metadataTokens({ o: { x: 1 } })).toHaveLength(2); // non-empty, equal to no scalar
  });
});

describe("compileFilters", () => {
  it("query text holds only tokens and the query language's own operators, for random hostile trees", () => {
    const rng = seededRandom(3);
    for (let t = 0; t < 3000; t++) {
      const tree = randomHostileFilter(rng, SEARCH_FILTER_OPERATORS, 3);
      const { compiled } = compileFilters(tree, "test");
      if (compiled.kind !== "query") continue;
      const text = queryText(compiled);
      // Outside the `{...}` token lists: only the attribute names, parentheses, `|`, `-` and spaces.
      expect(text.replace(/\{[0-9a-z |]+\}/g, "{}")).toMatch(/^[()@m:{}| -]+$/);
    }
  });

  it("folds constants: empty groups are TRUE, `in []` is FALSE, `nin []` is TRUE", () => {
    const c = (f: MetadataFilters) => compileFilters(f, "test").compiled.kind;
    expect(c({ filters: [] })).toBe("true");
    expect(c({ filters: [{ key: "a", operator: "in", value: [] }] })).toBe("false");
    expect(c({ filters: [{ key: "a", operator: "nin", value: [] }] })).toBe("true");
    expect(c({ filters: [{ key: "a", operator: "any", value: [] }], condition: "not" })).toBe("true");
    expect(c({ filters: [{ filters: [] }, { key: "a", operator: "in", value: [] }], condition: "or" })).toBe("true");
    expect(c({ filters: [{ key: "a", operator: "all", value: [] }] })).toBe("query"); // every stored array
  });

  it("refuses undeclared operators with UNSUPPORTED and malformed trees with INVALID_ARGUMENT", () => {
    for (const op of FILTER_OPERATORS.filter((o) => !SEARCH_FILTER_OPERATORS.includes(o))) {
      expect(() => compileFilters({ filters: [{ key: "a", operator: op, value: op === "is_empty" ? undefined : "x" }] }, "test")).toThrow(
        expect.objectContaining({ code: "UNSUPPORTED" }),
      );
    }
    expect(() => compileFilters({ filters: [{ key: "a", operator: "==", value: null }] } as never, "test")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("id and ref restrictions are tokens too", () => {
    const c = tagIn("id", ["a}b", "*"]);
    expect(c.kind).toBe("query");
    expect(queryText(c)).toMatch(/^@id:\{h[0-9a-f]+ \| h[0-9a-f]+\}$/);
    expect(tagIn("ref", []).kind).toBe("false");
  });
});

describe("order tokens (orderedFilters)", () => {
  const sign = (x: number) => (x < 0 ? -1 : x > 0 ? 1 : 0);
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

  it("number nibbles sort as the numbers (edges of doubles, -0 = 0, random doubles)", () => {
    const rng = seededRandom(5);
    const xs = [...HOSTILE_FILTER_NUMBERS, -Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE];
    for (let i = 0; i < 3000; i++) xs.push((rng() - 0.5) * 10 ** Math.floor(rng() * 40 - 20));
    for (const a of xs) {
      expect(numberNibbles(a)).toMatch(/^[0-9a-f]{16}$/);
      for (const b of xs.slice(0, 60)) expect(cmp(numberNibbles(a), numberNibbles(b)), `${a} vs ${b}`).toBe(sign(a - b));
    }
    expect(numberNibbles(-0)).toBe(numberNibbles(0));
  });

  it("string nibbles sort as the strings by code point, lone surrogates at their own place", () => {
    const rng = seededRandom(6);
    const xs = [...ALL_STRINGS, ...Array.from({ length: 1500 }, () => randomString(rng))];
    const nib = xs.map(stringNibbles);
    const wrong: string[] = [];
    for (let i = 0; i < 300; i++) for (let j = 0; j < xs.length; j++) if (cmp(nib[i]!, nib[j]!) !== sign(compareByCodePoint(xs[i]!, xs[j]!))) wrong.push(`${JSON.stringify(xs[i])} vs ${JSON.stringify(xs[j])}`);
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(stringNibbles("é")).toBe("c3a9");
  });

  it("are written only with the option, for top-level numbers and strings, bounded per string", () => {
    expect(metadataTokens({ n: 1, s: "ab", a: [1] })).toHaveLength(8); // z; eq + non-empty for n and s; array marker, non-empty, element for a
    const ordered = metadataTokens({ n: 1, s: "ab", a: [1], b: true }, true);
    // + number: type + 16 prefixes; string: type + 4 prefixes + end
    expect(ordered.length).toBe(metadataTokens({ n: 1, s: "ab", a: [1], b: true }).length + 17 + 6);
    const long = metadataTokens({ s: "x".repeat(ORDER_BYTES + 10) }, true);
    expect(long.length).toBeLessThanOrEqual(3 + 1 + ORDER_BYTES * 2 + 1);
  });

  it("compile to tokens only; ordering against a string over the bound is UNSUPPORTED", () => {
    const rng = seededRandom(8);
    for (let t = 0; t < 500; t++) {
      const { compiled } = compileFilters(randomHostileFilter(rng, ORDERED_SEARCH_FILTER_OPERATORS, 2), "test", true);
      if (compiled.kind === "query") expect(queryText(compiled).replace(/\{[0-9a-z |]+\}/g, "{}")).toMatch(/^[()@m:{}| -]+$/);
    }
    expect(() => compileFilters({ filters: [{ key: "k", operator: "<", value: "é".repeat(ORDER_BYTES) }] }, "test", true)).toThrow(
      expect.objectContaining({ code: "UNSUPPORTED" }),
    );
    expect(compileFilters({ filters: [{ key: "k", operator: "<", value: "x".repeat(ORDER_BYTES) }] }, "test", true).compiled.kind).toBe("query");
    expect(() => compileFilters({ filters: [{ key: "k", operator: "<", value: 1 }] }, "test")).toThrow(expect.objectContaining({ code: "UNSUPPORTED" }));
    expect(compileFilters({ filters: [{ key: "k", operator: "<", value: "" }] }, "test", true).compiled.kind).toBe("false");
  });
});

describe("textTerms", () => {
  it("keeps runs of letters and digits only", () => {
    expect(textTerms("@t:{alpha} | -beta* (γάμμα) 42 'x'")).toEqual(["t", "alpha", "beta", "γάμμα", "42", "x"]);
    for (const s of ALL_STRINGS) for (const w of textTerms(s)) expect(w).toMatch(/^[\p{L}\p{N}]+$/u);
  });
});
