import { describe, expect, it } from "vitest";
import { rng } from "../test-support/prng.js";
import { parseRawEntryDict, pyJson, pyJsonFromJsonText, TreeAssembler, treeLines } from "./json-stream.js";

describe("pyJsonFromJsonText", () => {
  it("prints JSON.stringify text exactly as pyJson prints the parsed value (10 000 random values)", () => {
    const rand = rng(5);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const strings = ["", "plain", "é ü", "\u2028", "\u007f", "😀", 'q"uote', "back\\slash", "nl\n", "\u0001", "\ud800", "x\udc00", "embedding", "text_embedding", "1", "__proto__"];
    const numbers = [0, 1, -1, 0.1, 1e-7, 1e16, 1e21, 123456789012345680000, 5e-324, -2.5, 3, 1.5e300, 0.0001, 12345.678];
    const gen = (depth: number): unknown => {
      const r = rand();
      if (depth <= 0 || r < 0.3) {
        const q = rand();
        return q < 0.3 ? pick(strings) : q < 0.6 ? pick(numbers) : q < 0.7 ? null : q < 0.85 ? rand() < 0.5 : [];
      }
      if (r < 0.55) return Array.from({ length: Math.floor(rand() * 4) }, () => (rand() < 0.7 ? pick(numbers) : gen(depth - 1)));
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(rand() * 5); i > 0; i--) {
        const key = pick(strings);
        o[key] = key.includes("embedding") && rand() < 0.7 ? Array.from({ length: 3 }, () => pick(numbers)) : gen(depth - 1);
      }
      return o;
    };
    for (let t = 0; t < 10_000; t++) {
      const value = { top: gen(4), embedding: [1, 0, -2.5, 1e-7], nested: { embedding: [[1, 2], 3], text_embedding: [0], x: [1, 2] } };
      const text = JSON.stringify(value);
      expect(pyJsonFromJsonText(text), text).toBe(pyJson(JSON.parse(text)));
    }
  });

  it("writes floats only directly under embedding keys, and escapes from U+007F up", () => {
    expect(pyJsonFromJsonText('{"embedding":[1,0.5,[2]],"e":[1],"m":{"text_embedding":[3]}}')).toBe(
      '{"embedding": [1.0, 0.5, [2]], "e": [1], "m": {"text_embedding": [3.0]}}',
    );
    expect(pyJsonFromJsonText(JSON.stringify({ "k\u00e9": "\u007f😀 \u2028", n: 1e-7 }))).toBe('{"k\\u00e9": "\\u007f\\ud83d\\ude00 \\u2028", "n": 1e-07}');
  });
});

describe("parseRawEntryDict", () => {
  const text = '{"c/data": {"a": {"x": 1.0, "s": "q\\"\\\\", "n": [9007199254740993]}, "__proto__": {"2": -0.0, "b": 1}}, "e": {}, "c/meta": {"k\\u00e9": {"h": "x"}}}';
  it("keeps each value's text, from the text (below the string limit) and from the bytes (beyond)", () => {
    const bytes = new TextEncoder().encode(text);
    for (const limit of [Infinity, 1]) {
      const r = parseRawEntryDict(bytes, "f", {}, limit);
      const raw = (c: string, k: string) => {
        const v = r.maps.get(c)!.get(k)!;
        return typeof v === "string" ? v : new TextDecoder().decode(v as Uint8Array);
      };
      expect(raw("c/data", "a")).toBe('{"x": 1.0, "s": "q\\"\\\\", "n": [9007199254740993]}');
      expect(raw("c/data", "__proto__")).toBe('{"2": -0.0, "b": 1}');
      expect(raw("c/meta", "k\u00e9")).toBe('{"h": "x"}');
      expect(r.maps.get("e")!.size).toBe(0);
      expect(Object.keys(r.dict["c/data"]!)).toEqual(["a", "__proto__"]);
    }
  });
  it("refuses non-object values and bad JSON as CORRUPT naming the file", () => {
    for (const limit of [Infinity, 1]) {
      for (const bad of ['{"c": {"a": [1]}}', '{"c": [1]}', '{"c": {"a": {}', "[]"]) {
        expect(() => parseRawEntryDict(new TextEncoder().encode(bad), "dir/f.json", {}, limit), bad).toThrow(expect.objectContaining({ code: "CORRUPT", message: expect.stringContaining("dir/f.json") }));
      }
    }
  });
});

describe("treeLines", () => {
  it("keeps -0 (written -0.0) at every depth", () => {
    const value = { a: { b: -0, c: [0, -0] }, d: -0 };
    for (const depth of [1, 2, 3]) {
      const back = new TreeAssembler("f");
      for (const line of treeLines(value, depth)) back.addLine(line.slice(0, -1));
      const r = back.result() as { a: { b: number; c: number[] }; d: number };
      expect(Object.is(r.a.b, -0) && Object.is(r.a.c[1], -0) && Object.is(r.d, -0) && Object.is(r.a.c[0], 0), String(depth)).toBe(true);
    }
  });
});
