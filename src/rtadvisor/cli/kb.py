"""CLI commands: ``rtadvisor kb ...`` — query the packaged knowledge base."""

from __future__ import annotations

from typing import Any

import typer

from rtadvisor.errors import InputError

JSON_OPT = typer.Option(False, "--json", help="Print one JSON document.")


def _kb() -> Any:
    from rtadvisor.kb import load

    return load()


def _out(obj: Any) -> None:
    from .common import print_json

    print_json(obj)


def _print_table(t: Any) -> None:
    from rich.table import Table

    from .common import console

    table = Table(title=f"{t.title} [dim]\\[{t.source}][/]", show_lines=False)
    for c in t.columns:
        table.add_column(c)
    for r in t.rows:
        table.add_row(*r)
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``kb`` command group to the main app."""
    kb_app = typer.Typer(help="Query the knowledge base: runtimes, tables, relation network, troubleshooting.",
                         no_args_is_help=True)
    net_app = typer.Typer(help="The relation network (S-network): orders, chains, timeline, observability, coordinates.",
                          invoke_without_command=True)

    @kb_app.command("runtimes")
    def runtimes(as_json: bool = JSON_OPT) -> None:
        """List the candidate runtimes."""
        kb = _kb()
        if as_json:
            _out([{"id": r.id, "name": r.name, "family": r.family, "isolation_layer": r.isolation_layer,
                   "isolation": r.isolation, "wasm": r.wasm, "gpu": r.gpu.support,
                   "compatibility": r.compatibility.support, "ecosystem": r.ecosystem.support,
                   "containerd_runtime_type": r.containerd_runtime_type} for r in kb.runtimes.values()])
            return
        from rtadvisor.kb.tables import runtime_table

        _print_table(runtime_table(kb))

    @kb_app.command("show")
    def show(runtime_id: str = typer.Argument(..., metavar="ID", help="Runtime id (see `rtadvisor kb runtimes`)."),
             as_json: bool = JSON_OPT) -> None:
        """Everything the knowledge base says about one runtime, with its claims."""
        kb = _kb()
        if runtime_id not in kb.runtimes:
            raise InputError(f"unknown runtime '{runtime_id}'; known: {', '.join(kb.runtimes)}")
        r = kb.runtimes[runtime_id]
        claims = [c for c in kb.claims if c.subject == runtime_id]
        if as_json:
            _out({**r.model_dump(mode="json", by_alias=True), "claims": [c.model_dump(mode="json") for c in claims]})
            return
        from rich.table import Table

        from rtadvisor.kb.tables import claim_text

        from .common import console

        t = Table(title=f"{r.name} ({r.id})", show_header=False)
        t.add_column("field", style="bold")
        t.add_column("value")
        t.add_row("what", r.what)
        t.add_row("family", r.family + (" (Wasm)" if r.wasm else ""))
        t.add_row("isolation", f"{r.isolation_layer} {r.isolation_kind}; rating {r.isolation}/5 [{r.isolation_rating.source}]")
        for k, v in r.ratings.items():
            t.add_row(k.replace("_", " "), f"{v.value} [{v.source}]")
        for k in ("gpu", "compatibility", "ecosystem"):
            lvl = getattr(r, k)
            t.add_row(k, f"{lvl.support}" + (f" — {lvl.detail}" if lvl.detail else "") + f" [{lvl.source}]")
        t.add_row("containerd runtime_type", str(r.containerd_runtime_type) + (f" {r.containerd_options}" if r.containerd_options else ""))
        t.add_row("suits", "; ".join(r.suits))
        t.add_row("typical uses", ", ".join(r.typical_uses))
        t.add_row("best practices", ", ".join(r.best_practices))
        for f in r.version_facts:
            t.add_row("version fact", f"{f.fact} [{f.source}]")
        for m in ("image_size", "cold_start", "memory", "density"):
            value, unit, claim = kb.criterion_value(r.id, m)
            ref = getattr(r.criteria, m)
            origin = f"claim {claim.id} [{claim.source}]" if claim else f"derived: {ref.basis}"
            t.add_row(f"scored {m}", f"{value:g} {unit} ({origin})")
        console.print(t)
        if claims:
            ct = Table(title=f"Claims about {r.id}")
            for col in ("id", "metric", "value", "conditions", "source"):
                ct.add_column(col)
            for c in claims:
                ct.add_row(c.id, c.metric, claim_text(c), c.conditions, c.source)
            console.print(ct)

    @kb_app.command("tables")
    def tables(
        name: list[str] | None = typer.Option(None, "--table", "-t",
                                              help="runtimes, scenarios, cases, routes, route-choice, performance, claims, troubleshooting (repeatable; default: all but claims)."),
        as_json: bool = JSON_OPT,
    ) -> None:
        """Regenerate the sources' comparison tables from the knowledge base."""
        from rtadvisor.kb.tables import TABLES, all_tables

        names = list(name or [n for n in TABLES if n != "claims"])
        for n in names:
            if n not in TABLES:
                raise InputError(f"option --table: unknown table '{n}'; choose from {', '.join(TABLES)}")
        result = all_tables(_kb(), names)
        if as_json:
            _out({t.name: t.as_dict() for t in result})
            return
        for t in result:
            _print_table(t)

    @kb_app.command("troubleshoot")
    def troubleshoot(symptom: list[str] = typer.Argument(..., help="The symptom in your words, e.g. 'kubectl logs empty'."),
                     as_json: bool = JSON_OPT) -> None:
        """Search the troubleshooting table (S-wasm) by symptom (fuzzy)."""
        kb = _kb()
        text = " ".join(symptom)
        hits = kb.find_troubleshooting(text)
        if as_json:
            _out({"symptom": text, "matches": [{**h.entry.model_dump(mode="json"), "score": h.score, "source": h.source}
                                               for h in hits]})
            return
        from rich.table import Table

        from .common import console

        if not hits:
            console.print(f"No troubleshooting entry matches '{text}'. Known symptoms: "
                          + "; ".join(e.symptom for e in kb.troubleshooting.entries))
            return
        t = Table(title=f"Troubleshooting matches for '{text}' [dim]\\[S-wasm][/]")
        for col in ("match", "symptom", "root cause", "fix", "check"):
            t.add_column(col)
        for h in hits:
            t.add_row(f"{h.score:.2f}", h.entry.symptom, h.entry.root_cause, h.entry.fix, "; ".join(h.entry.diagnostics))
        console.print(t)

    # ------------------------------------------------------------------ network

    @net_app.callback()
    def network(ctx: typer.Context, as_json: bool = JSON_OPT) -> None:
        """The isolation stack and its two orders, as a networkx graph (sub-commands for the rest)."""
        if ctx.invoked_subcommand is not None:
            return
        from rtadvisor.kb.network import orders_summary

        summary = orders_summary(_kb())
        if as_json:
            _out(summary)
            return
        from rich.table import Table

        from .common import console

        t = Table(title="Isolation stack [dim]\\[S-network][/]")
        for col in ("id", "layer", "name", "examples", "isolation rank", "overhead rank", "runtimes"):
            t.add_column(col)
        for layer in summary["layers"]:
            t.add_row(layer["id"], layer["layer"], layer["name"], ", ".join(layer["examples"]),
                      str(layer["isolation_rank"]), str(layer["overhead_rank"]), ", ".join(layer["runtimes"]))
        console.print(t)
        console.print(f"isolation order (claimed): {summary['orders']['isolation']}")
        console.print(f"overhead order (claimed):  {summary['orders']['overhead']}")
        console.print(f"graph: {summary['graph']['nodes']} nodes, {summary['graph']['edges']} edges; "
                      f"isolation edges: {', '.join(summary['isolation_edges'])}")
        console.print(f"[yellow]conflict CF-isolation-order:[/] {summary['conflict']}")

    @net_app.command("path")
    def path(start: str = typer.Argument(..., help="A dimension id, e.g. A1."),
             end: str = typer.Argument(..., help="A dimension id, e.g. A7."), as_json: bool = JSON_OPT) -> None:
        """The path between two architecture dimensions along the chains A1->A5->A6->A7, A2->A3->A4."""
        kb = _kb()
        try:
            p = kb.chain_path(start.upper(), end.upper())
        except KeyError as exc:
            raise InputError(str(exc.args[0])) from None
        dims = {d.id: d for d in kb.network.dimensions}
        steps = [{"id": x, "name": dims[x].name, "members": list(dims[x].members)} for x in p]
        if as_json:
            _out({"from": start.upper(), "to": end.upper(), "path": steps, "source": "S-network"})
            return
        from .common import console

        console.print(" -> ".join(f"[bold]{s['id']}[/] {s['name']} ({', '.join(s['members'])})" for s in steps))

    @net_app.command("timeline")
    def timeline(as_json: bool = JSON_OPT) -> None:
        """T1-T5: from Docker (2013) to K8s 1.30 + native Wasm (2025)."""
        events = [e.model_dump() for e in _kb().network.timeline]
        if as_json:
            _out({"timeline": events, "source": "S-network"})
            return
        from .common import console

        for e in events:
            console.print(f"[bold]{e['id']}[/] {e['year']}  {e['event']}")

    @net_app.command("observability")
    def observability(as_json: bool = JSON_OPT) -> None:
        """O1-O5 and the full-observability / fault-location formulas."""
        obs = _kb().network.observability
        if as_json:
            _out({**obs.model_dump(), "source": "S-network"})
            return
        from .common import console

        for o in obs.dimensions:
            console.print(f"[bold]{o.id}[/] {o.name}: {o.tool}")
        for f in obs.formulas:
            console.print(f"{f.name} = {f.expression}")

    @net_app.command("coordinates")
    def coordinates(as_json: bool = JSON_OPT) -> None:
        """Scenario coordinates (X orchestration, Y isolation layer, Z policy)."""
        net = _kb().network
        if as_json:
            _out({"axes": net.axes, "coordinates": [c.model_dump() for c in net.coordinates], "source": "S-network"})
            return
        from .common import console

        for c in net.coordinates:
            xyz = ", ".join(f"{k}={v} ({net.axes[k]['values'].get(v, '?')})" for k, v in (("X", c.X), ("Y", c.Y), ("Z", c.Z)) if v is not None)
            console.print(f"[bold]{c.scenario}[/] = {c.stack}: {xyz}")

    kb_app.add_typer(net_app, name="network")
    app.add_typer(kb_app, name="kb")
