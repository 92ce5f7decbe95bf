import { describe, expect, it } from "vitest";
import { isStorageError } from "../errors.js";
import {
  compareByCodePoint,
  createFilterPredicate,
  filterDepth,
  filterKeys,
  filterOperatorsUsed,
  foldFilters,
  matchesFilters,
  normalizeFilters,
  validateFilters,
  type FilterOperator,
  type MetadataFilters,
} from "./index.js";

const leaf = (key: string, operator: FilterOperator, value?: unknown): MetadataFilters =>
  ({ filters: [value === undefined ? { key, operator } : { key, operator, value }] }) as MetadataFilters;

const m = (metadata: Record<string, unknown> | undefined, key: string, op: FilterOperator, value?: unknown) =>
  matchesFilters(metadata, leaf(key, op, value));

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isStorageError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe("reference evaluator", () => {
  it("== never coerces", () => {
    expect(m({ a: 3 }, "a", "==", 3)).toBe(true);
    expect(m({ a: "3" }, "a", "==", 3)).toBe(false);
    expect(m({ a: 3 }, "a", "==", "3")).toBe(false);
    expect(m({ a: true }, "a", "==", "true")).toBe(false);
    expect(m({ a: 1 }, "a", "==", true)).toBe(false);
    expect(m({ a: 0 }, "a", "==", false)).toBe(false);
    expect(m({ a: -0 }, "a", "==", 0)).toBe(true);
    expect(m({ a: 2.5 }, "a", "==", 2.5)).toBe(true);
  });

  it("== and != on arrays: a stored array never equals a scalar (use contains)", () => {
    expect(m({ a: [3] }, "a", "==", 3)).toBe(false);
    expect(m({ a: [3] }, "a", "!=", 3)).toBe(true);
  });

  it("missing and null match only !=, nin and is_empty", () => {
    for (const md of [{}, { a: null }, undefined]) {
      expect(m(md, "a", "==", 1)).toBe(false);
      expect(m(md, "a", "!=", 1)).toBe(true);
      expect(m(md, "a", ">", 1)).toBe(false);
      expect(m(md, "a", "<=", "z")).toBe(false);
      expect(m(md, "a", "in", [1])).toBe(false);
      expect(m(md, "a", "nin", [1])).toBe(true);
      expect(m(md, "a", "any", [1])).toBe(false);
      expect(m(md, "a", "all", [])).toBe(false);
      expect(m(md, "a", "contains", 1)).toBe(false);
      expect(m(md, "a", "text_match", "")).toBe(false);
      expect(m(md, "a", "text_match_insensitive", "")).toBe(false);
      expect(m(md, "a", "is_empty")).toBe(true);
    }
  });

  it("is_empty matches missing, null, empty string and empty array only", () => {
    expect(m({ a: "" }, "a", "is_empty")).toBe(true);
    expect(m({ a: [] }, "a", "is_empty")).toBe(true);
    expect(m({ a: 0 }, "a", "is_empty")).toBe(false);
    expect(m({ a: false }, "a", "is_empty")).toBe(false);
    expect(m({ a: " " }, "a", "is_empty")).toBe(false);
    expect(m({ a: {} }, "a", "is_empty")).toBe(false);
    expect(m({ a: [null] }, "a", "is_empty")).toBe(false);
  });

  it("ordering compares numbers with numbers and strings with strings by code point", () => {
    expect(m({ a: 5 }, "a", ">", 3)).toBe(true);
    expect(m({ a: -1.5 }, "a", "<", -1)).toBe(true);
    expect(m({ a: 3 }, "a", ">=", 3)).toBe(true);
    expect(m({ a: 3 }, "a", "<=", 3)).toBe(true);
    expect(m({ a: "5" }, "a", ">", 3)).toBe(false);
    expect(m({ a: 5 }, "a", ">", "3")).toBe(false);
    expect(m({ a: true }, "a", ">", 0)).toBe(false);
    expect(m({ a: [5] }, "a", ">", 3)).toBe(false);
    expect(m({ a: "b" }, "a", ">", "a")).toBe(true);
    expect(m({ a: "B" }, "a", ">", "a")).toBe(false); // 'B' (0x42) < 'a' (0x61)
    expect(m({ a: "ab" }, "a", ">", "a")).toBe(true);
    // U+FF21 (BMP, above the surrogates) < U+1F999 (astral): JS `<` would say the opposite.
    expect(m({ a: "\u{1F999}" }, "a", ">", "\uFF21")).toBe(true);
    expect("\u{1F999}" < "\uFF21").toBe(true);
    expect(compareByCodePoint("\u{1F999}", "\uFF21")).toBeGreaterThan(0);
    expect(compareByCodePoint("é", "z")).toBeGreaterThan(0);
    expect(compareByCodePoint("abc", "abc")).toBe(0);
  });

  it("in / nin on stored scalars", () => {
    expect(m({ a: "x" }, "a", "in", ["x", "y"])).toBe(true);
    expect(m({ a: 3 }, "a", "in", ["3"])).toBe(false);
    expect(m({ a: "x" }, "a", "in", [])).toBe(false);
    expect(m({ a: "x" }, "a", "nin", ["y"])).toBe(true);
    expect(m({ a: "x" }, "a", "nin", ["x"])).toBe(false);
    expect(m({ a: "x" }, "a", "nin", [])).toBe(true);
    expect(m({ a: ["x"] }, "a", "in", ["x"])).toBe(false);
    expect(m({ a: ["x"] }, "a", "nin", ["x"])).toBe(true);
  });

  it("any / all / contains on stored arrays", () => {
    expect(m({ a: ["x", 1] }, "a", "any", ["y", 1])).toBe(true);
    expect(m({ a: ["x", 1] }, "a", "any", ["1"])).toBe(false);
    expect(m({ a: ["x", 1] }, "a", "any", [])).toBe(false);
    expect(m({ a: ["x", 1] }, "a", "all", ["x", 1])).toBe(true);
    expect(m({ a: ["x", 1] }, "a", "all", ["x", 2])).toBe(false);
    expect(m({ a: ["x"] }, "a", "all", [])).toBe(true);
    expect(m({ a: [] }, "a", "all", [])).toBe(true);
    expect(m({ a: "x" }, "a", "any", ["x"])).toBe(false);
    expect(m({ a: ["x", true] }, "a", "contains", true)).toBe(true);
    expect(m({ a: ["x"] }, "a", "contains", "X")).toBe(false);
    expect(m({ a: "xyz" }, "a", "contains", "x")).toBe(false); // strings are not arrays
    expect(m({ a: [["x"]] }, "a", "contains", "x")).toBe(false);
  });

  it("text_match is case-sensitive substring; text_match_insensitive folds with toLowerCase", () => {
    expect(m({ a: "Hello World" }, "a", "text_match", "lo W")).toBe(true);
    expect(m({ a: "Hello World" }, "a", "text_match", "hello")).toBe(false);
    expect(m({ a: "Hello World" }, "a", "text_match_insensitive", "HELLO")).toBe(true);
    expect(m({ a: "ÜBER" }, "a", "text_match_insensitive", "über")).toBe(true);
    expect(m({ a: "x" }, "a", "text_match", "")).toBe(true);
    expect(m({ a: 12 }, "a", "text_match", "1")).toBe(false);
    expect(m({ a: ["abc"] }, "a", "text_match", "a")).toBe(false);
  });

  it("groups: and / or / not, nesting, empty group matches everything", () => {
    const md = { a: 1, b: "x" };
    const t = (condition: "and" | "or" | "not", ...filters: MetadataFilters["filters"]): MetadataFilters => ({ filters, condition });
    const a1 = { key: "a", operator: "==", value: 1 } as const;
    const bY = { key: "b", operator: "==", value: "y" } as const;
    expect(matchesFilters(md, t("and", a1, bY))).toBe(false);
    expect(matchesFilters(md, t("or", a1, bY))).toBe(true);
    expect(matchesFilters(md, t("not", a1, bY))).toBe(false);
    expect(matchesFilters(md, t("not", bY))).toBe(true);
    expect(matchesFilters(md, t("and", t("not", bY), t("or", bY, t("and", a1))))).toBe(true);
    for (const c of ["and", "or", "not"] as const) expect(matchesFilters(md, t(c))).toBe(true);
    expect(matchesFilters(md, { filters: [a1] })).toBe(true); // default and
    expect(matchesFilters(md, undefined)).toBe(true);
  });

  it("keys are literal own properties", () => {
    expect(m({ "a.b": 1 }, "a.b", "==", 1)).toBe(true);
    expect(m({ a: { b: 1 } }, "a.b", "==", 1)).toBe(false);
    expect(m({}, "constructor", "is_empty")).toBe(true);
    expect(m({}, "__proto__", "is_empty")).toBe(true);
    expect(m({}, "toString", "!=", "x")).toBe(true);
    const md = JSON.parse('{"__proto__": "p"}') as Record<string, unknown>;
    expect(m(md, "__proto__", "==", "p")).toBe(true);
  });

  it("createFilterPredicate agrees with matchesFilters", () => {
    const f: MetadataFilters = { condition: "or", filters: [{ key: "a", operator: ">", value: 2 }, { key: "t", operator: "contains", value: "x" }] };
    const p = createFilterPredicate(f);
    for (const md of [{ a: 3 }, { a: 1 }, { t: ["x"] }, {}, { a: "9" }]) expect(p(md)).toBe(matchesFilters(md, f));
  });
});

describe("validateFilters", () => {
  const bad: [string, unknown][] = [
    ["not an object", "a == 1"],
    ["null", null],
    ["missing filters", { condition: "and" }],
    ["filters not array", { filters: {} }],
    ["unknown condition", { filters: [], condition: "xor" }],
    ["upper-case condition (validate is strict)", { filters: [], condition: "AND" }],
    ["unknown operator", { filters: [{ key: "a", operator: "~", value: 1 }] }],
    ["enum name (validate is strict)", { filters: [{ key: "a", operator: "EQ", value: 1 }] }],
    ["missing operator", { filters: [{ key: "a", value: 1 }] }],
    ["empty key", { filters: [{ key: "", operator: "==", value: 1 }] }],
    ["numeric key", { filters: [{ key: 1, operator: "==", value: 1 }] }],
    ["null value for ==", { filters: [{ key: "a", operator: "==", value: null }] }],
    ["missing value for ==", { filters: [{ key: "a", operator: "==" }] }],
    ["array for ==", { filters: [{ key: "a", operator: "==", value: [1] }] }],
    ["object value", { filters: [{ key: "a", operator: "==", value: { x: 1 } }] }],
    ["NaN", { filters: [{ key: "a", operator: "==", value: NaN }] }],
    ["Infinity", { filters: [{ key: "a", operator: ">", value: Infinity }] }],
    ["boolean for >", { filters: [{ key: "a", operator: ">", value: true }] }],
    ["scalar for in", { filters: [{ key: "a", operator: "in", value: "x" }] }],
    ["null element in in", { filters: [{ key: "a", operator: "in", value: ["x", null] }] }],
    ["nested array in any", { filters: [{ key: "a", operator: "any", value: [["x"]] }] }],
    ["number for text_match", { filters: [{ key: "a", operator: "text_match", value: 1 }] }],
    ["value for is_empty", { filters: [{ key: "a", operator: "is_empty", value: "" }] }],
    ["unknown leaf property", { filters: [{ key: "a", operator: "==", value: 1, op: "x" }] }],
    ["unknown group property", { filters: [], conditon: "or" }],
    ["leaf and group at once", { filters: [{ key: "a", operator: "==", value: 1, filters: [] }] }],
    ["array entry", { filters: [[]] }],
    ["bigint", { filters: [{ key: "a", operator: "==", value: 1n }] }],
  ];
  for (const [name, f] of bad) {
    it(`INVALID_ARGUMENT: ${name}`, () => {
      expect(code(() => validateFilters(f))).toBe("INVALID_ARGUMENT");
      expect(code(() => matchesFilters({}, f as MetadataFilters))).toBe("INVALID_ARGUMENT");
    });
  }

  it("INVALID_ARGUMENT: depth and size limits", () => {
    let deep: MetadataFilters = { filters: [{ key: "a", operator: "==", value: 1 }] };
    for (let i = 0; i < 40; i++) deep = { filters: [deep] };
    expect(code(() => validateFilters(deep))).toBe("INVALID_ARGUMENT");
    const wide = { filters: Array.from({ length: 3000 }, () => ({ key: "a", operator: "==", value: 1 })) };
    expect(code(() => validateFilters(wide))).toBe("INVALID_ARGUMENT");
    const long = { filters: [{ key: "a", operator: "in", value: Array.from({ length: 20_000 }, (_, i) => i) }] };
    expect(code(() => validateFilters(long))).toBe("INVALID_ARGUMENT");
  });

  it("error messages name the path", () => {
    try {
      validateFilters({ filters: [{ key: "a", operator: "==", value: 1 }, { filters: [{ key: "b", operator: "in", value: 2 }] }] });
      expect.unreachable();
    } catch (e) {
      expect(String((e as Error).message)).toContain("filters.filters[1].filters[0]");
    }
  });

  it("UNSUPPORTED for operators, conditions and nesting a store declares it cannot honour", () => {
    const f = { filters: [{ key: "a", operator: "text_match", value: "x" }] };
    expect(code(() => validateFilters(f, { supportedOperators: ["==", "in"] }))).toBe("UNSUPPORTED");
    expect(code(() => validateFilters(f, { supportedOperators: ["text_match"] }))).toBe(undefined);
    const nested = { filters: [{ filters: [{ key: "a", operator: "==", value: 1 }] }] };
    expect(code(() => validateFilters(nested, { nestedFilters: false }))).toBe("UNSUPPORTED");
    expect(code(() => validateFilters({ condition: "not", filters: [{ key: "a", operator: "==", value: 1 }] }, { supportedConditions: ["and", "or"] }))).toBe("UNSUPPORTED");
    // Malformed wins over unsupported.
    const both = { filters: [{ key: "a", operator: "text_match", value: "x" }, { key: "a", operator: "==", value: null }] };
    expect(code(() => validateFilters(both, { supportedOperators: ["=="] }))).toBe("INVALID_ARGUMENT");
  });

  it("returns a canonical copy", () => {
    const vals = ["x"];
    const src: MetadataFilters = { filters: [{ key: "a", operator: "in", value: vals }, { key: "b", operator: "is_empty" }] };
    const out = validateFilters(src);
    vals.push("y");
    expect(out).toEqual({ condition: "and", filters: [{ key: "a", operator: "in", value: ["x"] }, { key: "b", operator: "is_empty" }] });
    expect(validateFilters({ filters: [{ key: "b", operator: "is_empty", value: null }] }).filters[0]).toEqual({ key: "b", operator: "is_empty" });
  });
});

describe("normalizeFilters (LlamaIndex dict form)", () => {
  it("accepts enum names, values and default operator, any-case conditions", () => {
    const py = {
      filters: [
        { key: "author", value: "Ann", operator: "EQ" },
        { key: "year", value: 2020, operator: ">=" },
        { key: "tag", value: ["a", "b"], operator: "FilterOperator.NIN" },
        { key: "x", value: "y" },
        { key: "t", value: "foo", operator: "text_match_insensitive" },
        { key: "e", value: null, operator: "IS_EMPTY" },
        { filters: [{ key: "n", value: 1, operator: "ne" }], condition: "NOT" },
      ],
      condition: "OR",
    };
    expect(normalizeFilters(py)).toEqual({
      condition: "or",
      filters: [
        { key: "author", operator: "==", value: "Ann" },
        { key: "year", operator: ">=", value: 2020 },
        { key: "tag", operator: "nin", value: ["a", "b"] },
        { key: "x", operator: "==", value: "y" },
        { key: "t", operator: "text_match_insensitive", value: "foo" },
        { key: "e", operator: "is_empty" },
        { condition: "not", filters: [{ key: "n", operator: "!=", value: 1 }] },
      ],
    });
  });

  it("accepts a list (from_dicts) and a single leaf", () => {
    expect(normalizeFilters([{ key: "a", value: 1, operator: "GT" }])).toEqual({ condition: "and", filters: [{ key: "a", operator: ">", value: 1 }] });
    expect(normalizeFilters({ key: "a", value: 1 })).toEqual({ condition: "and", filters: [{ key: "a", operator: "==", value: 1 }] });
    expect(normalizeFilters({ filters: [], condition: "FilterCondition.AND" })).toEqual({ condition: "and", filters: [] });
  });

  it("stays strict about everything else", () => {
    expect(code(() => normalizeFilters({ filters: [{ key: "a", value: 1, operator: "LIKE" }] }))).toBe("INVALID_ARGUMENT");
    expect(code(() => normalizeFilters({ filters: [{ key: "a", value: "1", operator: "in" }] }))).toBe("INVALID_ARGUMENT");
    expect(code(() => normalizeFilters("x"))).toBe("INVALID_ARGUMENT");
  });
});

describe("compiler helpers", () => {
  const tree: MetadataFilters = {
    condition: "and",
    filters: [
      { key: "a", operator: "==", value: 1 },
      { condition: "not", filters: [{ key: "b", operator: "in", value: [1] }, { condition: "or", filters: [{ key: "a", operator: "is_empty" }] }] },
    ],
  };
  it("keys, operators, depth, fold", () => {
    expect(filterKeys(tree)).toEqual(["a", "b"]);
    expect([...filterOperatorsUsed(tree)].sort()).toEqual(["==", "in", "is_empty"]);
    expect(filterDepth(tree)).toBe(3);
    const s = foldFilters(tree, {
      leaf: (f) => `${f.key}${f.operator}${JSON.stringify(f.value ?? null)}`,
      group: (c, parts) => `${c}(${parts.join(",")})`,
    });
    expect(s).toBe('and(a==1,not(bin[1],or(ais_emptynull)))');
  });
});
