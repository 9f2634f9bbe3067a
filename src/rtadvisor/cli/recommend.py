"""CLI command: ``rtadvisor recommend [PROFILE] [options]``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from rtadvisor.errors import InputError, ProfileError

if TYPE_CHECKING:
    from rtadvisor.model import Decision


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
        device: list[str] | None = typer.Option(None, "--device", help="Host devices (usb, serial, video, pci, sriov-nic, rdma, dpdk, fpga, qat); repeatable."),
        kernel_feature: list[str] | None = typer.Option(None, "--kernel-feature", help="Kernel features (io_uring, epoll, ebpf, kernel_modules, full_kernel_abi); repeatable."),
        services: int | None = typer.Option(None, help="Number of services in the system."),
        governance: bool | None = typer.Option(None, "--governance/--no-governance", help="Inter-service governance needs.", show_default=False),
        multi_os: bool | None = typer.Option(None, "--multi-os/--single-os", help="Needs multiple OSes?", show_default=False),
        multi_tenant: bool | None = typer.Option(None, "--multi-tenant/--single-tenant", help="Tenants that must be isolated from each other share the nodes?", show_default=False),
        host_access: bool | None = typer.Option(None, "--host-access/--no-host-access", help="Needs the host (privileged, host namespaces, kubelet socket)?", show_default=False),
        hardware_virtualization: bool | None = typer.Option(None, "--hardware-virtualization/--no-hardware-virtualization", help="Do the nodes offer /dev/kvm (bare metal or nested virtualization)?", show_default=False),
        offline: bool | None = typer.Option(None, "--offline/--online", help="Must run offline?", show_default=False),
        artifact: str | None = typer.Option(None, help="oci-image, wasm or spin (unknown: a Linux image is assumed)."),
        weight: list[str] | None = typer.Option(None, "--weight", help="Criterion weight, e.g. S=0.4 (V, S, M, D, isolation, compatibility, gpu); repeatable."),
        prefer: list[str] | None = typer.Option(None, "--prefer", help="AHP pairwise preference, e.g. S:M=3 (S is 3x as important as M); repeatable."),
        method: str | None = typer.Option(None, "--method", help="Scoring method: wsm (default) or topsis."),
        rulebook: str = typer.Option("practice", "--rulebook", help="practice (current upstream practice, default) or sources (the source documents' rules as written)."),
        evidence: bool = typer.Option(False, "--evidence", help="Score with this node's measurements (stored by `rtadvisor bench`) instead of claims where available."),
        db: str | None = typer.Option(None, "--db", help="Result store (measurements for --evidence and for the SLO check)."),
        pool: str | None = typer.Option(None, "--pool", help="Decide with the evidence of this node pool's nodes in the store (medians across them; runtimes the pool cannot run are excluded); implies --evidence."),
        explain: bool = typer.Option(False, "--explain", help="Also print the full decision path with rule ids and sources, the scores and the claims used."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object (the Decision)."),
    ) -> None:
        """Recommend an isolation runtime for a workload profile: the verdict, why, and what to do next."""
        from rtadvisor import app as use

        overrides: dict[str, Any] = {
            "name": name, "scenario": scenario, "stage": stage, "memory_mb": memory_mb, "cpu_cores": cpu_cores,
            "cold_start_slo_ms": cold_start_slo_ms, "isolation": isolation, "untrusted_code": untrusted_code,
            "gpu": gpu, "devices": list(device) if device else None,
            "kernel_features": list(kernel_feature) if kernel_feature else None, "services": services,
            "governance": governance, "multi_os": multi_os, "offline": offline, "artifact": artifact,
            "multi_tenant": multi_tenant, "host_access": host_access, "hardware_virtualization": hardware_virtualization,
        }
        if profile is not None:
            workload = use.load_workload(profile, overrides)
        else:
            given = {k: v for k, v in overrides.items() if v is not None}
            if not given:
                raise ProfileError("give a profile file (YAML or TOML) or profile options such as --name and --scenario")
            workload = use.parse_workload(given, source="options")
        preferences: dict[str, Any] = {}
        if weight:
            preferences["weights"] = use.parse_preference_pairs(weight, "--weight")
        if prefer:
            preferences["pairwise"] = use.parse_preference_pairs(prefer, "--prefer")
        if method:
            preferences["method"] = method
        if rulebook not in use.RULEBOOKS:
            raise InputError(f"option --rulebook: expected one of {', '.join(use.RULEBOOKS)}, got {rulebook!r}")
        decision = use.recommend(workload, rulebook=rulebook, use_evidence=evidence, db=db, pool=pool,  # type: ignore[arg-type]
                                 preferences=preferences or None)
        if as_json:
            from .common import print_json

            print_json(decision.model_dump(mode="json"))
        else:
            render_verdict(decision)
            if explain:
                render(decision)
            else:
                from .common import console

                console.print("[dim]rtadvisor recommend --explain: the full decision path, rule ids, sources, scores and claims[/]")


def render_verdict(decision: Decision) -> None:
    """What a person reads first: the verdict, why, the SLO, what was assumed, what to do, the other rulebook."""
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table

    from .common import console

    d = decision
    head = f"[bold]{escape(d.runtime_name or d.runtime)}[/]  ->  [bold]{escape(d.architecture)}[/]"
    if d.route:
        head += f"   Wasm route [bold]{d.route}[/]"
    if d.evidence_used:
        head += f"   [green](scored with the measurements of {escape(d.evidence_from or 'this node')})[/]"
    console.print(Panel(head, title=f"rtadvisor recommend: {escape(d.workload.name)} (rulebook: {d.rulebook})",
                        title_align="left", expand=False))
    if d.slo is not None:
        c = d.slo
        badge = "[bold green]SLO met[/]" if c.met else "[bold red]SLO MISSED[/]"
        line = f"{badge}  cold start {c.value_ms:g} ms against {c.slo_ms:g} ms ({escape(c.origin_text)})"
        if not c.met:
            line += ("; eligible runtimes that meet it: " + ", ".join(f"{escape(r)} {v:g} ms" for r, v in c.meeting.items())
                     if c.meeting else "; no eligible runtime meets it")
        console.print(line)
    console.print("[bold]Why[/]")
    for i, r in enumerate(d.reasons, start=1):
        console.print(f"  {i}. {escape(r.text)}")
    mattered = [a for a in d.assumptions if a.matters]
    if mattered:
        console.print("[bold]Assumed[/] (not in the profile; the answer depends on it)")
        for a in mattered:
            console.print(f"  - {escape(a.text)}: [yellow]{escape(a.if_text or '')}[/]")
    others = [a for a in d.assumptions if not a.matters]
    if others:
        console.print("[dim]  also assumed, without effect here: " + escape(", ".join(a.field for a in others)) + "[/]")
    if d.next_steps:
        console.print("[bold]To adopt it[/]")
        for st in d.next_steps:
            style = "red" if st.kind == "slo" else ""
            text = f"  - \\[{st.kind}] {escape(st.text)}"
            console.print(f"[{style}]{text}[/]" if style else text)
    if d.other_rulebook is not None:
        o = d.other_rulebook
        mark = "[yellow]differs[/]" if o.differs else "[green]agrees[/]"
        console.print(f"[bold]The {o.rulebook} rulebook[/] {mark}: {escape(o.why)}")
    alt = Table(title="Alternatives", title_justify="left")
    for col in ("#", "runtime", "score", "status"):
        alt.add_column(col, no_wrap=col != "status")
    seen_reasons: set[str] = set()
    for alt_row in d.alternatives:
        if alt_row.excluded:
            rule, _, why = alt_row.excluded.partition(": ")
            status = f"[red]excluded by {escape(rule)}[/]"
            if why and why not in seen_reasons:
                seen_reasons.add(why)
                status += f": {escape(why)}"
        else:
            status = "[green]chosen[/]" if alt_row.runtime == d.runtime else "eligible"
        if alt_row.cost:
            status += f" [dim](would cost: {escape(alt_row.cost)})[/]"
        alt.add_row(str(alt_row.rank), escape(alt_row.runtime), f"{alt_row.score:.3f}", status)
    console.print(alt)


def render(decision: Decision) -> None:
    """``--explain``: the path through the rules as a tree, the scores, where numbers came from."""
    from rich.markup import escape
    from rich.table import Table
    from rich.tree import Tree

    from .common import console

    d = decision
    tree = Tree(f"[bold]Decision path, rulebook {d.rulebook}[/] (in order; [dim]dim[/] = rule did not fire)")
    labels = {"constraint": "rules [practice]", "guard": "rules [practice]", "conflict": "rules [practice]",
              "mesh": "service mesh [S-cases]", "score": "choice", "evidence": "choice",
              "route": "Wasm route"} if d.rulebook == "practice" else {"constraint": "hard constraints and guards", "guard": "hard constraints and guards",
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
        if t.kind == "guard" and seen_tree and d.rulebook == "sources":
            label = "score and choice"  # guards applied after scoring (floor, fallback, SLO check)
        if t.kind == "conflict":
            label = current or "conflicts"
        if label != current or branch is None:
            branch = tree.add(f"[bold cyan]{label}[/]")
            current = label
        cited = "; ".join(c.get("title", "") for c in t.detail.get("cite", []) if isinstance(c, dict))
        src = f" [dim]\\[{escape(t.source or '')}{': ' + escape(cited) if cited else ''}][/]" if t.source else ""
        thr = f" [dim](threshold: {escape(t.threshold)})[/]" if t.threshold and t.kind != "score" else ""
        if t.kind == "conflict":
            branch.add(f"[yellow]{t.step}. conflict {escape(t.rule)}: {escape(t.question)}[/] -> {escape(t.answer)}")
            continue
        text = f"{t.step}. [yellow]{escape(t.rule)}[/] {escape(t.question)} -> {escape(t.answer)}{thr}{src}"
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
        name = f"[bold]{escape(a.runtime)}[/]" if a.runtime == d.runtime else escape(a.runtime)
        status = f"[red]excluded: {escape(a.excluded.split(':', 1)[0])}[/]" if a.excluded else escape(a.architecture or "")
        alt.add_row(str(a.rank), name, f"{a.score:.3f}",
                    "-" if a.topsis is None or a.topsis != a.topsis else f"{a.topsis:.3f}", status)
        contrib.add_row(name, *(f"{contributions.get(k, 0):.3f}" for k in ("V", "S", "M", "D", "isolation", "compatibility", "gpu")))
    console.print(alt)
    console.print(contrib)

    chosen = next((a for a in d.alternatives if a.runtime == d.runtime), None)
    if chosen is not None and chosen.values:
        vt = Table(title=f"Where the numbers for {escape(d.runtime)} come from")
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
            vt.add_row(escape(k), escape(f"{v['value']:g} {v['unit']}"), escape(origin))
        console.print(vt)

    if d.constraints:
        ct = Table(title="Hard constraints that fired")
        for col in ("id", "requires", "because", "source"):
            ct.add_column(col)
        for h in d.constraints:
            ct.add_row(escape(h.id), escape(h.requires), escape(h.because), escape(h.source))
        console.print(ct)
    if d.conflicts:
        cf = Table(title="Conflicts touching this decision")
        for col in ("id", "topic", "winner", "why"):
            cf.add_column(col)
        for conflict in d.conflicts:
            cf.add_row(escape(conflict.id), escape(conflict.topic), escape(conflict.winner), escape(conflict.why))
        console.print(cf)
    if d.claims:
        cl = Table(title="Claims used")
        for col in ("id", "subject", "metric", "value", "source"):
            cl.add_column(col)
        from rtadvisor.app import claim_text

        for claim in d.claims:
            cl.add_row(escape(claim.id), escape(claim.subject), escape(claim.metric), escape(claim_text(claim)), escape(claim.source))
        console.print(cl)
