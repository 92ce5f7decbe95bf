"""Python LlamaIndex peer for the `redis` bench: RedisDocumentStore.add_documents of N TextNodes.

Usage: python redis-peer.py REDIS_URL PREFIX N CHUNKS_PER_DOC
Prints one JSON line: {"seconds": ..., "nodes": N, "version": "..."}.
The nodes have the same shape as the TypeScript side's (apps/bench/src/redis.ts). The store is used
with its defaults (batch_size=1), as a user of LlamaIndex would. Keys: PREFIX is used as the docstore
namespace so the run is isolated (collections PREFIX/doc, PREFIX/metadata, PREFIX/ref_doc_info).
"""
import json
import sys
import time
from importlib.metadata import version

from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode, ObjectType
from llama_index.storage.docstore.redis import RedisDocumentStore
from llama_index.storage.kvstore.redis import RedisKVStore

url, prefix, n, per_doc = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore. "
nodes = []
for i in range(n):
    doc = i // per_doc
    nodes.append(
        TextNode(
            id_=f"node-{i}",
            text=f"Chunk {i} of document {doc}. {filler * 4}",
            metadata={"file_name": f"doc-{doc}.txt", "page": i % per_doc, "author": "bench"},
            relationships={
                NodeRelationship.SOURCE: RelatedNodeInfo(
                    node_id=f"doc-{doc}", node_type=ObjectType.DOCUMENT, metadata={"file_name": f"doc-{doc}.txt"}, hash="h"
                )
            },
            start_char_idx=0,
            end_char_idx=500,
        )
    )
store = RedisDocumentStore(RedisKVStore(redis_uri=url), namespace=prefix)
t0 = time.perf_counter()
store.add_documents(nodes)
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "nodes": n, "version": version("llama-index-core")}))
