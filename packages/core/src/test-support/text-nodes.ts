import { NodeRelationship, TextNode } from "../schema/node.js";

/**
 * TextNodes that between them use every field and its edge cases (quotes, escapes, line
 * separators, astral characters, control characters, empty text, every relationship shape,
 * non-default templates, `extra`), for tests that compare a field-by-field JSON writer with
 * `JSON.stringify(node.toJSON())`. Test support only; excluded from the build.
 */
export function textNodeCorpus(): TextNode[] {
  return [
    new TextNode({ id: "a", text: "plain", metadata: {} }),
    new TextNode({ id: 'q"uote\\\n', text: 'line\nbreak "quoted" \u2028 é 🙂', metadata: { k: 1, nested: { z: [1, "x", null] }, 'w"eird': true } }),
    new TextNode({ id: "r", text: "", metadata: { page: 3 }, relationships: { [NodeRelationship.SOURCE]: { nodeId: 'doc "1"' } } }),
    new TextNode({ id: "\u0001larder-id\u0001", text: "\u0001larder-text\u0001", metadata: { "\u0001larder-metadata\u0001": 0 } }),
    new TextNode({
      id: "full",
      text: "t \u2028 é 😀\n",
      metadata: { a: [1, { b: null }], "k'": "v" },
      embedding: [0.5, -1, 1e-7],
      relationships: {
        [NodeRelationship.SOURCE]: { nodeId: "d", nodeType: "4", metadata: { file: 'x"y' }, hash: "h" },
        [NodeRelationship.PREVIOUS]: { nodeId: "p", nodeType: null, hash: null },
        [NodeRelationship.CHILD]: [{ nodeId: "c1", hash: null }, { nodeId: "c2", metadata: {} }],
      },
      excludedEmbedMetadataKeys: ["a"],
      excludedLlmMetadataKeys: ["a", "k'"],
      metadataTemplate: "{key}={value}",
      metadataSeparator: " | ",
      textTemplate: "{content}",
      mimetype: "text/markdown",
      startCharIdx: 0,
      endCharIdx: 7,
    }),
    new TextNode({ id: "empty-text", text: "", metadata: {}, startCharIdx: 3 }),
    new TextNode({ id: "zero", text: "", startCharIdx: 0, endCharIdx: 0, relationships: { [NodeRelationship.NEXT]: { nodeId: "n" } } }),
    new TextNode({ id: "with-extra", text: "x", extra: { custom: { deep: [1] } } }),
  ];
}
