"""CLI commands: ``bench`` (run, history, compare, show), ``report``, ``claims``, ``prepare``."""

from __future__ import annotations

import math
import signal
import sys
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from rtadvisor.errors import InputError
from rtadvisor.model import BenchRun, BenchSettings

from .common import console as _console
from .common import err_console, print_json

# Wide tables stay readable when piped (rich would wrap them at 80 columns otherwise).
console = _console if _console.is_terminal else type(_console)(width=max(_console.width, 200))

_D = BenchSettings()  # the bench's defaults (one place: the model)
DB_HELP = "Result store: a SQLite file or a SQLAlchemy URL (default $RTADVISOR_DB or ~/.local/share/rtadvisor/results.db)."


#: Upper bounds of the numeric options. Runs and warmups are sequential (a big number only makes the run
#: longer, and Ctrl-C ends it); the sweeps start that many instances *at once*, so a typo (an extra
#: zero, a pasted number) must not start a million sandboxes.
MAX_RUNS, MAX_WARMUPS, MAX_SWEEP, MAX_PACK, MAX_PODS = 1_000_000, 100_000, 1_000, 10_000, 10_000


def _csv_ints(text: str, option: str, maximum: int) -> tuple[int, ...]:
    from rtadvisor.safeio import show

    expected = f"{option}: expected up to 32 comma-separated integers from 1 to {maximum}"
    shown = show(repr(text if len(text) <= 60 else text[:57] + "..."))
    parts = [x.strip() for x in text.split(",") if x.strip()]
    if not parts or len(parts) > 32 or not all(x.isascii() and x.isdigit() and len(x) <= 9 for x in parts):
        raise InputError(f"{expected}, got {shown}")
    values = tuple(int(x) for x in parts)
    if any(v < 1 or v > maximum for v in values):
        raise InputError(f"{expected}, got {shown}")
    return values


def _runtimes(text: str | None) -> list[str] | None:
    from rtadvisor import backends

    if not text:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    known = set(backends.names())
    for name in names:
        if name not in known:
            raise InputError(f"--runtimes: unknown runtime {name!r}: expected one of {', '.join(backends.names())}")
    return names


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""

    @app.command()
    def prepare(
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing on success."),
        runtimes: str | None = typer.Option(None, "--runtimes", help="Comma-separated backends (default: all usable)."),
    ) -> None:
        """Build the node assets the benchmarks use (built-in workloads, bundles, micro-VM kernel)."""
        from rtadvisor import backends
        from rtadvisor.backends.base import Assets
        from rtadvisor.errors import RtadvisorError
        from rtadvisor.workloads import ensure_built, wasi_toolchain_missing

        assets = Assets()
        report = ensure_built(assets, wasm=wasi_toolchain_missing() is None)
        if not quiet:
            console.print(f"built-in workloads in {assets.root}: {len(report.built)} built, {len(report.fresh)} up to date")
        failures: list[str] = []
        for name in _runtimes(runtimes) or list(backends.names()):
            availability = backends.probe(name)
            if not availability.usable:
                if not quiet:
                    console.print(f"  {name}: skipped ({availability.reason})")
                continue
            try:
                backends.get(name).prepare(assets)
            except RtadvisorError as exc:
                failures.append(f"{name}: {exc}")
                continue
            if not quiet:
                console.print(f"  {name}: ready")
        if failures:
            from rtadvisor.errors import BenchError

            raise BenchError("prepare failed for " + "; ".join(failures))

    bench_app = typer.Typer(help="Measure runtimes on this node; store, list and compare results.",
                            invoke_without_command=True, no_args_is_help=False)

    @bench_app.callback(invoke_without_command=True)
    def bench(
        ctx: typer.Context,
        runtimes: str | None = typer.Option(None, "--runtimes", "-r", help="Comma-separated backends (default: all)."),
        runs: int = typer.Option(_D.max_runs, "--runs", "-n", min=1, max=MAX_RUNS,
                                 help="The cap of timed cold starts per runtime (with --ci-target 0: exactly this many)."),
        min_runs: int = typer.Option(_D.min_runs, "--min-runs", min=1, max=MAX_RUNS,
                                     help="Timed runs before the CI target may stop a runtime."),
        warmups: int = typer.Option(_D.warmups, "--warmups", min=0, max=MAX_WARMUPS,
                                    help="Discarded runs before timing (fewer if they would take over a tenth "
                                         "of a runtime's time)."),
        ci_target: float = typer.Option(_D.ci_target_pct or 0.0, "--ci-target", min=0.0, max=100.0,
                                        help="Stop a runtime once the 95% CI of its median cold start is within "
                                             "this +-% of the median (0: no target, time --runs runs)."),
        time_budget: float = typer.Option(_D.time_budget_s or 0.0, "--time-budget", min=0.0,
                                          help="Seconds of cold-start sampling per runtime at most (0: no limit)."),
        budget: float = typer.Option(_D.budget_s or 0.0, "--budget", min=0.0,
                                     help="Seconds for the whole bench, shared out among the runtimes as they "
                                          "start (0: no limit; building assets is not counted)."),
        sweep: str = typer.Option(",".join(map(str, _D.sweep)), "--sweep", help="N concurrent idle instances for the memory sweep."),
        pack_sweep: str = typer.Option(",".join(map(str, _D.pack_sweep)), "--pack-sweep",
                                       help="N idle instances in one engine process (Wasm engines)."),
        no_memory: bool = typer.Option(False, "--no-memory", help="Skip the memory sweep (and density)."),
        max_pods: int = typer.Option(_D.max_pods, "--max-pods", min=1, max=MAX_PODS, help="Kubernetes maxPods used for density."),
        wasm: Path | None = typer.Option(None, "--wasm", help="Time your own WASI module (.wasm) instead of hello."),
        oci_layout: Path | None = typer.Option(None, "--oci-layout", help="Your OCI image layout (dir or tar)."),
        rootfs: Path | None = typer.Option(None, "--rootfs", help="Your root filesystem directory."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
        no_store: bool = typer.Option(False, "--no-store", help="Do not store the results."),
    ) -> None:
        """Measure cold start, CPU, memory, artifact size and density of each runtime; store the results."""
        if ctx.invoked_subcommand is not None:
            return
        from rtadvisor import safeio
        from rtadvisor.backends.base import Assets
        from rtadvisor.bench import BenchOptions, run_bench
        from rtadvisor.bench.interrupts import Terminated
        from rtadvisor.bench.report import results_table

        for option, number in (("--ci-target", ci_target), ("--time-budget", time_budget), ("--budget", budget)):
            if not math.isfinite(number):
                raise InputError(f"{option}: expected a finite number, got {number}")
        for option, path in (("--wasm", wasm), ("--oci-layout", oci_layout), ("--rootfs", rootfs)):
            if path is not None and not path.exists():
                raise InputError(f"{option}: {safeio.show(str(path))} does not exist")
        if wasm is not None and safeio.read_bytes(wasm, what="--wasm", limit_name="max_binary_bytes")[:4] != b"\0asm":
            raise InputError(f"--wasm: {safeio.show(str(wasm))} is not a WebAssembly module (no \\0asm header)")
        if oci_layout is not None:
            # a crafted layout (digests like sha256:../../x, symlinks, lists for objects) is refused here,
            # in one line, before the bench reads it (rtadvisor.image.inspect validates before use)
            from rtadvisor.image.inspect import inspect_layout

            inspect_layout(oci_layout, validate=False)
        if rootfs is not None and not rootfs.is_dir():
            raise InputError(f"--rootfs: {safeio.show(str(rootfs))} is not a directory")
        user = wasm is not None or oci_layout is not None or rootfs is not None
        assets = Assets(user_wasm=wasm.resolve() if wasm else None,
                        user_oci_layout=oci_layout.resolve() if oci_layout else None,
                        user_rootfs=rootfs.resolve() if rootfs else None)
        options = BenchOptions(runs=runs, min_runs=min_runs, warmups=warmups, ci_target_pct=ci_target or None,
                               time_budget_s=time_budget or None, budget_s=budget or None,
                               sweep=_csv_ints(sweep, "--sweep", MAX_SWEEP),
                               pack_sweep=_csv_ints(pack_sweep, "--pack-sweep", MAX_PACK),
                               max_pods=max_pods, memory=not no_memory, workload="user" if user else "hello")
        names = _runtimes(runtimes)
        store = None
        if not no_store:
            from rtadvisor.store import ResultStore

            store = ResultStore.open(db)  # fail early, before minutes of measuring
        try:
            run = _run_with_progress(run_bench, names, options, assets, _report_stale)
        except KeyboardInterrupt as exc:
            # Everything is cleaned up by now (the harness's finally blocks ran). Exit here: typer
            # turns KeyboardInterrupt into a return value that the entry point would drop.
            signum = exc.signum if isinstance(exc, Terminated) else signal.SIGINT
            what = "terminated" if isinstance(exc, Terminated) else "interrupted"
            print(f"rtadvisor: {what}; all instances and temporary files removed", file=sys.stderr)
            sys.exit(128 + signum)
        if store is not None:
            store.save(run)
        if as_json:
            print_json(run.model_dump(mode="json"))
            return
        console.print(results_table(run))
        if store is not None:
            console.print(f"stored as run {run.run_id} in {escape(store.location)}")

    @bench_app.command("cleanup")
    def cleanup(
        dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be removed."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
    ) -> None:
        """Remove what earlier rtadvisor runs that died (SIGKILL) left: processes, mounts, cgroups in every
        hierarchy, containerd state, temp dirs. Only items carrying rtadvisor's markers whose owner is dead."""
        from rich.table import Table

        from rtadvisor.bench.cleanup import summary, sweep_stale

        items = sweep_stale(dry_run=dry_run)
        if as_json:
            print_json({"dry_run": dry_run, "summary": summary(items), "items": [i.as_dict() for i in items]})
            return
        if items:
            table = Table(title="left by dead rtadvisor runs" + (" (dry run: nothing removed)" if dry_run else ""),
                          title_justify="left")
            for col in ("kind", "what", "owner", "removed"):
                table.add_column(col)
            for i in items:
                table.add_row(i.kind, escape(i.what), escape(i.owner),
                              "yes" if i.removed else escape(f"no: {i.error}" if i.error else "no"))
            console.print(table)
        console.print(escape(summary(items)) + (" (dry run)" if dry_run and items else ""))
        if any(not i.removed and i.error for i in items):
            raise typer.Exit(1)

    @bench_app.command("history")
    def history(
        limit: int = typer.Option(20, "--limit", min=1),
        as_json: bool = typer.Option(False, "--json"),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """List stored bench runs, newest first."""
        from rich.table import Table

        from rtadvisor.store import ResultStore

        store = ResultStore.open(db, create=False)
        runs = store.runs(limit)
        if as_json:
            print_json([{"id": r.id, "created": r.created, "hostname": r.hostname, "node_name": r.node_name,
                         "pool": r.pool, "runtimes": list(r.runtimes)} for r in runs])
            return
        table = Table(title=f"bench runs in {store.location}", title_justify="left")
        for col in ("run", "date", "node", "pool", "runtimes"):
            table.add_column(col)
        for r in runs:
            table.add_row(r.id, r.created, escape(r.node_name or r.hostname or "-"), escape(r.pool or "-"),
                          ", ".join(r.runtimes))
        console.print(table)

    @bench_app.command("show")
    def show(
        run_id: str = typer.Argument("latest", help="Run id (or unique prefix, or 'latest')."),
        as_json: bool = typer.Option(False, "--json"),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """Show one stored run."""
        from rtadvisor.bench.report import results_table
        from rtadvisor.store import ResultStore

        run = ResultStore.open(db, create=False).load_run(run_id)
        if as_json:
            print_json(run.model_dump(mode="json"))
        else:
            console.print(results_table(run))

    @bench_app.command("compare")
    def compare(
        run_a: str = typer.Argument(..., help="Baseline run id (or prefix, or 'latest')."),
        run_b: str = typer.Argument(..., help="Run to compare with it."),
        as_json: bool = typer.Option(False, "--json"),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """Compare two stored runs, runtime by runtime (B / A of each headline figure)."""
        from rich.table import Table

        from rtadvisor.store import ResultStore

        store = ResultStore.open(db, create=False)
        a, b = store.load_run(run_a), store.load_run(run_b)
        rows = _compare(a, b)
        if as_json:
            print_json({"a": a.run_id, "b": b.run_id, "rows": rows})
            return
        table = Table(title=f"run {b.run_id} vs baseline {a.run_id}", title_justify="left")
        for col in ("runtime", "metric", "A", "B", "B/A", "CIs overlap"):
            table.add_column(col)
        for row in rows:
            ratio = "-" if row["ratio"] is None else f"{row['ratio']:.3g}x"
            overlap = {True: "yes", False: "[bold]no[/bold]", None: "-"}[row["ci_overlap"]]
            table.add_row(row["runtime"], row["metric"], _num(row["a"]), _num(row["b"]), ratio, overlap)
        console.print(table)

    from .measure import register as register_measure  # hidden `bench measure` (isolation, overhead)
    register_measure(bench_app)
    app.add_typer(bench_app, name="bench")

    @app.command()
    def report(
        run_id: str = typer.Option("latest", "--run", help="Run to report (default: the latest)."),
        html_file: Path | None = typer.Option(None, "--html", help="Also write a self-contained HTML report here."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """Terminal table of a stored bench run, claims vs measurements, and optionally an HTML report."""
        from rtadvisor.bench.report import claims_table, render_html, results_table
        from rtadvisor.errors import ArtifactError
        from rtadvisor.store import ResultStore

        store = ResultStore.open(db, create=False)
        run = store.load_run(run_id)
        checks = _claim_checks(store)
        console.print(results_table(run))
        console.print(claims_table(checks))
        if html_file is not None:
            history = [{"id": r.id, "created": r.created, "runtimes": list(r.runtimes)} for r in store.runs(50)]
            text = render_html(run, checks, history)
            try:
                tmp = html_file.with_name(f".{html_file.name}.tmp")
                tmp.write_text(text, encoding="utf-8")
                tmp.replace(html_file)
            except OSError as exc:
                raise ArtifactError(f"--html: cannot write {html_file}: {exc.strerror}") from exc
            console.print(f"wrote {html_file} ({len(text) // 1024} KiB, self-contained)")

    @app.command()
    def claims(
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """Every numeric claim of the knowledge base, the closest measurement, and a verdict."""
        from rtadvisor.bench.claims import TOLERANCE
        from rtadvisor.bench.report import claims_table
        from rtadvisor.store import ResultStore

        store = ResultStore.open(db)
        checks = _claim_checks(store)
        if as_json:
            counts: dict[str, int] = {}
            for c in checks:
                counts[c.verdict] = counts.get(c.verdict, 0) + 1
            print_json({
                "store": store.location,
                "rule": (f"point claim holds within ±{TOLERANCE:.0%} of its value; range/bound claims hold inside "
                         f"the range widened by {TOLERANCE:.0%}"),
                "summary": counts,
                "claims": [c.as_dict() for c in checks],
            })
            return
        console.print(claims_table(checks))


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}"


def _compare(a: BenchRun, b: BenchRun) -> list[dict[str, Any]]:
    """B / A of each headline figure, runtime by runtime, and whether the medians' CIs overlap."""
    rows = []
    for rb in b.results:
        ra = a.result(rb.runtime)
        if ra is None:
            continue
        for metric, stats_of, value_of in (
            ("cold_start_ms p50", lambda r: r.cold_start_ms, lambda r: r.cold_start_ms.p50 if r.cold_start_ms else None),
            ("cpu_ms p50", lambda r: r.cpu_ms, lambda r: r.cpu_ms.p50 if r.cpu_ms else None),
            ("pss_mb", lambda r: None, lambda r: r.memory.pss_mb if r.memory else None),
            ("per_instance_mb", lambda r: None, lambda r: r.memory.per_instance_mb if r.memory else None),
            ("artifact_bytes", lambda r: None, lambda r: r.artifact_bytes),
            ("density", lambda r: None, lambda r: r.density.value if r.density else None),
        ):
            va, vb = value_of(ra), value_of(rb)
            if va is None and vb is None:
                continue
            overlap = None
            ca, cb = stats_of(ra), stats_of(rb)
            if ca is not None and cb is not None and None not in (ca.ci_low, ca.ci_high, cb.ci_low, cb.ci_high):
                overlap = not (cb.ci_high < ca.ci_low or ca.ci_high < cb.ci_low)
            ratio = vb / va if va and vb is not None else None
            rows.append({"runtime": rb.runtime, "metric": metric, "a": va, "b": vb, "ratio": ratio,
                         "ci_overlap": overlap})
    return rows


def _claim_checks(store: Any) -> list[Any]:
    from rtadvisor import kb
    from rtadvisor.bench.claims import check_claims_here

    return check_claims_here(kb.load().claims, store.latest_results())


def _report_stale(items: list[Any]) -> None:
    """What an earlier, dead rtadvisor left and this run removed: one line on stderr."""
    from rtadvisor.bench.cleanup import summary

    print(f"rtadvisor: {summary(items)} before measuring", file=sys.stderr, flush=True)


def _run_with_progress(run_bench: Any, names: list[str] | None, options: Any, assets: Any,
                       on_stale: Any = None) -> Any:
    """Run the bench with a rich progress bar on stderr (stdout stays clean for --json)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if not err_console.is_terminal:
        return run_bench(names, options, assets, None, on_stale)
    with Progress(TextColumn("{task.description:<32}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True) as progress:
        tasks: dict[tuple[str, str], Any] = {}

        def update(backend: str, phase: str, done: int, total: int) -> None:
            key = (backend, phase)
            if key not in tasks:
                tasks[key] = progress.add_task(f"{backend}: {phase}", total=total)
            progress.update(tasks[key], completed=done, total=total)

        return run_bench(names, options, assets, update, on_stale)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(0)
