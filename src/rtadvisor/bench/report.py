"""Presenting bench results: the terminal table and the self-contained HTML report (plotly, JS inlined)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from rich.markup import escape
from rich.table import Table

from rtadvisor.model import BenchRun, BenchStats, Claim

from .claims import TOLERANCE, ClaimCheck


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


def claims_table(checks: Sequence[ClaimCheck]) -> Table:
    table = Table(title=f"claims vs measurements (point claims ±{TOLERANCE:.0%}, ranges widened by "
                  f"{TOLERANCE:.0%})", title_justify="left")
    for col in ("claim", "subject", "metric", "claimed", "source", "measured", "verdict", "why"):
        table.add_column(col)
    colours = {"holds": "green", "does not hold": "red", "not measurable here": "yellow"}
    for check in checks:
        c = check.claim
        claimed = claimed_text(c)
        m = check.measured
        measured = "-" if m is None else f"{m.value:.4g} {m.unit} ({m.runtime}, n={m.n})"
        if m is not None and check.verdict == "not measurable here":
            measured = f"[dim]ref: {escape(measured)}[/dim]"
        colour = colours[check.verdict]
        why = check.why + (f" [stand-in: {check.stand_in}]" if check.stand_in else "")
        table.add_row(escape(c.id), escape(c.subject), escape(c.metric), escape(claimed), c.source,
                      measured if measured.startswith("[dim]") else escape(measured),
                      f"[{colour}]{check.verdict}[/{colour}]", escape(why))
    return table


def render_html(run: BenchRun, checks: Sequence[ClaimCheck],
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

    measured_checks = [c for c in checks if c.measured is not None and c.verdict != "not measurable here"]
    if measured_checks:
        cvm = go.Figure()
        labels = [f"{c.claim.id} ({c.measured.runtime})" for c in measured_checks if c.measured]
        claimed = [c.claim.value if c.claim.value is not None else
                   (c.claim.high if c.claim.high is not None else c.claim.low) for c in measured_checks]
        measured = [c.measured.value for c in measured_checks if c.measured]
        cvm.add_trace(go.Bar(x=labels, y=claimed, name="claimed"))
        cvm.add_trace(go.Bar(x=labels, y=measured, name="measured here"))
        cvm.update_layout(title="Claims vs measurements (each in the claim's unit)", barmode="group",
                          yaxis_type="log")
        figures.append(("Claims vs measurements", cvm))

    console = Console(record=True, width=180, file=open("/dev/null", "w"))  # noqa: SIM115 - record only
    console.print(results_table(run))
    console.print(claims_table(checks))
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
        methods += f"<h3>{html.escape(r.runtime)}</h3><ul>{items}</ul>"
    hist = ""
    if history:
        rows = "".join(f"<tr><td>{html.escape(str(h.get('id')))}</td><td>{html.escape(str(h.get('created')))}</td>"
                       f"<td>{html.escape(', '.join(h.get('runtimes') or []))}</td></tr>" for h in history)
        hist = f"<h2>Stored runs</h2><table><tr><th>run</th><th>date</th><th>runtimes</th></tr>{rows}</table>"
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
