"""``rtadvisor bench measure``: isolation and steady-state overhead of each runtime, with verdicts.

Hidden while the main ``bench`` folds these measurements into its own result; registered on the
``bench`` group by one line in :mod:`rtadvisor.cli.bench`.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import typer

from rtadvisor.errors import InputError

from .common import console as _console
from .common import print_json

# Wide tables stay readable when piped (rich would wrap them at 80 columns otherwise).
console = _console if _console.is_terminal else type(_console)(width=max(_console.width, 200))


def _names(text: str | None) -> list[str] | None:
    from rtadvisor import backends

    if not text:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if name not in backends.names():
            raise InputError(f"--runtimes: unknown runtime {name!r}: expected one of {', '.join(backends.names())}")
    return names


def _suite(text: str | None) -> tuple[str, ...] | None:
    from rtadvisor.bench.overhead import SUITE

    if not text:
        return None
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    for name in names:
        if name not in SUITE:
            raise InputError(f"--suite: unknown benchmark {name!r}: expected some of {', '.join(SUITE)}")
    return names


def register(bench_app: typer.Typer) -> None:
    """Add ``measure`` to the ``bench`` command group."""

    @bench_app.command("measure", hidden=True)
    def measure(
        runtimes: str | None = typer.Option(None, "--runtimes", "-r", help="Comma-separated backends (default: all)."),
        isolation: bool = typer.Option(True, "--isolation/--no-isolation", help="Trace host-kernel exposure."),
        overhead: bool = typer.Option(True, "--overhead/--no-overhead", help="Run the micro-benchmarks."),
        suite: str | None = typer.Option(None, "--suite", help="Comma-separated benchmarks (default: all)."),
        sample_ms: int = typer.Option(5, "--sample-ms", min=1, max=1000, help="Length of one sample."),
        rounds: int = typer.Option(12, "--rounds", min=1, max=50, help="Turns per benchmark (native beside)."),
        per_turn: int = typer.Option(1, "--per-turn", min=1, max=20, help="Samples per turn."),
        wasm: Path | None = typer.Option(None, "--wasm", help="Trace your own WASI module instead of the probe."),
        oci_layout: Path | None = typer.Option(None, "--oci-layout", help="Trace your OCI image layout (dir or tar)."),
        rootfs: Path | None = typer.Option(None, "--rootfs", help="Trace your root filesystem / OCI bundle."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
    ) -> None:
        """Measure isolation (host-kernel exposure) and steady-state overhead; judge the sources' claims."""
        from rtadvisor.backends.base import Assets
        from rtadvisor.bench.measure import MeasureOptions, measure_runtimes
        from rtadvisor.bench.overhead import SUITE
        from rtadvisor.bench.verdicts import verdicts_for_report

        for option, path in (("--wasm", wasm), ("--oci-layout", oci_layout), ("--rootfs", rootfs)):
            if path is not None and not path.exists():
                raise InputError(f"{option}: {path} does not exist")
        if wasm is not None and (not wasm.is_file() or wasm.read_bytes()[:4] != b"\0asm"):
            raise InputError(f"--wasm: {wasm} is not a WebAssembly module (no \\0asm header)")
        if rootfs is not None and not rootfs.is_dir():
            raise InputError(f"--rootfs: {rootfs} is not a directory")
        user = wasm is not None or oci_layout is not None or rootfs is not None
        if user and not isolation:
            raise InputError("--wasm/--oci-layout/--rootfs: only isolation is measured for your artifact "
                             "(drop --no-isolation)")
        if not isolation and not overhead:
            raise InputError("--no-isolation --no-overhead: nothing to measure")
        assets = Assets(user_wasm=wasm.resolve() if wasm else None,
                        user_oci_layout=oci_layout.resolve() if oci_layout else None,
                        user_rootfs=rootfs.resolve() if rootfs else None)
        options = MeasureOptions(isolation=isolation, overhead=overhead and not user, sample_ms=sample_ms,
                                 rounds=rounds, per_turn=per_turn, suite=_suite(suite) or SUITE,
                                 workload="user" if user else "probe")
        names = _names(runtimes)

        def on_term(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, on_term)
        try:
            report = measure_runtimes(names, assets, options,
                                      progress=None if as_json else lambda n, p: console.print(f"[dim]{n}: {p}…[/dim]"))
        except KeyboardInterrupt:
            print("rtadvisor: interrupted; all instances, tracing and temporary files removed", file=sys.stderr)
            sys.exit(130)
        verdicts = verdicts_for_report(report) if not user else []
        if as_json:
            print_json({"report": report.model_dump(mode="json"),
                        "verdicts": [v.model_dump(mode="json") for v in verdicts]})
            return
        from rtadvisor.bench.measure_report import isolation_table, overhead_table, verdicts_table

        if isolation:
            console.print(isolation_table(report))
        if options.overhead:
            console.print(overhead_table(report))
        if verdicts:
            console.print(verdicts_table(verdicts))
        console.print(f"measured in {report.duration_s:.1f} s")
