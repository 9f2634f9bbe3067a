"""The fleet's use cases: the agent on each node, the report per pool and per node, the pool's
evidence for decisions, and the manifests that deploy the agent.

==========================  ==================================  ================================
function                    returns                             front ends
==========================  ==================================  ================================
``agent(...)``              ``AgentReport``                     ``agent``
``fleet_report(db, ...)``  :class:`FleetReport`                ``fleet``, ``GET /api/fleet``
``load_pool_evidence``      ``Evidence``                        ``recommend --pool``, ``?pool=``
``generate_fleet(...)``     ``GeneratedBundle``                 ``generate fleet``
``parse_duration(text)``    seconds                             every duration option
==========================  ==================================  ================================

The report's types are defined here (not in :mod:`rtadvisor.model`) because only the fleet uses
them; the web's response model is :class:`FleetReport`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rtadvisor.errors import InputError
from rtadvisor.model import ClaimMeasurement, ClaimVerdict, Evidence, GeneratedBundle, GeneratedFile

if TYPE_CHECKING:
    from rtadvisor.agent import AgentReport
    from rtadvisor.store.fleet import NodeState, PoolSummary

# ------------------------------------------------------------------------------------ durations

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def parse_duration(text: str, option: str = "duration", *, allow_zero: bool = False) -> float:
    """Seconds from ``90``, ``30s``, ``5m``, ``6h``, ``1d``, ``1h30m`` (Go/Kubernetes style);
    an InputError naming ``option`` otherwise."""
    value = text.strip()
    total: float | None = None
    if re.fullmatch(r"\d+(\.\d+)?", value):
        total = float(value)
    elif value and _PART.sub("", value) == "":
        total = sum(float(n) * _UNITS[u] for n, u in _PART.findall(value))
    if total is None or total > 366 * 86400 or (total <= 0 and not allow_zero):
        raise InputError(f"{option}: expected a {'non-negative' if allow_zero else 'positive'} duration such as 90s, "
                         f"5m, 6h or 1h30m (at most a year), got {text!r}", field=option.lstrip("-").replace("-", "_"))
    return total


# ------------------------------------------------------------------------------------ the agent


def agent(
    *,
    db: str | None = None,
    once: bool = False,
    interval: str = "6h",
    cycles: int | None = None,
    pool: str | None = None,
    pool_label: str | None = None,
    node_name: str | None = None,
    runtimes: Sequence[str] = (),
    budget: str | None = None,
    runs: int | None = None,
    memory: bool = True,
    spool: str | Path | None = None,
    spool_max: int = 200,
    retry_for: str = "2m",
    retry_max: str = "5m",
    host_root: str | Path | None = None,
    probe_node: bool = True,
    log: Callable[[str], None] = lambda _message: None,
) -> AgentReport:
    """Run the fleet agent (see :mod:`rtadvisor.agent.runner`); options are checked first, each with
    a one-line InputError naming it."""
    import os

    from rtadvisor.agent import AgentConfig, run_agent
    from rtadvisor.bench.harness import BenchOptions
    from rtadvisor.model import BenchSettings
    from rtadvisor.store import resolve_url

    from .bench import check_backends

    resolve_url(db)  # a malformed URL fails now, not after a bench
    interval_s = parse_duration(interval, "--interval")
    retry_for_s = parse_duration(retry_for, "--retry-for", allow_zero=True)
    retry_max_s = parse_duration(retry_max, "--retry-max")
    budget_s = parse_duration(budget, "--budget") if budget else BenchSettings().budget_s
    names = check_backends([r for r in runtimes if r]) if runtimes else []
    if cycles is not None and cycles < 1:
        raise InputError(f"--cycles: expected a positive number, got {cycles}", field="cycles")
    if runs is not None and not 1 <= runs <= 1000:
        raise InputError(f"--runs: expected 1-1000 timed runs, got {runs}", field="runs")
    if pool is not None and not re.fullmatch(r"(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])", pool):
        raise InputError(f"--pool {pool!r}: expected a Kubernetes label value (63 characters: letters, digits, "
                         "'-', '_', '.')", field="pool")
    options: dict[str, Any] = {"budget_s": budget_s, "memory": memory}
    if runs is not None:
        options.update(runs=runs, min_runs=min(runs, BenchSettings().min_runs), warmups=min(3, runs))
    if spool is None:
        state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        spool = Path(state) / "rtadvisor" / "spool"
    config = AgentConfig(
        db=db, spool=Path(spool), once=once, interval_s=interval_s, cycles=cycles, pool=pool or None,
        pool_label=pool_label or None, node_name=node_name or None, runtimes=tuple(names),
        bench=BenchOptions(**options), spool_max=spool_max, retry_for_s=retry_for_s, retry_max_s=retry_max_s,
        retry_base_s=min(1.0, retry_max_s), host_root=Path(host_root) if host_root else None, probe_node=probe_node)
    return run_agent(config, log)


# ------------------------------------------------------------------------------------ the report


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class FleetFigure(_Frozen):
    """One figure of one backend across a pool's counted nodes."""

    metric: str
    unit: str
    median: float
    min: float
    q1: float = Field(description="First quartile (inclusive method)")
    q3: float = Field(description="Third quartile (inclusive method)")
    max: float
    nodes: int = Field(description="Nodes that measured it")
    emulated: bool = False


class FleetRuntime(_Frozen):
    """One bench backend in a pool: on how many nodes it was measured, failed or is not usable."""

    runtime: str = Field(description="The bench backend")
    stands_for: tuple[str, ...] = Field(default=(), description="What its figures say about knowledge-base runtimes")
    status: Literal["usable on every node", "usable on some nodes", "not usable", "failed"]
    measured_nodes: int
    failed_nodes: int
    unavailable_nodes: int
    reasons: tuple[str, ...] = Field(default=(), description="Why not usable or failed, with node counts")
    figures: tuple[FleetFigure, ...] = ()


class FleetDisagreement(_Frozen):
    """A node that does not look like its pool."""

    node: str
    kind: Literal["usability", "figure", "fact"]
    subject: str = Field(description="The backend, backend/metric, or node fact")
    node_value: str
    pool_value: str
    detail: str


class FleetNodeRuntime(_Frozen):
    status: Literal["measured", "failed", "unavailable"]
    reason: str | None = None
    figures: dict[str, float] = Field(default_factory=dict)
    emulated: bool = False


class FleetNode(_Frozen):
    """A node as its newest run shows it."""

    node_name: str
    pool: str | None = None
    hostname: str | None = None
    run_id: str
    started: str
    age_s: float | None = None
    stale: bool
    kernel: str = ""
    cpu_model: str = ""
    cpus: int | None = None
    arch: str = ""
    kvm: str = "unknown"
    kvm_linux_guests: bool | None = None
    cgroup: str = "unknown"
    usable: tuple[str, ...] = Field(default=(), description="Backends measured on this node")
    runtimes: dict[str, FleetNodeRuntime] = Field(default_factory=dict)


class FleetPool(_Frozen):
    """One node pool: figures, what it cannot run, nodes that disagree, the claims checked there."""

    pool: str | None = Field(description="The pool label value; null for nodes without a pool")
    nodes: int
    counted_nodes: int = Field(description="Nodes the figures come from (the fresh ones, or all when none is)")
    stale_nodes: tuple[str, ...] = ()
    basis: str
    hardware_virtualization: bool | None = Field(
        default=None, description="Does /dev/kvm boot Linux guests on every node (false: on some node it does not)")
    facts: dict[str, str] = Field(default_factory=dict, description="kvm, kernel, cpu_model, cgroup, arch across nodes")
    runtimes: tuple[FleetRuntime, ...] = ()
    unusable: dict[str, str] = Field(default_factory=dict,
                                     description="Knowledge-base runtimes the pool cannot run, and why")
    disagreements: tuple[FleetDisagreement, ...] = ()
    verdicts: tuple[ClaimVerdict, ...] = Field(default=(), description="Each claim checked on the pool's median node")


class FleetReport(_Frozen):
    """``rtadvisor fleet --json`` and ``GET /api/fleet``."""

    store: str
    generated: str
    stale_after_s: float
    pools: tuple[FleetPool, ...]
    nodes: tuple[FleetNode, ...]


#: claim metric -> the stored figure its verdict reads (rtadvisor.bench.claims's mapping)
CLAIM_FIGURE = {"cold_start": "cold_start_ms", "memory": "pss_mb", "image_size": "artifact_bytes",
                "density": "density", "cpu_spike": "cpu_ms"}
_COMPARED_FACTS = ("kernel", "cpu_model", "arch", "kvm", "kvm_linux_guests", "cgroup")
_OUTLIER_METRICS = ("cold_start_ms", "pss_mb", "per_instance_mb")
_OUTLIER_MIN_NODES = 4
_OUTLIER_MIN_RELATIVE = 0.25


RuntimeStatus = Literal["usable on every node", "usable on some nodes", "not usable", "failed"]


def _status(backend: Any) -> RuntimeStatus:
    measured, failed, unavailable = len(backend.measured), len(backend.failed), len(backend.unavailable)
    if measured and not failed and not unavailable:
        return "usable on every node"
    if measured:
        return "usable on some nodes"
    return "failed" if failed and not unavailable else "not usable"


def _reasons(items: dict[str, str], what: str) -> list[str]:
    return [f"{what} on {n} node{'s' if n != 1 else ''}: {reason}" for reason, n in Counter(items.values()).most_common()]


def _runtime_row(backend: Any) -> FleetRuntime:
    from rtadvisor.model import stand_ins
    from rtadvisor.store import ALL_METRICS

    figures = tuple(FleetFigure(metric=m, unit=ALL_METRICS[m], median=s.median, min=s.low, q1=s.q1, q3=s.q3, max=s.high,
                                nodes=s.nodes, emulated=s.emulated) for m, s in backend.figures.items())
    return FleetRuntime(
        runtime=backend.runtime, stands_for=tuple(s.label for s in stand_ins(backend=backend.runtime)),
        status=_status(backend), measured_nodes=len(backend.measured), failed_nodes=len(backend.failed),
        unavailable_nodes=len(backend.unavailable),
        reasons=tuple(_reasons(backend.unavailable, "not usable") + _reasons(backend.failed, "failed")),
        figures=figures)


def _fact_text(value: Any) -> str:
    return "unknown" if value is None or value == "" else str(value).lower() if isinstance(value, bool) else str(value)


def _disagreements(summary: PoolSummary) -> list[FleetDisagreement]:
    """Nodes unlike their pool: a backend's usability, a figure outside the pool's Tukey fences (and
    more than 25% from the median; pools of 4+ nodes), a node fact unlike the pool's majority."""
    counted = summary.counted
    out: list[FleetDisagreement] = []
    if len(counted) < 2:
        return out
    for name, backend in summary.backends.items():
        statuses = {s.node_name: s.runtimes[name].status for s in counted if name in s.runtimes}
        usual, count = Counter(statuses.values()).most_common(1)[0]
        if count * 2 > len(statuses):
            for s in counted:
                r = s.runtimes.get(name)
                if r is not None and r.status != usual:
                    why = f": {r.reason}" if r.reason else ""
                    out.append(FleetDisagreement(node=s.node_name, kind="usability", subject=name,
                                                 node_value=r.status, pool_value=usual,
                                                 detail=f"{name} {r.status} here{why}; {usual} on {count} of "
                                                        f"{len(statuses)} nodes"))
        for metric in _OUTLIER_METRICS:
            spread = backend.figures.get(metric)
            if spread is None or spread.nodes < _OUTLIER_MIN_NODES:
                continue
            iqr = spread.q3 - spread.q1
            low, high = spread.q1 - 1.5 * iqr, spread.q3 + 1.5 * iqr
            for s in counted:
                figure = s.runtimes[name].figures.get(metric) if name in s.runtimes else None
                if figure is None or low <= figure <= high or not spread.median:
                    continue
                if abs(figure / spread.median - 1) <= _OUTLIER_MIN_RELATIVE:
                    continue
                out.append(FleetDisagreement(
                    node=s.node_name, kind="figure", subject=f"{name}/{metric}", node_value=f"{figure:.4g}",
                    pool_value=f"{spread.median:.4g}",
                    detail=f"{name} {metric} {figure:.4g} here, pool median {spread.median:.4g} (quartiles "
                           f"{spread.q1:.4g}-{spread.q3:.4g}, {spread.nodes} nodes): outside the Tukey fences"))
    for fact in _COMPARED_FACTS:
        # an unknown fact (e.g. kvm_linux_guests on a node that ran no VM) disagrees with nothing
        values = {s.node_name: v for s in counted if (v := _fact_text(s.facts.get(fact))) != "unknown"}
        if len(values) < 2:
            continue
        majority, count = Counter(values.values()).most_common(1)[0]
        if count * 2 <= len(values) or count == len(values):
            continue
        for node, text in values.items():
            if text != majority:
                out.append(FleetDisagreement(node=node, kind="fact", subject=fact, node_value=text,
                                             pool_value=majority,
                                             detail=f"{fact} {text} here; {majority} on {count} of {len(values)} nodes"))
    return out


def _median_nodes(summary: PoolSummary) -> dict[tuple[str, str], NodeState]:
    """(backend, figure) -> the node holding the pool's (low) median of it: a real node's real
    measurement (its run, n and CI), which a claim can then be checked on."""
    holders: dict[tuple[str, str], list[tuple[float, str, NodeState]]] = {}
    wanted = set(CLAIM_FIGURE.values())
    for s in summary.counted:
        for backend, r in s.runtimes.items():
            for metric, value in r.figures.items():
                if metric in wanted:
                    holders.setdefault((backend, metric), []).append((value, s.node_name, s))
    out: dict[tuple[str, str], NodeState] = {}
    for key, found in holders.items():
        found.sort(key=lambda h: (h[0], h[1]))
        out[key] = found[(len(found) - 1) // 2][2]  # statistics.median_low, keeping the node
    return out


def _verdicts(summary: PoolSummary, store: Any, claims: Sequence[Any]) -> list[ClaimVerdict]:
    """Every numeric claim checked on the pool: the verdict on the node that holds the pool's median
    of the claim's figure (``median_low``, so the figure is a real node's measurement with its run,
    n and CI), said so in ``why``."""
    from rtadvisor.bench.claims import check_claim
    from rtadvisor.store import StoredResult
    from rtadvisor.store.fleet import load_results

    holders = _median_nodes(summary)
    loaded = load_results(store, {(n.run_id, b) for (b, _), n in holders.items()})
    unavailable = {name: Counter(b.unavailable.values()).most_common(1)[0][0]
                   for name, b in summary.backends.items() if b.unavailable and not b.measured}
    where = f"pool {summary.pool}" if summary.pool else "the nodes without a pool"
    by_metric: dict[str, dict[str, Any]] = {}
    out: list[ClaimVerdict] = []
    for claim in claims:
        if claim.value is None and claim.low is None and claim.high is None:
            continue
        figure = CLAIM_FIGURE.get(claim.metric, "")
        latest = by_metric.get(figure)
        if latest is None:
            latest = {}
            for (backend, metric), node in holders.items():
                result = loaded.get((node.run_id, backend))
                if metric == figure and result is not None:
                    from rtadvisor.store.database import node_of

                    latest[backend] = StoredResult(result=result, run_id=node.run_id, started=node.started,
                                                   node=node_of(node.facts, f"run {node.run_id}"))
            by_metric[figure] = latest
        check = check_claim(claim, latest, unavailable)
        doc = check.as_dict()
        m = doc["measurement"]
        why = doc["why"]
        if m is not None and check.verdict != "not measurable here":
            counted = summary.backends[m["runtime"]].figures.get(figure)
            holder = holders.get((m["runtime"], figure))
            nodes = counted.nodes if counted else 1
            why = (f"{where}, median of {nodes} node{'s' if nodes != 1 else ''} "
                   f"(node {holder.node_name if holder else '?'}): {why}")
        out.append(ClaimVerdict(claim=check.claim, verdict=doc["verdict"], why=why,
                                measurement=None if m is None else ClaimMeasurement(**m),
                                stand_in=doc["stand_in"], tolerance=doc["tolerance"]))
    return out


def _node_row(state: NodeState, now: datetime, stale_after_s: float) -> dict[str, Any]:
    """One node's row as plain data: the report validates all rows in one pass (pydantic's core),
    several times faster for a thousand nodes than building each model in Python."""
    age = state.age_s(now)
    facts = state.facts
    guests = facts.get("kvm_linux_guests")
    return {
        "node_name": state.node_name, "pool": state.pool, "hostname": state.hostname, "run_id": state.run_id,
        "started": state.started, "age_s": None if age is None else round(age, 1),
        "stale": age is None or age > stale_after_s, "kernel": str(facts.get("kernel") or ""),
        "cpu_model": str(facts.get("cpu_model") or ""),
        "cpus": facts.get("cpus") if isinstance(facts.get("cpus"), int) else None, "arch": str(facts.get("arch") or ""),
        "kvm": str(facts.get("kvm") or "unknown"), "kvm_linux_guests": guests if isinstance(guests, bool) else None,
        "cgroup": str(facts.get("cgroup") or "unknown"),
        "usable": [n for n, r in state.runtimes.items() if r.status == "measured"],
        "runtimes": {name: {"status": r.status, "reason": r.reason, "figures": r.figures, "emulated": r.emulated}
                     for name, r in state.runtimes.items()},
    }


def fleet_report(db: str | None = None, stale_after: str | float | None = None, *,
          now: datetime | None = None) -> FleetReport:
    """Per pool and per node: which runtimes are usable, their figures (median across nodes and
    spread), stale nodes, nodes unlike their pool, the runtimes a pool cannot run, and the claims
    checked per pool. ``StoreError`` when the store holds no run yet."""
    from rtadvisor.errors import StoreError
    from rtadvisor.kb import load
    from rtadvisor.store import ResultStore
    from rtadvisor.store.fleet import DEFAULT_STALE_AFTER_S, node_states, summarize_pool

    if stale_after is None:
        stale_s = DEFAULT_STALE_AFTER_S
    elif isinstance(stale_after, str):
        stale_s = parse_duration(stale_after, "--stale-after")
    else:
        stale_s = float(stale_after)
    now = now or datetime.now(UTC)
    with ResultStore.open(db, create=False) as store:
        states = node_states(store)
        if not states:
            raise StoreError(f"no stored bench results in {store.location}: run `rtadvisor bench` or "
                             "`rtadvisor agent` first")
        by_pool: dict[str | None, list[NodeState]] = {}
        for s in states:
            by_pool.setdefault(s.pool, []).append(s)
        claims = load().claims
        pools = []
        for name in sorted(by_pool, key=lambda p: (p is None, p or "")):
            summary = summarize_pool(name, by_pool[name], now=now, stale_after_s=stale_s)
            pools.append(FleetPool(
                pool=name, nodes=len(summary.nodes), counted_nodes=len(summary.counted),
                stale_nodes=tuple(s.node_name for s in summary.stale), basis=summary.basis,
                hardware_virtualization=summary.hardware_virtualization,
                facts={k: str(summary.host[k]) for k in ("kvm", "kernel", "cpu_model", "cgroup", "arch")},
                runtimes=tuple(_runtime_row(b) for b in summary.backends.values()), unusable=summary.unusable,
                disagreements=tuple(_disagreements(summary)), verdicts=tuple(_verdicts(summary, store, claims))))
        location = store.location
    return FleetReport.model_validate({
        "store": location, "generated": now.isoformat(timespec="seconds"), "stale_after_s": stale_s,
        "pools": pools, "nodes": [_node_row(s, now, stale_s) for s in states]})


def load_pool_evidence(db: str | None, pool: str, stale_after: str | None = None) -> Evidence:
    """A pool's evidence for a decision (``recommend --evidence --pool NAME``): see
    :func:`rtadvisor.store.load_pool_evidence`. ``NotFoundError`` for a pool with no node."""
    from rtadvisor.store import load_pool_evidence as load

    if not pool or not pool.strip():
        raise InputError("pool: expected a pool name", field="pool")
    stale_s = parse_duration(stale_after, "--stale-after") if stale_after else None
    return load(db, pool, stale_after_s=stale_s)


# ------------------------------------------------------------------------------------ deployment


def generate_fleet(
    *,
    image: str,
    namespace: str | None = None,
    mode: str = "daemonset",
    pools: Sequence[str] = (),
    pool_label: str | None = None,
    db_secret: str | None = None,
    db_secret_key: str | None = None,
    interval: str = "6h",
    runtimes: Sequence[str] = (),
    budget: str | None = None,
    tolerations: Sequence[str] = (),
    tolerate_pool_taint: bool = True,
    cpu_request: str | None = None,
    memory_request: str | None = None,
    memory_limit: str | None = None,
    cpu_limit: str | None = None,
) -> GeneratedBundle:
    """``fleet.yaml`` (Namespace, ServiceAccount, node-reading RBAC when needed, ConfigMap, a
    DaemonSet -- or a Job -- per pool), ``Dockerfile.agent`` and ``README.md``; nothing is written."""
    from dataclasses import fields

    from rtadvisor.k8s.fleet import FleetDeployment, PoolTarget, Toleration, render_fleet
    from rtadvisor.k8s.validate import validate_manifest

    from . import version
    from .bench import check_backends

    if mode not in ("daemonset", "job"):
        raise InputError(f"--mode: expected daemonset or job, got {mode!r}", field="mode")
    parse_duration(interval, "--interval")
    if budget:
        parse_duration(budget, "--budget")
    given: dict[str, Any] = {
        "image": image, "namespace": namespace, "mode": mode, "pools": tuple(PoolTarget.parse(p) for p in pools),
        "pool_label": pool_label, "db_secret": db_secret, "db_secret_key": db_secret_key, "interval": interval,
        "runtimes": tuple(check_backends(list(runtimes))) if runtimes else (), "budget": budget,
        "tolerations": tuple(Toleration.parse(t) for t in tolerations), "tolerate_pool_taint": tolerate_pool_taint,
        "cpu_request": cpu_request, "memory_request": memory_request, "memory_limit": memory_limit,
        "cpu_limit": cpu_limit, "version": version(),
    }
    known = {f.name for f in fields(FleetDeployment)}
    spec = FleetDeployment(**{k: v for k, v in given.items() if k in known and (v is not None or k == "cpu_limit")})
    from rtadvisor.k8s.fleet import fleet_manifests

    for obj in fleet_manifests(spec):
        validate_manifest(obj, where=f"fleet.yaml: {obj['kind']} {obj['metadata']['name']}")
    files = render_fleet(spec)
    workloads = [f"{o['kind']}/{o['metadata']['name']}" for o in fleet_manifests(spec)]
    return GeneratedBundle(runtime="rtadvisor-agent", route=None,
                           files=tuple(GeneratedFile(path=p, content=c) for p, c in files.items()),
                           summary={"namespace": spec.namespace, "mode": spec.mode, "objects": workloads,
                                    "pools": [p.name for p in spec.pools], "pool_label": spec.pool_label,
                                    "secret": f"{spec.db_secret}/{spec.db_secret_key}"})
