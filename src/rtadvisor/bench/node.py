"""Who measured: the node's identity and the facts that shape its figures (read-only, cheap)."""

from __future__ import annotations

import hashlib
import os
import platform
from pathlib import Path

from rtadvisor.model import KvmKind, NodeInfo

#: Environment variables naming the node in a cluster (the fleet agent's DaemonSet sets them from
#: the downward API: ``spec.nodeName`` and a pool label).
NODE_NAME_VARIABLES = ("RTADVISOR_NODE_NAME", "NODE_NAME")
POOL_VARIABLE = "RTADVISOR_NODE_POOL"


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def cpu_model() -> str:
    text = _read("/proc/cpuinfo") or ""
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def mem_total_mb() -> int | None:
    for line in (_read("/proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return None


def kvm_kind() -> KvmKind:
    """Which module provides /dev/kvm: ``kvm_pvm`` (software, as on this Firecracker guest),
    ``kvm_intel``/``kvm_amd`` (hardware), ``kvm`` (built in, vendor unknown), or ``absent``."""
    if not Path("/dev/kvm").exists():
        return "absent"
    for name in ("kvm_pvm", "kvm_intel", "kvm_amd"):
        if Path("/sys/module", name).is_dir():
            return name  # type: ignore[return-value]
    return "kvm" if Path("/sys/module/kvm").is_dir() else "unknown"


def cgroup_mode() -> str:
    """``v2`` (unified), ``v1``, ``hybrid`` (v1 controllers beside a cgroup2 mount) or ``unknown``."""
    kinds: set[str] = set()
    for line in (_read("/proc/self/mountinfo") or "").splitlines():
        parts = line.split(" - ", 1)
        if len(parts) == 2 and parts[1].split()[:1] in (["cgroup"], ["cgroup2"]):
            kinds.add(parts[1].split()[0])
    if kinds == {"cgroup2"}:
        return "v2"
    if kinds == {"cgroup"}:
        return "v1"
    return "hybrid" if kinds == {"cgroup", "cgroup2"} else "unknown"


def machine_id() -> str | None:
    """A stable node identity that does not reveal /etc/machine-id itself (it is meant to stay private)."""
    raw = (_read("/etc/machine-id") or "").strip()
    return hashlib.sha256(b"rtadvisor:" + raw.encode()).hexdigest()[:16] if raw else None


def node_info(runtime_versions: dict[str, str] | None = None) -> NodeInfo:
    """This node, as recorded in every bench result."""
    from rtadvisor import __version__

    hostname = platform.node() or "unknown"
    name = next((os.environ[v] for v in NODE_NAME_VARIABLES if os.environ.get(v)), hostname)
    mode = cgroup_mode()
    return NodeInfo(
        hostname=hostname, node_name=name, pool=os.environ.get(POOL_VARIABLE) or None, machine_id=machine_id(),
        kernel=platform.release(), os=platform.platform(terse=True), arch=platform.machine(), cpu_model=cpu_model(),
        cpus=os.cpu_count(), mem_total_mb=mem_total_mb(), kvm=kvm_kind(),
        cgroup=mode if mode in ("v1", "v2", "hybrid") else "unknown",  # type: ignore[arg-type]
        python=platform.python_version(), rtadvisor=__version__, runtime_versions=dict(runtime_versions or {}),
    )
