"""Peer for the graph bench: Python LlamaIndex's SimplePropertyGraphStore on the same graph.

Usage: python graph-peer.py DATA.json   (DATA written by graph.ts: entities, relations, seed sets)
Prints one line per measurement, in the same words as graph.ts.
"""
import json
import statistics
import sys
import time

import llama_index.core
from llama_index.core.graph_stores import SimplePropertyGraphStore
from llama_index.core.graph_stores.types import EntityNode, Relation


def fmt(ms: float) -> str:
    return f"{ms * 1000:.0f} µs" if ms < 1 else f"{ms:.2f} ms" if ms < 10 else f"{ms:.0f} ms"


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        data = json.load(f)
    entities = [EntityNode(name=n, label=l, properties={"triplet_source_id": s}) for n, l, s in data["entities"]]
    relations = [
        Relation(label=l, source_id=s, target_id=t, properties={"triplet_source_id": src})
        for s, l, t, src in data["relations"]
    ]
    print(f"llama-index-core {llama_index.core.__version__}, Python {sys.version.split()[0]}")
    times = []
    store = None
    for _ in range(3):
        store = SimplePropertyGraphStore()
        t0 = time.perf_counter()
        store.upsert_nodes(entities)
        store.upsert_relations(relations)
        times.append((time.perf_counter() - t0) * 1000)
    print(f"upsert_nodes(20k) + upsert_relations(100k), fresh store: median {fmt(statistics.median(times))} (3 runs)")

    by_name = {e.name: e for e in entities}
    seed_sets = [[by_name[n] for n in seeds] for seeds in data["seeds"]]
    ts = []
    returned = 0
    for seeds in seed_sets:
        t0 = time.perf_counter()
        r = store.get_rel_map(seeds, depth=2, limit=30)
        ts.append((time.perf_counter() - t0) * 1000)
        returned += len(r)
    print(f"get_rel_map(10 seeds, depth 2, limit 30): median {fmt(statistics.median(ts))}, avg {returned / len(seed_sets):.0f} triplets ({len(seed_sets)} seed sets)")

    tt = []
    for seeds in seed_sets:
        t0 = time.perf_counter()
        store.get_triplets(entity_names=[s.name for s in seeds])
        tt.append((time.perf_counter() - t0) * 1000)
    print(f"get_triplets(entity_names: 10): median {fmt(statistics.median(tt))} ({len(seed_sets)} runs)")


if __name__ == "__main__":
    main()
