"""The CLI entry point's contract: one-line errors, exit codes passed through, no tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
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
        [sys.executable, "-m", "rtadvisor", "no-such-command"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "No such command" in proc.stderr


# ---------------------------------------------------------------------------- what the CLI prints

CONTROL = ("\x1b", "\x07", "\x9b", "\u202e")


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rtadvisor", *argv], capture_output=True, text=True, timeout=120,
                          check=False, stdin=subprocess.DEVNULL)


def test_markup_in_a_path_does_not_crash_after_writing(tmp_path: Path) -> None:
    """`[/bold]` in --output used to raise a MarkupError after the files were written."""
    out = tmp_path / "out[/bold][red]"
    proc = _run("generate", "--runtime", "runc", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (out / "runtimeclass.yaml").is_file()
    assert "Traceback" not in proc.stderr and str(out) in proc.stdout  # shown as text, not as style


def test_control_characters_never_reach_the_terminal(tmp_path: Path) -> None:
    name = "x\x1b[2J\x1b]0;pwned\x07\x9b31m\u202ey"
    for argv in (("kb", "show", name), ("scan", "--format", name, "x.yaml"), ("kb", "troubleshoot", name)):
        proc = _run(*argv)
        assert "Traceback" not in proc.stderr
        for c in CONTROL:
            assert c not in proc.stdout and c not in proc.stderr, (argv, c)
    shown = _run("kb", "show", name)
    assert shown.returncode == 2 and "\\x1b[2J" in shown.stderr  # visible, so the user sees what was given


def test_scan_table_escapes_names_and_paths(tmp_path: Path) -> None:
    manifest = tmp_path / "a\x1b[31m[red]x.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: \"w\\e]0;pwned\\a[/bold]\"\n"
                        "spec:\n  containers:\n  - name: c\n    image: nginx\n", encoding="utf-8")
    proc = _run("scan", str(manifest))
    assert "Traceback" not in proc.stderr
    assert proc.returncode in (0, 4), proc.stderr
    for c in CONTROL:
        assert c not in proc.stdout and c not in proc.stderr
    assert "[/bold]" in proc.stdout.replace("\n", "")


def test_safe_console_sanitises_every_kind_of_content() -> None:
    import io

    from rich.table import Table
    from rich.text import Text

    from rtadvisor.cli.common import SafeConsole, esc, strip_control

    buf = io.StringIO()
    console = SafeConsole(file=buf, force_terminal=True, width=100)
    table = Table()
    table.add_column("a")
    table.add_row(Text("text\x1b[31m"))
    table.add_row("cell\x07[/nope]")
    console.print("[bold]markup[/bold] \x1b[2J", table, "[/unbalanced]")
    console.print(f"[bold]{esc('[/bold]evil')}[/bold]")
    out = buf.getvalue()
    # rich's own styling uses ESC; none of the content's ESC/BEL may remain: strip rich's codes first
    import re

    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert "\x1b" not in plain and "\x07" not in plain
    assert "\\x1b[2J" in plain and "[/unbalanced]" in plain and "[/bold]evil" in plain
    assert strip_control("a\tb\nc\x00") == "a\tb\nc\\x00"


# ---------------------------------------------------------------------------- usage errors: one line

@pytest.mark.parametrize(("argv", "line"), [
    (["bench", "--runs", "0", "--no-store"], "--runs: expected an integer from 1 to 1000000, got '0'"),
    (["bench", "--runs", "1.5"], "--runs: expected an integer from 1 to 1000000, got '1.5'"),
    (["bench", "--warmups", "nan"], "--warmups: expected an integer from 0 to 100000, got 'nan'"),
    (["bench", "--max-pods", "1e400"], "--max-pods: expected an integer from 1 to 10000, got '1e400'"),
    (["recommend", "--memory-mb", "x"], "--memory-mb: expected a finite number, got 'x'"),
    (["recommend", "--services", "9" * 5000], "--services: expected an integer, got '99999999999999999999..."),
    (["generate", "-r", "runc"], "--output: required, not given"),
    (["image", "inspect"], "argument PATH: required, not given"),
    (["bench", "--bogus"], "--bogus: no such option"),
    (["scan", "--format", "xml", "x.yaml"], "--format: 'xml' is not one of 'table', 'json', 'sarif'"),
    (["recommend", "a", "b"], "Got unexpected extra argument(s) (b)"),
    (["\x1b[31mnope"], "No such command '\\x1b[31mnope'"),
])
def test_usage_errors_are_one_line_naming_the_option(argv: list[str], line: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """click prints Usage/Try/Error on three lines (and echoes controls); every command gets one line."""
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rtadvisor: error: ")
    assert line in err, err
    assert "\x1b" not in err and "Usage:" not in err and "Traceback" not in err


def test_an_error_line_is_bounded(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["kb", "show", "x" * 100_000]) == 2
    err = capsys.readouterr().err
    assert len(err) <= cli.MAX_ERROR_CHARS + 100 and "(message cut: " in err


def test_a_callbacks_own_message_is_kept(capsys: pytest.CaptureFixture[str]) -> None:
    """Only the parser's conversion errors become 'expected ...': a validator's message stays as written."""
    def odd(value: int) -> int:
        if value % 2 == 0:
            raise typer.BadParameter("must be odd")
        return value

    @cli.app.command("zz-test-callback", hidden=True)
    def _cb(n: int = typer.Option(1, "--n", callback=odd)) -> None:
        pass

    try:
        assert cli.main(["zz-test-callback", "--n", "2"]) == 2
        assert capsys.readouterr().err == "rtadvisor: error: --n: must be odd\n"
        assert cli.main(["zz-test-callback", "--n", "x"]) == 2
        assert "--n: expected an integer, got 'x'" in capsys.readouterr().err
    finally:
        cli.app.registered_commands[:] = [c for c in cli.app.registered_commands if c.name != "zz-test-callback"]
