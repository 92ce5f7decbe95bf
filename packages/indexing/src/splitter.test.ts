import { Document, NodeRelationship } from "@larder/core";
import { describe, expect, it } from "vitest";
import { countTokens, SentenceSplitter } from "./splitter.js";

const para = (n: number, word: string) => Array.from({ length: n }, (_, i) => `${word}${i} is a sentence number ${i}.`).join(" ");

describe("SentenceSplitter", () => {
  it("counts approximate tokens: word runs and single punctuation marks", () => {
    expect(countTokens("don't stop.")).toBe(5);
    expect(countTokens("  ")).toBe(0);
    expect(countTokens("héllo wörld 42")).toBe(3);
  });

  it("keeps every chunk within chunkSize tokens and offsets exact", () => {
    const text = `${para(40, "alpha")}\n\n${para(30, "beta")}\n\n${para(5, "gamma")}`;
    const s = new SentenceSplitter({ chunkSize: 50, chunkOverlap: 10 });
    const chunks = s.splitText(text);
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) {
      expect(countTokens(c.text)).toBeLessThanOrEqual(50);
      expect(text.slice(c.start, c.end)).toBe(c.text);
      expect(c.text).toBe(c.text.trim());
    }
    // Everything is covered, in order.
    expect(chunks[0]!.start).toBe(0);
    expect(chunks.at(-1)!.end).toBe(text.length);
    for (let i = 1; i < chunks.length; i++) {
      expect(chunks[i]!.start).toBeGreaterThan(chunks[i - 1]!.start);
      expect(chunks[i]!.start).toBeLessThanOrEqual(chunks[i - 1]!.end + 2);
    }
  });

  it("overlaps consecutive chunks by whole sentences up to chunkOverlap", () => {
    const text = para(30, "w");
    const chunks = new SentenceSplitter({ chunkSize: 40, chunkOverlap: 12 }).splitText(text);
    let overlapping = 0;
    for (let i = 1; i < chunks.length; i++) {
      const prev = chunks[i - 1]!;
      const cur = chunks[i]!;
      if (cur.start < prev.end) {
        overlapping++;
        expect(countTokens(text.slice(cur.start, prev.end))).toBeLessThanOrEqual(12);
      }
    }
    expect(overlapping).toBeGreaterThan(0);
    const none = new SentenceSplitter({ chunkSize: 40, chunkOverlap: 0 }).splitText(text);
    for (let i = 1; i < none.length; i++) expect(none[i]!.start).toBeGreaterThanOrEqual(none[i - 1]!.end);
  });

  it("prefers paragraph boundaries: a small paragraph is never cut", () => {
    const text = "Short intro paragraph.\n\nSecond paragraph here, also short.";
    const chunks = new SentenceSplitter({ chunkSize: 8, chunkOverlap: 0 }).splitText(text);
    expect(chunks.map((c) => c.text)).toEqual(["Short intro paragraph.", "Second paragraph here, also short."].flatMap((p) =>
      countTokens(p) <= 8 ? [p] : new SentenceSplitter({ chunkSize: 8, chunkOverlap: 0 }).splitText(p).map((c) => c.text),
    ));
    expect(chunks[0]!.text).toBe("Short intro paragraph.");
  });

  it("splits a giant word by size (chars unit) without breaking surrogate pairs", () => {
    const text = `${"x".repeat(25)}😀${"y".repeat(10)}`;
    const chunks = new SentenceSplitter({ unit: "chars", chunkSize: 10, chunkOverlap: 0 }).splitText(text);
    for (const c of chunks) expect(c.text.length).toBeLessThanOrEqual(10);
    expect(chunks.map((c) => c.text).join("")).toBe(text);
    expect(chunks.every((c) => !/[\uD800-\uDBFF]$/.test(c.text))).toBe(true);
  });

  it("builds nodes with SOURCE/PREVIOUS/NEXT, inherited metadata, offsets and deterministic ids", () => {
    const doc = new Document({ id: "doc-1", text: para(20, "s"), metadata: { author: "ann", year: 2020 } });
    const s = new SentenceSplitter({ chunkSize: 30, chunkOverlap: 5 });
    const nodes = s.getNodesFromDocuments([doc]);
    expect(nodes.length).toBeGreaterThan(2);
    nodes.forEach((n, i) => {
      expect(n.metadata).toEqual({ author: "ann", year: 2020 });
      expect(n.refDocId).toBe("doc-1");
      expect(n.relationships[NodeRelationship.SOURCE]?.hash).toBe(doc.hash);
      expect(doc.text.slice(n.startCharIdx!, n.endCharIdx!)).toBe(n.text);
      expect(n.relationships[NodeRelationship.PREVIOUS]?.nodeId).toBe(nodes[i - 1]?.id);
      expect(n.relationships[NodeRelationship.NEXT]?.nodeId).toBe(nodes[i + 1]?.id);
    });
    expect(s.getNodesFromDocuments([doc]).map((n) => n.id)).toEqual(nodes.map((n) => n.id));
    // Metadata is copied, not shared.
    nodes[0]!.metadata["author"] = "changed";
    expect(doc.metadata["author"]).toBe("ann");
  });

  it("refuses bad options with INVALID_ARGUMENT", () => {
    expect(() => new SentenceSplitter({ chunkSize: 10, chunkOverlap: 10 })).toThrow(/INVALID_ARGUMENT/);
    expect(() => new SentenceSplitter({ chunkSize: 0 })).toThrow(/INVALID_ARGUMENT/);
    expect(() => new SentenceSplitter({ unit: "bytes" as never })).toThrow(/INVALID_ARGUMENT/);
  });

  it("gives no chunk for whitespace-only text", () => {
    expect(new SentenceSplitter().splitText(" \n\n \t")).toEqual([]);
  });
});
