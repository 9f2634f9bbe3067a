"""k8s/ is a pure layer: it never starts processes, opens sockets or touches the store."""

from __future__ import annotations

import ast
from pathlib import Path

import rtadvisor.k8s

K8S_DIR = Path(rtadvisor.k8s.__file__).parent
FORBIDDEN_MODULES = ("subprocess", "socket", "sqlalchemy", "http", "urllib", "requests", "asyncio",
                     "multiprocessing", "shutil", "rtadvisor.store", "rtadvisor.backends", "rtadvisor.bench",
                     "rtadvisor.doctor", "rtadvisor.cli", "rtadvisor.web", "rtadvisor.image")
FORBIDDEN_CALLS = {("os", "system"), ("os", "popen"), ("os", "fork"), ("os", "execv"), ("os", "execvp"),
                   ("os", "spawnv")}


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            if any(name == m or name.startswith(m + ".") for m in FORBIDDEN_MODULES):
                found.append(f"{path.name}:{node.lineno}: imports {name}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            if (node.func.value.id, node.func.attr) in FORBIDDEN_CALLS:
                found.append(f"{path.name}:{node.lineno}: calls {node.func.value.id}.{node.func.attr}")
    return found


def test_k8s_modules_import_nothing_impure() -> None:
    files = sorted(K8S_DIR.glob("*.py"))
    assert len(files) >= 6
    problems = [v for f in files for v in _violations(f)]
    assert problems == []


def test_the_checker_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import subprocess\nfrom rtadvisor.store import x\nimport os\nos.system('true')\n")
    assert len(_violations(bad)) == 3
