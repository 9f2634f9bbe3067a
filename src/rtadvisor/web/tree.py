"""Normalise the knowledge base's decision tree into nodes and edges the page can draw."""

from __future__ import annotations

from typing import Any

_CHILD_KEYS = ("yes", "no", "true", "false")


def normalise_tree(tree: Any) -> dict[str, Any]:
    """Return ``{"root": id, "nodes": [{id, label, question, threshold, leaf, runtime}], "edges": [{source, target, label}]}``.

    Accepts the shapes a data file naturally has: already a node/edge list, a nested mapping with
    ``yes``/``no`` (or ``branches``/``children``) sub-trees, or a mapping of node id -> node whose
    branches name other node ids.
    """
    if isinstance(tree, dict) and "tree" in tree and len(tree) <= 3 and isinstance(tree["tree"], (dict, list)):
        tree = tree["tree"]
    if isinstance(tree, dict) and isinstance(tree.get("nodes"), (list, dict)):
        nodes_in = tree["nodes"]
        if isinstance(nodes_in, dict):
            nodes_in = [{"id": k, **v} for k, v in nodes_in.items()]
        if isinstance(tree.get("edges"), list):
            nodes = [_node(n, str(n.get("id"))) for n in nodes_in]
            edges = [
                {"source": str(e.get("source", e.get("from"))), "target": str(e.get("target", e.get("to"))),
                 "label": str(e.get("label", e.get("answer", "")))}
                for e in tree["edges"]
            ]
            root = str(tree.get("root") or (nodes[0]["id"] if nodes else ""))
            return {"root": root, "nodes": nodes, "edges": edges}
        by_id = {str(n.get("id")): n for n in nodes_in}
        leaves = tree.get("leaves") if isinstance(tree.get("leaves"), dict) else {}
        return _from_id_map(by_id, str(tree.get("root") or next(iter(by_id), "")), leaves)
    if isinstance(tree, list):
        by_id = {str(n.get("id")): n for n in tree if isinstance(n, dict)}
        return _from_id_map(by_id, next(iter(by_id), ""))
    if isinstance(tree, dict) and "root" in tree and isinstance(tree["root"], dict):
        return _from_nested(tree["root"])
    if isinstance(tree, dict):
        return _from_nested(tree)
    return {"root": "", "nodes": [], "edges": []}


def _node(raw: dict[str, Any], node_id: str) -> dict[str, Any]:
    runtime = raw.get("runtime") or raw.get("result") or raw.get("choose") or raw.get("outcome")
    question = raw.get("question") or raw.get("label") or raw.get("name") or ""
    leaf = bool(runtime) and not any(k in raw for k in (*_CHILD_KEYS, "branches", "children"))
    label = str(raw.get("label") or (runtime if leaf else question) or node_id)
    return {
        "id": node_id,
        "label": label,
        "question": str(question),
        "threshold": None if raw.get("threshold") is None else str(raw.get("threshold")),
        "leaf": leaf,
        "runtime": None if runtime is None else str(runtime),
        "note": None if raw.get("note") is None else str(raw.get("note")),
        "source": raw.get("source"),
    }


def _branches(raw: dict[str, Any]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = [(k, raw[k]) for k in _CHILD_KEYS if k in raw]
    for key in ("branches", "children"):
        value = raw.get(key)
        if isinstance(value, dict):
            out.extend((str(k), v) for k, v in value.items())
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    target = item.get("then", item.get("next", item.get("node", item.get("target", item))))
                    out.append((str(item.get("answer", item.get("label", item.get("when", "")))), target))
    return out


def _from_nested(root: dict[str, Any]) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, str]] = []
    counter = [0]

    def visit(raw: Any, parent: str | None, label: str) -> str:
        counter[0] += 1
        if not isinstance(raw, dict):
            raw = {"runtime": str(raw)}
        node_id = str(raw.get("id") or f"n{counter[0]}")
        if any(n["id"] == node_id for n in nodes):
            node_id = f"{node_id}#{counter[0]}"
        nodes.append(_node(raw, node_id))
        if parent is not None:
            edges.append({"source": parent, "target": node_id, "label": label})
        for answer, child in _branches(raw):
            visit(child, node_id, answer)
        return node_id

    root_id = visit(root, None, "")
    return {"root": root_id, "nodes": nodes, "edges": edges}


def _leaf_raw(target: Any, leaves: dict[str, Any]) -> dict[str, Any]:
    """A branch target that is not a question: ``"leaf:wasmedge"``, ``"wasmedge"`` or a mapping."""
    if isinstance(target, dict):
        return target
    runtime = str(target).split(":", 1)[1] if str(target).startswith("leaf:") else str(target)
    found = leaves.get(runtime)
    info: dict[str, Any] = found if isinstance(found, dict) else {}
    note = "; ".join(f"{k}: {v}" for k, v in info.items() if isinstance(v, (str, int, float)))
    return {"runtime": runtime, "note": note or None}


def _from_id_map(by_id: dict[str, Any], root: str, leaves: dict[str, Any] | None = None) -> dict[str, Any]:
    nodes = [_node(raw, node_id) for node_id, raw in by_id.items()]
    edges: list[dict[str, str]] = []
    known = set(by_id)
    for node_id, raw in by_id.items():
        for answer, target in _branches(raw):
            if isinstance(target, str) and target in known:
                edges.append({"source": node_id, "target": target, "label": answer})
            elif target is not None:
                leaf_id = f"{node_id}:{answer}"
                nodes.append(_node(_leaf_raw(target, leaves or {}), leaf_id))
                nodes[-1]["leaf"] = True
                edges.append({"source": node_id, "target": leaf_id, "label": answer})
    return {"root": root, "nodes": nodes, "edges": edges}
