"""Queries over the relation network (S-network) built as a networkx graph (pure)."""

from __future__ import annotations

from typing import Any

from .loader import KnowledgeBase


def runtimes_on_layer(kb: KnowledgeBase, layer: str) -> list[str]:
    """Knowledge-base runtimes whose isolation layer includes ``layer`` (``L-1/L-2`` counts for both)."""
    out = []
    for r in kb.runtimes.values():
        parts = r.isolation_layer.split("/")
        parts = [p if p.startswith("L-") else f"L-{p}" for p in parts]
        if layer in parts:
            out.append(r.id)
    return out


def orders_summary(kb: KnowledgeBase) -> dict[str, Any]:
    """The isolation stack with each layer's rank in the two claimed orders, read off the graph."""
    import networkx as nx

    g = kb.graph()
    iso = nx.DiGraph([(u, v) for u, v, d in g.edges(data=True) if d["relation"] == "stronger_isolation"])
    over = nx.DiGraph([(u, v) for u, v, d in g.edges(data=True) if d["relation"] == "less_overhead"])
    layers = []
    for layer in kb.network.layers:
        layers.append({
            "id": layer.id, "layer": layer.layer, "name": layer.name, "examples": list(layer.examples),
            # rank = how many layers are claimed stronger / cheaper (0 = strongest / cheapest)
            "isolation_rank": len(nx.ancestors(iso, layer.layer)) if layer.layer in iso else 0,
            "overhead_rank": len(nx.ancestors(over, layer.layer)) if layer.layer in over else 0,
            "runtimes": runtimes_on_layer(kb, layer.layer),
        })
    return {
        "source": "S-network",
        "layers": layers,
        "orders": {k: v.text for k, v in kb.network.orders.items()},
        "graph": {"nodes": g.number_of_nodes(), "edges": g.number_of_edges()},
        "isolation_edges": [f"{u} > {v}" for u, v in iso.edges()],
        "overhead_edges": [f"{u} < {v}" for u, v in over.edges()],
        "conflict": kb.conflict("CF-isolation-order").why,
    }
