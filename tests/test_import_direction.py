"""The pure layers (model, kb, decide, k8s) import no I/O machinery and none of the outer layers.

Checked on the AST of every source file, so new files are covered automatically; relative imports
are resolved against the importing module's package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import rtadvisor

PKG = Path(rtadvisor.__file__).resolve().parent
PURE = ["model.py", "errors.py", "kb", "decide", "k8s"]
FORBIDDEN_MODULES = {"subprocess", "socket", "sqlite3", "sqlalchemy", "http", "urllib.request", "requests", "httpx",
                     "multiprocessing", "asyncio.subprocess", "psutil"}
FORBIDDEN_OURS = {"cli", "bench", "backends", "store", "web", "doctor", "scan"}


def _pure_files() -> list[Path]:
    files: list[Path] = []
    for entry in PURE:
        p = PKG / entry
        if p.is_file():
            files.append(p)
        elif p.is_dir():
            files.extend(sorted(p.rglob("*.py")))
    return files


def _module_name(path: Path, pkg: Path = PKG) -> str:
    rel = path.relative_to(pkg.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, pkg: Path = PKG) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    mod = _module_name(path, pkg)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # ``from rtadvisor import cli`` imports a sub-module through the names
            found.extend((node.lineno, f"{target}.{a.name}") for a in node.names if target == "rtadvisor")
    return found


def test_pure_layers_exist() -> None:
    names = {p.relative_to(PKG).parts[0] for p in _pure_files()}
    assert {"model.py", "kb", "decide"} <= names


@pytest.mark.parametrize("path", _pure_files(), ids=lambda p: str(p.relative_to(PKG)))
def test_pure_module_imports(path: Path) -> None:
    bad = []
    for line, name in _imports(path):
        top = name.split(".")
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_MODULES):
            bad.append(f"line {line}: {name} (I/O)")
        if top[0] == "rtadvisor" and len(top) > 1 and top[1] in FORBIDDEN_OURS:
            bad.append(f"line {line}: {name} (outer layer)")
    assert not bad, f"{path.relative_to(PKG)} imports " + "; ".join(bad)


def test_checker_catches_violations(tmp_path: Path) -> None:
    """The checker itself must see absolute, relative and from-package violations."""
    p = tmp_path / "rtadvisor" / "decide" / "m.py"
    p.parent.mkdir(parents=True)
    p.write_text("import subprocess\nfrom ..store import x\nfrom rtadvisor import web\nfrom . import score\n")
    names = [n for _, n in _imports(p, tmp_path / "rtadvisor")]
    assert {"subprocess", "rtadvisor.store", "rtadvisor.web", "rtadvisor.decide"} <= set(names)
