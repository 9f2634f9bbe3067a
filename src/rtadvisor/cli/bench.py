"""CLI commands: ``bench`` (run, cleanup, history, show, compare), ``report``, ``claims``, ``prepare``.

Option parsing and rendering only: every command is a call into :mod:`rtadvisor.app` (the bench,
the store and the claim checks are its business).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from rtadvisor.app import bench as use
from rtadvisor.app import evidence
from rtadvisor.model import BenchSettings

from .common import console as _console
from .common import err_console, esc, print_json

# Wide tables stay readable when piped (rich would wrap them at 80 columns otherwise).
console = _console if _console.is_terminal else type(_console)(width=max(_console.width, 200))

_D = BenchSettings()  # the bench's defaults (one place: the model)
DB_HELP = "Result store: a SQLite file or a SQLAlchemy URL (default $RTADVISOR_DB or ~/.local/share/rtadvisor/results.db)."


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""

    @app.command()
    def prepare(
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing on success."),
        runtimes: str | None = typer.Option(None, "--runtimes", help="Comma-separated backends (default: all usable)."),
    ) -> None:
        """Build the node assets the benchmarks use (built-in workloads, bundles, micro-VM kernel)."""
        names = use.parse_runtimes(runtimes)

        def said(outcome: Any) -> None:
            if quiet:
                return
            if outcome.status == "skipped":
                console.print(f"  {esc(outcome.runtime)}: skipped ({esc(outcome.reason)})")
            elif outcome.status == "ready":
                console.print(f"  {esc(outcome.runtime)}: ready")

        report = use.prepare(names, on_outcome=said)
        if not quiet:
            console.print(f"built-in workloads in {esc(report.root)}: {report.built} built, {report.fresh} up to date")

    bench_app = typer.Typer(help="Measure runtimes on this node; store, list and compare results.",
                            invoke_without_command=True, no_args_is_help=False)

    @bench_app.callback(invoke_without_command=True)
    def bench(
        ctx: typer.Context,
        runtimes: str | None = typer.Option(None, "--runtimes", "-r", help="Comma-separated backends (default: all)."),
        runs: int = typer.Option(_D.max_runs, "--runs", "-n", min=1, max=use.MAX_RUNS,
                                 help="The cap of timed cold starts per runtime (with --ci-target 0: exactly this many)."),
        min_runs: int = typer.Option(_D.min_runs, "--min-runs", min=1, max=use.MAX_RUNS,
                                     help="Timed runs before the CI target may stop a runtime."),
        warmups: int = typer.Option(_D.warmups, "--warmups", min=0, max=use.MAX_WARMUPS,
                                    help="Discarded runs before timing (fewer if they would take over a tenth "
                                         "of a runtime's time; the isolation/overhead launch counts as one)."),
        ci_target: float = typer.Option(_D.ci_target_pct or 0.0, "--ci-target", min=0.0, max=100.0,
                                        help="Stop sampling once the 95% CI of a median (cold start; each "
                                             "overhead slowdown) is within this +-% (0: no target, fixed counts)."),
        time_budget: float = typer.Option(_D.time_budget_s or 0.0, "--time-budget", min=0.0,
                                          help="Seconds of cold-start sampling per runtime at most (0: no limit)."),
        budget: float = typer.Option(_D.budget_s or 0.0, "--budget", min=0.0,
                                     help="Seconds for the whole bench, shared out among the runtimes as they "
                                          "start (0: no limit; building assets is not counted)."),
        sweep: str = typer.Option(",".join(map(str, _D.sweep)), "--sweep", help="N concurrent idle instances for the memory sweep."),
        pack_sweep: str = typer.Option(",".join(map(str, _D.pack_sweep)), "--pack-sweep",
                                       help="N idle instances in one engine process (Wasm engines)."),
        no_memory: bool = typer.Option(False, "--no-memory", help="Skip the memory sweep (and density)."),
        max_pods: int = typer.Option(_D.max_pods, "--max-pods", min=1, max=use.MAX_PODS, help="Kubernetes maxPods used for density."),
        isolation: bool = typer.Option(True, "--isolation/--no-isolation",
                                       help="Trace the host kernel's exposure (host syscalls, pass-through, seccomp)."),
        overhead: bool = typer.Option(True, "--overhead/--no-overhead",
                                      help="Steady-state micro-benchmarks paired with a native process."),
        suite: str | None = typer.Option(None, "--suite", help="Comma-separated overhead benchmarks (default: all: "
                                         + ", ".join(_D.overhead_suite) + ")."),
        sample_ms: int = typer.Option(_D.overhead_sample_ms, "--sample-ms",
                                      help="Length of one overhead sample, ms (1-1000)."),
        overhead_rounds: int = typer.Option(_D.overhead_min_rounds, "--overhead-rounds",
                                            help="Paired rounds per overhead benchmark at least (1-50)."),
        overhead_max_rounds: int = typer.Option(_D.overhead_max_rounds, "--overhead-max-rounds",
                                                help="Paired rounds per overhead benchmark at most (up to 500)."),
        wasm: Path | None = typer.Option(None, "--wasm", help="Time (and trace) your own WASI module instead of hello."),
        oci_layout: Path | None = typer.Option(None, "--oci-layout", help="Your OCI image layout (dir or tar)."),
        rootfs: Path | None = typer.Option(None, "--rootfs", help="Your root filesystem directory."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
        no_store: bool = typer.Option(False, "--no-store", help="Do not store the results."),
    ) -> None:
        """Measure each runtime: cold start, CPU, memory, artifact size, density, isolation (host-kernel
        exposure) and steady-state overhead; store the results."""
        if ctx.invoked_subcommand is not None:
            return
        options = use.settings(runs=runs, min_runs=min_runs, warmups=warmups, ci_target=ci_target,
                               time_budget=time_budget, budget=budget, sweep=sweep, pack_sweep=pack_sweep,
                               memory=not no_memory, max_pods=max_pods, isolation=isolation, overhead=overhead,
                               suite=suite, sample_ms=sample_ms, overhead_rounds=overhead_rounds,
                               overhead_max_rounds=overhead_max_rounds)
        names = use.parse_runtimes(runtimes)
        use.check_artifacts(wasm=wasm, oci_layout=oci_layout, rootfs=rootfs)
        location = None if no_store else use.open_store(db)  # fail early, before minutes of measuring
        try:
            run = _run_with_progress(names, options, wasm=wasm, oci_layout=oci_layout, rootfs=rootfs)
        except KeyboardInterrupt as exc:
            # Everything is cleaned up by now (the harness's finally blocks ran). Exit here: typer
            # turns KeyboardInterrupt into a return value that the entry point would drop.
            code, message = use.interrupt_exit(exc)
            print(message, file=sys.stderr)
            sys.exit(code)
        if location is not None:
            location = use.save(run, db)
        if as_json:
            print_json(run.model_dump(mode="json"))
            return
        for table in use.run_tables(run):
            console.print(table)
        if location is not None:
            console.print(f"stored as run {run.run_id} in {esc(location)}")

    @bench_app.command("cleanup")
    def cleanup(
        dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be removed."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
    ) -> None:
        """Remove what earlier rtadvisor runs that died (SIGKILL) left: processes, mounts, cgroups in every
        hierarchy, containerd state, temp dirs. Only items carrying rtadvisor's markers whose owner is dead."""
        from rich.table import Table

        items, summary = use.cleanup(dry_run)
        if as_json:
            print_json({"dry_run": dry_run, "summary": summary, "items": items})
            return
        if items:
            table = Table(title="left by dead rtadvisor runs" + (" (dry run: nothing removed)" if dry_run else ""),
                          title_justify="left")
            for col in ("kind", "what", "owner", "removed"):
                table.add_column(col)
            for i in items:
                table.add_row(esc(i["kind"]), esc(i["what"]), esc(i["owner"]),
                              "yes" if i["removed"] else esc(f"no: {i['error']}" if i["error"] else "no"))
            console.print(table)
        console.print(esc(summary) + (" (dry run)" if dry_run and items else ""))
        if any(not i["removed"] and i["error"] for i in items):
            raise typer.Exit(1)

    @bench_app.command("history")
    def history(
        limit: int = typer.Option(20, "--limit", min=1),
        as_json: bool = typer.Option(False, "--json"),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """List stored bench runs, newest first."""
        from rich.table import Table

        runs = evidence.list_runs(db, limit)
        if as_json:
            print_json([r.model_dump(mode="json") for r in runs])
            return
        table = Table(title="stored bench runs", title_justify="left")
        for col in ("run", "date", "node", "pool", "runtimes"):
            table.add_column(col)
        for r in runs:
            table.add_row(r.id, r.created, esc(r.node_name or r.hostname or "-"), esc(r.pool or "-"),
                          esc(", ".join(r.runtimes)))
        console.print(table)

    @bench_app.command("show")
    def show(
        run_id: str = typer.Argument("latest", help="Run id (or unique prefix, or 'latest')."),
        as_json: bool = typer.Option(False, "--json"),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """Show one stored run."""
        run = evidence.show_run(db, run_id)
        if as_json:
            print_json(run.model_dump(mode="json"))
        else:
            for table in use.run_tables(run):
                console.print(table)

    @bench_app.command("compare")
    def compare(
        run_a: str = typer.Argument(..., help="Baseline run id (or prefix, or 'latest')."),
        run_b: str = typer.Argument(..., help="Run to compare with it."),
        as_json: bool = typer.Option(False, "--json"),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """Compare two stored runs, runtime by runtime (B / A of each headline figure)."""
        from rich.table import Table

        result = evidence.compare_runs(db, run_a, run_b)
        if as_json:
            print_json(result.model_dump(mode="json"))
            return
        table = Table(title=f"run {result.b} vs baseline {result.a}", title_justify="left")
        for col in ("runtime", "metric", "A", "B", "B/A", "CIs overlap"):
            table.add_column(col)
        for row in result.rows:
            ratio = "-" if row.ratio is None else f"{row.ratio:.3g}x"
            overlap = {True: "yes", False: "[bold]no[/bold]", None: "-"}[row.ci_overlap]
            table.add_row(esc(row.runtime), row.metric, _num(row.a), _num(row.b), ratio, overlap)
        console.print(table)

    app.add_typer(bench_app, name="bench")

    @app.command()
    def report(
        run_id: str = typer.Option("latest", "--run", help="Run to report (default: the latest)."),
        html_file: Path | None = typer.Option(None, "--html", help="Also write a self-contained HTML report here."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """Tables of a stored bench run (start-up, memory, isolation, overhead), claims vs measurements,
        the claimed orders; optionally a self-contained HTML report."""
        run = evidence.show_run(db, run_id)
        for table in (*use.run_tables(run), *use.claims_tables(evidence.check_claims(db), evidence.order_verdicts(db))):
            console.print(table)
        if html_file is not None:
            size = use.write_report(db, run.run_id, html_file)
            console.print(f"wrote {esc(html_file)} ({size // 1024} KiB, self-contained)")

    @app.command()
    def claims(
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """Every numeric claim of the knowledge base with the closest measurement and a verdict, and
        the claimed isolation/overhead orders judged on this node's measurements."""
        verdicts = evidence.check_claims(db, missing_ok=True)
        orders = evidence.order_verdicts(db, missing_ok=True)
        if as_json:
            counts: dict[str, int] = {}
            for c in verdicts:
                counts[c.verdict] = counts.get(c.verdict, 0) + 1
            print_json({
                "store": evidence.store_location(db),
                "rule": evidence.claim_rule(),
                "summary": counts,
                "claims": [c.model_dump(mode="json") for c in verdicts],
                "orders": [o.model_dump(mode="json") for o in orders],
            })
            return
        for table in use.claims_tables(verdicts, orders):
            console.print(table)


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}"


def _run_with_progress(names: list[str] | None, options: BenchSettings, **artifacts: Any) -> Any:
    """Run the bench with a rich progress bar on stderr (stdout stays clean for --json)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    def stale(line: str) -> None:  # what an earlier, dead rtadvisor left and this run removed
        print(f"rtadvisor: {line}", file=sys.stderr, flush=True)

    if not err_console.is_terminal:
        return use.run(names, options, on_stale=stale, **artifacts)
    with Progress(TextColumn("{task.description:<32}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True) as progress:
        tasks: dict[tuple[str, str], Any] = {}

        def update(backend: str, phase: str, done: int, total: int) -> None:
            key = (backend, phase)
            if key not in tasks:
                tasks[key] = progress.add_task(f"{backend}: {phase}", total=total)
            progress.update(tasks[key], completed=done, total=total)

        return use.run(names, options, progress=update, on_stale=stale, **artifacts)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(0)
