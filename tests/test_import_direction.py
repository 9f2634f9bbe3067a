"""Import directions, checked on the AST of every source file (new files are covered automatically;
relative imports are resolved against the importing module's package):

- the pure layers (model, errors, kb, decide, k8s) import no I/O machinery and none of the outer
  layers; k8s also calls no process-starting function (this was tests/k8s/test_purity.py);
- the front ends (cli, web) import only the application layer, model and errors (and their own
  package), so both answer from the same use cases;
- the application layer never imports the CLI, and reaches the web only to serve it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import rtadvisor

PKG = Path(rtadvisor.__file__).resolve().parent
PURE = ["model", "errors.py", "kb", "decide", "k8s"]
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
    assert {"model", "kb", "decide"} <= names


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


# ---------------------------------------------------------------------------- k8s: no processes

K8S_FORBIDDEN_MODULES = {"shutil", "asyncio", "urllib", "rtadvisor.image"}
K8S_FORBIDDEN_CALLS = {("os", "system"), ("os", "popen"), ("os", "fork"), ("os", "execv"), ("os", "execvp"),
                       ("os", "spawnv")}


def _k8s_violations(path: Path, pkg: Path = PKG) -> list[str]:
    found = []
    for line, name in _imports(path, pkg):
        if any(name == m or name.startswith(m + ".") for m in K8S_FORBIDDEN_MODULES):
            found.append(f"{path.name}:{line}: imports {name}")
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
                and (node.func.value.id, node.func.attr) in K8S_FORBIDDEN_CALLS):
            found.append(f"{path.name}:{node.lineno}: calls {node.func.value.id}.{node.func.attr}")
    return found


def test_k8s_starts_no_process() -> None:
    files = sorted((PKG / "k8s").glob("*.py"))
    assert len(files) >= 6
    assert [v for f in files for v in _k8s_violations(f)] == []


def test_k8s_checker_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "rtadvisor" / "k8s" / "bad.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("import shutil\nfrom rtadvisor.image import x\nimport os\nos.system('true')\n")
    assert len(_k8s_violations(bad, tmp_path / "rtadvisor")) == 3


# ---------------------------------------------------------------------------- front ends -> app only

FRONT_ENDS = ("cli", "web")
FRONT_END_MAY_IMPORT = ("rtadvisor.app", "rtadvisor.model", "rtadvisor.errors")

# Front-end modules that still reach past rtadvisor.app: none. A new exception needs a line here
# saying what it imports and why; test_allow_list_is_exact keeps this set honest.
NOT_YET_ON_THE_APP_LAYER: dict[str, str] = {}


def _front_end_files() -> list[Path]:
    return [p for d in FRONT_ENDS for p in sorted((PKG / d).rglob("*.py"))]


def _front_end_violations(path: Path, pkg: Path = PKG) -> list[str]:
    own = ".".join(["rtadvisor", path.relative_to(pkg).parts[0]])
    bad = []
    for line, name in _imports(path, pkg):
        if name != "rtadvisor" and not name.startswith("rtadvisor."):
            continue  # the standard library and third-party packages
        if name == own or name.startswith(own + "."):
            continue
        if name == "rtadvisor" or any(name == m or name.startswith(m + ".") for m in FRONT_END_MAY_IMPORT):
            continue
        bad.append(f"line {line}: {name}")
    return bad


@pytest.mark.parametrize("path", [p for p in _front_end_files() if _module_name(p) not in NOT_YET_ON_THE_APP_LAYER],
                         ids=lambda p: str(p.relative_to(PKG)))
def test_front_ends_import_only_the_application_layer(path: Path) -> None:
    bad = _front_end_violations(path)
    assert not bad, f"{path.relative_to(PKG)} imports beyond app/model/errors: " + "; ".join(bad)


def test_allow_list_is_exact() -> None:
    """Each listed module still breaks the rule (else: delete its line), and exists."""
    modules = {_module_name(p): p for p in _front_end_files()}
    for name in NOT_YET_ON_THE_APP_LAYER:
        assert name in modules, f"{name} no longer exists: delete it from NOT_YET_ON_THE_APP_LAYER"
        assert _front_end_violations(modules[name]), f"{name} follows the rule now: delete it from the list"


def test_front_end_checker_sees_violations(tmp_path: Path) -> None:
    p = tmp_path / "rtadvisor" / "web" / "m.py"
    p.parent.mkdir(parents=True)
    p.write_text("import json\nfrom rtadvisor.store import x\nfrom ..kb import load\nfrom rtadvisor import decide\n"
                 "from rtadvisor.app import recommend\nfrom . import errors\nfrom rtadvisor.model import Workload\n")
    bad = _front_end_violations(p, tmp_path / "rtadvisor")
    assert [b.split(": ")[1] for b in bad] == ["rtadvisor.store", "rtadvisor.kb", "rtadvisor.decide"]


# ---------------------------------------------------------------------------- the application layer


def test_application_layer_does_not_import_the_front_ends() -> None:
    bad = []
    for path in sorted((PKG / "app").rglob("*.py")):
        for line, name in _imports(path):
            top = name.split(".")
            if top[0] != "rtadvisor" or len(top) < 2:
                continue
            # serving the web front end is a use case (rtadvisor serve): app.server starts it
            if top[1] == "cli" or (top[1] == "web" and path.name != "server.py"):
                bad.append(f"{path.relative_to(PKG)}:{line}: {name}")
    assert bad == []


def test_the_k8s_purity_test_was_merged_here() -> None:
    assert not (Path(__file__).parent / "k8s" / "test_purity.py").exists()
