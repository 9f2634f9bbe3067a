"""Terminal tables for isolation, overhead and their verdicts (pure: values in, rich tables out)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from .measure import MeasureReport
from .overhead import SUITE, OverheadMetric
from .verdicts import ClaimVerdict

_VERDICT_STYLE = {"holds": "green", "does not hold": "red", "holds in part": "yellow", "inconclusive": "yellow",
                  "not measurable here": "dim"}


def isolation_table(report: MeasureReport) -> Table:
    """One row per runtime: host system calls per window, pass-through, confinement."""
    table = Table(title="Isolation: host-kernel exposure (raw_syscalls tracepoint, every host process of the sandbox)",
                  title_justify="left")
    for col in ("runtime", "startup calls (distinct)", "workload calls (distinct)", "host processes",
                "workload's own call", "no seccomp", "kernel functions"):
        table.add_column(col)
    for item in report.runtimes:
        result = item.isolation
        if result is None:
            continue
        if result.status != "measured":
            table.add_row(item.runtime, f"[dim]{result.status}: {result.reason}[/dim]", "", "", "", "", "")
            continue
        cells = []
        for name in ("startup", "workload"):
            window = result.window(name)
            cells.append(f"{window.syscalls} ({window.distinct})" if window is not None else "-")
        lifecycle = result.window("lifecycle")
        if lifecycle is not None:  # a user artifact: its whole life, spawn to exit
            cells[0] = f"lifecycle: {lifecycle.syscalls} ({lifecycle.distinct})"
        roles = sorted({f"{c.role}" for c in result.confinement})
        passthrough = result.pass_through.outcome if result.pass_through is not None else "-"
        functions = (str(result.kernel_functions.distinct) if result.kernel_functions is not None
                     and result.kernel_functions.status == "measured" else "not measurable")
        name = item.runtime + (" [yellow](emulated)[/yellow]" if result.emulated else "")
        if not result.complete:
            cells = [c + " ≥" for c in cells]
        table.add_row(name, *cells[:2], ", ".join(roles) or "-", passthrough,
                      f"{len(result.unconfined)}/{len(result.confinement)}", functions)
    refusal = next((r.isolation.kernel_functions.reason for r in report.runtimes if r.isolation is not None
                    and r.isolation.kernel_functions is not None and r.isolation.kernel_functions.reason), None)
    if refusal:
        table.caption = f"kernel functions: {refusal}"
    return table


def _cell(metric: OverheadMetric | None) -> str:
    if metric is None:
        return "-"
    if metric.status == "measured" and metric.slowdown is not None:
        s = metric.slowdown
        return f"{s.value:.3g}x [{s.low:.3g}-{s.high:.3g}]" + (" *" if metric.note else "")
    if metric.status == "measured" and metric.median is not None:
        return f"{metric.median.value:.4g} {metric.unit}"
    return f"[dim]{metric.status}[/dim]"


def overhead_table(report: MeasureReport) -> Table:
    """One row per runtime: slowdown against native (95% CI) per benchmark; native shows its rates."""
    table = Table(title="Steady-state overhead: slowdown vs native beside it (1 = native speed), 95% CI",
                  title_justify="left")
    table.add_column("runtime")
    for name in SUITE:
        table.add_column(name)
    for item in report.runtimes:
        result = item.overhead
        if result is None:
            continue
        if result.status != "measured":
            table.add_row(item.runtime, f"[dim]{result.status}: {result.reason}[/dim]", *[""] * (len(SUITE) - 1))
            continue
        name = item.runtime + (" [yellow](emulated)[/yellow]" if result.emulated else "")
        table.add_row(name, *(_cell(result.metric(m)) for m in SUITE))
    table.caption = ("* not the same operation as native's (a WASI host call); not comparable = different storage "
                     "(the micro-VM has no disk); not supported / not expressible = the runtime cannot run it")
    return table


def verdicts_table(verdicts: Sequence[ClaimVerdict]) -> Table:
    table = Table(title="Claims vs this node (isolation and overhead)", title_justify="left")
    for col in ("claim", "source", "as stated", "verdict", "why"):
        table.add_column(col, overflow="fold")
    for v in verdicts:
        style = _VERDICT_STYLE.get(v.verdict, "")
        table.add_row(v.id, v.source, v.text, f"[{style}]{v.verdict}[/{style}]", v.why)
    return table
