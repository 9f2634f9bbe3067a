"""Measuring this node: ``prepare``, ``bench`` (start-up, memory, density, isolation and overhead in
one run), ``bench cleanup``, and the presentation of results (terminal tables, the HTML report).

The front ends call these; they never reach the bench, the backends or the store themselves.

>>> from rtadvisor.app import bench
>>> run = bench.run(["native"], bench.settings(runs=5, warmups=1, sweep="1,2"), store=False)  # doctest: +SKIP
>>> run.result("native").overhead.metric("cpu").slowdown                                       # doctest: +SKIP
"""

from __future__ import annotations

import math
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rtadvisor.errors import ArtifactError, BenchError, InputError, RtadvisorError
from rtadvisor.model import BenchRun, BenchSettings, ClaimVerdict, OrderVerdict, PrepareOutcome, PrepareReport

#: Upper bounds of the numeric options. Runs and warmups are sequential (a big number only makes the run
#: longer, and Ctrl-C ends it); the sweeps start that many instances *at once*, so a typo (an extra
#: zero, a pasted number) must not start a million sandboxes.
MAX_RUNS, MAX_WARMUPS, MAX_SWEEP, MAX_PACK, MAX_PODS = 1_000_000, 100_000, 1_000, 10_000, 10_000
DEFAULTS = BenchSettings()  # the bench's defaults (one place: the model)

ProgressFn = Callable[[str, str, int, int], None]  # (backend, phase, done, total)


def backend_names() -> tuple[str, ...]:
    """Every bench backend, usable here or not."""
    from rtadvisor import backends

    return tuple(backends.names())


def check_backends(names: Sequence[str], option: str = "--runtimes") -> list[str]:
    """``names`` if each is a bench backend, else one InputError naming the first unknown one."""
    known = backend_names()
    for name in names:
        if name not in known:
            raise InputError(f"{option}: unknown runtime {name!r}: expected one of {', '.join(known)}",
                             field=option.lstrip("-"))
    return list(names)


def parse_runtimes(text: str | None, option: str = "--runtimes") -> list[str] | None:
    """``"runc, crun"`` -> ``["runc", "crun"]`` (checked); None or empty -> None (every backend)."""
    if not text:
        return None
    return check_backends([n.strip() for n in text.split(",") if n.strip()], option) or None


def parse_counts(text: str, option: str, maximum: int) -> tuple[int, ...]:
    """``"1,2,4"`` -> ``(1, 2, 4)``: up to 32 integers from 1 to ``maximum``; one-line InputError else."""
    from rtadvisor.safeio import show

    expected = f"{option}: expected up to 32 comma-separated integers from 1 to {maximum}"
    shown = show(repr(text if len(text) <= 60 else text[:57] + "..."))
    parts = [x.strip() for x in text.split(",") if x.strip()]
    if not parts or len(parts) > 32 or not all(x.isascii() and x.isdigit() and len(x) <= 9 for x in parts):
        raise InputError(f"{expected}, got {shown}", field=option.lstrip("-"))
    values = tuple(int(x) for x in parts)
    if any(v < 1 or v > maximum for v in values):
        raise InputError(f"{expected}, got {shown}", field=option.lstrip("-"))
    return values


def parse_suite(text: str | None, option: str = "--suite") -> tuple[str, ...]:
    """``"epoll_pingpong,cpu"`` -> the micro-benchmarks to run (None: all of them, in order)."""
    suite = DEFAULTS.overhead_suite
    if not text:
        return suite
    from rtadvisor.safeio import show

    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    for name in names:
        if name not in suite:
            raise InputError(f"{option}: unknown benchmark {show(repr(name[:40]))}: expected some of "
                             f"{', '.join(suite)}", field=option.lstrip("-"))
    if not names:
        raise InputError(f"{option}: expected some of {', '.join(suite)}", field=option.lstrip("-"))
    return tuple(n for n in suite if n in names)


def settings(*, runs: int = DEFAULTS.max_runs, min_runs: int = DEFAULTS.min_runs, warmups: int = DEFAULTS.warmups,
             ci_target: float = DEFAULTS.ci_target_pct or 0.0, time_budget: float = DEFAULTS.time_budget_s or 0.0,
             budget: float = DEFAULTS.budget_s or 0.0, sweep: str = ",".join(map(str, DEFAULTS.sweep)),
             pack_sweep: str = ",".join(map(str, DEFAULTS.pack_sweep)),
             memory: bool = True, max_pods: int = DEFAULTS.max_pods, isolation: bool = True, overhead: bool = True,
             suite: str | None = None, sample_ms: int = DEFAULTS.overhead_sample_ms,
             overhead_rounds: int = DEFAULTS.overhead_min_rounds,
             overhead_max_rounds: int = DEFAULTS.overhead_max_rounds) -> BenchSettings:
    """The bench's options from what a front end received (``0`` turns a target/budget off),
    checked: one-line :class:`InputError` naming the option."""
    for option, number in (("--ci-target", ci_target), ("--time-budget", time_budget), ("--budget", budget)):
        if not math.isfinite(number) or number < 0:
            raise InputError(f"{option}: expected a finite number >= 0, got {number}", field=option.lstrip("-"))
    if ci_target > 100:
        raise InputError(f"--ci-target: expected a percentage from 0 to 100, got {ci_target:g}", field="ci-target")
    for option, number, low, high in (("--runs", runs, 1, MAX_RUNS), ("--min-runs", min_runs, 1, MAX_RUNS),
                                      ("--warmups", warmups, 0, MAX_WARMUPS), ("--max-pods", max_pods, 1, MAX_PODS),
                                      ("--sample-ms", sample_ms, 1, 1000),
                                      ("--overhead-rounds", overhead_rounds, 1, 50),
                                      ("--overhead-max-rounds", overhead_max_rounds, 1, 500)):
        if not low <= number <= high:
            raise InputError(f"{option}: expected an integer from {low} to {high}, got {number}",
                             field=option.lstrip("-"))
    if overhead_max_rounds < overhead_rounds:
        raise InputError(f"--overhead-max-rounds: expected at least --overhead-rounds ({overhead_rounds}), "
                         f"got {overhead_max_rounds}", field="overhead-max-rounds")
    return BenchSettings(
        warmups=warmups, min_runs=min(min_runs, runs), max_runs=runs, ci_target_pct=ci_target or None,
        time_budget_s=time_budget or None, budget_s=budget or None, sweep=parse_counts(sweep, "--sweep", MAX_SWEEP),
        pack_sweep=parse_counts(pack_sweep, "--pack-sweep", MAX_PACK), max_pods=max_pods, memory=memory,
        isolation=isolation, overhead=overhead, overhead_suite=parse_suite(suite), overhead_sample_ms=sample_ms,
        overhead_min_rounds=overhead_rounds, overhead_max_rounds=overhead_max_rounds)


def check_artifacts(*, wasm: Path | None = None, oci_layout: Path | None = None, rootfs: Path | None = None) -> None:
    """A one-line InputError for a user artifact that is missing or not what its option says."""
    _assets(wasm, oci_layout, rootfs)


def _assets(wasm: Path | None, oci_layout: Path | None, rootfs: Path | None) -> Any:
    """The node assets, with the user's artifact checked (a one-line InputError for a bad one)."""
    from rtadvisor import safeio
    from rtadvisor.backends.base import Assets

    for option, path in (("--wasm", wasm), ("--oci-layout", oci_layout), ("--rootfs", rootfs)):
        if path is not None and not path.exists():
            raise InputError(f"{option}: {safeio.show(str(path))} does not exist", field=option.lstrip("-"))
    if sum(p is not None for p in (wasm, oci_layout, rootfs)) > 1:
        raise InputError("--wasm, --oci-layout, --rootfs: give one artifact at a time", field="wasm")
    if wasm is not None and safeio.read_bytes(wasm, what="--wasm", limit_name="max_binary_bytes")[:4] != b"\0asm":
        raise InputError(f"--wasm: {safeio.show(str(wasm))} is not a WebAssembly module (no \\0asm header)",
                         field="wasm")
    if oci_layout is not None:
        # a crafted layout (digests like sha256:../../x, symlinks, lists for objects) is refused here,
        # in one line, before the bench reads it (rtadvisor.image.inspect validates before use)
        from rtadvisor.image.inspect import inspect_layout

        inspect_layout(oci_layout, validate=False)
    if rootfs is not None and not rootfs.is_dir():
        raise InputError(f"--rootfs: {safeio.show(str(rootfs))} is not a directory", field="rootfs")
    return Assets(user_wasm=wasm.resolve() if wasm else None,
                  user_oci_layout=oci_layout.resolve() if oci_layout else None,
                  user_rootfs=rootfs.resolve() if rootfs else None)


def open_store(db: str | None) -> str:
    """Open (creating) the result store now, so a bad ``--db`` fails before minutes of measuring;
    returns where it is."""
    from rtadvisor.store import ResultStore

    return ResultStore.open(db).location


def run(runtimes: Sequence[str] | None = None, options: BenchSettings | None = None, *,
        wasm: Path | None = None, oci_layout: Path | None = None, rootfs: Path | None = None,
        progress: ProgressFn | None = None, on_stale: Callable[[str], None] | None = None) -> BenchRun:
    """Measure each named backend (default: every one) on this node: start-up, CPU, memory,
    artifact size, density, and -- one launch each -- isolation and steady-state overhead.

    ``on_stale`` gets one line when what a dead earlier run left was removed first. Ctrl-C raises
    ``KeyboardInterrupt`` and SIGTERM its subclass, after every instance was cleaned up (see
    :func:`interrupt_exit`)."""
    from rtadvisor.bench import BenchOptions, run_bench
    from rtadvisor.bench.cleanup import summary

    options = options or BenchSettings()
    names = check_backends(runtimes) if runtimes else None
    assets = _assets(wasm, oci_layout, rootfs)
    user = any(p is not None for p in (wasm, oci_layout, rootfs))
    bench_options = BenchOptions(
        runs=options.max_runs, min_runs=options.min_runs, warmups=options.warmups, ci_target_pct=options.ci_target_pct,
        time_budget_s=options.time_budget_s, budget_s=options.budget_s, sweep=options.sweep,
        pack_sweep=options.pack_sweep, max_pods=options.max_pods, memory=options.memory,
        workload="user" if user else "hello", isolation=options.isolation, overhead=options.overhead,
        overhead_suite=options.overhead_suite, overhead_sample_ms=options.overhead_sample_ms,
        overhead_min_rounds=options.overhead_min_rounds, overhead_max_rounds=options.overhead_max_rounds)

    def stale(items: list[Any]) -> None:
        if on_stale is not None:
            on_stale(f"{summary(items)} before measuring")

    return run_bench(names, bench_options, assets, progress, stale)


def interrupt_exit(exc: BaseException) -> tuple[int, str]:
    """The exit code and message for a bench stopped by Ctrl-C (130) or SIGTERM (143)."""
    from rtadvisor.bench.interrupts import Terminated

    signum = exc.signum if isinstance(exc, Terminated) else signal.SIGINT
    what = "terminated" if isinstance(exc, Terminated) else "interrupted"
    return 128 + int(signum), f"rtadvisor: {what}; all instances and temporary files removed"


def save(run_result: BenchRun, db: str | None) -> str:
    """Store a run (idempotent by run id); returns where."""
    from rtadvisor.store import ResultStore

    store = ResultStore.open(db)
    store.save(run_result)
    return store.location


def cleanup(dry_run: bool = False) -> tuple[list[dict[str, Any]], str]:
    """Remove what dead rtadvisor runs left (processes, mounts, cgroups, containerd state, temp
    dirs; only items with rtadvisor's markers whose owner is dead): the items and a one-line summary."""
    from rtadvisor.bench.cleanup import summary, sweep_stale

    items = sweep_stale(dry_run=dry_run)
    return [i.as_dict() for i in items], summary(items)


def prepare(
    runtimes: Sequence[str] | None = None,
    on_outcome: Callable[[PrepareOutcome], None] | None = None,
) -> PrepareReport:
    """Build the built-in workloads (hello/idle/measure, native and Wasm) and prepare each usable
    backend (bundles, images, the micro-VM kernel). A backend that is not usable here is skipped with
    its reason; any that fails is reported and, after all were tried, raises ``BenchError`` naming each."""
    from rtadvisor import backends
    from rtadvisor.backends.base import Assets
    from rtadvisor.kb import save_cache
    from rtadvisor.workloads import ensure_built, wasi_toolchain_missing

    save_cache()  # the validated knowledge base, so commands start without re-validating it
    names = check_backends(runtimes) if runtimes else list(backends.names())
    assets = Assets()
    built = ensure_built(assets, wasm=wasi_toolchain_missing() is None)
    outcomes: list[PrepareOutcome] = []
    for name in names:
        availability = backends.probe(name)
        if not availability.usable:
            outcome = PrepareOutcome(runtime=name, status="skipped", reason=availability.reason or "")
        else:
            try:
                backends.get(name).prepare(assets)
                outcome = PrepareOutcome(runtime=name, status="ready")
            except RtadvisorError as exc:
                outcome = PrepareOutcome(runtime=name, status="failed", reason=str(exc))
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    failures = [o for o in outcomes if o.status == "failed"]
    if failures:
        raise BenchError("prepare failed for " + "; ".join(f"{o.runtime}: {o.reason}" for o in failures))
    return PrepareReport(built=len(built.built), fresh=len(built.fresh), outcomes=tuple(outcomes),
                         root=str(assets.root))


# --------------------------------------------------------------------------- presentation


def run_tables(run_result: BenchRun) -> list[Any]:
    """The terminal tables of one run (rich renderables): start-up/memory/density, then isolation and
    overhead when the run measured them."""
    from rtadvisor.bench.report import isolation_table, overhead_table, results_table

    tables: list[Any] = [results_table(run_result)]
    if any(r.isolation is not None for r in run_result.results):
        tables.append(isolation_table(run_result))
    if any(r.overhead is not None for r in run_result.results):
        tables.append(overhead_table(run_result))
    return tables


def claims_tables(verdicts: Sequence[ClaimVerdict], orders: Sequence[OrderVerdict]) -> list[Any]:
    """The claims tables (rich renderables): every numeric claim, then the claimed orders."""
    from rtadvisor.bench.report import claims_table, orders_table

    return [claims_table(verdicts), orders_table(orders)]


def write_report(db: str | None, run_id: str, html_file: Path) -> int:
    """Write the self-contained HTML report of a stored run (plots, tables, claims, orders,
    method) atomically to ``html_file``; returns its size in bytes."""
    from rtadvisor.bench.report import render_html

    from .evidence import check_claims, list_runs, order_verdicts, show_run

    stored = show_run(db, run_id)
    history = [{"id": r.id, "created": r.created, "runtimes": list(r.runtimes)} for r in list_runs(db, 50)]
    text = render_html(stored, check_claims(db), order_verdicts(db), history)
    tmp = html_file.with_name(f".{html_file.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(html_file)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ArtifactError(f"--html: cannot write {html_file}: {exc.strerror}") from exc
    return len(text.encode())
