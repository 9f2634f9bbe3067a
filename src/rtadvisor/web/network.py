"""The relation network (S-network) as nodes and links for the page's force layout."""

from __future__ import annotations

from typing import Any

from .convert import graph_to_json, plain
from .errors import ServiceUnavailable


def network_json(kb: Any) -> dict[str, Any]:
    """``{"nodes": [{id, label, group, ...}], "links": [{source, target, kind, ...}]}``.

    Uses the knowledge base's networkx graph when it offers one (``graph()``/``network_graph()``
    or a graph attribute), else the plain relation-network record.
    """
    graph = None
    network = getattr(kb, "network", None) or getattr(kb, "relation_network", None)
    for owner in (network, kb):
        if owner is None:
            continue
        for name in ("graph", "network_graph", "relation_graph", "to_graph", "as_graph"):
            candidate = getattr(owner, name, None)
            if candidate is None:
                continue
            candidate = candidate() if callable(candidate) else candidate
            if hasattr(candidate, "nodes") and hasattr(candidate, "edges"):
                graph = candidate
                break
        if graph is not None:
            break
    if graph is None:
        if network is None:
            raise ServiceUnavailable("relation network", "the knowledge base has no relation network")
        data = plain(network)
        if isinstance(data, dict) and isinstance(data.get("nodes"), list):
            out = {"directed": True, "nodes": data["nodes"], "links": data.get("links") or data.get("edges") or []}
        else:
            raise ServiceUnavailable("relation network", "the knowledge base offers no graph of it")
    else:
        out = graph_to_json(graph)
    for node in out["nodes"]:
        node.setdefault("label", str(node.get("name") or node["id"]))
        node.setdefault("group", str(node.get("kind") or node.get("dimension") or node.get("type") or "other"))
    for link in out["links"]:
        link.setdefault("kind", str(link.get("relation") or link.get("type") or link.get("label") or ""))
    return out
