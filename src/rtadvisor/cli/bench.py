"""CLI commands: bench, report, claims, prepare (placeholder until the bench area lands)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""

    @app.command()
    def prepare(quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing on success.")) -> None:
        """Build the node assets the benchmarks use (built-in workloads, micro-VM kernel)."""
