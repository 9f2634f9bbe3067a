"""Presenting bench results: the terminal tables (start-up/memory/density, isolation, overhead,
claims, claimed orders) and the self-contained HTML report (plotly, JS inlined). Pure: typed results
in, rich tables / HTML out."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.markup import escape
from rich.table import Table

from rtadvisor.model import (
    OVERHEAD_SUITE,
    BenchRun,
    BenchStats,
    Claim,
    ClaimVerdict,
    IsolationResult,
    OrderVerdict,
    OverheadMetric,
    OverheadResult,
)

from .claims import TOLERANCE


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _ci(stats: BenchStats | None) -> str:
    """``12.3 [11.9-12.8]``: the median and its 95% CI."""
    if stats is None:
        return "-"
    if stats.ci_low is None or stats.ci_high is None:
        return _fmt(stats.p50)
    return f"{_fmt(stats.p50)} [{_fmt(stats.ci_low)}-{_fmt(stats.ci_high)}]"


def _half(stats: BenchStats | None) -> str:
    """``±3.1%``, marked when the run's target was not reached."""
    if stats is None or stats.ci_half_width_pct is None:
        return "-" if stats is None else "no CI"
    text = f"±{stats.ci_half_width_pct:.2g}%"
    return f"[yellow]{text}[/yellow]" if stats.target_met is False else text


_STOP = {"ci-target": "CI target", "max-runs": "run cap", "time-budget": "time budget",
         "bench-budget": "bench budget", "fixed-runs": "fixed runs", "failed": "failed"}


def results_table(run: BenchRun, title: str | None = None) -> Table:
    """One row per backend: cold start p50 [CI] / ±half-width / n and why sampling stopped, CPU, PSS,
    per-instance memory, artifact, density, and what the figures stand for."""
    node = run.node
    table = Table(title=title or f"rtadvisor bench on {escape(node.node_name)} ({escape(node.kernel)}, "
                  f"{node.cpus} CPUs) {run.started}  run {run.run_id}"
                  + (f"  {run.wall_s:.0f} s" if run.wall_s is not None else ""), title_justify="left")
    for col, justify in (("runtime", "left"), ("cold start p50 ms [95% CI]", "right"), ("CI", "right"),
                         ("n", "right"), ("stopped by", "left"), ("p95", "right"), ("CPU ms", "right"),
                         ("PSS MB", "right"), ("per-inst. MB", "right"), ("artifact", "right"),
                         ("density (bound)", "right"), ("notes", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    blank = [""] * 10
    for r in run.results:
        if not r.available:
            table.add_row(escape(r.runtime), "[dim]not available[/dim]", *blank[:9],
                          f"[dim]{escape(r.reason or '')}[/dim]")
            continue
        if r.error:
            table.add_row(escape(r.runtime), "[red]failed[/red]", *blank[:9], f"[red]{escape(r.error)}[/red]")
            continue
        cold = r.cold_start_ms
        notes = []
        if r.emulated:
            notes.append("emulated (TCG)")
        stand = [s for s in r.stands_for if s.relation == "stand-in"]
        if stand:
            notes.append("stands in for " + ", ".join(s.runtime for s in stand) + " (not the runtime itself)")
        if r.cold_start_stages:
            notes.append("in-process " + "+".join(r.cold_start_stages))
            whole = r.stages.get("whole_process")
            if whole:
                notes.append(f"whole process {_fmt(whole.p50)} ms")
        mem = r.memory
        if mem is not None and mem.per_instance_mb_process is not None:
            notes.append(f"{_fmt(mem.per_instance_mb_process)} MB/instance as separate processes")
        stopped = _STOP.get(r.sampling.stop_reason, r.sampling.stop_reason) if r.sampling else "-"
        dens = r.density
        table.add_row(
            escape(r.runtime), _ci(cold), _half(cold), _fmt(cold.n if cold else None), stopped,
            _fmt(cold.p95 if cold else None), _fmt(r.cpu_ms.p50 if r.cpu_ms else None),
            _fmt(mem.pss_mb if mem else None), _fmt(mem.per_instance_mb if mem else None),
            "-" if r.artifact_bytes is None else _human_bytes(r.artifact_bytes),
            f"{_fmt(dens.value)} ({dens.bound_by})" if dens else "-",
            escape("; ".join(notes)),
        )
    return table


def _human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(n)


def claimed_text(c: Claim) -> str:
    """``6 ms``, ``1000-5000 ms``, ``< 10 ms``, ``> 5000 pods/node``."""
    if c.value is not None:
        return f"{c.value:g} {c.unit}"
    if c.low is not None and c.high is not None:
        return f"{c.low:g}-{c.high:g} {c.unit}"
    if c.high is not None:
        return f"< {c.high:g} {c.unit}"
    return f"> {c.low:g} {c.unit}"


_VERDICT_STYLE = {"holds": "green", "does not hold": "red", "holds in part": "yellow", "inconclusive": "yellow",
                  "not measurable here": "dim"}


def claims_table(verdicts: Sequence[ClaimVerdict]) -> Table:
    """Every numeric claim: claimed, measured (runtime, n), verdict, why (and the stand-in's sense)."""
    table = Table(title=f"claims vs measurements (point claims ±{TOLERANCE:.0%}, ranges widened by "
                  f"{TOLERANCE:.0%})", title_justify="left")
    for col in ("claim", "subject", "metric", "claimed", "source", "measured", "verdict", "why"):
        table.add_column(col)
    for check in verdicts:
        c = check.claim
        m = check.measurement
        measured = "-" if m is None else escape(f"{m.value:.4g} {m.unit} ({m.runtime}, n={m.n})")
        if m is not None and check.verdict == "not measurable here":
            measured = f"[dim]ref: {measured}[/dim]"
        style = _VERDICT_STYLE.get(check.verdict, "yellow")
        why = check.why + (f" [stand-in: {check.stand_in}]" if check.stand_in else "")
        table.add_row(escape(c.id), escape(c.subject), escape(c.metric), escape(claimed_text(c)), c.source,
                      measured, f"[{style}]{check.verdict}[/{style}]", escape(why))
    return table


def orders_table(verdicts: Sequence[OrderVerdict]) -> Table:
    """The claimed isolation and overhead orders (and ratios) with their verdicts on this node."""
    table = Table(title="claimed orders vs this node (isolation: host-kernel exposure; overhead: paired slowdowns)",
                  title_justify="left")
    for col in ("claim", "source", "as stated", "verdict", "why"):
        table.add_column(col, overflow="fold")
    for v in verdicts:
        style = _VERDICT_STYLE.get(v.verdict, "")
        lines = [escape(v.why)]
        for r in v.relations:  # each judged relation with its figures; the unjudged ones say why
            rs = _VERDICT_STYLE.get(r.verdict, "")
            lines.append(f"• {escape(r.claim)}: [{rs}]{r.verdict}[/{rs}] — {escape(r.figures)}"
                         + (f" [dim]({escape('; '.join(r.caveats))})[/dim]" if r.caveats else ""))
        table.add_row(escape(v.id), escape(v.source), escape(v.text), f"[{style}]{v.verdict}[/{style}]",
                      "\n".join(lines))
    return table


def _sections(items: BenchRun | Iterable[Any], key: str) -> list[tuple[str, Any]]:
    """(runtime, section) of each item that has the section (BenchResult, RuntimeMeasurement, ...)."""
    rows: Iterable[Any] = items.results if isinstance(items, BenchRun) else items
    return [(r.runtime, getattr(r, key)) for r in rows if getattr(r, key, None) is not None]


def isolation_table(items: BenchRun | Iterable[Any]) -> Table:
    """One row per runtime: host system calls per window, pass-through, confinement, kernel functions."""
    table = Table(title="isolation: host-kernel exposure (raw_syscalls tracepoint, every host process of the sandbox)",
                  title_justify="left")
    for col in ("runtime", "startup calls (distinct)", "workload calls (distinct)", "host processes",
                "workload's own call", "no seccomp", "kernel functions"):
        table.add_column(col)
    refusal = None
    for runtime, result in _sections(items, "isolation"):
        assert isinstance(result, IsolationResult)
        if result.status != "measured":
            table.add_row(escape(runtime), f"[dim]{escape(result.status)}: {escape(result.reason or '')}[/dim]",
                          "", "", "", "", "")
            continue
        cells = []
        for name in ("startup", "workload"):
            window = result.window(name)
            cells.append(f"{window.syscalls} ({window.distinct})" if window is not None else "-")
        lifecycle = result.window("lifecycle")
        if lifecycle is not None:  # a user artifact: its whole life, spawn to exit
            cells[0] = f"lifecycle: {lifecycle.syscalls} ({lifecycle.distinct})"
        roles = sorted({c.role for c in result.confinement})
        passthrough = result.pass_through.outcome if result.pass_through is not None else "-"
        functions = result.kernel_functions
        if functions is not None and functions.status != "measured":
            refusal = refusal or functions.reason
        shown = (str(functions.distinct) if functions is not None and functions.status == "measured"
                 else "not measurable")
        name = escape(runtime) + (" [yellow](emulated)[/yellow]" if result.emulated else "")
        if not result.complete:
            cells = [c + " ≥" for c in cells]
        table.add_row(name, *cells[:2], escape(", ".join(roles) or "-"), passthrough,
                      f"{len(result.unconfined)}/{len(result.confinement)}", shown)
    if refusal:
        table.caption = escape(f"kernel functions: {refusal}")
    return table


def _overhead_cell(metric: OverheadMetric | None) -> str:
    if metric is None:
        return "-"
    missed = metric.target_met is False
    if metric.status == "measured" and metric.slowdown is not None:
        s = metric.slowdown
        text = f"{s.value:.3g}x [{s.low:.3g}-{s.high:.3g}]" + (" *" if metric.note else "")
    elif metric.status == "measured" and metric.median is not None:
        m = metric.median
        text = f"{m.value:.4g} {metric.unit or ''} [±{m.half_width_pct or 0:.2g}%]"
    else:
        return f"[dim]{escape(metric.status)}[/dim]"
    return f"[yellow]{escape(text)} †[/yellow]" if missed else escape(text)


def overhead_table(items: BenchRun | Iterable[Any]) -> Table:
    """One row per runtime: slowdown against the native process beside it (95% CI) per benchmark;
    native shows its own rates. Yellow: the CI target was not reached (the result says why)."""
    table = Table(title="steady-state overhead: slowdown vs native run beside it (1 = native speed), median [95% CI]",
                  title_justify="left")
    table.add_column("runtime")
    for name in OVERHEAD_SUITE:
        table.add_column(name)
    for runtime, result in _sections(items, "overhead"):
        assert isinstance(result, OverheadResult)
        if result.status != "measured":
            table.add_row(escape(runtime), f"[dim]{escape(result.status)}: {escape(result.reason or '')}[/dim]",
                          *[""] * (len(OVERHEAD_SUITE) - 1))
            continue
        name = escape(runtime) + (" [yellow](emulated)[/yellow]" if result.emulated else "")
        table.add_row(name, *(_overhead_cell(result.metric(m)) for m in OVERHEAD_SUITE))
    table.caption = ("* not the same operation as native's (a WASI host call); not comparable = different storage "
                     "(the micro-VM has no disk); not supported / not expressible = the runtime cannot run it; "
                     "† (yellow): the ±CI target was not reached, ci_note in the JSON says why")
    return table


def render_html(run: BenchRun, checks: Sequence[ClaimVerdict], orders: Sequence[OrderVerdict] = (),
                history: Sequence[Mapping[str, Any]] = ()) -> str:
    """A self-contained HTML page: plotly's JS is inlined once; no network access needed to view it."""
    import plotly.graph_objects as go
    import plotly.io as pio
    from rich.console import Console

    results = [r for r in run.results if r.measured]
    figures: list[tuple[str, Any]] = []

    box = go.Figure()
    for r in results:
        if r.samples_ms:
            box.add_trace(go.Box(y=list(r.samples_ms), name=r.runtime, boxpoints="all", jitter=0.4))
    box.update_layout(title="Cold-start time per runtime (each point one run)", yaxis_type="log",
                      yaxis_title="ms (log scale)")
    figures.append(("Start-time distributions", box))

    mem = go.Figure()
    for r in results:
        sweep = r.memory.sweep if r.memory else ()
        if sweep:
            mem.add_trace(go.Scatter(x=[p.n for p in sweep], y=[p.pss_mb for p in sweep],
                                     mode="lines+markers", name=f"{r.runtime} (process per instance)"))
        packed = r.memory.packed_sweep if r.memory else ()
        if packed:
            mem.add_trace(go.Scatter(x=[p.n for p in packed], y=[p.pss_mb for p in packed],
                                     mode="lines+markers", line={"dash": "dot"},
                                     name=f"{r.runtime} (instances in one process)"))
    mem.update_layout(title="Memory (summed PSS) vs N concurrent idle instances", xaxis_title="N",
                      yaxis_title="PSS MB", xaxis_type="log")
    figures.append(("Memory vs N", mem))

    overheads = [(r.runtime, r.overhead) for r in results if r.overhead is not None and r.overhead.status == "measured"]
    if any(m.slowdown is not None for _, o in overheads for m in o.metrics):
        ovh = go.Figure()
        for runtime, section in overheads:
            shown = [m for m in section.metrics if m.slowdown is not None]
            if not shown:
                continue
            ovh.add_trace(go.Bar(
                x=[m.name for m in shown], y=[m.slowdown.value for m in shown if m.slowdown],
                name=runtime + (" (emulated)" if section.emulated else ""),
                error_y={"type": "data", "symmetric": False,
                         "array": [m.slowdown.high - m.slowdown.value for m in shown if m.slowdown],
                         "arrayminus": [m.slowdown.value - m.slowdown.low for m in shown if m.slowdown]}))
        ovh.update_layout(title="Steady-state overhead: slowdown vs a native process beside it (95% CI; 1 = native)",
                          barmode="group", yaxis_type="log", yaxis_title="x native (log scale)")
        figures.append(("Steady-state overhead", ovh))
    exposures = [(r.runtime, r.isolation) for r in results if r.isolation is not None and r.isolation.status == "measured"]
    if exposures:
        iso = go.Figure()
        for window in ("startup", "workload"):
            rows = [(name, section.window(window)) for name, section in exposures]
            iso.add_trace(go.Bar(x=[name for name, w in rows if w], y=[w.distinct for _, w in rows if w],
                                 name=f"{window} window"))
        iso.update_layout(title="Isolation: distinct host system calls of every host process of the sandbox",
                          barmode="group", yaxis_title="distinct system calls")
        figures.append(("Host-kernel exposure", iso))

    measured_checks = [c for c in checks if c.measurement is not None and c.verdict != "not measurable here"]
    if measured_checks:
        cvm = go.Figure()
        labels = [f"{c.claim.id} ({c.measurement.runtime})" for c in measured_checks if c.measurement]
        claimed = [c.claim.value if c.claim.value is not None else
                   (c.claim.high if c.claim.high is not None else c.claim.low) for c in measured_checks]
        measured = [c.measurement.value for c in measured_checks if c.measurement]
        cvm.add_trace(go.Bar(x=labels, y=claimed, name="claimed"))
        cvm.add_trace(go.Bar(x=labels, y=measured, name="measured here"))
        cvm.update_layout(title="Claims vs measurements (each in the claim's unit)", barmode="group",
                          yaxis_type="log")
        figures.append(("Claims vs measurements", cvm))

    console = Console(record=True, width=180, file=open("/dev/null", "w"))  # noqa: SIM115 - record only
    console.print(results_table(run))
    if any(r.isolation is not None for r in run.results):
        console.print(isolation_table(run))
    if any(r.overhead is not None for r in run.results):
        console.print(overhead_table(run))
    console.print(claims_table(checks))
    if orders:
        console.print(orders_table(orders))
    tables_html = console.export_html(inline_styles=True, code_format="<pre style=\"font-size:12px\">{code}</pre>")

    parts = []
    for i, (heading, fig) in enumerate(figures):
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.append(pio.to_html(fig, include_plotlyjs=(i == 0), full_html=False))
    node = run.node
    methods = ""
    for r in results:
        items = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(str(v))}</li>" for k, v in r.method.items())
        if r.sampling is not None:
            items += f"<li><b>sampling</b>: {html.escape(r.sampling.detail)}</li>"
        for s in r.stands_for:
            items += f"<li><b>stands for</b>: {html.escape(s.label)} ({html.escape(s.relation)})</li>"
        for key, part in (("isolation", r.isolation), ("overhead", r.overhead)):
            if part is not None and part.method:
                items += f"<li><b>{key}</b>: {html.escape(part.method)}</li>"
        methods += f"<h3>{html.escape(r.runtime)}</h3><ul>{items}</ul>"
    hist = ""
    if history:
        lines = "".join(f"<tr><td>{html.escape(str(h.get('id')))}</td><td>{html.escape(str(h.get('created')))}</td>"
                        f"<td>{html.escape(', '.join(h.get('runtimes') or []))}</td></tr>" for h in history)
        hist = f"<h2>Stored runs</h2><table><tr><th>run</th><th>date</th><th>runtimes</th></tr>{lines}</table>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>rtadvisor bench report</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}} td,th{{padding:2px 8px}}</style>
</head><body>
<h1>rtadvisor bench report</h1>
<p>Node {html.escape(node.node_name)} ({html.escape(node.hostname)}): kernel {html.escape(node.kernel)},
{html.escape(node.cpu_model)} ({node.cpus} CPUs), {node.mem_total_mb} MB, KVM {html.escape(node.kvm)},
measured {html.escape(run.started)}, run {html.escape(run.run_id)} (result schema {run.schema_version}).</p>
{tables_html}
{''.join(parts)}
<h2>Method</h2>{methods}
{hist}
</body></html>
"""
