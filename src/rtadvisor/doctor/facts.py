"""Gather facts about this node: binaries and versions, crun features, cgroups, KVM, containerd, K3s.

Only reads files and runs ``--version``-style commands (each with a short timeout); the checks in
:mod:`.checks` turn these facts into findings. Tests build :class:`NodeFacts` by hand, or point
``path`` at a directory of fake binaries, to produce broken nodes on purpose.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from rtadvisor.k8s.upstream import K3S_DETECTED

#: Programs the doctor looks for: OCI runtimes, Wasm engines, containerd and its shims.
PROGRAMS = (
    "runc", "crun", "runsc", "kata-runtime", "wasmedge", "wasmtime", "wasmer", "spin", "containerd", "ctr", "kubectl",
    "k3s", "rke2", "containerd-shim-runc-v2", "containerd-shim-runsc-v1", "containerd-shim-kata-v2",
    "containerd-shim-wasmedge-v1", "containerd-shim-wasmtime-v1", "containerd-shim-wasmer-v1",
    "containerd-shim-spin-v2",
)
VERSION_ARGS = {"containerd": ("--version",), "ctr": ("--version",), "kubectl": ("version", "--client"),
                "runsc": ("--version",), "k3s": ("--version",), "rke2": ("--version",)}
CONTAINERD_SOCKET = "/run/containerd/containerd.sock"
#: Where a node's containerd config usually is (the rendered file, for distributions that template it).
CONTAINERD_CONFIGS = ("/etc/containerd/config.toml", "/var/lib/rancher/k3s/agent/etc/containerd/config.toml",
                      "/var/lib/rancher/rke2/agent/etc/containerd/config.toml",
                      "/var/snap/microk8s/current/args/containerd.toml", "/etc/k0s/containerd.toml")
#: Where K3s looks for runtimes it configures by itself (k3s pkg/agent/containerd/runtimes.go).
K3S_SEARCH: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    d.name: (tuple(x.lstrip("/") for x in d.dirs), d.binaries) for d in K3S_DETECTED.values()
}


@dataclass(frozen=True)
class CgroupInfo:
    mode: str  # v1 | v2 | hybrid | none | unknown
    unified_mount: str | None = None
    unified_controllers: tuple[str, ...] = ()
    systemd_pid1: bool = False


@dataclass(frozen=True)
class KvmInfo:
    device: bool
    module: str | None  # kvm_intel | kvm_amd | kvm_pvm | None
    cpu_flags: tuple[str, ...] = ()  # vmx / svm when present


@dataclass(frozen=True)
class NodeFacts:
    """What the doctor knows about the node; every field can be faked in tests."""

    path: str
    programs: dict[str, str] = field(default_factory=dict)  # name -> absolute path
    versions: dict[str, str] = field(default_factory=dict)  # name -> first line of its version output
    crun_features: tuple[str, ...] = ()  # e.g. ("+SYSTEMD", "+WASM:wasmedge")
    cgroups: CgroupInfo = CgroupInfo("unknown")
    kvm: KvmInfo = KvmInfo(False, None)
    containerd_live: bool = False
    containerd_dump: str | None = None  # `containerd config dump` when a daemon answers
    kubelet_cgroup_driver: str | None = None
    k3s_detected: dict[str, str] = field(default_factory=dict)  # runtime name -> binary path
    root: str = "/"

    @property
    def k3s_installed(self) -> bool:
        """K3s or RKE2 runs here: their RuntimeClasses (manifests/runtimes.yaml) exist in the cluster."""
        return bool({"k3s", "rke2"} & set(self.programs))

    def which(self, name: str) -> str | None:
        """``name`` on this node's PATH, or ``name`` itself if it is an existing absolute path."""
        if name.startswith("/"):
            return name if os.access(name, os.X_OK) else None
        return self.programs.get(name) or shutil.which(name, path=self.path)


def _run(argv: list[str], timeout: float = 5.0) -> str | None:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (proc.stdout or proc.stderr) if proc.returncode == 0 else None


def version_of(name: str, binary: str) -> str | None:
    out = _run([binary, *VERSION_ARGS.get(name, ("--version",))])
    if not out:
        return None
    return out.strip().splitlines()[0] if out.strip() else None


def crun_features(crun: str) -> tuple[tuple[str, ...], str | None]:
    """``crun --version``: the feature line (``+SYSTEMD ... +WASM:wasmedge``) and the version."""
    out = _run([crun, "--version"]) or ""
    version = None
    feats: tuple[str, ...] = ()
    for line in out.splitlines():
        m = re.match(r"crun version (\S+)", line)
        if m:
            version = m.group(1)
        if line.startswith(("+", "-")):
            feats = tuple(line.split())
    return feats, version


def cgroup_info() -> CgroupInfo:
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return CgroupInfo("unknown")
    v1, v2 = False, []
    for line in lines:
        left, _, right = line.partition(" - ")
        fields = left.split()
        fstype = right.split()[0] if right else ""
        if fstype == "cgroup":
            v1 = True
        elif fstype == "cgroup2" and len(fields) > 4:
            v2.append(fields[4])
    try:
        systemd = Path("/proc/1/comm").read_text().strip() == "systemd"
    except OSError:
        systemd = False
    controllers: tuple[str, ...] = ()
    if v2:
        try:
            controllers = tuple(Path(v2[0], "cgroup.controllers").read_text().split())
        except OSError:
            controllers = ()
    mode = "hybrid" if v1 and v2 else "v2" if v2 else "v1" if v1 else "none"
    return CgroupInfo(mode, v2[0] if v2 else None, controllers, systemd)


def kvm_info() -> KvmInfo:
    module = next((m for m in ("kvm_intel", "kvm_amd", "kvm_pvm") if Path("/sys/module", m).exists()), None)
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags |= {f for f in line.split(":", 1)[1].split() if f in ("vmx", "svm")}
    except OSError:
        pass
    return KvmInfo(Path("/dev/kvm").exists(), module, tuple(sorted(flags)))


def k3s_detected(root: str = "/") -> dict[str, str]:
    """The runtimes K3s would configure on its own on this node, as K3s searches for them."""
    found: dict[str, str] = {}
    for name, (dirs, binaries) in K3S_SEARCH.items():
        hit = next((Path(d, b) for b in binaries for d in dirs if Path(root, d, b).is_file()), None)
        if hit is not None:
            found[name] = "/" + str(hit)
    return found


def kubelet_cgroup_driver() -> str | None:
    path = Path("/var/lib/kubelet/config.yaml")
    try:
        m = re.search(r"^cgroupDriver:\s*(\S+)", path.read_text(), re.MULTILINE)
    except OSError:
        return None
    return m.group(1) if m else None


def gather(path: str | None = None, *, live: bool = True, socket: str = CONTAINERD_SOCKET,
           config: str | None = None) -> NodeFacts:
    """Probe the node. ``path`` replaces ``$PATH`` for finding programs (tests use fake binaries);
    ``socket``/``config`` name another containerd daemon and the config file it was started with."""
    search = path if path is not None else os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    programs = {name: p for name in PROGRAMS if (p := shutil.which(name, path=search))}
    versions: dict[str, str] = {}
    feats: tuple[str, ...] = ()
    for name, binary in programs.items():
        if name == "crun":
            feats, v = crun_features(binary)
            if v:
                versions[name] = v
        elif not name.startswith("containerd-shim"):
            v = version_of(name, binary)
            if v:
                versions[name] = v
    containerd_live, dump = False, None
    # Only a daemon that answers counts as live; then its effective config is what matters.
    if (live and "containerd" in programs and "ctr" in programs and Path(socket).exists()
            and _run([programs["ctr"], "--address", socket, "version"], timeout=3)):
        containerd_live = True
        dump = _run([programs["containerd"], *(["--config", config] if config else []), "config", "dump"], timeout=5)
    return NodeFacts(
        path=search, programs=programs, versions=versions, crun_features=feats, cgroups=cgroup_info(),
        kvm=kvm_info(), containerd_live=containerd_live, containerd_dump=dump,
        kubelet_cgroup_driver=kubelet_cgroup_driver(), k3s_detected=k3s_detected(),
    )
