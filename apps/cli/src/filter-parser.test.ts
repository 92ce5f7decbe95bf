import { isStorageError, matchesFilters } from "@larder/core";
import { describe, expect, it } from "vitest";
import { parseFilter } from "./filter-parser.js";

/** The column the error points at (1-based), checked against the caret line too. */
function errorColumn(input: string): number {
  try {
    parseFilter(input);
  } catch (err) {
    expect(isStorageError(err, "INVALID_ARGUMENT")).toBe(true);
    const e = err as Error & { details?: { column?: number } };
    const lines = e.message.split("\n");
    expect(lines[1]).toBe(`  ${input}`);
    const caret = lines[2]!.indexOf("^") - 2 + 1;
    expect(e.details?.column).toBe(caret);
    return caret;
  }
  throw new Error(`expected ${input} to fail`);
}

describe("parseFilter: valid expressions", () => {
  it("parses the README example", () => {
    expect(parseFilter('year >= 2010 and author in ["a","b"]')).toEqual({
      condition: "and",
      filters: [
        { key: "year", operator: ">=", value: 2010 },
        { key: "author", operator: "in", value: ["a", "b"] },
      ],
    });
  });

  it("maps every operator", () => {
    const cases: [string, unknown][] = [
      ["k == 1", { key: "k", operator: "==", value: 1 }],
      ["k = 'x'", { key: "k", operator: "==", value: "x" }],
      ["k != true", { key: "k", operator: "!=", value: true }],
      ["k > -1.5", { key: "k", operator: ">", value: -1.5 }],
      ["k >= 1e3", { key: "k", operator: ">=", value: 1000 }],
      ["k < \"b\"", { key: "k", operator: "<", value: "b" }],
      ["k <= 0", { key: "k", operator: "<=", value: 0 }],
      ["k in [1, 2]", { key: "k", operator: "in", value: [1, 2] }],
      ["k nin []", { key: "k", operator: "nin", value: [] }],
      ["k not in [\"a\"]", { key: "k", operator: "nin", value: ["a"] }],
      ["tags any [\"x\", \"y\"]", { key: "tags", operator: "any", value: ["x", "y"] }],
      ["tags ALL [\"x\"]", { key: "tags", operator: "all", value: ["x"] }],
      ["tags contains \"x\"", { key: "tags", operator: "contains", value: "x" }],
      ["title ~ \"Larder\"", { key: "title", operator: "text_match", value: "Larder" }],
      ["title text_match \"Larder\"", { key: "title", operator: "text_match", value: "Larder" }],
      ["title ~* \"larder\"", { key: "title", operator: "text_match_insensitive", value: "larder" }],
      ["title text_match_insensitive 'x'", { key: "title", operator: "text_match_insensitive", value: "x" }],
      ["summary is_empty", { key: "summary", operator: "is_empty" }],
      ["summary is empty", { key: "summary", operator: "is_empty" }],
    ];
    for (const [input, leaf] of cases) expect(parseFilter(input), input).toEqual({ condition: "and", filters: [leaf] });
  });

  it("gives and precedence over or, honours parentheses and not, and flattens", () => {
    expect(parseFilter("a == 1 or b == 2 and c == 3")).toEqual({
      condition: "or",
      filters: [
        { key: "a", operator: "==", value: 1 },
        { condition: "and", filters: [{ key: "b", operator: "==", value: 2 }, { key: "c", operator: "==", value: 3 }] },
      ],
    });
    expect(parseFilter("(a == 1 or b == 2) AND NOT c == 3 and d == 4")).toEqual({
      condition: "and",
      filters: [
        { condition: "or", filters: [{ key: "a", operator: "==", value: 1 }, { key: "b", operator: "==", value: 2 }] },
        { condition: "not", filters: [{ key: "c", operator: "==", value: 3 }] },
        { key: "d", operator: "==", value: 4 },
      ],
    });
    expect(parseFilter("a == 1 and (b == 2 and c == 3)").filters).toHaveLength(3);
    expect(parseFilter("not not a == 1")).toEqual({ condition: "not", filters: [{ condition: "not", filters: [{ key: "a", operator: "==", value: 1 }] }] });
  });

  it("reads quoted keys, escapes, unicode and dotted keys literally", () => {
    expect(parseFilter('"my key" == "a \\"q\\" \\u00e9\\n" and file.path ~ \'x\' and année > 1').filters).toEqual([
      { key: "my key", operator: "==", value: 'a "q" é\n' },
      { key: "file.path", operator: "text_match", value: "x" },
      { key: "année", operator: ">", value: 1 },
    ]);
    expect(parseFilter("'and' == 1").filters[0]).toEqual({ key: "and", operator: "==", value: 1 });
  });

  it("means what the reference evaluator says", () => {
    const f = parseFilter('year >= 2010 and author in ["a","b"] and not tags any ["draft"]');
    expect(matchesFilters({ year: 2015, author: "a", tags: ["ok"] }, f)).toBe(true);
    expect(matchesFilters({ year: 2015, author: "a", tags: ["draft"] }, f)).toBe(false);
    expect(matchesFilters({ year: "2015", author: "a" }, f)).toBe(false); // no coercion
    expect(matchesFilters({ year: 2009, author: "b" }, f)).toBe(false);
  });
});

describe("parseFilter: errors point at the column", () => {
  it.each([
    ["", 1],
    ["year >=", 8],
    ["year >= and x", 9],
    ["year 2010", 6],
    ["year >= 2010 author == 1", 14],
    ["(a == 1", 8],
    ["a == [1, 2", 11],
    ["a == [1 2]", 9],
    ['a == "open', 6],
    ["a == 1 or", 10],
    ["a == bob", 6],
    ["a == 1 && b == 2", 8],
    ["a == [[1]]", 7],
    ["a > true", 5],
    ["a in 3", 6],
    ["a == null", 6],
    ["a == 12abc", 8],
    ['a == "\\q"', 7],
    ["== 3", 1],
    ["a == 1 and ()", 13],
  ])("%j -> column %i", (input, col) => {
    expect(errorColumn(input)).toBe(col);
  });

  it("explains null and unquoted strings", () => {
    expect(() => parseFilter("a == null")).toThrow(/is_empty/);
    expect(() => parseFilter("a == bob")).toThrow(/quote strings/);
  });
});

describe("parseFilter: nesting", () => {
  it("accepts 32 levels of parentheses and not, and refuses deeper ones at the offending column", () => {
    expect(parseFilter(`${"(".repeat(32)}a == 1${")".repeat(32)}`)).toEqual({ condition: "and", filters: [{ key: "a", operator: "==", value: 1 }] });
    expect(parseFilter(`${"not ".repeat(32)}a == 1`).condition).toBe("not");
    expect(errorColumn(`${"(".repeat(33)}a == 1${")".repeat(33)}`)).toBe(33);
    expect(errorColumn(`${"not ".repeat(33)}a == 1`)).toBe(32 * 4 + 1);
    expect(errorColumn(`(not (${"not ".repeat(30)}a == 1))`)).toBe(6 + 30 * 4 + 1 - 4);
  });

  it("10,000 nested parentheses are one clean INVALID_ARGUMENT with the position, echoed around it", () => {
    const input = `${"(".repeat(10_000)}a == 1${")".repeat(10_000)}`;
    let err: unknown;
    try {
      parseFilter(input);
    } catch (e) {
      err = e;
    }
    expect(isStorageError(err, "INVALID_ARGUMENT")).toBe(true);
    const e = err as Error & { details?: { column?: number } };
    expect(e.details?.column).toBe(33);
    const [first, echo, caret] = e.message.split("\n");
    expect(first).toMatch(/column 33: nested deeper than 32 levels of parentheses and "not"/);
    expect(echo!.length).toBeLessThan(200);
    expect(caret!.indexOf("^")).toBe(2 + 32);
    expect(() => parseFilter(`${"not ".repeat(10_000)}a == 1`)).toThrow(/column 129: nested deeper than 32 levels/);
  });
});
