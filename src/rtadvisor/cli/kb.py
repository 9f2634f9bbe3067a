"""CLI commands: ``rtadvisor kb ...`` — query the packaged knowledge base (through ``rtadvisor.app``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

JSON_OPT = typer.Option(False, "--json", help="Print one JSON document.")


def _out(obj: Any) -> None:
    from .common import print_json

    print_json(obj)


def _print_table(t: Any) -> None:
    from rich.table import Table

    from .common import console, esc

    table = Table(title=f"{esc(t.title)} [dim]\\[{esc(t.source)}][/]", show_lines=False)
    for c in t.columns:
        table.add_column(esc(c))
    for r in t.rows:
        table.add_row(*(esc(cell) for cell in r))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``kb`` command group to the main app."""
    kb_app = typer.Typer(help="Query the knowledge base: runtimes, tables, relation network, troubleshooting.",
                         no_args_is_help=True)
    net_app = typer.Typer(help="The relation network (S-network): orders, chains, timeline, observability, coordinates.",
                          invoke_without_command=True)

    @kb_app.command("runtimes")
    def runtimes(as_json: bool = JSON_OPT) -> None:
        """List the candidate runtimes (the same list as GET /api/runtimes)."""
        from rtadvisor import app as use

        if as_json:
            _out([r.model_dump(mode="json") for r in use.runtimes()])
            return
        _print_table(use.tables(["runtimes"])[0])

    @kb_app.command("show")
    def show(runtime_id: str = typer.Argument(..., metavar="ID", help="Runtime id (see `rtadvisor kb runtimes`)."),
             as_json: bool = JSON_OPT) -> None:
        """Everything the knowledge base says about one runtime, with its claims (GET /api/runtimes/ID)."""
        from rtadvisor import app as use

        r = use.runtime(runtime_id)
        if as_json:
            _out(r.model_dump(mode="json", by_alias=True))
            return
        from rich.table import Table

        from .common import console, esc

        t = Table(title=f"{esc(r.name)} ({esc(r.id)})", show_header=False)
        t.add_column("field", style="bold")
        t.add_column("value")
        t.add_row("what", esc(r.what))
        t.add_row("family", esc(r.family) + (" (Wasm)" if r.wasm else ""))
        t.add_row("isolation", esc(f"{r.isolation_layer} {r.isolation_kind}; rating {r.isolation}/5 "
                                   f"[{r.isolation_rating.source}]"))
        for k, v in r.ratings.items():
            t.add_row(esc(k.replace("_", " ")), esc(f"{v.value} [{v.source}]"))
        for k in ("gpu", "compatibility", "ecosystem"):
            lvl = getattr(r, k)
            t.add_row(k, esc(f"{lvl.support}" + (f" — {lvl.detail}" if lvl.detail else "") + f" [{lvl.source}]"))
        t.add_row("containerd runtime_type", esc(str(r.containerd_runtime_type)
                                                  + (f" {r.containerd_options}" if r.containerd_options else "")))
        t.add_row("suits", esc("; ".join(r.suits)))
        t.add_row("typical uses", esc(", ".join(r.typical_uses)))
        t.add_row("best practices", esc(", ".join(r.best_practices)))
        for f in r.version_facts:
            t.add_row("version fact", esc(f"{f.fact} [{f.source}]"))
        for s in r.scored:
            t.add_row(f"scored {s.metric}", esc(f"{s.value:g} {s.unit} ({s.origin})"))
        console.print(t)
        if r.claims:
            ct = Table(title=f"Claims about {esc(r.id)}")
            for col in ("id", "metric", "value", "conditions", "source"):
                ct.add_column(col)
            for c in r.claims:
                ct.add_row(esc(c.id), esc(c.metric), esc(use.claim_text(c)), esc(c.conditions), esc(c.source))
            console.print(ct)

    @kb_app.command("tables")
    def tables(
        name: Annotated[list[str] | None, typer.Option(
            "--table", "-t", help="runtimes, scenarios, cases, routes, route-choice, performance, claims, "
            "troubleshooting (repeatable; default: all but claims).")] = None,
        as_json: bool = JSON_OPT,
    ) -> None:
        """Regenerate the sources' comparison tables from the knowledge base."""
        from rtadvisor import app as use

        result = use.tables(list(name) if name else None)
        if as_json:
            _out({t.name: t.as_dict() for t in result})
            return
        for t in result:
            _print_table(t)

    @kb_app.command("troubleshoot")
    def troubleshoot(symptom: Annotated[list[str], typer.Argument(
                         help="The symptom in your words, e.g. 'kubectl logs empty'.")],
                     as_json: bool = JSON_OPT) -> None:
        """Search the troubleshooting table (S-wasm) by symptom (GET /api/troubleshooting?symptom=...)."""
        from rtadvisor import app as use

        text = " ".join(symptom)
        result = use.troubleshoot(text)
        if as_json:
            _out(result)
            return
        from rich.table import Table

        from .common import console, esc

        if not result.matches:
            known = use.troubleshoot(None).matches
            console.print(f"No troubleshooting entry matches '{esc(text)}'. Known symptoms: "
                          + esc("; ".join(e.symptom for e in known)))
            return
        t = Table(title=f"Troubleshooting matches for '{esc(text)}' [dim]\\[S-wasm][/]")
        for col in ("match", "symptom", "root cause", "fix", "check"):
            t.add_column(col)
        for h in result.matches:
            t.add_row(f"{h.score or 0:.2f}", esc(h.symptom), esc(h.root_cause), esc(h.fix), esc("; ".join(h.diagnostics)))
        console.print(t)

    # ------------------------------------------------------------------ network

    @net_app.callback()
    def network(ctx: typer.Context, as_json: bool = JSON_OPT) -> None:
        """The isolation stack and its two orders, as a networkx graph (sub-commands for the rest)."""
        if ctx.invoked_subcommand is not None:
            return
        from rtadvisor import app as use

        summary = use.network_summary()
        if as_json:
            _out(summary)
            return
        from rich.table import Table

        from .common import console, esc

        t = Table(title="Isolation stack [dim]\\[S-network][/]")
        for col in ("id", "layer", "name", "examples", "isolation rank", "overhead rank", "runtimes"):
            t.add_column(col)
        for layer in summary["layers"]:
            t.add_row(esc(layer["id"]), esc(layer["layer"]), esc(layer["name"]), esc(", ".join(layer["examples"])),
                      str(layer["isolation_rank"]), str(layer["overhead_rank"]), esc(", ".join(layer["runtimes"])))
        console.print(t)
        console.print(f"isolation order (claimed): {esc(summary['orders']['isolation'])}")
        console.print(f"overhead order (claimed):  {esc(summary['orders']['overhead'])}")
        console.print(f"graph: {summary['graph']['nodes']} nodes, {summary['graph']['edges']} edges; "
                      f"isolation edges: {esc(', '.join(summary['isolation_edges']))}")
        console.print(f"[yellow]conflict CF-isolation-order:[/] {esc(summary['conflict'])}")

    @net_app.command("path")
    def path(start: str = typer.Argument(..., help="A dimension id, e.g. A1."),
             end: str = typer.Argument(..., help="A dimension id, e.g. A7."), as_json: bool = JSON_OPT) -> None:
        """The path between two architecture dimensions along the chains A1->A5->A6->A7, A2->A3->A4."""
        from rtadvisor import app as use

        steps = use.chain_path(start, end)
        if as_json:
            _out({"from": start.upper(), "to": end.upper(), "path": [s.model_dump(mode="json") for s in steps],
                  "source": "S-network"})
            return
        from .common import console, esc

        console.print(" -> ".join(f"[bold]{esc(s.id)}[/] {esc(s.name)} ({esc(', '.join(s.members))})" for s in steps))

    @net_app.command("timeline")
    def timeline(as_json: bool = JSON_OPT) -> None:
        """T1-T5: from Docker (2013) to K8s 1.30 + native Wasm (2025)."""
        from rtadvisor import app as use

        events = [e.model_dump() for e in use.timeline()]
        if as_json:
            _out({"timeline": events, "source": "S-network"})
            return
        from .common import console, esc

        for e in events:
            console.print(f"[bold]{esc(e['id'])}[/] {e['year']}  {esc(e['event'])}")

    @net_app.command("observability")
    def observability(as_json: bool = JSON_OPT) -> None:
        """O1-O5 and the full-observability / fault-location formulas."""
        from rtadvisor import app as use

        obs = use.observability()
        if as_json:
            _out({**obs.model_dump(), "source": "S-network"})
            return
        from .common import console, esc

        for o in obs.dimensions:
            console.print(f"[bold]{esc(o.id)}[/] {esc(o.name)}: {esc(o.tool)}")
        for f in obs.formulas:
            console.print(f"{esc(f.name)} = {esc(f.expression)}")

    @net_app.command("coordinates")
    def coordinates(as_json: bool = JSON_OPT) -> None:
        """Scenario coordinates (X orchestration, Y isolation layer, Z policy)."""
        from rtadvisor import app as use

        axes, coords = use.coordinates()
        if as_json:
            _out({"axes": axes, "coordinates": [c.model_dump() for c in coords], "source": "S-network"})
            return
        from .common import console, esc

        for c in coords:
            xyz = ", ".join(f"{k}={v} ({axes[k]['values'].get(v, '?')})"
                            for k, v in (("X", c.X), ("Y", c.Y), ("Z", c.Z)) if v is not None)
            console.print(f"[bold]{esc(c.scenario)}[/] = {esc(c.stack)}: {esc(xyz)}")

    kb_app.add_typer(net_app, name="network")
    app.add_typer(kb_app, name="kb")
