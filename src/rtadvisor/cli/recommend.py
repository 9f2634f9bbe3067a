"""CLI command: ``rtadvisor recommend [PROFILE] [options]``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from rtadvisor.errors import InputError, ProfileError

if TYPE_CHECKING:
    from rtadvisor.model import Decision


def _parse_pairs(items: list[str], what: str) -> dict[str, float]:
    """``KEY=NUMBER`` (or ``KEY=A/B``) options; numbers in decimal notation only, finite (no inf, nan,
    1e400 or 5000 digits: rtadvisor.safeio.number_option). What the keys and values mean is checked
    by the scoring (decide.score)."""
    import math

    from rtadvisor.safeio import number_option, show

    out: dict[str, float] = {}
    for item in items:
        key, sep, value = item.partition("=")
        shown = show(repr(item if len(item) <= 60 else item[:57] + "..."))
        if not sep:
            raise InputError(f"option {what}: expected KEY=NUMBER, got {shown}")
        where = f"option {what} {shown}"
        num, slash, den = value.partition("/")
        number = number_option(num, option=where)
        if slash:
            divisor = number_option(den, option=where)
            if divisor == 0:
                raise InputError(f"{where}: division by zero")
            number = number / divisor
            if not math.isfinite(number):
                raise InputError(f"{where}: expected a finite number")
        out[key.strip()] = number
    return out


def register(app: typer.Typer) -> None:
    """Add ``recommend`` to the main app."""

    @app.command()
    def recommend(
        profile: Path | None = typer.Argument(None, help="Workload profile (YAML or TOML).", show_default=False),
        name: str | None = typer.Option(None, help="Workload name."),
        scenario: str | None = typer.Option(None, help="edge, serverless, ai-inference, microservices, enterprise, dl-training, multitenant-gpu, general."),
        stage: str | None = typer.Option(None, help="development, ci, production, large-scale, edge, newest-k8s."),
        memory_mb: float | None = typer.Option(None, "--memory-mb", help="Memory need in MB."),
        cpu_cores: float | None = typer.Option(None, "--cpu-cores", help="CPU need in cores."),
        cold_start_slo_ms: float | None = typer.Option(None, "--cold-start-slo-ms", help="Cold-start SLO in ms."),
        isolation: str | None = typer.Option(None, help="standard or strong."),
        untrusted_code: bool | None = typer.Option(None, "--untrusted-code/--trusted-code", help="Runs untrusted code?", show_default=False),
        gpu: str | None = typer.Option(None, help="none, shared, passthrough, vgpu, sriov."),
        device: list[str] | None = typer.Option(None, "--device", help="Device access (usb, pci); repeatable."),
        kernel_feature: list[str] | None = typer.Option(None, "--kernel-feature", help="Kernel features (io_uring, epoll); repeatable."),
        services: int | None = typer.Option(None, help="Number of services in the system."),
        governance: bool | None = typer.Option(None, "--governance/--no-governance", help="Inter-service governance needs.", show_default=False),
        multi_os: bool | None = typer.Option(None, "--multi-os/--single-os", help="Needs multiple OSes?", show_default=False),
        offline: bool | None = typer.Option(None, "--offline/--online", help="Must run offline?", show_default=False),
        artifact: str | None = typer.Option(None, help="oci-image or wasm."),
        weight: list[str] | None = typer.Option(None, "--weight", help="Criterion weight, e.g. S=0.4 (V, S, M, D, isolation, compatibility, gpu); repeatable."),
        prefer: list[str] | None = typer.Option(None, "--prefer", help="AHP pairwise preference, e.g. S:M=3 (S is 3x as important as M); repeatable."),
        method: str | None = typer.Option(None, "--method", help="Scoring method: wsm (default) or topsis."),
        evidence: bool = typer.Option(False, "--evidence", help="Use measurements stored by `rtadvisor bench` instead of claims where available."),
        db: str | None = typer.Option(None, "--db", help="Result store (with --evidence)."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object (the Decision)."),
    ) -> None:
        """Recommend an isolation runtime for a workload profile and explain why."""
        from rtadvisor.decide import load_profile, parse_profile
        from rtadvisor.decide import recommend as decide

        overrides: dict[str, Any] = {
            "name": name, "scenario": scenario, "stage": stage, "memory_mb": memory_mb, "cpu_cores": cpu_cores,
            "cold_start_slo_ms": cold_start_slo_ms, "isolation": isolation, "untrusted_code": untrusted_code,
            "gpu": gpu, "devices": list(device) if device else None,
            "kernel_features": list(kernel_feature) if kernel_feature else None, "services": services,
            "governance": governance, "multi_os": multi_os, "offline": offline, "artifact": artifact,
        }
        if profile is not None:
            workload = load_profile(profile, overrides)
        else:
            given = {k: v for k, v in overrides.items() if v is not None}
            if not given:
                raise ProfileError("give a profile file (YAML or TOML) or profile options such as --name and --scenario")
            workload = parse_profile(given, source="options")
        preferences: dict[str, Any] = {}
        if weight:
            preferences["weights"] = _parse_pairs(weight, "--weight")
        if prefer:
            preferences["pairwise"] = _parse_pairs(prefer, "--prefer")
        if method:
            preferences["method"] = method
        ev = None
        if evidence:
            from rtadvisor.store import load_evidence  # owned by the bench area; imported only when asked

            ev = load_evidence(db)
        decision = decide(workload, evidence=ev, preferences=preferences or None)
        if as_json:
            from .common import print_json

            print_json(decision.model_dump(mode="json"))
        else:
            render(decision)


def render(decision: Decision) -> None:
    """The readable explanation: path through the rules as a tree, tables of alternatives etc."""
    from rich.panel import Panel
    from rich.table import Table
    from rich.tree import Tree

    from .common import console

    d = decision
    head = f"[bold]{d.runtime}[/]  ->  [bold]{d.architecture}[/]"
    if d.route:
        head += f"   route [bold]{d.route}[/]"
    if d.service_mesh:
        head += f"   service mesh: {' / '.join(d.service_mesh)}"
    if d.evidence_used:
        head += "   [green](scored with measurements of this node)[/]"
    console.print(Panel(head, title=f"rtadvisor recommend: {d.workload.name} ({d.workload.scenario.value}, {d.workload.stage.value})", expand=False))

    tree = Tree("[bold]Decision path[/] (in order; [dim]dim[/] = rule did not fire)")
    labels = {"constraint": "hard constraints and guards", "guard": "hard constraints and guards",
              "mesh": "hard constraints and guards", "tree": "decision tree [S-select]",
              "scenario": "scenario matrix [S-select] and case table [S-cases]",
              "case": "scenario matrix [S-select] and case table [S-cases]", "score": "score and choice",
              "evidence": "score and choice", "route": "Wasm route R*(S) [S-wasm]"}
    branch: Any = None
    current = ""
    seen_tree = False
    for t in d.trace:
        seen_tree = seen_tree or t.kind == "tree"
        label = labels.get(t.kind, current or t.kind)
        if t.kind == "guard" and seen_tree:
            label = "score and choice"  # guards applied after scoring (floor, fallback, SLO check)
        if t.kind == "conflict":
            label = current or "conflicts"
        if label != current or branch is None:
            branch = tree.add(f"[bold cyan]{label}[/]")
            current = label
        src = f" [dim]\\[{t.source}][/]" if t.source else ""
        thr = f" [dim](threshold: {t.threshold})[/]" if t.threshold and t.kind != "score" else ""
        if t.kind == "conflict":
            branch.add(f"[yellow]{t.step}. conflict {t.rule}: {t.question}[/] -> {t.answer}")
            continue
        text = f"{t.step}. [yellow]{t.rule}[/] {t.question} -> {t.answer}{thr}{src}"
        dim = t.kind in ("constraint", "guard") and t.answer.startswith("no")
        branch.add(f"[dim]{text}[/]" if dim else text)
    console.print(tree)

    alt = Table(title="Alternatives, ranked")
    alt.add_column("#", justify="right")
    alt.add_column("runtime", no_wrap=True)
    alt.add_column("score", justify="right")
    alt.add_column("TOPSIS", justify="right")
    alt.add_column("architecture / excluded by")
    contrib = Table(title="Per-criterion contributions (weighted sum; they add up to the score)")
    contrib.add_column("runtime", no_wrap=True)
    for col in ("V", "S", "M", "D", "iso", "compat", "gpu"):
        contrib.add_column(col, justify="right", no_wrap=True)
    for a in d.alternatives:
        contributions = a.contributions
        name = f"[bold]{a.runtime}[/]" if a.runtime == d.runtime else a.runtime
        status = f"[red]excluded: {a.excluded.split(':', 1)[0]}[/]" if a.excluded else (a.architecture or "")
        alt.add_row(str(a.rank), name, f"{a.score:.3f}",
                    "-" if a.topsis is None or a.topsis != a.topsis else f"{a.topsis:.3f}", status)
        contrib.add_row(name, *(f"{contributions.get(k, 0):.3f}" for k in ("V", "S", "M", "D", "isolation", "compatibility", "gpu")))
    console.print(alt)
    console.print(contrib)

    chosen = next((a for a in d.alternatives if a.runtime == d.runtime), None)
    if chosen is not None and chosen.values:
        vt = Table(title=f"Where the numbers for {d.runtime} come from")
        for col in ("criterion", "value", "origin"):
            vt.add_column(col)
        for k, v in chosen.values.items():
            if v.get("origin") == "measurement":
                origin = f"measured: {v.get('backend')} {v.get('metric')}, host {v.get('host')}, n={v.get('n')}, {v.get('date')}"
                if v.get("note"):
                    origin += f" ({v['note']})"
            elif v.get("claim"):
                origin = f"claim {v['claim']} [{v.get('source')}]"
            else:
                origin = str(v.get("basis", v.get("origin")))
            vt.add_row(k, f"{v['value']:g} {v['unit']}", origin)
        console.print(vt)

    if d.constraints:
        ct = Table(title="Hard constraints that fired")
        for col in ("id", "requires", "because", "source"):
            ct.add_column(col)
        for h in d.constraints:
            ct.add_row(h.id, h.requires, h.because, h.source)
        console.print(ct)
    if d.conflicts:
        cf = Table(title="Source conflicts touching this decision")
        for col in ("id", "topic", "winner", "why"):
            cf.add_column(col)
        for conflict in d.conflicts:
            cf.add_row(conflict.id, conflict.topic, conflict.winner, conflict.why)
        console.print(cf)
    if d.claims:
        cl = Table(title="Claims used")
        for col in ("id", "subject", "metric", "value", "source"):
            cl.add_column(col)
        from rtadvisor.kb.tables import claim_text

        for claim in d.claims:
            cl.add_row(claim.id, claim.subject, claim.metric, claim_text(claim), claim.source)
        console.print(cl)
