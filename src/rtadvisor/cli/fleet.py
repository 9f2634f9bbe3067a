"""CLI commands of the fleet: ``agent`` (on every node), ``fleet`` (the report) and ``generate
fleet`` (the manifests; reached through the ``generate`` command, see :class:`GenerateWithFleet`)."""

from __future__ import annotations

import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperCommand

from rtadvisor.model import BenchSettings

_D = BenchSettings()  # the bench's defaults, which the agent uses unless told otherwise

if TYPE_CHECKING:
    from rtadvisor.app import FleetPool, FleetReport


def _log(message: str) -> None:
    from .common import strip_control

    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sys.stderr.write(f"{stamp} rtadvisor agent: {strip_control(message)}\n")
    sys.stderr.flush()


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def register(app: typer.Typer) -> None:
    """Add ``agent`` and ``fleet`` to the main app."""

    @app.command()
    def agent(
        db: str | None = typer.Option(None, "--db", help="Result store URL (PostgreSQL for a fleet); $RTADVISOR_DB."),
        once: bool = typer.Option(False, "--once", help="Bench once, send the result (retrying for --retry-for), exit."),
        interval: str = typer.Option("6h", "--interval", envvar="RTADVISOR_AGENT_INTERVAL",
                                     help="Time between two bench runs (e.g. 30m, 6h, 1d)."),
        cycles: int | None = typer.Option(None, "--cycles", help="Stop after this many bench runs (default: run until stopped)."),
        pool: str | None = typer.Option(None, "--pool", envvar="RTADVISOR_NODE_POOL",
                                        help="The node's pool (default: its --pool-label label, read from the Kubernetes API)."),
        pool_label: str | None = typer.Option(None, "--pool-label", envvar="RTADVISOR_POOL_LABEL",
                                              help="Node label that names the pool (read when --pool is not given)."),
        node_name: str | None = typer.Option(None, "--node-name",
                                             help="The node's name (default: $RTADVISOR_NODE_NAME, $NODE_NAME, the hostname)."),
        runtimes: str | None = typer.Option(None, "--runtimes", envvar="RTADVISOR_AGENT_RUNTIMES",
                                            help="Comma-separated bench backends (default: every one)."),
        budget: str | None = typer.Option(None, "--budget", envvar="RTADVISOR_AGENT_BUDGET",
                                          help=f"Time budget of one bench run (default {_D.budget_s:g}s, the bench's)."),
        runs: int | None = typer.Option(None, "--runs", help=f"Timed cold starts per backend at most (default {_D.max_runs}, the bench's adaptive cap)."),
        memory: bool = typer.Option(True, "--memory/--no-memory", help="Measure idle memory and density."),
        spool: Path | None = typer.Option(None, "--spool", envvar="RTADVISOR_SPOOL",
                                          help="Directory for results not sent yet (default ~/.local/state/rtadvisor/spool)."),
        spool_max: int = typer.Option(200, "--spool-max", help="Keep at most this many unsent runs (oldest dropped)."),
        retry_for: str = typer.Option("2m", "--retry-for", help="--once: keep retrying the database this long."),
        retry_max: str = typer.Option("5m", "--retry-max", help="Longest wait between two retries (exponential backoff)."),
        host_root: Path | None = typer.Option(None, "--host-root", envvar="RTADVISOR_HOST_ROOT",
                                              help="Where the node's / is mounted (in a pod): the doctor looks for the node's runtimes there."),
        as_json: bool = typer.Option(False, "--json", help="At the end, print what was stored as one JSON object."),
    ) -> None:
        """Measure this node and send the typed result to the shared store, once or every --interval.

        Results wait on local disk (the spool) while the database is away and are sent, once, when it
        is back. SIGTERM or Ctrl-C stops the agent cleanly at any point."""
        from rtadvisor import app as use

        try:
            report = use.agent(
                db=db, once=once, interval=interval, cycles=cycles, pool=pool, pool_label=pool_label,
                node_name=node_name, runtimes=_split(runtimes), budget=budget, runs=runs, memory=memory, spool=spool,
                spool_max=spool_max, retry_for=retry_for, retry_max=retry_max, host_root=host_root, log=_log)
        except KeyboardInterrupt as exc:
            # SIGTERM is how Kubernetes stops a pod: a clean stop (0); Ctrl-C exits 130 as usual
            term = getattr(exc, "signum", None) == signal.SIGTERM
            _log(f"stopped ({'SIGTERM' if term else 'SIGINT'}); anything measured and not yet sent stays in the spool")
            raise typer.Exit(0 if term else 130) from None
        if as_json:
            from .common import print_json

            print_json(report.as_dict())

    @app.command()
    def fleet(
        db: str | None = typer.Option(None, "--db", help="Result store URL or path (default: $RTADVISOR_DB, then the local store)."),
        pool: str | None = typer.Option(None, "--pool", help="Only this pool."),
        stale_after: str = typer.Option("24h", "--stale-after", help="A node whose newest run is older is stale (left out of the medians)."),
        nodes: bool = typer.Option(False, "--nodes", help="Also list every node (shown anyway for 30 nodes or fewer)."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
    ) -> None:
        """Per node pool and per node: which runtimes are usable, their measured figures (median across
        nodes, spread), stale nodes, nodes unlike their pool, and the sources' claims checked per pool."""
        from rtadvisor import app as use
        from rtadvisor.errors import NotFoundError

        report = use.fleet_report(db, stale_after)
        if pool is not None:
            pools = tuple(p for p in report.pools if p.pool == pool)
            if not pools:
                known = ", ".join(str(p.pool) for p in report.pools if p.pool) or "none"
                raise NotFoundError(f"--pool {pool!r}: no node of that pool in the store (pools: {known})", field="pool")
            report = report.model_copy(update={"pools": pools,
                                               "nodes": tuple(n for n in report.nodes if n.pool == pool)})
        if as_json:
            # pydantic's serializer: strict JSON (NaN/inf as null, controls escaped) and fast enough for
            # a thousand nodes (the standard encoder with indent takes ~0.6 s for this report)
            sys.stdout.write(report.model_dump_json(indent=2) + "\n")
            return
        render(report, show_nodes=nodes or len(report.nodes) <= 30)


# ------------------------------------------------------------------------------------ rendering


def _num(value: float) -> str:
    size = abs(value)
    return f"{value:.0f}" if size >= 100 else f"{value:.1f}" if size >= 10 else f"{value:.2f}"


def _figure(pool: FleetPool, runtime: str, metric: str) -> str:
    row = next((r for r in pool.runtimes if r.runtime == runtime), None)
    fig = next((f for f in row.figures if f.metric == metric), None) if row else None
    if fig is None:
        return "-"
    text = _num(fig.median)
    if fig.nodes > 1:
        text += f" [dim]({_num(fig.q1)}-{_num(fig.q3)})[/]"
    if fig.emulated:
        text += " [yellow]emulated[/]"
    return text


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def render(report: FleetReport, *, show_nodes: bool) -> None:
    """The report for a person: one section per pool, then the nodes."""
    from rich.table import Table

    from .common import console, esc

    nodes = f"{len(report.nodes)} node{'s' if len(report.nodes) != 1 else ''}"
    pools = f"{len(report.pools)} pool{'s' if len(report.pools) != 1 else ''}"
    console.print(f"[bold]rtadvisor fleet[/]: {nodes} in {pools}, store "
                  f"{esc(report.store)}; stale after {_age(report.stale_after_s)}")
    for pool in report.pools:
        name = esc(pool.pool) if pool.pool else "[dim](no pool)[/]"
        virt = {True: "[green]yes[/]", False: "[red]no[/]", None: "unknown"}[pool.hardware_virtualization]
        console.print(f"\n[bold cyan]pool {name}[/]: {pool.nodes} node{'s' if pool.nodes != 1 else ''}; "
                      f"figures from {esc(pool.basis)}")
        console.print(f"  kvm {esc(pool.facts.get('kvm', ''))}; hardware virtualization for Linux guests: {virt}; "
                      f"kernel {esc(pool.facts.get('kernel', ''))}; cgroup {esc(pool.facts.get('cgroup', ''))}")
        table = Table(title_justify="left", show_edge=False, pad_edge=False)
        table.add_column("backend", no_wrap=True, min_width=10)
        table.add_column("usable on", no_wrap=True, min_width=9)
        for col in ("cold start ms (IQR)", "idle PSS MB (IQR)", "density"):
            table.add_column(col)
        for r in pool.runtimes:
            style = {"usable on every node": "green", "usable on some nodes": "yellow"}.get(r.status, "red")
            total = r.measured_nodes + r.failed_nodes + r.unavailable_nodes
            usable = f"[{style}]{r.measured_nodes}/{total}[/]" + (f" [red]{r.failed_nodes} failed[/]" if r.failed_nodes else "")
            table.add_row(esc(r.runtime), usable, _figure(pool, r.runtime, "cold_start_ms"),
                          _figure(pool, r.runtime, "pss_mb"), _figure(pool, r.runtime, "density"))
        console.print(table)
        for runtime, why in pool.unusable.items():
            console.print(f"  [red]not usable[/] {esc(runtime)}: {esc(why)}")
        if pool.stale_nodes:
            shown = ", ".join(pool.stale_nodes[:10]) + (" ..." if len(pool.stale_nodes) > 10 else "")
            console.print(f"  [yellow]stale[/] {len(pool.stale_nodes)} nodes: {esc(shown)}")
        for d in pool.disagreements[:15]:
            console.print(f"  [yellow]unlike its pool[/] {esc(d.node)} ({d.kind}): {esc(d.detail)}")
        if len(pool.disagreements) > 15:
            console.print(f"  ... and {len(pool.disagreements) - 15} more (see --json)")
        counts = {v: sum(1 for x in pool.verdicts if x.verdict == v) for v in ("holds", "does not hold",
                                                                              "not measurable here")}
        console.print(f"  claims: [green]{counts['holds']} hold[/], [red]{counts['does not hold']} do not hold[/], "
                      f"{counts['not measurable here']} not measurable here")
        for v in pool.verdicts:
            if v.verdict == "does not hold":
                console.print(f"    [red]x[/] {esc(v.claim.id)} ({esc(v.claim.source)}): {esc(v.why)}")
    if show_nodes:
        table = Table(title="Nodes (newest run of each)", title_justify="left")
        for col in ("node", "pool", "age", "kernel", "kvm", "usable backends"):
            table.add_column(col, no_wrap=col != "usable backends")
        for n in report.nodes:
            age = _age(n.age_s) + (" [yellow]stale[/]" if n.stale else "")
            kvm = n.kvm + ("" if n.kvm_linux_guests is None else " (Linux guests)" if n.kvm_linux_guests
                           else " (no Linux guest)")
            table.add_row(esc(n.node_name), esc(n.pool or "-"), age, esc(n.kernel), esc(kvm), esc(", ".join(n.usable)))
        console.print(table)
    else:
        console.print(f"\n[dim]{len(report.nodes)} nodes: `rtadvisor fleet --nodes` lists them[/]")


# ------------------------------------------------------------------------------- generate fleet


def _fleet_generate_command() -> Any:  # the click Command typer builds (typer ships its own click)
    sub = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @sub.command()
    def fleet(
        output: str = typer.Option(..., "--output", "-o", help="Directory to write to, or '-' to print fleet.yaml only."),
        image: str | None = typer.Option(None, "--image", help="The agent's image (default rtadvisor-agent:VERSION; see Dockerfile.agent)."),
        namespace: str = typer.Option("rtadvisor", "--namespace", "-n", help="Namespace of the agent."),
        mode: str = typer.Option("daemonset", "--mode", help="daemonset (an agent on every node, every --interval) or job (each node once)."),
        pool: list[str] | None = typer.Option(None, "--pool", help="A node pool (label value); repeatable; job mode: NAME=NODES. "
                                              "Default: one DaemonSet for every node."),
        pool_label: str = typer.Option("rtadvisor.io/pool", "--pool-label", help="Node label that names the pool."),
        db_secret: str = typer.Option("rtadvisor-db", "--db-secret", help="Secret holding the database URL."),
        db_secret_key: str = typer.Option("url", "--db-secret-key", help="Key of the URL in that Secret."),
        interval: str = typer.Option("6h", "--interval", help="Time between two bench runs of an agent."),
        runtimes: str | None = typer.Option(None, "--runtimes", help="Comma-separated bench backends (default: every one)."),
        budget: str | None = typer.Option(None, "--budget", help=f"Time budget of one bench run (default {_D.budget_s:g}s, the bench's)."),
        toleration: list[str] | None = typer.Option(None, "--toleration", help="KEY[=VALUE][:EFFECT], repeatable."),
        pool_toleration: bool = typer.Option(True, "--pool-toleration/--no-pool-toleration",
                                             help="Tolerate a taint named like the pool label (pools tainted for their own workloads)."),
        cpu_request: str = typer.Option("250m", "--cpu-request"),
        memory_request: str = typer.Option("512Mi", "--memory-request"),
        memory_limit: str = typer.Option("2Gi", "--memory-limit"),
        cpu_limit: str | None = typer.Option(None, "--cpu-limit", help="Default none: CPU throttling would distort the cold starts measured."),
        force: bool = typer.Option(False, "--force", help="Overwrite files in a non-empty output directory."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        """Write what deploys `rtadvisor agent` to every node pool: Namespace, ServiceAccount and RBAC
        (read nodes only), ConfigMap, a DaemonSet or a Job per pool (host access stated and
        justified in the comments), the agent's Dockerfile and a README."""
        from rtadvisor import app as use

        bundle = use.generate_fleet(
            image=image or f"rtadvisor-agent:{use.version()}", namespace=namespace, mode=mode, pools=pool or (),
            pool_label=pool_label, db_secret=db_secret, db_secret_key=db_secret_key, interval=interval,
            runtimes=_split(runtimes), budget=budget, tolerations=toleration or (),
            tolerate_pool_taint=pool_toleration, cpu_request=cpu_request, memory_request=memory_request,
            memory_limit=memory_limit, cpu_limit=cpu_limit)
        from .common import console, esc, print_json

        if output == "-":
            sys.stdout.write(next(f.content for f in bundle.files if f.path == "fleet.yaml"))
            return
        written = use.write_bundle(bundle, Path(output), force=force)
        if as_json:
            print_json({"output": str(written), "files": [f.path for f in bundle.files], **bundle.summary})
            return
        console.print(f"wrote {len(bundle.files)} files to {esc(written)}: " + ", ".join(esc(f.path) for f in bundle.files))
        console.print("objects: " + esc(", ".join(bundle.summary.get("objects", []))))
        console.print(f"next: create the Secret {esc(bundle.summary['secret'])} with the database URL, then "
                      f"`kubectl apply -f {esc(written)}/fleet.yaml` (see README.md)")

    return typer.main.get_command(sub)


class GenerateWithFleet(TyperCommand):
    """The ``generate`` command, with ``generate fleet ...`` handed to the fleet's own options.

    ``generate``'s first argument is a decision file; the word ``fleet`` there selects the fleet
    manifests instead (a file named ``fleet`` can still be given as ``./fleet``)."""

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None,
                     **extra: Any) -> Any:
        if args and args[0] == "fleet":
            command = _fleet_generate_command()
            return command.make_context(f"{info_name or 'generate'} fleet", list(args[1:]), parent=parent, **extra)
        return super().make_context(info_name, args, parent=parent, **extra)


__all__ = ["GenerateWithFleet", "register", "render"]
