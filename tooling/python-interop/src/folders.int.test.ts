// LlamaIndex folders holding chats and property graphs, and the metadata separator, both ways
// between Python llama-index-core and Larder: chat_store.json forms per version, graph names with
// quotes, nested property values, chat-only / graph-only folders, `metadata_seperator`.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { MetadataMode, SimpleChatStore, SimpleDocumentStore, StorageContext, TextNode, type LlamaIndexVersion } from "@larder/core";
import { expect, it } from "vitest";
import { describePython, runPython, tempDir } from "./harness.js";

const ACME = 'The "Quoted" Co';
const ADDRESS = { street: "1 Main St", geo: [48.85, 2.35], tags: { hq: true } };

/** Python writes a chat store and a property graph (nothing else) into ARGS["dir"]. */
const PY_WRITE = `
import os
from llama_index.core.storage.chat_store import SimpleChatStore
from llama_index.core.llms import ChatMessage, MessageRole
from llama_index.core.graph_stores import SimplePropertyGraphStore
from llama_index.core.graph_stores.types import EntityNode, Relation
d = ARGS["dir"]
cs = SimpleChatStore()
cs.set_messages("user-1", [ChatMessage(role=MessageRole.USER, content="Où est la gare? 🚉"),
                           ChatMessage(role=MessageRole.ASSISTANT, content="Tout droit.")])
cs.persist(os.path.join(d, "chat_store.json"))
g = SimplePropertyGraphStore()
acme = EntityNode(name='The "Quoted" Co', label="ORG", properties={"address": {"street": "1 Main St", "geo": [48.85, 2.35], "tags": {"hq": True}}})
alice = EntityNode(name="Alice", label="PERSON", properties={"age": 30})
g.upsert_nodes([acme, alice])
g.upsert_relations([Relation(label="WORKS_AT", source_id=alice.id, target_id=acme.id, properties={"meta": {"since": 2020}})])
g.persist(os.path.join(d, "property_graph_store.json"))
emit({"acme_key": acme.id})
`;

/** Python reads each folder of ARGS["dirs"] (chat store, graph, docstore when present). */
const PY_READ = `
import os
from llama_index.core.storage.chat_store import SimpleChatStore
from llama_index.core.graph_stores import SimplePropertyGraphStore
from llama_index.core.storage.docstore import SimpleDocumentStore
from llama_index.core.schema import MetadataMode
res = {}
for name, d in ARGS["dirs"].items():
    out = {}
    if os.path.exists(os.path.join(d, "chat_store.json")):
        cs = SimpleChatStore.from_persist_path(os.path.join(d, "chat_store.json"))
        out["chat"] = {k: [str(m.content) for m in cs.get_messages(k)] for k in cs.get_keys()}
    if os.path.exists(os.path.join(d, "property_graph_store.json")):
        g = SimplePropertyGraphStore.from_persist_path(os.path.join(d, "property_graph_store.json"))
        out["triplets"] = sorted([[s.name, r.label, t.name, r.properties] for s, r, t in g.get_triplets(entity_names=["Alice"])], key=str)
        out["acme"] = [{"name": n.name, "properties": n.properties} for n in g.get(ids=[ARGS["acme_key"]])]
    if os.path.exists(os.path.join(d, "docstore.json")):
        ds = SimpleDocumentStore.from_persist_path(os.path.join(d, "docstore.json"))
        if ds.document_exists("n"):
            out["content"] = ds.get_document("n").get_content(MetadataMode.EMBED)
    res[name] = out
emit(res)
`;

function liVersion(parts: [number, number, number]): LlamaIndexVersion {
  return parts[1] <= 10 ? "0.10" : parts[1] <= 12 ? "0.12" : "0.14";
}

// Two Python runs per version (writing, then reading every folder): Python's import is slow.
describePython("LlamaIndex folders: chats, graphs, separator", (py) => {
  it("Python's chat + graph folder loads and is rewritten byte for byte; Python reads every Larder-written folder", async () => {
    const dir = await tempDir();
    const { acme_key } = await runPython<{ acme_key: string }>(py, PY_WRITE, { dir });
    expect(acme_key).toBe("The  Quoted  Co");

    // A folder with only a chat store and a property graph loads; names and nested values intact.
    const ctx = await StorageContext.fromPersistDir(dir);
    expect(await ctx.chatStore!.getKeys()).toEqual(["user-1"]);
    const [acme] = await ctx.propertyGraphStore!.get({ ids: [ACME] });
    expect(acme).toMatchObject({ kind: "entity", name: ACME, label: "ORG", properties: { address: ADDRESS } });
    const [t] = await ctx.propertyGraphStore!.getTriplets({ relationNames: ["WORKS_AT"] });
    expect(t?.[1]).toEqual({ label: "WORKS_AT", sourceId: "Alice", targetId: ACME, properties: { meta: { since: 2020 } } });

    // Rewritten unchanged: the chat store in this version's form, byte for byte.
    const rewrite = await tempDir();
    await ctx.persist(rewrite, { format: "llamaindex" });
    expect(await readFile(join(rewrite, "chat_store.json"), "utf8")).toBe(await readFile(join(dir, "chat_store.json"), "utf8"));
    const pyGraph = await readFile(join(dir, "property_graph_store.json"), "utf8");
    const ours = await readFile(join(rewrite, "property_graph_store.json"), "utf8");
    expect(ours).toBe(pyGraph); // 0.10's json.dumps form kept

    // A chat store Larder built, in the 0.10 form (every version reads it) and in this version's.
    const chatStore = new SimpleChatStore();
    await chatStore.setMessages("k", [
      { role: "user", content: "Où? 🚉", additional_kwargs: {} },
      { role: "assistant", content: "Là.", additional_kwargs: {} },
    ]);
    const built = await StorageContext.fromDefaults({ chatStore });
    const form010 = await tempDir();
    await built.persist(form010, { format: "llamaindex", llamaIndexVersion: "0.10" });
    const formOwn = await tempDir();
    await built.persist(formOwn, { format: "llamaindex", llamaIndexVersion: liVersion(py.parts) });

    // A custom metadata separator.
    const node = new TextNode({ id: "n", text: "body", metadata: { a: 1, b: "x" }, metadataSeparator: " | " });
    const docStore = new SimpleDocumentStore();
    await docStore.addDocuments([node]);
    const sep = await tempDir();
    await (await StorageContext.fromDefaults({ docStore })).persist(sep, { format: "llamaindex" });

    const r = await runPython<Record<string, Record<string, unknown>>>(py, PY_READ, { dirs: { dir, rewrite, form010, formOwn, sep }, acme_key });
    expect(r["rewrite"], "Python reads Larder's rewrite as its own folder").toEqual(r["dir"]);
    expect(r["rewrite"]!["acme"]).toEqual([{ name: ACME, properties: { address: ADDRESS } }]);
    expect(r["form010"]!["chat"], "0.10 form").toEqual({ k: ["Où? 🚉", "Là."] });
    expect(r["formOwn"]!["chat"], `${liVersion(py.parts)} form`).toEqual({ k: ["Où? 🚉", "Là."] });
    expect(r["sep"]!["content"]).toBe(node.getContent(MetadataMode.EMBED));
    expect(r["sep"]!["content"]).toContain("a: 1 | b: x");
  });
});
