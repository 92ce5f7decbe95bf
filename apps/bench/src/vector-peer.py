"""Python LlamaIndex's SimpleVectorStore as a peer in the vector benchmark (see vector.ts).

    python vector-peer.py FILE N DIM QUERIES

FILE: N rows then QUERIES + 3 queries, DIM little-endian float32 each. Metadata of row i:
{"grp": "g" + str(i % 50)}. Prints one JSON line with the same fields as vector-worker.ts.
"""
import json
import resource
import sys
import time

import numpy as np
from llama_index.core import __version__ as li_version
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores import SimpleVectorStore
from llama_index.core.vector_stores.types import MetadataFilter, MetadataFilters, VectorStoreQuery

path, n, dim, queries = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
data = np.fromfile(path, dtype="<f4", count=(n + queries + 3) * dim).reshape(n + queries + 3, dim)
rows, qs = data[:n], data[n:].astype(np.float64).tolist()


def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


nodes = [
    TextNode(
        id_=f"node-{i}",
        text="",
        embedding=rows[i].tolist(),
        metadata={"grp": f"g{i % 50}"},
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=f"doc-{i // 4}")},
    )
    for i in range(n)
]
del data, rows
store = SimpleVectorStore()
before = rss_mib()
t0, c0 = time.perf_counter(), time.process_time()
store.add(nodes)
add_ms, add_cpu = (time.perf_counter() - t0) * 1e3, (time.process_time() - c0) * 1e3
store_mb = rss_mib() - before


def run(filtered):
    walls, cpus, top = [], [], []
    flt = MetadataFilters(filters=[MetadataFilter(key="grp", value="g7")]) if filtered else None
    for i, q in enumerate(qs):
        t0, c0 = time.perf_counter(), time.process_time()
        r = store.query(VectorStoreQuery(query_embedding=q, similarity_top_k=10, filters=flt))
        wall, cpu = (time.perf_counter() - t0) * 1e3, (time.process_time() - c0) * 1e3
        if i >= 3:
            walls.append(wall)
            cpus.append(cpu)
            top.append([int(x[5:]) for x in r.ids])
    return walls, cpus, top


def median(xs):
    return sorted(xs)[len(xs) // 2]


walls, cpus, top = run(False)
fwalls, fcpus, _ = run(True)
print(json.dumps({
    "impl": f"python-llamaindex-{li_version}",
    "n": n,
    "dim": dim,
    "addMs": add_ms,
    "addCpuMs": add_cpu,
    "queryMs": median(walls),
    "queryMinMs": min(walls),
    "queryCpuMs": median(cpus),
    "filteredMs": median(fwalls),
    "filteredCpuMs": median(fcpus),
    "storeRssMB": store_mb,
    "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "top": top,
}))
