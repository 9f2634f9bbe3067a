"""Knowledge-base queries: runtimes, claims, the decision tree, scenarios, routes, the relation
network and the troubleshooting table — the same answers for ``rtadvisor kb ...`` and ``/api/...``.

The knowledge base is validated on load (``kb/schema.py``), so these functions read its typed
records directly; a record type the front ends need is re-exported by :mod:`rtadvisor.app`.
"""

from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from rtadvisor.errors import InputError, NotFoundError
from rtadvisor.model import (
    Claim,
    DecisionTree,
    DecisionTreeEdge,
    DecisionTreeNode,
    NetworkLink,
    NetworkNode,
    RelationNetwork,
    RuntimeSummary,
    TroubleshootingMatch,
    TroubleshootingResult,
)

if TYPE_CHECKING:
    from rtadvisor.kb import KnowledgeBase
    from rtadvisor.kb.tables import KbTable

# Imported at module level for the response types only; kb/schema.py is pydantic models, no I/O.
from rtadvisor.kb.schema import (
    CasesFile,
    Coordinate,
    Observability,
    RoutesFile,
    Runtime,
    ScenariosFile,
    TimelineEvent,
)


def knowledge_base() -> KnowledgeBase:
    """The packaged knowledge base, validated and cached (``KnowledgeBaseError`` names a bad file)."""
    from rtadvisor.kb import load

    return load()


# --------------------------------------------------------------------------- runtimes and claims


class ScoredValue(BaseModel):
    """The value the engine scores a runtime with for one metric, and where it came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: str
    value: float
    unit: str
    origin: str  # "claim wasmedge-cold-start-typical [S-wasm]" or "derived: <basis>"


class RuntimeDetail(Runtime):
    """Everything the knowledge base says about one runtime, with its claims and scored values
    (``kb show ID --json``, ``GET /api/runtimes/ID``)."""

    claims: tuple[Claim, ...] = ()
    scored: tuple[ScoredValue, ...] = ()


def runtimes() -> tuple[RuntimeSummary, ...]:
    """Every candidate runtime, one line each."""
    return tuple(
        RuntimeSummary(id=r.id, name=r.name, what=r.what, family=r.family, isolation_layer=r.isolation_layer,
                       isolation=r.isolation, wasm=r.wasm, gpu=r.gpu.support, compatibility=r.compatibility.support,
                       ecosystem=r.ecosystem.support, containerd_runtime_type=r.containerd_runtime_type)
        for r in knowledge_base().runtimes.values()
    )


def runtime(runtime_id: str) -> RuntimeDetail:
    """One runtime in full; :class:`NotFoundError` (field ``runtime_id``) lists the known ids."""
    kb = knowledge_base()
    record = kb.runtimes.get(runtime_id)
    if record is None:
        raise NotFoundError(f"unknown runtime {runtime_id!r}; known: {', '.join(kb.runtimes)}",
                            field="runtime_id")
    scored = []
    for metric in ("image_size", "cold_start", "memory", "density"):
        value, unit, claim = kb.criterion_value(record.id, metric)
        basis = getattr(record.criteria, metric).basis
        origin = f"claim {claim.id} [{claim.source}]" if claim else f"derived: {basis}"
        scored.append(ScoredValue(metric=metric, value=value, unit=unit, origin=origin))
    return RuntimeDetail(**dict(record), claims=tuple(c for c in kb.claims if c.subject == runtime_id),
                         scored=tuple(scored))


def claims() -> tuple[Claim, ...]:
    """Every numeric claim of the sources, with its source tag."""
    return knowledge_base().claims


# --------------------------------------------------------------------------- tables of the sources


class ScenarioTables(BaseModel):
    """The S-select scenario matrix and the S-cases case table."""

    model_config = ConfigDict(frozen=True)

    matrix: ScenariosFile
    cases: CasesFile


def scenarios() -> ScenarioTables:
    kb = knowledge_base()
    return ScenarioTables(matrix=kb.scenarios, cases=kb.cases)


def routes() -> RoutesFile:
    """The three Wasm integration routes (S-wasm) and the rules that choose one."""
    return knowledge_base().routes


def table_names() -> tuple[str, ...]:
    from rtadvisor.kb.tables import TABLES

    return tuple(TABLES)


def tables(names: list[str] | None = None) -> list[KbTable]:
    """The sources' comparison tables regenerated from the knowledge base (default: all but claims)."""
    from rtadvisor.kb.tables import TABLES, all_tables

    chosen = list(names or [n for n in TABLES if n != "claims"])
    for name in chosen:
        if name not in TABLES:
            raise InputError(f"option --table: unknown table '{name}'; choose from {', '.join(TABLES)}",
                             field="table")
    return all_tables(knowledge_base(), chosen)


# --------------------------------------------------------------------------- decision tree


def decision_tree() -> DecisionTree:
    """The S-select tree as nodes and yes/no edges; each answer that ends the walk is a leaf node
    (``<question>:<answer>``) naming the runtime and what the tree file says about it."""
    tree = knowledge_base().tree
    nodes = [DecisionTreeNode(id=n.id, label=n.question, question=n.question, threshold=n.threshold,
                              claims=n.claims) for n in tree.nodes]
    edges: list[DecisionTreeEdge] = []
    questions = {n.id for n in tree.nodes}
    for n in tree.nodes:
        for answer, target in (("yes", n.yes), ("no", n.no)):
            if target in questions:
                edges.append(DecisionTreeEdge(source=n.id, target=target, label=answer))  # type: ignore[arg-type]
                continue
            runtime_id = target.split(":", 1)[1] if target.startswith("leaf:") else target
            info = tree.leaves.get(runtime_id, {})
            note = "; ".join(f"{k}: {v}" for k, v in info.items()) or None
            leaf_id = f"{n.id}:{answer}"
            nodes.append(DecisionTreeNode(id=leaf_id, label=runtime_id, leaf=True, runtime=runtime_id, note=note))
            edges.append(DecisionTreeEdge(source=n.id, target=leaf_id, label=answer))  # type: ignore[arg-type]
    return DecisionTree(root=tree.root, source=tree.source, nodes=tuple(nodes), edges=tuple(edges))


# --------------------------------------------------------------------------- relation network


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


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


def network() -> RelationNetwork:
    """The S-network relation network (the knowledge base's networkx graph) plus the links it states
    as attributes (``derived``), so a drawing shows them."""
    kb = knowledge_base()
    graph = kb.graph()
    nodes: list[dict[str, Any]] = []
    for key, attrs in graph.nodes(data=True):
        data = {str(k): _plain(v) for k, v in attrs.items()}
        if "id" in data:  # the node key is the id; a layer's own id attribute (D1..D5) becomes "ref"
            data["ref"] = data.pop("id")
        data["id"] = str(key)
        nodes.append(data)
    links: list[dict[str, Any]] = [
        {**{str(k): _plain(v) for k, v in attrs.items()}, "source": str(u), "target": str(v)}
        for u, v, attrs in graph.edges(data=True)
    ]
    _add_derived_links(kb, nodes, links)
    for node in nodes:
        node.setdefault("label", _label(node))
        node.setdefault("group", str(node.get("kind") or "other"))
    for link in links:
        link.setdefault("kind", str(link.get("relation") or ""))
    return RelationNetwork(directed=graph.is_directed(), nodes=tuple(NetworkNode(**n) for n in nodes),
                           links=tuple(NetworkLink(**x) for x in links))


def _add_derived_links(kb: KnowledgeBase, nodes: list[dict[str, Any]], links: list[dict[str, Any]]) -> None:
    """A scenario's Y coordinate names an isolation layer (S-network: Y=4 sandbox, Y=3 container); an
    observability formula (``O1 + O2``) relates its dimensions; a scenario node is the A7 member of the
    same name. Each added link has ``derived: true`` and says which attribute it came from."""
    ids = {n["id"] for n in nodes}
    by_name = {str(n.get("name", "")).lower(): n["id"] for n in nodes if n.get("kind") == "layer"}
    y_values = {str(k): str(v).lower() for k, v in ((kb.network.axes.get("Y") or {}).get("values") or {}).items()}
    for node in nodes:
        if node.get("kind") != "scenario":
            continue
        layer = by_name.get(y_values.get(str(node.get("Y")), ""))
        if layer:
            links.append({"source": node["id"], "target": layer, "kind": f"Y={node.get('Y')}",
                          "relation": "coordinate", "derived": True})
        scenario = node["id"].split(":", 1)[-1].replace("-", " ").lower()
        for member in sorted(ids):
            if member.startswith("A7:") and member.split(":", 1)[1].lower() == scenario:
                links.append({"source": member, "target": node["id"], "kind": "scenario",
                              "relation": "scenario", "derived": True})
    for formula in kb.network.observability.formulas:
        terms = [t for t in re.findall(r"O\d", formula.expression) if t in ids]
        for a, b in itertools.pairwise(terms):
            links.append({"source": a, "target": b, "kind": formula.name, "relation": "formula", "derived": True})


def network_summary() -> dict[str, Any]:
    """The isolation stack and its two orders (``kb network --json``)."""
    from rtadvisor.kb.network import orders_summary

    return orders_summary(knowledge_base())


class ChainStep(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    members: tuple[str, ...]


def chain_path(start: str, end: str) -> tuple[ChainStep, ...]:
    """The path between two architecture dimensions along the chains A1->A5->A6->A7, A2->A3->A4."""
    kb = knowledge_base()
    try:
        path = kb.chain_path(start.upper(), end.upper())
    except KeyError as exc:
        raise InputError(str(exc.args[0])) from None
    dims = {d.id: d for d in kb.network.dimensions}
    return tuple(ChainStep(id=x, name=dims[x].name, members=dims[x].members) for x in path)


def timeline() -> tuple[TimelineEvent, ...]:
    return knowledge_base().network.timeline


def observability() -> Observability:
    return knowledge_base().network.observability


def coordinates() -> tuple[dict[str, Any], tuple[Coordinate, ...]]:
    """The axes (X orchestration, Y isolation layer, Z policy) and each scenario's coordinates."""
    net = knowledge_base().network
    return net.axes, net.coordinates


# --------------------------------------------------------------------------- troubleshooting


def troubleshoot(symptom: str | None = None) -> TroubleshootingResult:
    """The troubleshooting rows matching a symptom, best first; the whole table without one."""
    kb = knowledge_base()
    text = symptom.strip() if symptom else ""
    if text:
        matches = tuple(TroubleshootingMatch(**h.entry.model_dump(), score=h.score, source=h.source)
                        for h in kb.find_troubleshooting(text))
        return TroubleshootingResult(symptom=text, matches=matches)
    source = kb.troubleshooting.source
    return TroubleshootingResult(symptom=None, matches=tuple(
        TroubleshootingMatch(**e.model_dump(), source=source) for e in kb.troubleshooting.entries))


def claim_text(claim: Claim) -> str:
    """A claim's value as the sources state it (``5-10 ms``, ``< 50 MB``)."""
    from rtadvisor.kb.tables import claim_text as text

    return text(claim)
