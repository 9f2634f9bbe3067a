"""Turn the objects of the other layers into plain JSON values.

The web layer serves objects it does not own (knowledge-base records, store rows, doctor findings).
They may be pydantic models, dataclasses, enums, tuples or networkx graphs; this module flattens
any of them so the routes stay independent of each layer's internal types.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
from enum import Enum
from pathlib import PurePath
from typing import Any


def plain(obj: Any, _depth: int = 0) -> Any:
    """Return a JSON-serialisable copy of ``obj`` (models dumped in JSON mode, NaN/inf -> None)."""
    if _depth > 40:  # a cycle or a pathological structure: stop rather than recurse forever
        return repr(obj)
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Enum):
        return plain(obj.value, _depth + 1)
    if isinstance(obj, (PurePath,)):
        return str(obj)
    if isinstance(obj, (_dt.datetime, _dt.date, _dt.time)):
        return obj.isoformat()
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return plain(dump(mode="json"), _depth + 1)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: plain(getattr(obj, f.name), _depth + 1) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(plain(k, _depth + 1)): plain(v, _depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = [plain(v, _depth + 1) for v in obj]
        return sorted(items, key=repr) if isinstance(obj, (set, frozenset)) else items
    if _is_graph(obj):
        return graph_to_json(obj)
    if hasattr(obj, "_asdict"):
        return plain(obj._asdict(), _depth + 1)
    if hasattr(obj, "__dict__"):
        return {k: plain(v, _depth + 1) for k, v in vars(obj).items() if not k.startswith("_")}
    return str(obj)


def _is_graph(obj: Any) -> bool:
    return hasattr(obj, "nodes") and hasattr(obj, "edges") and hasattr(obj, "is_directed")


def graph_to_json(graph: Any) -> dict[str, Any]:
    """A networkx graph as ``{"directed", "nodes": [{id, ...attrs}], "links": [{source, target, ...}]}``."""
    nodes = []
    for n, attrs in graph.nodes(data=True):
        data = plain(dict(attrs))
        if "id" in data:  # the node key is the id; keep an attribute of that name as "ref"
            data["ref"] = data.pop("id")
        nodes.append({**data, "id": str(n)})
    links = [
        {**plain(dict(attrs)), "source": str(u), "target": str(v)} for u, v, attrs in graph.edges(data=True)
    ]
    return {"directed": bool(graph.is_directed()), "nodes": nodes, "links": links}
