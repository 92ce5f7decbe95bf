import { describe, expect, it } from "vitest";
import { Document, ImageNode, jsonToNode, MetadataMode, pyFormat, sha256, TextNode } from "./node.js";
import { exactObjectAt, mayBeInexact, parseJsonKeepingSource, pyReprOfJsonText, valueFingerprint } from "./exact-json.js";
import { pyRepr } from "./python-repr.js";

// Expected values were printed by Python LlamaIndex 0.14.25 (0.12.52 prints the same hashes).
const MD_JSON =
  '{"b": 1, "10": 2, "2": 3, "big": 9007199254740993, "h": 18446744073709551616, "z": -0.0, "o": 1.0, "l": [1.0, -2.0], "m": 1e+308, "t": 5e-324, "s": "\\ud800x", "n": {"3": 1.0, "a": null, "B": true}}';
// str(json.loads(MD_JSON))
const MD_REPR =
  "{'b': 1, '10': 2, '2': 3, 'big': 9007199254740993, 'h': 18446744073709551616, 'z': -0.0, 'o': 1.0, 'l': [1.0, -2.0], 'm': 1e+308, 't': 5e-324, 's': '\\ud800x', 'n': {'3': 1.0, 'a': None, 'B': True}}";
// json.dumps({"__data__": TextNode(id_="x", text="t\udc00", metadata=json.loads(MD_JSON)).dict(), "__type__": "1"}) and its hash
const NODE_JSON = `{"__data__": {"id_": "x", "embedding": null, "metadata": ${MD_JSON}, "excluded_embed_metadata_keys": [], "excluded_llm_metadata_keys": [], "relationships": {}, "metadata_template": "{key}: {value}", "metadata_separator": "\\n", "text": "t\\udc00", "mimetype": "text/plain", "start_char_idx": null, "end_char_idx": null, "text_template": "{metadata_str}\\n\\n{content}", "class_name": "TextNode"}, "__type__": "1"}`;
const NODE_HASH = "806cf2806dd26b6a044bc255ad7477194ac8b855b149209a3953fa3f63e3c9a2";
// Document(id_="d", text="doc", metadata={"10": 1.0, "a": -0.0, "p": "$& {content} \udfff"})
const DOC_JSON =
  '{"__data__": {"id_": "d", "embedding": null, "metadata": {"10": 1.0, "a": -0.0, "p": "$& {content} \\udfff"}, "excluded_embed_metadata_keys": [], "excluded_llm_metadata_keys": [], "relationships": {}, "metadata_template": "{key}: {value}", "metadata_separator": "\\n", "text_resource": {"embeddings": null, "text": "doc", "path": null, "url": null, "mimetype": null}, "image_resource": null, "audio_resource": null, "video_resource": null, "text_template": "{metadata_str}\\n\\n{content}", "class_name": "Document", "text": "doc"}, "__type__": "4"}';
const DOC_HASH = "a7edb51dc9636aeec24ea4777c16806fa941c742908799eb1393f1d87db74a99";
const DOC_EMBED_CONTENT = "10: 1.0\na: -0.0\np: $& {content} \udfff\n\ndoc";

describe("exact metadata of nodes read from JSON", () => {
  it("Python's str() of JSON text: big ints, -0.0, 1.0, [1.0, -2.0], 1e+308, 5e-324, key order, lone surrogates", () => {
    expect(pyReprOfJsonText(MD_JSON)).toBe(MD_REPR);
    expect(exactObjectAt(`{"x": {"y": ${MD_JSON}}}`, ["x", "y"])?.repr).toBe(MD_REPR);
    expect(pyReprOfJsonText("[-0, 1E5, 1e400, 0.1, 100]")).toBe("[0, 100000.0, inf, 0.1, 100]");
  });

  it("TextNode.hash equals Python's for a node read from Python's JSON (text or parsed-with-source value)", () => {
    expect(jsonToNode(NODE_JSON).hash).toBe(NODE_HASH);
    expect(jsonToNode(parseJsonKeepingSource(NODE_JSON)).hash).toBe(NODE_HASH);
    // Without its text, JS values cannot hold 1.0 / big ints / key order: the hash differs.
    expect(jsonToNode(JSON.parse(NODE_JSON)).hash).not.toBe(NODE_HASH);
  });

  it("Document.hash and getContent use the exact metadata string (0.12+/0.14 formula)", () => {
    const d = jsonToNode(DOC_JSON);
    expect(d).toBeInstanceOf(Document);
    expect(d.hash).toBe(DOC_HASH);
    expect(d.getContent(MetadataMode.EMBED)).toBe(DOC_EMBED_CONTENT);
  });

  it("users see plain JS values; an edit makes the JS values the truth", () => {
    const n = jsonToNode(NODE_JSON);
    expect(n.metadata["o"]).toBe(1);
    expect(Object.is(n.metadata["z"], -0)).toBe(true);
    expect(n.exactMetadata()?.repr).toBe(MD_REPR);
    n.metadata["o"] = 2;
    expect(n.exactMetadata()).toBeUndefined();
    expect(n.hash).toBe(sha256(n.text + pyRepr(n.metadata)));
    // Setting the value back does not bring the exact form back: JS values stay the truth.
    n.metadata["o"] = 1;
    expect(n.exactMetadata()).toBeUndefined();
  });

  it("-0 told from 0, key order and nesting count as edits", () => {
    for (const edit of [(m: Record<string, unknown>) => (m["z"] = 0), (m: Record<string, unknown>) => ((m["n"] as Record<string, unknown>)["a"] = 1), (m: Record<string, unknown>) => delete m["b"]]) {
      const n = jsonToNode(NODE_JSON);
      edit(n.metadata);
      expect(n.exactMetadata()).toBeUndefined();
    }
    expect(valueFingerprint({ a: -0 })).not.toBe(valueFingerprint({ a: 0 }));
  });

  it("clone keeps the exact form", () => {
    expect(jsonToNode(NODE_JSON).clone().hash).toBe(NODE_HASH);
  });

  it("only metadata with numbers or integer-like keys needs the text", () => {
    expect(mayBeInexact({ a: "x", b: [true, null, { c: "d" }] })).toBe(false);
    expect(mayBeInexact({ a: [{ b: 1 }] })).toBe(true);
    expect(mayBeInexact({ a: { "7": "x" } })).toBe(true);
  });
});

describe("hashes of JS-made nodes equal Python's", () => {
  it("lone surrogates are hashed as Python's surrogatepass bytes (TextNode, ImageNode)", () => {
    // TextNode(text="a\ud800b", metadata={"k": "\udfff"}).hash; ImageNode(id_="i", text="a\ud800", image="img").hash
    expect(new TextNode({ text: "a\ud800b", metadata: { k: "\udfff" } }).hash).toBe("c57a04c2f4cbb10b5fd59b50445dfe94f4c0f7cc36fe55f1f8702e22548f2e16");
    expect(new ImageNode({ id: "i", text: "a\ud800", image: "img" }).hash).toBe("d82ddd9adff2b5681acd965897e753d4ee941b3057944e5f2a9b4bde334c6f70");
    // A surrogate pair is one character: ordinary UTF-8.
    expect(sha256("\ud83d\ude00")).toBe(sha256(String.fromCodePoint(0x1f600)));
    expect(sha256("\ud83d")).not.toBe(sha256("\ufffd"));
  });

  it("numbers JS can tell apart: 1, 1.5, 1e-7, -0.0, 2**52+1", () => {
    // TextNode(text="x", metadata={"a": 1, "f": 1.5, "e": 1e-7, "neg": -0.0, "big": 2**52+1}).hash
    expect(new TextNode({ text: "x", metadata: { a: 1, f: 1.5, e: 1e-7, neg: -0, big: 2 ** 52 + 1 } }).hash).toBe(
      "4908f7083b25d69b88354659eb9367cff52c9df2871072187f9528aa5186be0f",
    );
  });

  it("Document: an empty text has no text resource (Python's Document(text=\"\")), JSON and hash", () => {
    const empty = new Document({ id: "d", text: "" });
    expect(empty.hash).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(empty.toJSON().__data__["text_resource"]).toBeNull();
    expect(new Document({ id: "d", text: "", metadata: { a: 1 } }).hash).toBe("16c3c6d78678d53d39ab2c7a5a7bc4596567b46a1a57000a2d707334f779b824");
    // Read with a resource holding "" (what Larder wrote before): that resource is kept, and hashed as 0.14 does.
    const read = jsonToNode({ __type__: "4", __data__: { id_: "d", text: "", text_resource: { embeddings: null, text: "", path: null, url: null, mimetype: null } } });
    expect(read.hash).toBe("1eaeba0acfe4952d1d025ed21643a2753701894b6fdcdcfd70ea62d8e7fd9802");
    // A changed text is the resource's text, whatever the resource held when read.
    read.text = "new";
    expect((read.toJSON().__data__["text_resource"] as { text: string }).text).toBe("new");
    // Document(id_="d", text="x\ud800").hash in 0.12 (0.14 cannot hash it: its MediaResource.hash encodes strictly).
    expect(new Document({ id: "d", text: "x\ud800" }).hash).toBe("19a20237b5de169e17c73104949d530edba7632ff07dbdcb0cd50e4f2586ebef");
  });

  it("templates are filled in one pass, as str.format does", () => {
    expect(pyFormat("{key}: {value}", { key: "{value}", value: "$&" })).toBe("{value}: $&");
    expect(pyFormat("{{x}} {content}", { content: "c" })).toBe("{x} c");
  });
});
