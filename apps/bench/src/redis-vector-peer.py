"""Python LlamaIndex peer for the `redis-vector` bench: llama-index-vector-stores-redis's RedisVectorStore.

Usage: python redis-vector-peer.py SPEC.json
SPEC names the Redis URL, the index name and key prefix to use, the data files written by
apps/bench/src/redis-vector.ts (little-endian float32 rows: the corpus and the queries), the
number of rows, dimensions, the metadata groups, the filtered group and the HNSW parameters.
Prints one JSON line: add and indexing seconds, per-query latencies (ms) and the ids returned.

The store is built as a user of LlamaIndex builds it for filtered search: a redisvl IndexSchema with
LlamaIndex's four required fields (id, doc_id, text, vector) plus the metadata field `group` as a
TAG, the vector field with the bench's HNSW parameters. Nodes are TextNodes with their embedding;
`add` is timed from the nodes in memory to the call's return, then the index is polled until it
holds every document (the same wait every side of the bench does).
"""
import json
import sys
import time
from importlib.metadata import version

import numpy as np
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import ExactMatchFilter, MetadataFilters, VectorStoreQuery
from llama_index.vector_stores.redis import RedisVectorStore
from redis import Redis
from redisvl.schema import IndexSchema

spec = json.load(open(sys.argv[1]))
n, dim, q = spec["n"], spec["dim"], spec["queries"]
vectors = np.fromfile(spec["vectors"], dtype="<f4").reshape(n, dim)
queries = np.fromfile(spec["queryFile"], dtype="<f4").reshape(q, dim)
groups = spec["groups"]
per_doc = spec["chunksPerDoc"]
hnsw = spec["hnsw"]

schema = IndexSchema.from_dict(
    {
        "index": {"name": spec["index"], "prefix": spec["prefix"], "key_separator": "_", "storage_type": "hash"},
        "fields": [
            {"type": "tag", "name": "id", "attrs": {"sortable": False}},
            {"type": "tag", "name": "doc_id", "attrs": {"sortable": False}},
            {"type": "text", "name": "text", "attrs": {"weight": 1.0}},
            {"type": "tag", "name": "group", "attrs": {"sortable": False}},
            {
                "type": "vector",
                "name": "vector",
                "attrs": {
                    "dims": dim,
                    "algorithm": "hnsw",
                    "distance_metric": "cosine",
                    "datatype": "float32",
                    "m": hnsw["M"],
                    "ef_construction": hnsw["EF_CONSTRUCTION"],
                    "ef_runtime": hnsw["EF_RUNTIME"],
                },
            },
        ],
    }
)
client = Redis.from_url(spec["url"])
store = RedisVectorStore(schema=schema, redis_client=client, overwrite=True)

nodes = [
    TextNode(
        id_=f"n{i}",
        text=f"chunk {i}",
        metadata={"group": groups[i % len(groups)]},
        embedding=vectors[i].tolist(),
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=f"doc-{i // per_doc}")},
    )
    for i in range(n)
]


def indexed() -> bool:
    info = client.execute_command("FT.INFO", spec["index"])
    d = {info[i].decode() if isinstance(info[i], bytes) else info[i]: info[i + 1] for i in range(0, len(info) - 1, 2)}
    # As in redis-vector.ts: the documents, not FT.CREATE's scan of the whole keyspace.
    return int(d["num_docs"]) >= n


t0 = time.perf_counter()
store.add(nodes)
add_seconds = time.perf_counter() - t0
while not indexed():
    time.sleep(0.05)
index_seconds = time.perf_counter() - t0
del nodes


query_lists = [queries[j].tolist() for j in range(q)]


def run(filters):
    ask = lambda j: store.query(VectorStoreQuery(query_embedding=query_lists[j], similarity_top_k=spec["topK"], filters=filters))
    for j in range(min(20, q)):
        ask(j)
    lat, ids = [], []
    for j in range(q):
        t = time.perf_counter()
        r = ask(j)
        lat.append((time.perf_counter() - t) * 1000)
        # r.ids are the Redis keys (redis-py's Document.id shadows the `id` field), so the
        # node ids come from the returned nodes.
        ids.append([node.node_id for node in r.nodes])
    return lat, ids


lat, ids = run(None)
flat, fids = run(MetadataFilters(filters=[ExactMatchFilter(key="group", value=spec["filterGroup"])]))
print(
    json.dumps(
        {
            "version": version("llama-index-vector-stores-redis"),
            "core": version("llama-index-core"),
            "redisvl": version("redisvl"),
            "addSeconds": add_seconds,
            "indexSeconds": index_seconds,
            "latenciesMs": lat,
            "ids": ids,
            "filteredLatenciesMs": flat,
            "filteredIds": fids,
        }
    )
)
