"""Helpers for Larder's real-Python interop suite (run inside a venv with llama-index-core).

Importing this module makes llama-index work offline and deterministically:
- `Settings.embed_model` is `LarderHashEmbedding`, a port of Larder's offline `HashEmbedder`
  (`larder-hash-v1-<dims>`), so Python and Larder compute the same vectors (the suite checks it);
- `Settings.tokenizer` splits on whitespace and `splitter()` splits sentences with a regex, so no
  tiktoken BPE file or NLTK data is needed;
- `Settings.llm` is disabled (MockLLM).
The test runner also points HTTP(S) proxies at a closed port, so any download attempt fails at once.

Scripts print their result with `emit(value)`; the TypeScript harness reads it back.
"""
from __future__ import annotations

import json
import math
import re
import sys
import unicodedata
from typing import Any, Dict, List

from llama_index.core import Settings
from llama_index.core.base.embeddings.base import BaseEmbedding

RESULT_MARKER = "@@larder-result@@"

# ---------------------------------------------------------------------------------------------
# Port of packages/indexing/src/embedder.ts HashEmbedder (UTF-16 code units, same float order).

_STOPWORDS = set(
    (
        "a an and are as at be been but by can could did do does for from had has have how i if in into is it its "
        "may more most no not of on or our should so such than that the their them then there these they this "
        "those to too was we were what when where which while who why will with would you your"
    ).split(" ")
)

_M32 = 0xFFFFFFFF


def _units(s: str) -> List[int]:
    b = s.encode("utf-16-le", "surrogatepass")
    return [b[i] | (b[i + 1] << 8) for i in range(0, len(b), 2)]


def _hash32(units: List[int], seed: int) -> int:
    h = (0x811C9DC5 ^ seed) & _M32
    for u in units:
        h ^= u
        h = (h * 0x01000193) & _M32
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _M32
    h ^= h >> 16
    return h


def _js_lower(s: str) -> str:
    # JavaScript's toLowerCase is the full Unicode lowercase mapping, like str.lower() except for
    # a few final-sigma/locale cases that the suite's corpus avoids.
    return s.lower()


def _words(text: str) -> List[str]:
    t = _js_lower(unicodedata.normalize("NFKC", text))
    out: List[str] = []
    cur: List[str] = []
    for ch in t:
        if unicodedata.category(ch)[0] in ("L", "N"):
            cur.append(ch)
        elif cur:
            out.append("".join(cur))
            cur = []
    if cur:
        out.append("".join(cur))
    return [w for w in out if w not in _STOPWORDS]


def _stem_units(w: List[int]) -> List[int]:
    s = "".join(map(chr, w)) if all(u < 0xD800 or u > 0xDFFF for u in w) else None
    n = len(w)
    if n <= 4:
        return w

    def ends(suffix: str) -> bool:
        su = _units(suffix)
        return n >= len(su) and w[n - len(su):] == su

    if ends("ies"):
        return w[:-3] + _units("y")
    if ends("ing") and n > 5:
        return w[:-3]
    if ends("ed") and n > 5:
        return w[:-2]
    if ends("es") and s is not None and re.search(r"(x|ch|sh|ss)es$", s):
        return w[:-2]
    if ends("s") and not ends("ss"):
        return w[:-1]
    return w


def hash_embed(text: str, dims: int = 384) -> List[float]:
    v = [0.0] * dims

    def put(h: int, w: float) -> None:
        v[h % dims] += -w if h & 0x80000000 else w

    counts: Dict[tuple, int] = {}
    prev = None
    for raw in _words(text):
        w = tuple(_stem_units(_units(raw)))
        key = (ord("w"), ord(":")) + w
        counts[key] = counts.get(key, 0) + 1
        if prev is not None:
            b = (ord("b"), ord(":")) + prev + (ord(" "),) + w
            counts[b] = counts.get(b, 0) + 1
        prev = w
        padded = [ord("<")] + list(w) + [ord(">")]
        n3 = max(0, len(padded) - 2)
        n4 = max(0, len(padded) - 3)
        gw = 0.6 / (n3 + n4)
        for i in range(n3):
            put(_hash32(padded[i:i + 3], 3), gw)
        for i in range(n4):
            put(_hash32(padded[i:i + 4], 4), gw)
    for f, n in counts.items():
        put(_hash32(list(f), 0), (0.5 if f[0] == 98 else 1.0) * (1 + math.log(n)))
    norm = 0.0
    for x in v:
        norm += x * x
    if norm == 0:
        out = [0.0] * dims
        out[0] = 1.0
        return out
    norm = math.sqrt(norm)
    return [x / norm for x in v]


class LarderHashEmbedding(BaseEmbedding):
    """Larder's `larder-hash-v1-<dims>` embedder as a llama-index embedding model."""

    dims: int = 384

    def __init__(self, dims: int = 384, **kwargs: Any) -> None:
        super().__init__(model_name=f"larder-hash-v1-{dims}", dims=dims, **kwargs)

    @classmethod
    def class_name(cls) -> str:
        return "LarderHashEmbedding"

    def _get_query_embedding(self, query: str) -> List[float]:
        return hash_embed(query, self.dims)

    async def _aget_query_embedding(self, query: str) -> List[float]:
        return hash_embed(query, self.dims)

    def _get_text_embedding(self, text: str) -> List[float]:
        return hash_embed(text, self.dims)

    def _get_text_embeddings(self, texts: List[str]) -> List[List[float]]:
        return [hash_embed(t, self.dims) for t in texts]


# ---------------------------------------------------------------------------------------------
# Offline settings


def whitespace_tokenizer(text: str) -> List[str]:
    return text.split()


_SENTENCE = re.compile(r"[^.!?。！？]+[.!?。！？]*\s*")


def regex_sentences(text: str) -> List[str]:
    parts = [m.group(0) for m in _SENTENCE.finditer(text)]
    return parts if parts else [text]


def splitter(chunk_size: int = 32, chunk_overlap: int = 4):
    """A SentenceSplitter that needs neither tiktoken nor NLTK."""
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        tokenizer=whitespace_tokenizer,
        chunking_tokenizer_fn=regex_sentences,
    )


Settings.tokenizer = whitespace_tokenizer
Settings.embed_model = LarderHashEmbedding()
Settings.llm = None
Settings.node_parser = splitter()


# ---------------------------------------------------------------------------------------------
# Results


def emit(value: Any) -> None:
    """Prints the script's result for the harness (one line, after everything else)."""
    sys.stdout.write("\n" + RESULT_MARKER + json.dumps(value, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def hits(nodes_with_scores) -> List[Dict[str, Any]]:
    """Retrieval results as plain data: id, score, text."""
    return [{"id": n.node.node_id, "score": n.score, "text": n.node.get_content()} for n in nodes_with_scores]


def retrieve(persist_dir: str, index_id: str, queries: List[str], top_k: int = 3) -> List[List[Dict[str, Any]]]:
    """Loads `index_id` from a persist dir and retrieves each query."""
    from llama_index.core import StorageContext, load_index_from_storage

    ctx = StorageContext.from_defaults(persist_dir=persist_dir)
    index = load_index_from_storage(ctx, index_id=index_id)
    r = index.as_retriever(similarity_top_k=top_k)
    return [hits(r.retrieve(q)) for q in queries]


def hash_mismatches(persist_dir: str) -> Dict[str, Any]:
    """Recomputes every docstore node's hash and compares it with the stored one."""
    from llama_index.core import StorageContext

    ctx = StorageContext.from_defaults(persist_dir=persist_dir)
    ds = ctx.docstore
    bad = {}
    checked = 0
    for node_id, node in ds.docs.items():
        stored = ds.get_document_hash(node_id)
        checked += 1
        if stored != node.hash:
            bad[node_id] = {"stored": stored, "recomputed": node.hash}
    return {"checked": checked, "mismatches": bad}


# ---------------------------------------------------------------------------------------------
# The suite's Python-built folder


def _triplets(text: str):
    # A fixed extractor (no LLM): subject, relation, object per sentence that names one.
    out = []
    if "Zürich" in text:
        out.append(("Zürich", "lies on", "Zürichsee"))
    if "Tokyo" in text or "東京" in text:
        out.append(("東京", "is capital of", "日本"))
    return out


def build_scenario(persist_dir: str, docs: List[Dict[str, Any]], delete_id: str, queries: List[str], top_k: int = 3) -> Dict[str, Any]:
    """Builds, in one storage context, a vector index over `docs` (then deletes `delete_id`), a
    summary index, a legacy knowledge graph index, image and custom vector namespaces, a property
    graph with nested properties and a chat store; persists everything to `persist_dir` and returns
    the index ids and what Python retrieves from the persisted folder."""
    import os

    from llama_index.core import Document, KnowledgeGraphIndex, StorageContext, SummaryIndex, VectorStoreIndex
    from llama_index.core.base.llms.types import ChatMessage
    from llama_index.core.graph_stores import SimplePropertyGraphStore
    from llama_index.core.graph_stores.types import EntityNode, Relation
    from llama_index.core.schema import ImageNode, TextNode
    from llama_index.core.storage.chat_store import SimpleChatStore
    from llama_index.core.vector_stores import SimpleVectorStore

    pg = SimplePropertyGraphStore()
    ctx = StorageContext.from_defaults(property_graph_store=pg)
    documents = [Document(id_=d["id"], text=d["text"], metadata=d["metadata"]) for d in docs]
    vindex = VectorStoreIndex.from_documents(documents, storage_context=ctx, transformations=[splitter()])
    vindex.delete_ref_doc(delete_id, delete_from_docstore=True)

    side = [Document(id_="side-doc", text="Zürich lies on the Zürichsee. 東京 is the capital of 日本.", metadata={"side": {"x": 1}})]
    summary = SummaryIndex.from_documents(side, storage_context=ctx, transformations=[splitter()])
    kg = KnowledgeGraphIndex.from_documents(
        side, storage_context=ctx, transformations=[splitter()], kg_triplet_extract_fn=_triplets, max_triplets_per_chunk=5, include_embeddings=False
    )

    image_text = "a photo of the frozen lake in winter"
    if "image" not in ctx.vector_stores:
        ctx.add_vector_store(SimpleVectorStore(), "image")
    ctx.vector_stores["image"].add(
        [ImageNode(id_="img-lake", text=image_text, image_url="https://example.invalid/lake.jpg", metadata={"camera": {"iso": 100}}, embedding=hash_embed(image_text))]
    )
    custom = SimpleVectorStore()
    ctx.add_vector_store(custom, "custom")
    custom.add([TextNode(id_="custom-1", text="custom namespace row", metadata={"ns": "custom", "n": [1, 2]}, embedding=hash_embed("custom namespace row"))])

    zurich = EntityNode(name="Zürich", label="CITY", properties={"population": 421878, "geo": {"lat": 47.37, "lon": 8.54, "tags": ["lake", "alps"]}})
    lake = EntityNode(name="Zürichsee", label="LAKE", properties={"area_km2": 88.66, "frozen": [1929, 1963]})
    pg.upsert_nodes([zurich, lake])
    pg.upsert_relations([Relation(label="LIES_ON", source_id=zurich.id, target_id=lake.id, properties={"since": {"year": 1200, "source": "Chronik"}})])

    ctx.persist(persist_dir=persist_dir)

    chat = SimpleChatStore()
    chat.set_messages(
        "user-ü",
        [
            ChatMessage(role="user", content="Grüezi 😀 — what is near the lake?"),
            ChatMessage(role="assistant", content="The old town.", additional_kwargs={"sources": [{"id": "n1", "score": 0.5}]}),
        ],
    )
    chat.persist(persist_path=os.path.join(persist_dir, "chat_store.json"))

    return {
        "vector_index_id": vindex.index_id,
        "summary_index_id": summary.index_id,
        "kg_index_id": kg.index_id,
        "retrieval": retrieve(persist_dir, vindex.index_id, queries, top_k),
    }


def retrieve_and_check(persist_dir: str, index_id: str, queries: List[str], top_k: int = 3) -> Dict[str, Any]:
    """`retrieve` and `hash_mismatches` in one process (each Python start costs seconds)."""
    return {"retrieval": retrieve(persist_dir, index_id, queries, top_k), "hashes": hash_mismatches(persist_dir)}
