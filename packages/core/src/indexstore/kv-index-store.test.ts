import { describe, expect, it } from "vitest";
import { SimpleIndexStore } from "./simple-index-store.js";
import { createIndexDict, indexDictAddNode, isIndexDict } from "./index-structs.js";

describe("SimpleIndexStore", () => {
  it("toDict is index_store.json content, byte-compatible with Python", async () => {
    const is = new SimpleIndexStore();
    const d = createIndexDict({ indexId: "6f0c" });
    indexDictAddNode(d, "node-1");
    await is.addIndexStruct(d);
    expect(JSON.stringify(is.toDict())).toBe(
      JSON.stringify({
        "index_store/data": {
          "6f0c": {
            __type__: "vector_store",
            __data__: '{"index_id": "6f0c", "summary": null, "nodes_dict": {"node-1": "node-1"}, "doc_id_dict": {}, "embeddings_dict": {}}',
          },
        },
      }),
    );
    const back = SimpleIndexStore.fromDict(is.toDict());
    const got = await back.getIndexStruct();
    expect(got).toEqual(d);
    expect(got && isIndexDict(got)).toBe(true);
  });
});
