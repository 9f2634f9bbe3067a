"""CLI commands: ``bench`` (run, history, compare, show), ``report``, ``claims``, ``prepare``."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import typer

from rtadvisor.errors import InputError

from .common import console as _console
from .common import err_console, print_json

# Wide tables stay readable when piped (rich would wrap them at 80 columns otherwise).
console = _console if _console.is_terminal else type(_console)(width=max(_console.width, 200))

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


def _sigterm_as_interrupt() -> None:
    """SIGTERM (a CI timeout, `kill`) cleans up exactly like Ctrl-C."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


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
        runs: int = typer.Option(30, "--runs", "-n", min=1, max=MAX_RUNS, help="Timed cold starts per runtime."),
        warmups: int = typer.Option(3, "--warmups", min=0, max=MAX_WARMUPS, help="Discarded runs before timing."),
        sweep: str = typer.Option("1,2,4,8", "--sweep", help="N concurrent idle instances for the memory sweep."),
        pack_sweep: str = typer.Option("1,50,100,200", "--pack-sweep",
                                       help="N idle instances in one engine process (Wasm engines)."),
        no_memory: bool = typer.Option(False, "--no-memory", help="Skip the memory sweep (and density)."),
        max_pods: int = typer.Option(110, "--max-pods", min=1, max=MAX_PODS, help="Kubernetes maxPods used for density."),
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
        from rtadvisor.bench.report import results_table

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
        options = BenchOptions(runs=runs, warmups=warmups, sweep=_csv_ints(sweep, "--sweep", MAX_SWEEP),
                               pack_sweep=_csv_ints(pack_sweep, "--pack-sweep", MAX_PACK), max_pods=max_pods,
                               memory=not no_memory, workload="user" if user else "hello")
        names = _runtimes(runtimes)
        store = None
        if not no_store:
            from rtadvisor.store import ResultStore

            store = ResultStore.open(db)  # fail early, before minutes of measuring
        _sigterm_as_interrupt()
        try:
            report = _run_with_progress(run_bench, names, options, assets)
        except KeyboardInterrupt:
            # Everything is cleaned up by now (the harness's finally blocks ran). Exit here: typer
            # turns KeyboardInterrupt into a return value that the entry point would drop.
            print("rtadvisor: interrupted; all instances and temporary files removed", file=sys.stderr)
            sys.exit(130)
        document = report.to_dict()
        if store is not None:
            report.run_id = store.save(document)
            document["run_id"] = report.run_id
        if as_json:
            print_json(document)
            return
        console.print(results_table(document))
        if store is not None:
            console.print(f"stored as run {report.run_id} in {store.location}")

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
            print_json([{"id": r.id, "created": r.created, "hostname": r.hostname, "runtimes": list(r.runtimes)}
                        for r in runs])
            return
        table = Table(title=f"bench runs in {store.location}", title_justify="left")
        for col in ("run", "date", "host", "runtimes"):
            table.add_column(col)
        for r in runs:
            table.add_row(r.id, r.created, r.hostname or "-", ", ".join(r.runtimes))
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

        document = ResultStore.open(db, create=False).load_run(run_id)
        if as_json:
            print_json(document)
        else:
            console.print(results_table(document))

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
            print_json({"a": a["run_id"], "b": b["run_id"], "rows": rows})
            return
        table = Table(title=f"run {b['run_id']} vs baseline {a['run_id']}", title_justify="left")
        for col in ("runtime", "metric", "A", "B", "B/A", "CIs overlap"):
            table.add_column(col)
        for row in rows:
            ratio = "-" if row["ratio"] is None else f"{row['ratio']:.3g}x"
            overlap = {True: "yes", False: "[bold]no[/bold]", None: "-"}[row["ci_overlap"]]
            table.add_row(row["runtime"], row["metric"], _num(row["a"]), _num(row["b"]), ratio, overlap)
        console.print(table)

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
        document = store.load_run(run_id)
        checks = _claim_checks(store)
        console.print(results_table(document))
        console.print(claims_table(checks))
        if html_file is not None:
            history = [{"id": r.id, "created": r.created, "runtimes": list(r.runtimes)} for r in store.runs(50)]
            text = render_html(document, checks, history)
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


def _compare(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    by_a = {r["runtime"]: r for r in a["results"]}
    rows = []
    for rb in b["results"]:
        ra = by_a.get(rb["runtime"])
        if ra is None:
            continue
        for metric, getter in (
            ("cold_start_ms p50", lambda r: (r.get("cold_start_ms") or {}).get("p50")),
            ("cpu_ms p50", lambda r: (r.get("cpu_ms") or {}).get("p50")),
            ("pss_mb", lambda r: r.get("pss_mb")),
            ("per_instance_mb", lambda r: r.get("per_instance_mb")),
            ("artifact_bytes", lambda r: r.get("artifact_bytes")),
            ("density", lambda r: (r.get("density") or {}).get("value")),
        ):
            va, vb = getter(ra), getter(rb)
            if va is None and vb is None:
                continue
            overlap = None
            if metric.startswith("cold_start"):
                ca, cb = ra.get("cold_start_ms") or {}, rb.get("cold_start_ms") or {}
                if None not in (ca.get("ci_low"), ca.get("ci_high"), cb.get("ci_low"), cb.get("ci_high")):
                    overlap = not (cb["ci_low"] > ca["ci_high"] or ca["ci_low"] > cb["ci_high"])
            ratio = vb / va if va and vb is not None else None
            rows.append({"runtime": rb["runtime"], "metric": metric, "a": va, "b": vb, "ratio": ratio,
                         "ci_overlap": overlap})
    return rows


def _claim_checks(store: Any) -> list[Any]:
    from rtadvisor import kb
    from rtadvisor.bench.claims import check_claims_here

    return check_claims_here(kb.load().claims, store.latest_results())


def _run_with_progress(run_bench: Any, names: list[str] | None, options: Any, assets: Any) -> Any:
    """Run the bench with a rich progress bar on stderr (stdout stays clean for --json)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if not err_console.is_terminal:
        return run_bench(names, options, assets, None)
    with Progress(TextColumn("{task.description:<32}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True) as progress:
        tasks: dict[tuple[str, str], Any] = {}

        def update(backend: str, phase: str, done: int, total: int) -> None:
            key = (backend, phase)
            if key not in tasks:
                tasks[key] = progress.add_task(f"{backend}: {phase}", total=total)
            progress.update(tasks[key], completed=done, total=total)

        return run_bench(names, options, assets, update)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(0)
