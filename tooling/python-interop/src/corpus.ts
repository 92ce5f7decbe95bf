/** Documents and queries shared by the interop tests (Python builds from the same data). */
export interface CorpusDoc {
  id: string;
  text: string;
  metadata: Record<string, unknown>;
}

export const DOCS: readonly CorpusDoc[] = [
  {
    id: "doc-zurich",
    text:
      "Zürich liegt am Zürichsee. The lake freezes rarely; the last time was in 1963. " +
      "Crème brûlée is served in the old town cafés. Trams run every seven minutes along the Bahnhofstrasse. " +
      "The university library keeps old manuscripts in a climate-controlled vault.",
    metadata: { city: "Zürich", country: { name: "Schweiz", code: "CH" }, tags: ["lake", "tram"], year: 1963, rating: 4.5, open: true },
  },
  {
    id: "doc-tokyo",
    text:
      "東京は日本の首都です。 Tokyo has thirteen million residents. The Yamanote line circles the centre in about an hour. " +
      "Ramen shops open late near Shinjuku station. Cherry blossoms bloom in early April along the Meguro river.",
    metadata: { city: "東京", country: { name: "日本", code: "JP", region: { name: "Kantō" } }, tags: ["metro", "food"], year: 2024, rating: 4.8, open: false },
  },
  {
    id: "doc-emoji",
    text:
      "Emoji 😀 and symbols ★ travel well in JSON. Storage layers must keep every byte of them intact. " +
      "A vector store indexes embeddings; a document store keeps node text and metadata. " +
      "Retrieval joins them: scores come from vectors, text comes from the docstore.",
    metadata: { kind: "note", nested: { list: [1, 2, { deep: "ü" }], none: null }, tags: [], year: 2025 },
  },
  {
    id: "doc-deleted",
    text: "This document is deleted after indexing. Its chunks about volcanoes and lava must never be retrieved.",
    metadata: { kind: "temporary", tags: ["volcano"] },
  },
];

export const EXTRA_DOC: CorpusDoc = {
  id: "doc-larder",
  text:
    "Larder inserted this document after loading the Python index. It talks about glaciers and alpine huts. " +
    "Python must retrieve these chunks after Larder writes the folder back.",
  metadata: { source: "larder", nested: { by: "typescript" } },
};

export const QUERIES: readonly string[] = [
  "lake Zürich trams",
  "Tokyo ramen Shinjuku",
  "emoji bytes JSON storage",
  "volcanoes lava",
  "glaciers alpine huts",
  "日本の首都",
];

export const ALL_TEXTS: readonly string[] = [...DOCS.map((d) => d.text), EXTRA_DOC.text, ...QUERIES];
