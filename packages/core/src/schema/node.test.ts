import { describe, expect, it } from "vitest";
import { isStorageError } from "../errors.js";
import { textNodeCorpus } from "../test-support/text-nodes.js";
import { Document, ImageNode, IndexNode, NodeRelationship, TextNode, jsonToNode, pyRepr, textNodeJsonText } from "./index.js";

describe("node schema", () => {
  it("round-trips a TextNode losslessly in LlamaIndex's shape", () => {
    const node = new TextNode({
      id: "node-1",
      text: "Hello world.",
      metadata: { file_name: "a.txt" },
      relationships: { "1": { nodeId: "doc-1", nodeType: "4", metadata: { file_name: "a.txt" }, hash: "h" } },
      startCharIdx: 0,
      endCharIdx: 12,
    });
    const json = node.toJSON();
    expect(Object.keys(json)).toEqual(["__data__", "__type__"]);
    expect(json.__type__).toBe("1");
    expect(Object.keys(json.__data__)).toEqual([
      "id_", "embedding", "metadata", "excluded_embed_metadata_keys", "excluded_llm_metadata_keys",
      "relationships", "metadata_template", "metadata_separator", "text", "mimetype", "start_char_idx",
      "end_char_idx", "text_template", "class_name",
    ]);
    const back = jsonToNode(JSON.parse(JSON.stringify(json)));
    expect(back).toBeInstanceOf(TextNode);
    expect(back.toJSON()).toEqual(json);
    expect(back.refDocId).toBe("doc-1");
  });

  it("keeps unknown fields and reads legacy spellings", () => {
    const n = jsonToNode({
      __type__: "1",
      __data__: { id_: "x", text: "t", metadata_seperator: "|", embeddings: { a: [1] } },
    });
    expect(n.metadataSeparator).toBe("|");
    expect(n.toJSON().__data__["embeddings"]).toEqual({ a: [1] });
    const legacy = jsonToNode({ __type__: "1", __data__: { doc_id: "old", text: "x", extra_info: { k: 1 }, relationships: { "1": "src" } } });
    expect(legacy.id).toBe("old");
    expect(legacy.metadata).toEqual({ k: 1 });
    expect(legacy.refDocId).toBe("src");
  });

  it("round-trips Document, ImageNode and IndexNode", () => {
    for (const n of [
      new Document({ id: "d", text: "doc text", metadata: { a: [1, "x"] } }),
      new ImageNode({ id: "i", image: "aGk=", imageMimetype: "image/png", text: "caption" }),
      new IndexNode({ id: "x", indexId: "idx", obj: new TextNode({ id: "inner", text: "in" }) }),
    ]) {
      const back = jsonToNode(JSON.parse(JSON.stringify(n.toJSON())));
      expect(back.constructor).toBe(n.constructor);
      expect(back.toJSON()).toEqual(n.toJSON());
      expect(back.hash).toBe(n.hash);
    }
  });

  it("reproduces Python's repr() of strings: quotes, escapes, non-printable characters", () => {
    // Expected values printed by CPython 3 (repr of each string).
    const cases: [string, string][] = [["plain", "'plain'"], ["it's", "\"it's\""], ["say \"hi\"", "'say \"hi\"'"], ["both ' and \"", "'both \\' and \"'"], ["back\\slash", "'back\\\\slash'"], ["line\nbreak\r\ttab", "'line\\nbreak\\r\\ttab'"], ["\u0000\u001f\u007f", "'\\x00\\x1f\\x7f'"], ["\u0080\u0085\u00a0\u00ad", "'\\x80\\x85\\xa0\\xad'"], ["\u00e9 \u00fc", "'\u00e9 \u00fc'"], ["\u2028\u2029", "'\\u2028\\u2029'"], ["\u200b\u3000", "'\\u200b\\u3000'"], ["\ue000", "'\\ue000'"], ["\ud800", "'\\ud800'"], ["x\udc00y", "'x\\udc00y'"], ["\ud83d\ude00", "'\ud83d\ude00'"], ["\udb40\udc01", "'\\U000e0001'"], ["\u0378", "'\\u0378'"], ["\udbff\udfff", "'\\U0010ffff'"]];
    for (const [s, expected] of cases) expect(pyRepr(s)).toBe(expected);
    expect(pyRepr({ "k'": ["\u2028", 1] })).toBe(`{"k'": ['\\u2028', 1]}`);
  });

  it("computes Python's TextNode hash (sha256 of text + dict repr)", () => {
    expect(pyRepr({ a: 1, b: "x", c: true, d: null, e: [1.5, "it's"] })).toBe(`{'a': 1, 'b': 'x', 'c': True, 'd': None, 'e': [1.5, "it's"]}`);
    const n = new TextNode({ id: "n", text: "Hello", metadata: {} });
    // sha256("Hello{}")
    expect(n.hash).toBe("378b8aef7d6589c0b81c83cb8eaa637088d5ae46b9c27fd5ce9d4c56ed676b57");
    const a = new TextNode({ id: "a", text: "same" });
    const b = new TextNode({ id: "b", text: "same" });
    expect(a.hash).toBe(b.hash);
    expect(new TextNode({ text: "same", metadata: { k: 1 } }).hash).not.toBe(a.hash);
  });

  it("refuses unknown node types with INVALID_ARGUMENT", () => {
    for (const bad of [{ __type__: "9", __data__: { id_: "x" } }, { __type__: "1" }, null, { __type__: "1", __data__: { id_: 3 } }]) {
      let err: unknown;
      try {
        jsonToNode(bad);
      } catch (e) {
        err = e;
      }
      expect(isStorageError(err, "INVALID_ARGUMENT")).toBe(true);
    }
  });

  it("textNodeJsonText writes exactly JSON.stringify(toJSON()) for TextNodes without extra fields", () => {
    const nodes = textNodeCorpus().filter((n) => Object.keys(n.extra).length === 0);
    expect(nodes.length).toBeGreaterThan(5);
    for (const n of nodes) {
      expect(textNodeJsonText(n), n.id).toBe(JSON.stringify(n.toJSON()));
      expect(textNodeJsonText(n, { nullEmbedding: true }), n.id).toBe(JSON.stringify({ ...n.toJSON(), __data__: { ...n.toJSON().__data__, embedding: null } }));
    }
    // From an init without relationships: the SOURCE id comes from `ref`.
    expect(textNodeJsonText({ id: "r", text: "x" }, { ref: "doc" })).toBe(
      JSON.stringify(new TextNode({ id: "r", text: "x", relationships: { [NodeRelationship.SOURCE]: { nodeId: "doc" } } }).toJSON()),
    );
  });
});
