"""Remove what an earlier, *dead* rtadvisor left behind (it was SIGKILLed, OOM-killed, its VM paused
and lost...): like containerd cleaning up after a crash when it restarts.

Nothing can clean up after SIGKILL, so the next run does: :func:`sweep_stale` runs at the start of
every ``rtadvisor bench`` and as ``rtadvisor bench cleanup`` (``rtadvisor doctor`` can call it too).
It removes only what carries rtadvisor's own markers AND belongs to an owner that is dead -- other
rtadvisor runs may be alive at the same moment (two benches, a test suite), and their instances are
never touched:

* the owner tag ``rtadv-<pid>-<start ticks>-<hex>`` (:func:`rtadvisor.backends.base.owner_tag`):
  in the environment of every process a bench starts (``RTADVISOR_BENCH_TOKEN``), in every instance
  id and so in runsc sandbox/gofer and qemu command lines, container ids and the cgroup directories
  runtimes name after them. The owner is dead when no process has that pid with that start time;
* the owner file in rtadvisor's private directories (``rtadvisor-bench-*``,
  ``rtadvisor-containerd-*`` in the temp directories): pid, start time and boot id of the owner;
* a private containerd's namespace ``rtadvisor-<owner pid>-<hex>`` (in its daemon's and shims'
  environment, in ``/run/containerd`` and in cgroup paths): dead when no process has that pid and
  no live private containerd directory uses the namespace.

What it does, in order: kill stale processes (and every process inside a stale cgroup: a
container's own processes carry no marker but live in a cgroup named after the instance), unmount
mounts under stale directories, remove the ``/run/containerd`` entries of stale namespaces, remove
stale cgroup directories in every hierarchy (cgroup v1 controllers and cgroup2), remove stale
directories. Each item is reported (:class:`Leftover`); ``dry_run`` only reports.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rtadvisor.backends.base import OWNER_FILE, boot_id, process_start_ticks

from .procs import TOKEN_VARIABLE

LeftoverKind = Literal["process", "mount", "containerd-state", "cgroup", "directory", "tracing-instance"]

#: An owner tag anywhere in a name, command line or environment value.
TAG_RE = re.compile(r"rtadv-(\d+)-(\d+)-[0-9a-f]{6}")
#: A private containerd's namespace (rtadvisor.backends.containerd.PrivateContainerd).
NAMESPACE_RE = re.compile(r"rtadvisor-(\d+)-[0-9a-f]{6}")
#: Private directories rtadvisor creates in the temp directory (each holds an owner file).
DIR_PREFIXES = ("rtadvisor-bench-", "rtadvisor-containerd-")
RUN_CONTAINERD = Path("/run/containerd")
_CGROUP_DEPTH = 4  # /sys/fs/cgroup/<controller>/<namespace>/<id>[/<sub>]


@dataclass(frozen=True)
class Leftover:
    """One thing a dead rtadvisor left, and what the sweep did about it."""

    kind: LeftoverKind
    what: str  # a path, or "pid N: command line"
    owner: str  # which dead process it belonged to
    removed: bool
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "what": self.what, "owner": self.owner, "removed": self.removed,
                "error": self.error}


# ------------------------------------------------------------------------------------- owners


def _alive(pid: int, ticks: int | None = None) -> bool:
    """Is the process (pid, start ticks) still running? (A zombie is not; ticks None/0: any.)"""
    started = process_start_ticks(pid)
    if started is None:
        return False
    if ticks and started != ticks:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


class _Owners:
    """Caches liveness decisions so one sweep answers consistently."""

    def __init__(self) -> None:
        self._tags: dict[tuple[int, int], bool] = {}
        self._pids: dict[int, bool] = {}
        self.me = os.getpid()

    def tag_dead(self, pid: int, ticks: int) -> bool:
        key = (pid, ticks)
        if key not in self._tags:
            self._tags[key] = pid != self.me and not _alive(pid, ticks)
        return self._tags[key]

    def pid_dead(self, pid: int) -> bool:
        if pid not in self._pids:
            self._pids[pid] = pid != self.me and not _alive(pid)
        return self._pids[pid]

    def dead_tag_in(self, text: str) -> str | None:
        """The first owner tag in ``text`` whose owner is dead."""
        for match in TAG_RE.finditer(text):
            if self.tag_dead(int(match.group(1)), int(match.group(2))):
                return match.group(0)
        return None


def _owner_text(tag_or_ns: str) -> str:
    match = TAG_RE.search(tag_or_ns) or NAMESPACE_RE.search(tag_or_ns)
    pid = match.group(1) if match else "?"
    return f"rtadvisor pid {pid} (dead), marker {tag_or_ns}"


# ------------------------------------------------------------------------------------- finding


@dataclass
class _Found:
    processes: dict[int, tuple[str, str]]  # pid -> (command line, owner)
    cgroups: dict[Path, str]  # cgroup directory -> owner
    dirs: dict[Path, str]  # private directory -> owner
    namespaces: dict[str, str]  # containerd namespace -> owner
    addresses: dict[str, str]  # containerd namespace -> its socket address (when the directory is known)


def _proc_text(pid: int, name: str) -> bytes:
    try:
        with open(f"/proc/{pid}/{name}", "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def _env_value(environ: bytes, variable: str) -> str | None:
    prefix = variable.encode() + b"="
    for entry in environ.split(b"\0"):
        if entry.startswith(prefix):
            return entry[len(prefix):].decode(errors="replace")
    return None


def temp_roots(extra: Iterable[Path] = ()) -> list[Path]:
    """Where rtadvisor's private directories may be: the temp directory, /tmp, /var/tmp (+ extra)."""
    roots: list[Path] = []
    for root in (Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp"), *extra):
        with contextlib.suppress(OSError):
            resolved = root.resolve()
            if resolved.is_dir() and resolved not in roots:
                roots.append(resolved)
    return roots


def _read_owner(directory: Path) -> dict[str, object] | None:
    try:
        data = json.loads((directory / OWNER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _dir_owner_dead(record: dict[str, object], owners: _Owners) -> bool:
    pid, ticks, boot = record.get("pid"), record.get("start_ticks"), record.get("boot_id")
    if not isinstance(pid, int):
        return False  # not a record we wrote: not provably ours
    if isinstance(boot, str) and boot and boot != boot_id():
        return True  # written before the last reboot: its owner is gone
    if isinstance(ticks, int) and ticks:
        return owners.tag_dead(pid, ticks)
    return owners.pid_dead(pid)


def _namespaces_of(directory: Path) -> set[str]:
    """The containerd namespaces a private containerd directory holds state for."""
    found: set[str] = set()
    for sub in ("state/io.containerd.runtime.v2.task", "root/io.containerd.runtime.v2.task"):
        with contextlib.suppress(OSError):
            found |= {p.name for p in (directory / sub).iterdir() if NAMESPACE_RE.fullmatch(p.name)}
    return found


def cgroup_mounts() -> list[Path]:
    """Mount points of every cgroup hierarchy (v1 controllers and cgroup2) in this mount namespace."""
    points: list[Path] = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            left, _, right = line.partition(" - ")
            if right.split()[:1] in (["cgroup"], ["cgroup2"]):
                point = Path(left.split()[4].replace("\\040", " "))
                if point not in points:
                    points.append(point)
    return points


def _walk_dirs(root: Path, depth: int) -> Iterator[Path]:
    if depth <= 0:
        return
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            path = Path(entry.path)
            yield path
            yield from _walk_dirs(path, depth - 1)


def _find(owners: _Owners, extra_roots: Iterable[Path]) -> _Found:
    found = _Found(processes={}, cgroups={}, dirs={}, namespaces={}, addresses={})
    live_namespaces: set[str] = set()
    # private directories with an owner file
    for root in temp_roots(extra_roots):
        with contextlib.suppress(OSError):
            for entry in root.iterdir():
                if not entry.name.startswith(DIR_PREFIXES) or not entry.is_dir() or entry.is_symlink():
                    continue
                record = _read_owner(entry)
                if record is None:
                    continue  # no owner file: not provably ours
                namespaces = _namespaces_of(entry) if entry.name.startswith("rtadvisor-containerd-") else set()
                if not _dir_owner_dead(record, owners):
                    live_namespaces |= namespaces
                    continue
                owner = f"rtadvisor pid {record.get('pid')} (dead), directory owner file"
                found.dirs[entry] = owner
                for ns in namespaces:
                    found.namespaces[ns] = owner
                    found.addresses[ns] = str(entry / "containerd.sock")
    # namespaces known only from /run/containerd (their directory is elsewhere or gone)
    with contextlib.suppress(OSError):
        for entry in (RUN_CONTAINERD / "runc").iterdir():
            match = NAMESPACE_RE.fullmatch(entry.name)
            if match and entry.name not in live_namespaces and entry.name not in found.namespaces \
                    and owners.pid_dead(int(match.group(1))):
                found.namespaces[entry.name] = _owner_text(entry.name)
    # processes: the token in the environment, a tag on the command line, a dead private containerd
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        pid = int(name)
        environ = _proc_text(pid, "environ")
        cmdline = _proc_text(pid, "cmdline").replace(b"\0", b" ").decode(errors="replace").strip()
        token = _env_value(environ, TOKEN_VARIABLE) or ""
        tag = owners.dead_tag_in(token) or owners.dead_tag_in(cmdline)
        if tag is not None:
            found.processes[pid] = (cmdline, _owner_text(tag))
            continue
        ns = _env_value(environ, "RTADVISOR_CONTAINERD_NS") or ""
        if ns in found.namespaces:
            found.processes[pid] = (cmdline, found.namespaces[ns])
            continue
        for directory, owner in found.dirs.items():
            if str(directory) + "/" in cmdline + "/":
                found.processes[pid] = (cmdline, owner)
                break
    # cgroups named after a dead owner's instances, or a dead private containerd's namespace
    for mount in cgroup_mounts():
        for path in _walk_dirs(mount, _CGROUP_DEPTH):
            if any(parent in found.cgroups for parent in path.parents):
                continue
            tag = owners.dead_tag_in(path.name) if path.name.startswith("rtadv-") else None
            if tag is not None:
                found.cgroups[path] = _owner_text(tag)
            elif path.name in found.namespaces:
                found.cgroups[path] = found.namespaces[path.name]
    return found


# ------------------------------------------------------------------------------------- removing


def _cgroup_pids(path: Path) -> set[int]:
    pids: set[int] = set()
    for group in [path, *_walk_dirs(path, 8)]:
        with contextlib.suppress(OSError, ValueError):
            pids |= {int(x) for x in (group / "cgroup.procs").read_text().split()}
    return pids


def _kill(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _reap() -> None:
    """Reap any of the killed processes that happen to be our children (we may be a subreaper)."""
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def _mounts_under(prefixes: Iterable[Path]) -> list[str]:
    wanted = [str(p) for p in prefixes]
    points: list[str] = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            fields = line.split()
            if len(fields) > 4:
                point = fields[4].replace("\\040", " ")
                if any(point == w or point.startswith(w + "/") for w in wanted):
                    points.append(point)
    return sorted(set(points), key=len, reverse=True)


def remove_cgroup_tree(path: Path) -> str | None:
    """rmdir a cgroup directory and its children, deepest first; None or the last error."""
    error: str | None = None
    for group in sorted([path, *_walk_dirs(path, 8)], key=lambda p: len(p.parts), reverse=True):
        try:
            group.rmdir()
        except FileNotFoundError:
            continue
        except OSError as exc:
            error = f"{group}: {exc.strerror}"
    return error


def sweep_stale(dry_run: bool = False, *, extra_roots: Iterable[Path] = ()) -> list[Leftover]:
    """Find (and unless ``dry_run``, remove) what dead rtadvisor processes left on this host.

    Returns one :class:`Leftover` per process, mount, containerd namespace, cgroup directory and
    private directory found, in the order they were handled, each saying whether it was removed.
    Never raises for a leftover it cannot remove (the item says why); bounded in time (~10 s at most).

    >>> [f"{l.kind} {l.what}" for l in sweep_stale(dry_run=True)]   # doctest: +SKIP
    ['process pid 4242: runsc-sandbox ... rtadv-4100-98765-a1b2c3-runsc-7', 'cgroup /sys/fs/cgroup/cpu/...']
    """
    owners = _Owners()
    found = _find(owners, extra_roots)
    report: list[Leftover] = []
    # 1. processes, and whatever runs inside stale cgroups (containers carry no marker themselves)
    in_cgroups: dict[int, str] = {}
    for path, owner in found.cgroups.items():
        for pid in _cgroup_pids(path):
            if pid != os.getpid() and pid not in found.processes:
                in_cgroups[pid] = owner
    for pid, owner in in_cgroups.items():
        cmdline = _proc_text(pid, "cmdline").replace(b"\0", b" ").decode(errors="replace").strip()
        comm = _proc_text(pid, "comm").decode(errors="replace").strip()
        found.processes[pid] = (cmdline or f"[{comm or '?'}]", owner + ", in its cgroup")
    if not dry_run and found.processes:
        deadline = time.monotonic() + 5.0
        remaining = set(found.processes)
        while remaining and time.monotonic() < deadline:
            _kill(remaining)
            _reap()
            time.sleep(0.02)
            remaining = {pid for pid in remaining if _alive(pid)}
    for pid, (cmdline, owner) in sorted(found.processes.items()):
        gone = not dry_run and not _alive(pid)
        report.append(Leftover("process", f"pid {pid}: {cmdline[:200]}", owner, gone,
                               None if gone or dry_run else "still running after SIGKILL"))
    # 2. mounts under stale directories
    for point in _mounts_under(found.dirs):
        owner = next((o for d, o in found.dirs.items() if point == str(d) or point.startswith(f"{d}/")), "?")
        error = None
        if not dry_run:
            done = subprocess.run(["umount", "-l", point], capture_output=True, text=True, check=False, timeout=30)
            error = done.stderr.strip()[-200:] or None if done.returncode else None
        report.append(Leftover("mount", point, owner, not dry_run and error is None, error))
    # 3. a dead private containerd's entries under /run/containerd (and its namespace's cgroups)
    for ns, owner in sorted(found.namespaces.items()):
        error = None
        if not dry_run:
            try:
                from rtadvisor.backends.containerd import remove_namespace_leftovers

                remove_namespace_leftovers(ns, found.addresses.get(ns, ""))
            except Exception as exc:  # report, never stop the sweep
                error = f"{type(exc).__name__}: {exc}"
        report.append(Leftover("containerd-state", f"{RUN_CONTAINERD}/runc/{ns} and its shim sockets, FIFOs",
                               owner, not dry_run and error is None, error))
    # 4. cgroup directories (rmdir only removes empty groups: busy ones are retried briefly)
    for path, owner in sorted(found.cgroups.items()):
        error = None
        if not dry_run:
            deadline = time.monotonic() + 3.0
            while True:
                error = remove_cgroup_tree(path)
                if error is None or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        report.append(Leftover("cgroup", str(path), owner, not dry_run and not path.exists(), error))
    # 5. private directories
    for directory, owner in sorted(found.dirs.items()):
        error = None
        if not dry_run:
            shutil.rmtree(directory, ignore_errors=True)
            if directory.exists():
                error = "could not be removed completely"
        report.append(Leftover("directory", str(directory), owner, not dry_run and error is None, error))
    if not dry_run and found.namespaces:
        with contextlib.suppress(Exception):
            from rtadvisor.backends.containerd import prune_run_skeleton

            prune_run_skeleton()
    # 6. kernel tracing instances of a dead isolation measurement (their ring buffers hold memory)
    report += _stale_tracing(dry_run)
    return report


def _stale_tracing(dry_run: bool) -> list[Leftover]:
    """Tracing instances named after a dead rtadvisor pid (``instances/rtadvisor-<pid>-<hex>``), seen
    through tracefs (mounted in a private mount namespace when the host has it unmounted)."""
    if os.geteuid() != 0:
        return []
    from rtadvisor.errors import BenchError

    from .tracefs import TraceFS, remove_instance, stale_instances

    out: list[Leftover] = []
    try:
        with TraceFS(sweep=False) as fs:
            assert fs.root is not None
            for inst, pid in sorted(stale_instances(fs.root).items()):
                error = None
                if not dry_run:
                    try:
                        remove_instance(inst)
                    except OSError as exc:
                        error = exc.strerror or str(exc)
                out.append(Leftover("tracing-instance", f"tracing instance {inst.name}", f"pid {pid} (dead)",
                                    not dry_run and error is None, error))
    except BenchError:
        return out  # no tracefs here: no instance could have been made either
    return out


def summary(items: list[Leftover]) -> str:
    """One line: ``removed 3 processes, 9 cgroups, 1 directory left by rtadvisor pid 4100 (dead)``."""
    if not items:
        return "nothing left by earlier rtadvisor runs"
    counts: dict[str, int] = {}
    for item in items:
        counts[item.kind] = counts.get(item.kind, 0) + 1
    plural = {"process": "processes", "mount": "mounts", "containerd-state": "containerd namespaces",
              "cgroup": "cgroup directories", "directory": "directories", "tracing-instance": "tracing instances"}
    singular = {"containerd-state": "containerd namespace", "cgroup": "cgroup directory",
                "tracing-instance": "tracing instance"}
    parts = [f"{n} {plural[kind] if n != 1 else singular.get(kind, kind)}" for kind, n in counts.items()]
    pids = sorted({m.group(1) for item in items for m in [re.search(r"pid (\d+) \(dead\)", item.owner)] if m})
    verb = "removed" if all(i.removed for i in items) else "found"
    failed = [i for i in items if not i.removed and i.error]
    tail = f"; {len(failed)} could not be removed" if failed else ""
    return f"{verb} {', '.join(parts)} left by dead rtadvisor pid {', '.join(pids) or '?'}{tail}"
