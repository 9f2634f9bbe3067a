"""The fleet's view of the store: each node's newest run, and a node pool summed up.

A *node* is a ``node_name`` (the Kubernetes node name the agent gets from the downward API; unique
within a cluster); its state is its newest stored run. A *pool* is the ``pool`` recorded with that
run. Three queries fetch the newest runs' rows (runs, results, measurements: the columns only, never
the JSON documents), in one snapshot, so a fleet of a thousand nodes is read in a fraction of a
second; the rest is arithmetic here.

What a pool says, and how (also in docs/fleet.md):

* **figures**: per backend and metric (:data:`ALL_METRICS`), the median across the pool's nodes of each node's figure
  (the yes/no ones of :data:`BOOLEAN_POOL_RULE` in its evidence: lowest or highest, whichever is the safe side),
  with min, quartiles and max (the spread), over the *fresh* nodes -- those whose newest run is
  younger than ``stale_after_s`` -- or over all of them when none is fresh (said in ``basis``);
* **usable**: a knowledge-base runtime is *unusable on the pool* when some node of it cannot run
  it: every backend that runs that runtime itself (registry relations itself / through /
  same-engine) is unavailable there. A pod may land on any node of its pool, so one such node is
  enough; the reason names how many and why. A stand-in's usability says nothing about what it
  stands in for (the micro-VM running under emulation does not make Kata usable). Kata and full VMs
  boot a Linux guest kernel per pod and need ``/dev/kvm`` backed by hardware virtualization: when a
  node has no ``/dev/kvm``, or one that cannot boot a Linux guest (``kvm_linux_guests`` false, as
  under kvm_pvm), they are unusable on the pool.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Connection, Select, and_, func, select, tuple_

from rtadvisor.errors import NotFoundError
from rtadvisor.model import STAND_INS, BenchResult, Evidence, Measurement

from .database import measurements, results, runs
from .documents import read_bench_result
from .records import ALL_METRICS, BOOLEAN_POOL_RULE, FILED_UNDER_RUNTIME, file_under_runtimes

if TYPE_CHECKING:
    from .database import ResultStore

#: A node whose newest run is older than this is stale (default: a day; the agent's default
#: interval is six hours, so a stale node has missed four runs).
DEFAULT_STALE_AFTER_S = 24 * 3600.0

#: Knowledge-base runtimes that boot a Linux guest kernel per pod and so need /dev/kvm backed by
#: hardware virtualization (VT-x / AMD-V, bare metal or nested). They are the runtimes the bench's
#: VM stand-in stands for (tests/store/test_fleet_store.py checks it against the registry).
NEEDS_HARDWARE_VIRTUALIZATION: tuple[str, ...] = ("kata", "vm")

Status = Literal["measured", "failed", "unavailable"]


@dataclass(frozen=True)
class NodeRuntime:
    """One backend in a node's newest run."""

    runtime: str
    status: Status
    reason: str | None = None  # why not available, or the error
    figures: dict[str, float] = field(default_factory=dict)  # metric -> value (measured only)
    emulated: bool = False


@dataclass(frozen=True)
class NodeState:
    """A node as its newest stored run shows it."""

    node_name: str
    pool: str | None
    hostname: str | None
    run_id: str
    started: str
    facts: dict[str, Any]  # the run's NodeInfo as stored (kernel, cpu_model, kvm, kvm_linux_guests, ...)
    runtimes: dict[str, NodeRuntime]

    def age_s(self, now: datetime) -> float | None:
        started = parse_time(self.started)
        return None if started is None else max(0.0, (now - started).total_seconds())

    @property
    def hardware_virtualization(self) -> bool | None:
        """Does /dev/kvm boot a Linux guest here? False without /dev/kvm, None when not known."""
        guests = self.facts.get("kvm_linux_guests")
        if isinstance(guests, bool):
            return guests
        return False if self.facts.get("kvm") == "absent" else None


@dataclass(frozen=True)
class Spread:
    """One figure across the nodes of a pool."""

    median: float
    low: float
    q1: float
    q3: float
    high: float
    nodes: int
    emulated: bool = False


@dataclass(frozen=True)
class BackendInPool:
    """One backend across a pool's counted nodes."""

    runtime: str
    measured: tuple[str, ...]  # node names
    failed: dict[str, str]  # node -> error
    unavailable: dict[str, str]  # node -> reason
    figures: dict[str, Spread]  # metric -> spread over the measured nodes


@dataclass(frozen=True)
class PoolSummary:
    pool: str | None
    nodes: tuple[NodeState, ...]  # every node of the pool
    counted: tuple[NodeState, ...]  # the nodes the figures come from (fresh ones, or all)
    stale: tuple[NodeState, ...]
    basis: str
    backends: dict[str, BackendInPool]
    hardware_virtualization: bool | None
    unusable: dict[str, str]  # kb runtime -> reason
    host: dict[str, Any]  # Evidence.host of the pool


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# ----------------------------------------------------------------------------------- queries


def node_states(store: ResultStore, pool: str | None = None, *, any_pool: bool = True) -> list[NodeState]:
    """Each node's newest run (all nodes, or with ``any_pool=False`` those whose newest run is in
    ``pool``), read in one snapshot."""
    latest = (select(runs.c.node_name, func.max(runs.c.created).label("created"))
              .where(runs.c.node_name.is_not(None)).group_by(runs.c.node_name).subquery())
    heads = select(runs.c.id).join(latest, and_(runs.c.node_name == latest.c.node_name,
                                                runs.c.created == latest.c.created))
    if not any_pool:
        heads = heads.where(runs.c.pool.is_(None) if pool is None else runs.c.pool == pool)
    ids = heads.subquery()
    with store._tx(snapshot=True) as conn:
        head_rows = conn.execute(select(runs.c.id, runs.c.node_name, runs.c.pool, runs.c.hostname, runs.c.created,
                                        runs.c.host).where(runs.c.id.in_(select(ids.c.id)))).all()
        result_rows = _plain_rows(conn, select(results.c.run_id, results.c.runtime, results.c.available,
                                               results.c.reason, results.c.error)
                                  .where(results.c.run_id.in_(select(ids.c.id))).order_by(results.c.id))
        figure_rows = _plain_rows(conn, select(measurements.c.run_id, measurements.c.runtime, measurements.c.metric,
                                               measurements.c.value, measurements.c.emulated)
                                  .where(measurements.c.run_id.in_(select(ids.c.id))))
    chosen: dict[str, Any] = {}
    for row in head_rows:  # two runs of one node started in the same second: the larger id wins
        if row.node_name not in chosen or row.id > chosen[row.node_name].id:
            chosen[row.node_name] = row
    figures: dict[tuple[str, str], dict[str, float]] = {}
    emulated: set[tuple[str, str]] = set()
    for run_id, runtime, metric, value, is_emulated in figure_rows:
        figures.setdefault((run_id, runtime), {})[metric] = value
        if is_emulated:
            emulated.add((run_id, runtime))
    per_run: dict[str, dict[str, NodeRuntime]] = {}
    for run_id, runtime, available, reason, error in result_rows:
        key = (run_id, runtime)
        if not available:
            state = NodeRuntime(runtime, "unavailable", reason or "not usable")
        elif error:
            state = NodeRuntime(runtime, "failed", error)
        else:
            state = NodeRuntime(runtime, "measured", None, figures.get(key, {}), key in emulated)
        per_run.setdefault(run_id, {})[runtime] = state
    return [NodeState(node_name=row.node_name, pool=row.pool, hostname=row.hostname, run_id=row.id,
                      started=row.created, facts=dict(row.host or {}), runtimes=per_run.get(row.id, {}))
            for row in sorted(chosen.values(), key=lambda r: (r.pool or "", r.node_name))]


def _plain_rows(conn: Connection, statement: Select[Any]) -> list[tuple[Any, ...]]:
    """The rows of ``statement`` as the driver's plain tuples, in the connection's transaction.

    SQLAlchemy builds the SQL for the dialect; the driver fetches. Why not ``execute().all()``: at a
    thousand nodes the measurements are ~50,000 rows, and making a Row object of each costs about
    0.05 s of the report's second (three times the fetch). Only for columns that need no result
    processing (strings, numbers, booleans -- SQLite returns those as 0/1: callers use truthiness).
    The statement's values are rendered as literals by the dialect (the pool name is the only one)."""
    sql = str(statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def pool_names(store: ResultStore) -> list[str]:
    """The pools of the nodes' newest runs (for messages)."""
    return sorted({s.pool for s in node_states(store) if s.pool})


# ----------------------------------------------------------------------------------- arithmetic


def spread(values: Sequence[float], emulated: bool = False) -> Spread:
    """Median, min, quartiles (the inclusive method: quartiles of the values themselves) and max."""
    ordered = sorted(values)
    if len(ordered) >= 2:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        q1 = q3 = ordered[0]
    return Spread(median=statistics.median(ordered), low=ordered[0], q1=q1, q3=q3, high=ordered[-1],
                  nodes=len(ordered), emulated=emulated)


def _direct_backends() -> dict[str, tuple[str, ...]]:
    """kb runtime -> the backends that run it itself (itself / through / same engine)."""
    out: dict[str, list[str]] = {}
    for s in STAND_INS:
        if s.relation in FILED_UNDER_RUNTIME:
            out.setdefault(s.runtime, []).append(s.backend)
    return {k: tuple(v) for k, v in out.items()}


def nodes_text(count: int, what: str = "nodes") -> str:
    """``1 node``, ``3 nodes``, ``1 fresh node`` ..."""
    return f"{count} {what[:-1] if count == 1 and what.endswith('s') else what}"


def _counted(states: Sequence[NodeState], now: datetime, stale_after_s: float | None,
             where: str) -> tuple[tuple[NodeState, ...], tuple[NodeState, ...], str]:
    if stale_after_s is None:
        return tuple(states), (), f"all {nodes_text(len(states))} of {where} (newest run of each)"
    old = {s.node_name for s in states if (age := s.age_s(now)) is None or age > stale_after_s}
    stale = tuple(s for s in states if s.node_name in old)
    fresh = tuple(s for s in states if s.node_name not in old)
    hours = stale_after_s / 3600
    if fresh:
        basis = f"{nodes_text(len(fresh), 'fresh nodes')} of {where} (newest run younger than {hours:g} h)"
        if stale:
            basis += f"; {nodes_text(len(stale), 'stale nodes')} left out"
        return fresh, stale, basis
    return tuple(states), stale, (f"all {nodes_text(len(states))} of {where}, every one stale (no run in the last "
                                  f"{hours:g} h): the newest runs there are")


def _mode(values: Iterable[Any]) -> Any:
    counts = Counter(v for v in values if v not in (None, ""))
    return counts.most_common(1)[0][0] if counts else None


def _kinds(values: Iterable[Any]) -> str:
    counts = Counter(str(v) for v in values if v not in (None, ""))
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{k} ({n})" for k, n in counts.most_common())


def _examples(items: Mapping[str, str], limit: int = 3) -> str:
    by_reason: dict[str, list[str]] = {}
    for node, reason in items.items():
        by_reason.setdefault(reason, []).append(node)
    parts = []
    for reason, nodes in sorted(by_reason.items(), key=lambda kv: -len(kv[1]))[:limit]:
        shown = ", ".join(nodes[:3]) + (f" and {len(nodes) - 3} more" if len(nodes) > 3 else "")
        parts.append(f"{reason} ({shown})")
    return "; ".join(parts)


def summarize_pool(pool: str | None, states: Sequence[NodeState], *, now: datetime | None = None,
                   stale_after_s: float | None = DEFAULT_STALE_AFTER_S) -> PoolSummary:
    """Figures, usability and node facts of one pool (see the module docstring for the rules)."""
    now = now or datetime.now(UTC)
    where = f"pool {pool}" if pool else "the nodes without a pool"
    counted, stale, basis = _counted(states, now, stale_after_s, where)
    total = len(counted)
    backends: dict[str, BackendInPool] = {}
    # one pass over the nodes (a pool may hold a thousand of them)
    measured: dict[str, list[str]] = {}
    failed: dict[str, dict[str, str]] = {}
    unavailable: dict[str, dict[str, str]] = {}
    values: dict[str, dict[str, list[float]]] = {}
    emulated: set[str] = set()
    for s in counted:
        for name, r in s.runtimes.items():
            if r.status == "measured":
                measured.setdefault(name, []).append(s.node_name)
                per_metric = values.setdefault(name, {})
                for metric, value in r.figures.items():
                    per_metric.setdefault(metric, []).append(value)
                if r.emulated:
                    emulated.add(name)
            elif r.status == "failed":
                failed.setdefault(name, {})[s.node_name] = r.reason or "failed"
            else:
                unavailable.setdefault(name, {})[s.node_name] = r.reason or "not usable"
    names = list(dict.fromkeys(r for s in counted for r in s.runtimes))
    for name in names:
        figures = {metric: spread(found, emulated=name in emulated)
                   for metric in ALL_METRICS if (found := values.get(name, {}).get(metric))}
        backends[name] = BackendInPool(name, tuple(measured.get(name, ())), failed.get(name, {}),
                                       unavailable.get(name, {}), figures)

    unusable: dict[str, str] = {}
    for runtime, direct in sorted(_direct_backends().items()):
        nodes_without: dict[str, str] = {}
        for s in counted:
            present = [s.runtimes[b] for b in direct if b in s.runtimes]
            if present and all(r.status == "unavailable" for r in present):
                nodes_without[s.node_name] = "; ".join(f"{r.runtime}: {r.reason}" for r in present)
        if nodes_without:
            unusable[runtime] = (f"not usable on {len(nodes_without)} of {nodes_text(total)} of {where}: "
                                 f"{_examples(nodes_without)}")
    virt = [s.hardware_virtualization for s in counted]
    hardware = False if False in virt else (True if virt and all(v is True for v in virt) else None)
    if hardware is False:
        lacking = {s.node_name: ("no /dev/kvm" if s.facts.get("kvm") == "absent"
                                 else f"/dev/kvm ({s.facts.get('kvm', 'kvm')}) cannot boot a Linux guest")
                   for s in counted if s.hardware_virtualization is False}
        why = (f"no /dev/kvm with hardware virtualization on {where} ({len(lacking)} of {nodes_text(total)}: "
               f"{_examples(lacking)})")
        for runtime in NEEDS_HARDWARE_VIRTUALIZATION:
            unusable.setdefault(runtime, why)
    host: dict[str, Any] = {
        "pool": pool, "nodes": len(states), "counted_nodes": total, "stale_nodes": len(stale), "basis": basis,
        "kvm": _kinds(s.facts.get("kvm") for s in counted),
        "kernel": _kinds(s.facts.get("kernel") for s in counted),
        "cpu_model": _kinds(s.facts.get("cpu_model") for s in counted),
        "cgroup": _kinds(s.facts.get("cgroup") for s in counted),
        "arch": _kinds(s.facts.get("arch") for s in counted),
    }
    if hardware is not None:
        host["kvm_linux_guests"] = hardware
    return PoolSummary(pool=pool, nodes=tuple(states), counted=counted, stale=stale, basis=basis,
                       backends=backends, hardware_virtualization=hardware, unusable=unusable, host=host)


def evidence_of(summary: PoolSummary) -> Evidence:
    """The pool as decision evidence: each figure's median across the counted nodes, filed like a
    node's evidence (also under the knowledge-base runtime a backend measures itself)."""
    newest = max((s.started for s in summary.counted), default=None)
    where = f"pool {summary.pool}" if summary.pool else "nodes without a pool"
    found: list[Measurement] = []
    for name, backend in summary.backends.items():
        for metric, sp in backend.figures.items():
            rule = BOOLEAN_POOL_RULE.get(metric)
            if rule is not None:
                value = sp.low if rule == "min" else sp.high
                how = (f"{'lowest' if rule == 'min' else 'highest'} across {nodes_text(sp.nodes)} of {where} of each "
                       f"node's {metric} (1 = yes; {'every node must' if rule == 'min' else 'one node is enough'}; "
                       f"newest run per node)")
            else:
                value = sp.median
                how = (f"median across {nodes_text(sp.nodes)} of {where} of each node's {metric} "
                       f"(newest run per node; min {sp.low:g}, quartiles {sp.q1:g}-{sp.q3:g}, max {sp.high:g})")
            found.append(Measurement(runtime=name, metric=metric, value=value, unit=ALL_METRICS[metric], n=sp.nodes,
                                     method=f"backend {name}: {how}", run_id=None, host=where, date=newest,
                                     emulated=sp.emulated))
    return Evidence(measurements=file_under_runtimes(found), host=summary.host, unusable=summary.unusable)


def pool_evidence(store: ResultStore, pool: str, *, stale_after_s: float | None = None,
                  now: datetime | None = None) -> Evidence:
    """:func:`rtadvisor.store.load_pool_evidence` on an open store."""
    states = node_states(store, pool, any_pool=False)
    if not states:
        known = pool_names(store)
        listed = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "") if known else "none"
        raise NotFoundError(f"pool: no node of pool {pool!r} in {store.location} (pools there: {listed})",
                            field="pool")
    return evidence_of(summarize_pool(pool, states, now=now,
                                      stale_after_s=DEFAULT_STALE_AFTER_S if stale_after_s is None else stale_after_s))


def load_results(store: ResultStore, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], BenchResult]:
    """The full typed results of some (run id, backend) pairs (the pool's median nodes, for claims)."""
    if not pairs:
        return {}
    with store._tx() as conn:
        rows = conn.execute(select(results.c.run_id, results.c.runtime, results.c.data, runs.c.document_version)
                            .join(runs, runs.c.id == results.c.run_id)
                            .where(tuple_(results.c.run_id, results.c.runtime).in_(sorted(pairs)))).all()
    return {(row.run_id, row.runtime): read_bench_result(row.data or {}, row.document_version or 1,
                                                         f"{store.location}: run {row.run_id}")
            for row in rows}
