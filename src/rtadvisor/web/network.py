"""The relation network (S-network) as nodes and links for the page's force layout."""

from __future__ import annotations

import itertools
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
    _add_display_links(kb, out)
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


def _add_display_links(kb: Any, out: dict[str, Any]) -> None:
    """Links the knowledge base states as attributes rather than graph edges, so the drawing shows them.

    A scenario's Y coordinate names an isolation layer (S-network: Y=4 sandbox, Y=3 container); an
    observability formula (``O1 + O2``) relates its dimensions; a scenario node is the A7 member of the
    same name. Each added link has ``derived: true`` and says which attribute it came from.
    """
    import re

    ids = {n["id"] for n in out["nodes"]}
    by_name = {str(n.get("name", "")).lower(): n["id"] for n in out["nodes"] if n.get("kind") == "layer"}
    network = getattr(kb, "network", None)
    axes = plain(getattr(network, "axes", None)) or {}
    y_values = {str(k): str(v).lower() for k, v in ((axes.get("Y") or {}).get("values") or {}).items()}
    for node in out["nodes"]:
        if node.get("kind") != "scenario":
            continue
        layer = by_name.get(y_values.get(str(node.get("Y")), ""))
        if layer:
            out["links"].append({"source": node["id"], "target": layer, "kind": f"Y={node.get('Y')}",
                                 "relation": "coordinate", "derived": True})
        scenario = node["id"].split(":", 1)[-1].replace("-", " ").lower()
        for member in ids:
            if member.startswith("A7:") and member.split(":", 1)[1].lower() == scenario:
                out["links"].append({"source": member, "target": node["id"], "kind": "scenario",
                                     "relation": "scenario", "derived": True})
    observability = plain(getattr(network, "observability", None)) or {}
    for formula in observability.get("formulas") or []:
        terms = [t for t in re.findall(r"O\d", str(formula.get("expression", ""))) if t in ids]
        for a, b in itertools.pairwise(terms):
            out["links"].append({"source": a, "target": b, "kind": str(formula.get("name", "")),
                                 "relation": "formula", "derived": True})
