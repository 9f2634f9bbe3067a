"""Run the hostile corpus (``cases.yaml``) against the real ``rtadvisor`` CLI and judge each run.

Each case runs in a fresh workspace (its own HOME and TMPDIR, an ``outside/`` directory standing for
everything the command must not touch) through ``launch.py`` (RLIMIT_AS, peak RSS and CPU time of the
child). A run passes when:

* the exit code is the expected one, and the expected fragments are on stderr / stdout;
* a bad-input run (exit 2) prints exactly one line on stderr;
* no ``Traceback`` and no raw ESC byte reach stdout or stderr;
* it used at most :data:`MAX_CPU_S` of CPU and :data:`MAX_RSS_MB` of memory, and ended within
  :data:`WALL_TIMEOUT_S` (a hang detector: wall time on a shared 2-core machine is noise; the CPU time
  the child itself used is not);
* the workspace is unchanged except for the paths the case says may change (nothing half-written, no
  temp file left, nothing outside the target touched) and TMPDIR is empty.

The same module drives ``benchmarks/hostile_bounds.py``, which prints the cost of every case.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .generate import PREPARE, build_generated

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
CASES = HERE / "cases.yaml"
LAUNCH = HERE / "launch.py"

MAX_CPU_S = 5.0
MAX_RSS_MB = 300
WALL_TIMEOUT_S = 60.0
ADDRESS_SPACE = 1 << 30  # RLIMIT_AS of the child: the safety net under the 300 MB RSS target
GLOBAL_ABSENT = ("/tmp/rtadvisor-pwned",)  # what a YAML !!python/object payload in the corpus would create


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    exit: tuple[int, ...]
    stderr: tuple[str, ...] = ()
    stdout: tuple[str, ...] = ()
    not_stdout: tuple[str, ...] = ()
    lines: int | str | None = None
    stdin: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    prepare: str | None = None
    changes: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    exists: tuple[str, ...] = ()
    owner: str = "harden"
    note: str = ""

    @property
    def expected_lines(self) -> int | None:
        """Lines expected on stderr: as given, or 1 for a bad-input run (exit 2); None: not checked."""
        if self.lines == "any":
            return None
        if isinstance(self.lines, int):
            return self.lines
        return 1 if self.exit == (2,) else None


def load_cases(path: Path = CASES) -> list[Case]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    cases = []
    for item in raw:
        exit_ = item["exit"]
        cases.append(Case(
            id=item["id"], argv=tuple(item["argv"]), exit=tuple(exit_) if isinstance(exit_, list) else (exit_,),
            stderr=tuple(item.get("stderr", ())), stdout=tuple(item.get("stdout", ())),
            not_stdout=tuple(item.get("not_stdout", ())), lines=item.get("lines"), stdin=item.get("stdin"),
            env={k: str(v) for k, v in (item.get("env") or {}).items()}, prepare=item.get("prepare"),
            changes=tuple(item.get("changes", ())), absent=tuple(item.get("absent", ())),
            exists=tuple(item.get("exists", ())), owner=item.get("owner", "harden"), note=item.get("note", ""),
        ))
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    return cases


@dataclass
class Outcome:
    case: Case
    rc: int | None
    stdout: str
    stderr: str
    wall: float
    cpu: float
    maxrss_mb: float
    timed_out: bool
    changed: list[str]
    problems: list[str]


def rtadvisor_argv() -> list[str]:
    script = Path(sys.executable).parent / "rtadvisor"
    return [str(script)] if script.exists() else [sys.executable, "-m", "rtadvisor"]


def _snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` with what it is: file content hash + mode, link target, or kind."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = "link:" + os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as fh:
                    out[rel] = f"file:{oct(st.st_mode)}:" + hashlib.sha256(fh.read()).hexdigest()
            else:
                out[rel] = f"other:{stat.S_IFMT(st.st_mode)}"
    return out


_NINES = re.compile(r"\{9\*(\d+)\}")


def _expand(text: str, ws: Path, gen: Path) -> str:
    text = _NINES.sub(lambda m: "9" * int(m[1]), text)
    return text.replace("{f}", str(FILES)).replace("{g}", str(gen)).replace("{ws}", str(ws))


def _allowed(rel: str, patterns: Iterable[str]) -> bool:
    return any(rel == p or rel.startswith(p.rstrip("/") + "/") for p in patterns)


def run_case(case: Case, gen: Path, base: Path) -> Outcome:
    ws = Path(tempfile.mkdtemp(prefix=f"{case.id[:40]}-", dir=base))
    for sub in ("home", "tmp", "outside"):
        (ws / sub).mkdir()
    (ws / "outside" / "sentinel.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: do-not-touch}\n")
    if case.prepare:
        fn = PREPARE[case.prepare]
        fn(ws, gen) if fn.__code__.co_argcount == 2 else fn(ws)
    before = _snapshot(ws)
    argv = [*rtadvisor_argv(), *(_expand(a, ws, gen) for a in case.argv)]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(ws / "home"), "TMPDIR": str(ws / "tmp"),
        "LANG": "C.UTF-8", "COLUMNS": "200", "KUBECONFIG": str(ws / "home" / "no-kubeconfig"),
        "XDG_CACHE_HOME": str(ws / "home" / ".cache"), "RTADVISOR_DB": str(ws / "home" / "results.db"),
        # matplotlib (imported by the scoring library) keeps a font cache in HOME: a library's cache,
        # not ours, shared by all cases so it is built once
        "MPLCONFIGDIR": str(base / "matplotlib"),
        **{k: _expand(v, ws, gen) for k, v in case.env.items()},
    }
    result = ws / "tmp-result.json"
    stdin = open(_expand(case.stdin, ws, gen), "rb") if case.stdin else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, str(LAUNCH), str(result), str(ADDRESS_SPACE), "--", *argv],
                            cwd=ws, env=env, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    timed_out = False
    start = time.monotonic()
    try:
        out, err = proc.communicate(timeout=WALL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    finally:
        if stdin is not subprocess.DEVNULL:
            stdin.close()
    wall = time.monotonic() - start
    stats: dict[str, Any] = {}
    if result.exists():
        import json

        stats = json.loads(result.read_text())
        result.unlink()
    stdout, stderr = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    after = _snapshot(ws)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    expanded = Case(**{**case.__dict__, "stderr": tuple(_expand(x, ws, gen) for x in case.stderr),
                       "stdout": tuple(_expand(x, ws, gen) for x in case.stdout)})
    problems = judge(expanded, stats.get("rc"), stdout, stderr, stats, timed_out, changed, ws)
    shutil.rmtree(ws, ignore_errors=True)
    return Outcome(case, stats.get("rc"), stdout, stderr, stats.get("wall", wall), stats.get("cpu", 0.0),
                   stats.get("maxrss_kb", 0) / 1024, timed_out, changed, problems)


def judge(case: Case, rc: int | None, stdout: str, stderr: str, stats: dict[str, Any], timed_out: bool,
          changed: list[str], ws: Path) -> list[str]:
    problems: list[str] = []
    if timed_out:
        problems.append(f"did not end within {WALL_TIMEOUT_S:.0f} s (killed)")
    if rc not in case.exit:
        problems.append(f"exit code {rc}, expected {' or '.join(map(str, case.exit))}")
    for where, text in (("stdout", stdout), ("stderr", stderr)):
        if "Traceback" in text:
            problems.append(f"a traceback on {where}")
        if "\x1b" in text:
            problems.append(f"a raw ESC byte on {where}")
    for frag in case.stderr:
        if frag not in stderr:
            problems.append(f"stderr lacks {frag!r}")
    for frag in case.stdout:
        if frag not in stdout:
            problems.append(f"stdout lacks {frag!r}")
    for frag in case.not_stdout:
        if frag in stdout:
            problems.append(f"stdout has {frag!r}")
    want = case.expected_lines
    if want is not None and len(stderr.splitlines()) != want:
        problems.append(f"{len(stderr.splitlines())} lines on stderr, expected {want}")
    if stats.get("cpu", 0.0) > MAX_CPU_S:
        problems.append(f"used {stats['cpu']:.1f} s of CPU (limit {MAX_CPU_S:.0f} s)")
    if stats.get("maxrss_kb", 0) / 1024 >= MAX_RSS_MB:
        problems.append(f"peak RSS {stats['maxrss_kb'] / 1024:.0f} MB (limit {MAX_RSS_MB} MB)")
    touched = [c for c in changed if not _allowed(c, case.changes)]
    if touched:
        problems.append(f"touched {', '.join(repr(t) for t in touched[:5])}")
    for rel in case.absent:
        if (ws / rel).exists() or (ws / rel).is_symlink():
            problems.append(f"{rel} exists (nothing should be written)")
    for rel in case.exists:
        if not (ws / rel).exists():
            problems.append(f"{rel} was not written")
    for path in GLOBAL_ABSENT:
        if os.path.lexists(path):
            problems.append(f"{path} exists: a YAML payload ran")
    return problems


def prepare_generated(base: Path) -> Path:
    gen = base / "generated"
    gen.mkdir()
    build_generated(gen)
    return gen
