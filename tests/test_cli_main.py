"""The CLI entry point's contract: one-line errors, exit codes passed through, no tracebacks."""

from __future__ import annotations

import subprocess
import sys

import typer

from rtadvisor import cli
from rtadvisor.errors import ProfileError


def test_typer_exit_code_is_passed_through() -> None:
    @cli.app.command("zz-test-exit", hidden=True)
    def _exit() -> None:
        raise typer.Exit(4)

    @cli.app.command("zz-test-error", hidden=True)
    def _error() -> None:
        raise ProfileError("profile.yaml: field 'gpu': expected one of none, shared")

    try:
        assert cli.main(["zz-test-exit"]) == 4
        assert cli.main(["zz-test-error"]) == 2
    finally:
        cli.app.registered_commands[:] = [
            c for c in cli.app.registered_commands if c.name not in {"zz-test-exit", "zz-test-error"}
        ]


def test_unknown_command_is_a_usage_error_without_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "rtadvisor", "no-such-command"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "No such command" in proc.stderr
