"""What a bench process (by pid) left on the host: processes, cgroups in every hierarchy, mounts, temp
dirs, /run/containerd entries. Read straight from /proc and /sys, independently of the code under test."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Left:
    processes: list[str] = field(default_factory=list)
    cgroups: list[str] = field(default_factory=list)
    mounts: list[str] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)
    run_containerd: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any((self.processes, self.cgroups, self.mounts, self.dirs, self.run_containerd))


def _markers(pid: int) -> tuple[str, str]:
    # the owner tag of everything bench process `pid` creates, and its private containerd namespace
    return f"rtadv-{pid}-", f"rtadvisor-{pid}-"


def _cgroup_roots() -> list[Path]:
    roots = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        if right.split()[:1] in (["cgroup"], ["cgroup2"]):
            roots.append(Path(left.split()[4]))
    return roots


def _owner_pid(directory: Path) -> int | None:
    """The pid in the directory's owner file (None: no readable owner file -- counted against anyone)."""
    try:
        return int(json.loads((directory / ".rtadvisor-owner").read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def left_by(pid: int, tmp: Path | None = None) -> Left:
    tag, namespace = _markers(pid)
    found = Left()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            state = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
            if state in (b"Z", b"X"):
                continue  # a zombie waiting for a slow PID 1 runs nothing
            text = (Path(f"/proc/{entry}/cmdline").read_bytes() + b"\0" + Path(f"/proc/{entry}/environ").read_bytes())
        except (OSError, IndexError):
            continue
        decoded = text.decode(errors="replace")
        if tag in decoded or f"RTADVISOR_CONTAINERD_NS={namespace}" in decoded:
            found.processes.append(f"{entry}: {decoded.split(chr(0))[0][:120]}")
    for root in _cgroup_roots():
        for dirpath, dirnames, _ in os.walk(root):
            if dirpath.count("/") - str(root).count("/") > 4:
                dirnames[:] = []
                continue
            for name in dirnames:
                if name.startswith((tag, namespace)):
                    found.cgroups.append(os.path.join(dirpath, name))
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4]
        if tag in point or namespace in point or (tmp is not None and point.startswith(str(tmp) + "/")):
            found.mounts.append(point)
    if tmp is not None and tmp.exists():
        for p in sorted(tmp.iterdir()):
            if p.name.startswith(("rtadvisor-bench-", "rtadvisor-containerd-")) and _owner_pid(p) in (pid, None):
                found.dirs.append(str(p))
    for sub in ("runc", "io.containerd.runtime.v2.task"):
        base = Path("/run/containerd") / sub
        if base.exists():
            found.run_containerd += [str(p) for p in base.iterdir() if p.name.startswith(namespace)]
    return found
