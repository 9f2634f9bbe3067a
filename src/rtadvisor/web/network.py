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
        node.setdefault("label", _label(node))
        node.setdefault("group", str(node.get("kind") or node.get("dimension") or node.get("type") or "other"))
    for link in out["links"]:
        link.setdefault("kind", str(link.get("relation") or link.get("type") or link.get("label") or ""))
    return out


def _label(node: dict[str, Any]) -> str:
    """A short readable label: ``L-3 container``, ``T4 2021 WasmEdge matures``, ``A5 software``."""
    kind = node.get("kind")
    nid = str(node["id"])
    if kind == "timeline" and node.get("year"):
        return f"{nid} {node['year']} {node.get('event', '')}".strip()
    if kind == "observability" and node.get("tool"):
        return f"{nid} {node.get('name', '')} ({node['tool']})"
    if kind == "scenario":
        return nid.split(":", 1)[-1] + (f" ({node['stack']})" if node.get("stack") else "")
    if kind == "member":
        return str(node.get("name") or nid)
    name = node.get("name")
    if kind == "layer" and node.get("ref"):
        return f"{nid} {name} ({node['ref']})"
    return f"{nid} {name}" if name and name != nid else nid
