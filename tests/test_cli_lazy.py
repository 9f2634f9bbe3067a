"""The root command table (rtadvisor.cli.COMMANDS) and what loading a command costs.

Each top-level command's module is imported when that command runs; these tests keep the table
equal to what the modules register, and check that answering `recommend --json` or `scan -f json`
imports neither the other command families nor rich (start-up is part of every answer; the timing
itself is benchmarks/cli_startup.py's business, not a unit test's)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import typer
import typer.main

from rtadvisor import cli

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(set(cli.COMMANDS.values()))


def _registered(module_name: str) -> set[str]:
    import importlib

    module = importlib.import_module(f"rtadvisor.cli.{module_name}")
    sub = typer.Typer()
    module.register(sub)
    return set(typer.main.get_group(sub).commands)  # type: ignore[attr-defined]


def test_the_table_names_every_command_each_module_registers_and_no_other() -> None:
    registered = {name: module for module in MODULES for name in _registered(module)}
    assert registered == cli.COMMANDS
    cli_modules = {p.stem for p in (ROOT / "src" / "rtadvisor" / "cli").glob("*.py")}
    # every module with a register() is in the table (a new command family cannot be forgotten)
    with_register = {m for m in cli_modules if "def register(" in (ROOT / "src/rtadvisor/cli" / f"{m}.py").read_text()}
    assert with_register == set(MODULES)


def test_help_lists_every_command_in_the_tables_order() -> None:
    from typer.testing import CliRunner

    out = CliRunner().invoke(cli.app, ["--help"], terminal_width=200).output
    positions = [out.find(f" {name} ") for name in cli.COMMANDS]
    assert all(p > 0 for p in positions), out
    assert positions == sorted(positions)


def _modules_after(argv: list[str]) -> set[str]:
    code = ("import io, contextlib, json, sys\nfrom rtadvisor.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()): rc = main(sys.argv[1:])\n"
            "print(json.dumps({'rc': rc, 'modules': sorted(sys.modules)}))")
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True, cwd=ROOT)
    doc = json.loads(proc.stdout)
    assert doc["rc"] == 0, proc.stderr
    return set(doc["modules"])


def test_recommend_json_loads_only_its_own_command_module_and_no_rich() -> None:
    loaded = _modules_after(["recommend", "examples/edge-gateway.yaml", "--json"])
    assert "rtadvisor.cli.recommend" in loaded
    others = {f"rtadvisor.cli.{m}" for m in MODULES} - {"rtadvisor.cli.recommend"}
    assert not loaded & others
    assert not {m for m in loaded if m == "rich" or m.startswith("rich.")}
    assert not {m for m in loaded if m.split(".")[0] in ("fastapi", "uvicorn", "sqlalchemy", "wasmtime")}
    # neither the bench's nor the other use cases' result types (rtadvisor.model's lazy part)
    assert not loaded & {"rtadvisor.model.bench", "rtadvisor.model.results", "rtadvisor.store.records",
                         "rtadvisor.app.bench", "rtadvisor.app.fleet", "rtadvisor.app.deploy"}


def test_scan_json_loads_only_its_own_command_module_and_no_rich(tmp_path: Path) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
                        "    - {name: c, image: registry.example.com/c:1}\n")
    loaded = _modules_after(["scan", str(manifest), "-f", "json"])
    assert "rtadvisor.cli.scan" in loaded
    assert not loaded & ({f"rtadvisor.cli.{m}" for m in MODULES} - {"rtadvisor.cli.scan"})
    assert not loaded & {"rtadvisor.model.bench", "rtadvisor.model.results", "rtadvisor.app.bench"}
    assert not {m for m in loaded if m == "rich" or m.startswith("rich.")}


def test_an_unknown_command_is_refused_with_a_suggestion_without_loading_any_command() -> None:
    code = ("import sys\nfrom rtadvisor.cli import main\nrc = main(['recomend'])\n"
            "print(sorted(m for m in sys.modules if m.startswith('rtadvisor.cli.')), rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert proc.stderr.strip() == "rtadvisor: error: No such command 'recomend'. Did you mean 'recommend'?"
    assert proc.stdout.strip() == "['rtadvisor.cli.common'] 2"


def test_the_lazy_names_of_model_app_and_store_resolve_and_are_listed() -> None:
    """Every name the packages promise lazily is there (a renamed class fails here, not in a user's run)."""
    import rtadvisor.app
    import rtadvisor.model
    import rtadvisor.store

    for package, table in ((rtadvisor.model, rtadvisor.model._LAZY), (rtadvisor.app, rtadvisor.app._NAMES),
                           (rtadvisor.store, rtadvisor.store._LAZY)):
        for name, module in table.items():
            value = getattr(package, name)
            assert value is not None, (package.__name__, name)
            defined_in = getattr(value, "__module__", None)
            if defined_in is not None and defined_in.startswith("rtadvisor."):
                assert defined_in.startswith(f"{package.__name__}.{module}") or package.__name__ == "rtadvisor.app", \
                    (name, defined_in)
    assert set(rtadvisor.model._LAZY) <= set(dir(rtadvisor.model))
