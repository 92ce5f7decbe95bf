import { describe, expect, it } from "vitest";
import { HOSTILE_STRINGS } from "@larder/conformance";
import { FILTER_OPERATORS, type MetadataFilters } from "@larder/core/filters";
import { compileFilters } from "./filter-sql.js";
import { isWellFormedUtf16 } from "./identifiers.js";

const cols = { metadata: "metadata", metadataFolded: "metadata_folded" };

describe("compileFilters (no server)", () => {
  it("never pastes a key or value into the SQL text: every one is a bound parameter", () => {
    for (const s of HOSTILE_STRINGS.filter((x) => x.length < 100 && !x.includes("\u0000"))) {
      const tree: MetadataFilters = {
        condition: "or",
        filters: [
          { key: s, operator: "==", value: s },
          { key: s, operator: "text_match_insensitive", value: s },
          { key: s, operator: "in", value: [s, 1] },
          { condition: "not", filters: [{ key: `${s}2`, operator: "<", value: s }] },
        ],
      };
      const c = compileFilters(tree, cols, 3, "test")!;
      const sqlWithoutCasts = c.sql.replace(/'(?:string|number|boolean|array|null|\{\}|""|\[\])'(::jsonb)?/g, "");
      if (!["*", "?", "..", "plain"].includes(s)) expect(sqlWithoutCasts.includes(s), JSON.stringify(s)).toBe(false);
      expect(c.params).toContain(s);
      // Parameters are numbered after the offset and all referenced.
      for (let i = 1; i <= c.params.length; i++) expect(c.sql).toContain(`$${3 + i}::`);
      expect(c.sql).not.toContain("$3::");
    }
  });

  it("constant leaves (NUL values) bind nothing", () => {
    const c = compileFilters({ filters: [{ key: "k", operator: "contains", value: "a\u0000" }] }, cols, 0, "test")!;
    expect(c).toMatchObject({ sql: "(FALSE)", params: [] });
  });

  it("validates before compiling: malformed trees are INVALID_ARGUMENT", () => {
    expect(() => compileFilters({ filters: [{ key: "", operator: "==", value: 1 }] }, cols, 0, "t")).toThrow(/INVALID_ARGUMENT/);
    expect(() => compileFilters({ filters: [{ key: "a", operator: "in", value: 1 }] } as never, cols, 0, "t")).toThrow(/INVALID_ARGUMENT/);
  });

  it("lone surrogates compile to the reference's answer on storable data (never refused, never sent)", () => {
    // A key with a lone surrogate is missing: == never matches, != and is_empty always do.
    const missing = (operator: "==" | "!=" | "is_empty") =>
      compileFilters({ filters: [{ key: "a\ud800", operator, ...(operator === "is_empty" ? {} : { value: 1 }) }] }, cols, 0, "t")!;
    for (const op of ["==", "!=", "is_empty"] as const) expect(missing(op).params).not.toContain("a\ud800");
    expect(missing("==").sql).toContain("NULL::jsonb");
    expect(missing("is_empty").sql).toContain("NULL::jsonb IS NULL");
    // Values: equality never matches; nothing with a lone surrogate is ever bound.
    expect(compileFilters({ filters: [{ key: "k", operator: "==", value: "x\udc00" }] }, cols, 0, "t")).toMatchObject({ sql: "(FALSE)", params: [] });
    for (const value of ["\ud800", "a\ud800b", "\udc00", "x\ud83d", "\udc00x"]) {
      for (const operator of ["text_match", "text_match_insensitive", "<", ">=", "!="] as const) {
        const c = compileFilters({ filters: [{ key: "k", operator, value }] }, cols, 0, "t")!;
        for (const p of c.params) if (typeof p === "string") expect(isWellFormedUtf16(p), `${operator} ${JSON.stringify(value)}`).toBe(true);
      }
    }
    // A lone surrogate is a code point of its own: it never matches half of a stored astral character.
    expect(compileFilters({ filters: [{ key: "k", operator: "text_match", value: "x\ud83d" }] }, cols, 0, "t")).toMatchObject({ sql: "(FALSE)", params: [] });
    // Ordering against it compares with p + U+E000 (the lone surrogate sits between U+D7FF and U+E000).
    expect(compileFilters({ filters: [{ key: "k", operator: "<", value: "a\udc00z" }] }, cols, 0, "t")!.params).toContain("a\ue000");
  });

  it("compiles every operator, and empty groups to TRUE", () => {
    for (const op of FILTER_OPERATORS) {
      const value = op === "is_empty" ? undefined : ["in", "nin", "any", "all"].includes(op) ? ["a"] : "a";
      const c = compileFilters({ filters: [{ key: "k", operator: op, ...(value === undefined ? {} : { value }) }] }, cols, 0, "t")!;
      expect(c.sql.length).toBeGreaterThan(0);
    }
    expect(compileFilters({ filters: [], condition: "or" }, cols, 0, "t")!.sql).toBe("TRUE");
  });
});
