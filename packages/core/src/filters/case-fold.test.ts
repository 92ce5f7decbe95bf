import { describe, expect, it } from "vitest";
import {
  CASE_FOLD_UNICODE_VERSION,
  CASE_FOLD_VERSION,
  compareByCodePoint,
  foldCase,
  foldCodePoint,
  includesByCodePoint,
  matchesFilters,
} from "./index.js";
import { CASE_FOLD_ENTRIES, CASE_FOLD_RUNS } from "./case-fold-table.js";

const tim = (stored: string, value: string) =>
  matchesFilters({ s: stored }, { filters: [{ key: "s", operator: "text_match_insensitive", value }] });

describe("case fold (pinned table)", () => {
  it("is Unicode 16.0.0 simple case folding, whatever the runtime's ICU", () => {
    expect(CASE_FOLD_UNICODE_VERSION).toBe("16.0.0");
    expect(CASE_FOLD_VERSION).toBe("unicode-16.0.0-simple-v1");
    expect(CASE_FOLD_ENTRIES).toBe(1484);
    let n = 0;
    for (let i = 0; i < CASE_FOLD_RUNS.length; i += 4) n += CASE_FOLD_RUNS[i + 1]!;
    expect(n).toBe(1484);
  });

  it("folds characters whose case pair was added in Unicode 14-16", () => {
    expect(foldCase("\uA7C0")).toBe("\uA7C1"); // 14.0
    expect(foldCase("\u2C2F")).toBe("\u2C5F"); // 14.0
    expect(foldCase("\u1C89")).toBe("\u1C8A"); // 16.0
    expect(foldCase("\u{10D50}")).toBe("\u{10D70}"); // 16.0
    expect(tim("\uA7C1", "\uA7C0")).toBe(true);
    expect(tim("x\u{10D70}y", "\u{10D50}")).toBe(true);
  });

  it("is simple folding: final sigma, sharp s, Kelvin, dotted I", () => {
    expect(foldCase("ΟΔΥΣΣΕΥΣ")).toBe("οδυσσευσ");
    expect(foldCase("οδυσσευς")).toBe("οδυσσευσ");
    expect(tim("ΟΔΥΣΣΕΥΣ", "οδυσσευς")).toBe(true);
    expect(foldCase("\u1E9E")).toBe("ß");
    expect(tim("Straße", "STRAẞE")).toBe(true);
    expect(tim("Strasse", "straße")).toBe(false); // full folding (ß -> ss) is not used
    expect(foldCase("\u212A")).toBe("k");
    expect(foldCase("İ")).toBe("İ"); // its folding to "i̇" is a full folding
    expect(tim("İstanbul", "istanbul")).toBe(false);
    expect(tim("ſ", "S")).toBe(true);
    expect(foldCase("\u13F8")).toBe("\u13F0"); // Cherokee folds to upper case
  });

  it("keeps lone surrogates, NUL and unmapped characters; preserves UTF-16 length", () => {
    expect(foldCase("a\uD800B\u0000\uDC00\u{1F600}\u{10400}")).toBe("a\uD800b\u0000\uDC00\u{1F600}\u{10428}");
    expect(foldCase("")).toBe("");
    const s = "ÀÉÎ".repeat(10_000);
    expect(foldCase(s)).toBe("àéî".repeat(10_000));
    const bad: number[] = [];
    for (let cp = 0; cp < 0x110000; cp++) {
      const f = foldCodePoint(cp);
      if (f > 0xffff !== cp > 0xffff || foldCodePoint(f) !== f) bad.push(cp);
    }
    expect(bad).toEqual([]);
  });
});

describe("lone surrogates are code points of their own", () => {
  it("orders U+D800..U+DFFF between U+D7FF and U+E000", () => {
    expect(compareByCodePoint("\uD800", "\uFFFF")).toBeLessThan(0);
    expect(compareByCodePoint("\uD800", "\uE000")).toBeLessThan(0);
    expect(compareByCodePoint("\uDFFF", "\uD7FF")).toBeGreaterThan(0);
    expect(compareByCodePoint("\uDC00", "\uDBFF")).toBeGreaterThan(0);
    expect(compareByCodePoint("\uD800", "\u{10000}")).toBeLessThan(0);
    expect(compareByCodePoint("\uFFFF", "\u{10000}")).toBeLessThan(0);
    expect(compareByCodePoint("\uD800\uE000", "\uD800\uDC00")).toBeLessThan(0);
    expect(compareByCodePoint("a\uD83D", "a\uD83D\uDE00")).toBeLessThan(0);
    expect(compareByCodePoint("\u{1F600}", "\u{1F600}")).toBe(0);
    const lt = (a: string, b: string) => matchesFilters({ s: a }, { filters: [{ key: "s", operator: "<", value: b }] });
    expect(lt("\uD800", "\uFFFF")).toBe(true);
    expect(lt("\uE000", "\uD800")).toBe(false);
  });

  it("never match one half of a pair in text_match", () => {
    expect(includesByCodePoint("\u{1F600}", "\uD83D")).toBe(false);
    expect(includesByCodePoint("\u{1F600}", "\uDE00")).toBe(false);
    expect(includesByCodePoint("x\uD83D", "\uD83D")).toBe(true);
    expect(includesByCodePoint("\uD83D\u{1F600}", "\uD83D")).toBe(true);
    expect(includesByCodePoint("\u{1F600}\uDE00", "\uDE00")).toBe(true);
    expect(includesByCodePoint("abc", "")).toBe(true);
    const tm = (a: string, b: string) => matchesFilters({ s: a }, { filters: [{ key: "s", operator: "text_match", value: b }] });
    expect(tm("a\u{10000}b", "\uDC00b")).toBe(false);
    expect(tm("a\u{10000}b", "a\uD800")).toBe(false);
    expect(tm("a\u{10000}b", "a\u{10000}")).toBe(true);
  });
});
