"""Presenting bench results: the terminal table and the self-contained HTML report (plotly, JS inlined)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from rich.table import Table

from rtadvisor.model import Claim

from .claims import TOLERANCE, ClaimCheck


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def results_table(document: Mapping[str, Any], title: str | None = None) -> Table:
    """One row per backend: cold start p50 [CI] / p95, CPU, PSS, per-instance, artifact, density."""
    host = document.get("host") or {}
    table = Table(title=title or f"rtadvisor bench on {host.get('hostname', '?')} ({host.get('kernel', '?')}, "
                  f"{host.get('cpus', '?')} CPUs) {host.get('date', '')}  run {document.get('run_id') or '-'}",
                  title_justify="left")
    for col, justify in (("runtime", "left"), ("cold start p50 ms [95% CI]", "right"), ("p95", "right"),
                         ("n", "right"), ("CPU ms", "right"), ("PSS MB", "right"), ("per-inst. MB", "right"),
                         ("artifact", "right"), ("density (bound)", "right"), ("notes", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in document.get("results") or []:
        if not r.get("available"):
            table.add_row(r["runtime"], "[dim]not available[/dim]", "", "", "", "", "", "", "",
                          f"[dim]{html.escape(r.get('reason') or '')}[/dim]")
            continue
        if r.get("error"):
            table.add_row(r["runtime"], "[red]failed[/red]", "", "", "", "", "", "", "", f"[red]{r['error']}[/red]")
            continue
        cold = r.get("cold_start_ms") or {}
        ci = ""
        if cold.get("ci_low") is not None:
            ci = f" [{_fmt(cold['ci_low'])}-{_fmt(cold['ci_high'])}]"
        dens = r.get("density") or {}
        notes = []
        if r.get("emulated"):
            notes.append("emulated (TCG)")
        if r.get("cold_start_stages"):
            notes.append("in-process " + "+".join(r["cold_start_stages"]))
            whole = (r.get("stages") or {}).get("whole_process")
            if whole:
                notes.append(f"whole process {_fmt(whole['p50'])} ms")
        if r.get("per_instance_mb_process") is not None:
            notes.append(f"{_fmt(r['per_instance_mb_process'])} MB/instance as separate processes")
        size = r.get("artifact_bytes")
        table.add_row(
            r["runtime"], f"{_fmt(cold.get('p50'))}{ci}", _fmt(cold.get("p95")), _fmt(cold.get("n")),
            _fmt((r.get("cpu_ms") or {}).get("p50")), _fmt(r.get("pss_mb")), _fmt(r.get("per_instance_mb")),
            "-" if size is None else _human_bytes(size),
            f"{_fmt(dens.get('value'))} ({dens.get('bound_by', '-')})" if dens else "-",
            "; ".join(notes),
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
            measured = f"[dim]ref: {measured}[/dim]"
        colour = colours[check.verdict]
        why = check.why + (f" [stand-in: {check.stand_in}]" if check.stand_in else "")
        table.add_row(c.id, c.subject, c.metric, claimed, c.source, measured, f"[{colour}]{check.verdict}[/{colour}]",
                      why)
    return table


def render_html(document: Mapping[str, Any], checks: Sequence[ClaimCheck],
                history: Sequence[Mapping[str, Any]] = ()) -> str:
    """A self-contained HTML page: plotly's JS is inlined once; no network access needed to view it."""
    import plotly.graph_objects as go
    import plotly.io as pio
    from rich.console import Console

    results = [r for r in document.get("results") or [] if r.get("available") and not r.get("error")]
    figures: list[tuple[str, Any]] = []

    box = go.Figure()
    for r in results:
        if r.get("samples_ms"):
            box.add_trace(go.Box(y=r["samples_ms"], name=r["runtime"], boxpoints="all", jitter=0.4))
    box.update_layout(title="Cold-start time per runtime (each point one run)", yaxis_type="log",
                      yaxis_title="ms (log scale)")
    figures.append(("Start-time distributions", box))

    mem = go.Figure()
    for r in results:
        sweep = r.get("memory_sweep") or []
        if sweep:
            mem.add_trace(go.Scatter(x=[p["n"] for p in sweep], y=[p["pss_mb"] for p in sweep],
                                     mode="lines+markers", name=f"{r['runtime']} (process per instance)"))
        packed = r.get("packed_sweep") or []
        if packed:
            mem.add_trace(go.Scatter(x=[p["n"] for p in packed], y=[p["pss_mb"] for p in packed],
                                     mode="lines+markers", line={"dash": "dot"},
                                     name=f"{r['runtime']} (instances in one process)"))
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
    console.print(results_table(document))
    console.print(claims_table(checks))
    tables_html = console.export_html(inline_styles=True, code_format="<pre style=\"font-size:12px\">{code}</pre>")

    parts = []
    for i, (heading, fig) in enumerate(figures):
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.append(pio.to_html(fig, include_plotlyjs=(i == 0), full_html=False))
    host = document.get("host") or {}
    methods = ""
    for r in results:
        items = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(str(v))}</li>" for k, v in (r.get("method") or {}).items())
        methods += f"<h3>{html.escape(r['runtime'])}</h3><ul>{items}</ul>"
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
<p>Host {html.escape(str(host.get('hostname')))}: kernel {html.escape(str(host.get('kernel')))},
{html.escape(str(host.get('cpu')))} ({html.escape(str(host.get('cpus')))} CPUs), {html.escape(str(host.get('mem_total_mb')))} MB,
measured {html.escape(str(host.get('date')))}, run {html.escape(str(document.get('run_id')))}.</p>
{tables_html}
{''.join(parts)}
<h2>Method</h2>{methods}
{hist}
</body></html>
"""
