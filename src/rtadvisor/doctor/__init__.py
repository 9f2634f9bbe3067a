"""Node doctor: is this node able to run the runtimes rtadvisor recommends, and if not, why and how to fix it.

>>> from rtadvisor.doctor import run_doctor
>>> report = run_doctor()            # doctest: +SKIP
>>> report.exit_code in (0, 1, 3)    # doctest: +SKIP
True

Exit codes: 0 = nothing worse than ``info``; 1 = at least one ``warn``; 3 = at least one ``fail``
(2 stays reserved for bad input, as everywhere in rtadvisor).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rtadvisor.k8s.upstream import CRUN_WASM_ENGINES, K3S_RUNTIME_CLASSES

from .checks import (
    ConfigView,
    Finding,
    as_list,
    check_cgroups,
    check_class_conflicts,
    check_containerd_config,
    check_crun,
    check_k3s,
    check_kvm,
    check_programs,
    check_runtime_classes,
    exit_code,
    read_runtime_classes,
    runtime_classes_from_docs,
    worst,
)
from .facts import CONTAINERD_CONFIGS, NodeFacts, gather

__all__ = ["DoctorReport", "Finding", "run_doctor"]


@dataclass(frozen=True)
class DoctorReport:
    findings: list[Finding]
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def worst(self) -> str:
        return worst(self.findings)

    @property
    def exit_code(self) -> int:
        return exit_code(self.findings)

    def to_json(self) -> dict[str, Any]:
        counts = {s: sum(1 for f in self.findings if f.status == s) for s in ("ok", "info", "warn", "fail")}
        return {"worst": self.worst, "exit_code": self.exit_code, "counts": counts, "sources": self.sources,
                "findings": [f.to_json() for f in self.findings]}


def _load_yaml_docs(path: Path) -> list[Any]:
    from rtadvisor import safeio

    # bounded (rtadvisor.safeio): regular file, size, node/depth/alias limits
    text = safeio.read_text(path, what="--runtimeclasses")
    return safeio.load_yaml_all(text, where=f"--runtimeclasses {safeio.show(str(path))}")


def _cluster_runtime_classes() -> tuple[list[dict[str, Any]] | None, str]:
    """RuntimeClasses from the cluster when a kubeconfig works; else (None, why not)."""
    kubectl = shutil.which("kubectl")
    kubeconfig = os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
    if kubectl is None:
        return None, "kubectl not installed"
    if not any(Path(p).is_file() for p in kubeconfig.split(os.pathsep)):
        return None, f"no kubeconfig ({kubeconfig})"
    try:
        proc = subprocess.run([kubectl, "get", "runtimeclass", "-o", "json", "--request-timeout=5s"],
                              capture_output=True, text=True, timeout=10, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None, "cluster did not answer in time"
    if proc.returncode != 0:
        return None, "kubectl failed: " + (proc.stderr.strip().splitlines() or ["?"])[-1]
    try:
        return runtime_classes_from_docs([json.loads(proc.stdout)]), "cluster"
    except json.JSONDecodeError:
        return None, "kubectl printed no JSON"


def run_doctor(
    *,
    containerd_config: Path | None = None,
    runtimeclasses: list[Path] | None = None,
    facts: NodeFacts | None = None,
    use_cluster: bool = True,
) -> DoctorReport:
    """Inspect the node (or the given files instead of the live ones) and return every finding."""
    facts = facts or gather()
    findings: list[Finding] = []
    sources: dict[str, str] = {}
    findings += check_programs(facts)

    # containerd: the given file, else the live daemon's effective config, else the on-disk one.
    view: ConfigView | None = None
    text, source = None, None
    from rtadvisor import safeio

    if containerd_config is not None:
        text = safeio.read_text(containerd_config, what="--containerd-config", limit_name="max_config_bytes")
        source = str(containerd_config)
    elif facts.containerd_live and facts.containerd_dump:
        text, source = facts.containerd_dump, "containerd config dump (live daemon)"
    else:
        for candidate in CONTAINERD_CONFIGS:
            if Path(candidate).is_file():
                text = safeio.read_text(candidate, limit_name="max_config_bytes")
                source = candidate
                break
    if text is not None and source is not None:
        sources["containerd"] = source
        more, view = check_containerd_config(text, source, facts)
        findings += more
    else:
        sources["containerd"] = "none"
        findings.append(Finding("containerd-config", "containerd", "info",
                                "no containerd config found (no daemon answering, no /etc/containerd/config.toml)",
                                "containerd then runs with built-in defaults: only runc",
                                "containerd config default > /etc/containerd/config.toml"))

    wasm_runtimes = [name for name, t in (view.runtimes.items() if view is not None else ())
                     if any("module.wasm.image" in str(a) for a in as_list(t.get("pod_annotations")))]
    engines = tuple(sorted({n.removeprefix("crun-") for n in wasm_runtimes
                            if n.removeprefix("crun-") in CRUN_WASM_ENGINES}))
    vm_wanted = view is not None and any("kata" in str(t.get("runtime_type", "")) for t in view.runtimes.values())
    findings += check_crun(facts, wasm_wanted=bool(wasm_runtimes), engines=engines)

    # RuntimeClasses: the files given, else the cluster if a kubeconfig works.
    if runtimeclasses:
        shipped = dict(K3S_RUNTIME_CLASSES) if facts.k3s_installed else {}
        for path in runtimeclasses:
            classes, invalid = read_runtime_classes(_load_yaml_docs(path), str(path))
            findings += invalid
            if classes or not invalid:
                findings += check_runtime_classes(classes, str(path), view)
            findings += check_class_conflicts(classes, str(path), shipped, "K3s/RKE2 (manifests/runtimes.yaml)")
        sources["runtimeclasses"] = ", ".join(str(p) for p in runtimeclasses)
    else:
        cluster, why = _cluster_runtime_classes() if use_cluster else (None, "cluster lookup disabled")
        if cluster is None:
            findings.append(Finding("runtimeclasses", "runtimeclass", "info",
                                    f"RuntimeClasses not checked: {why}",
                                    fix="pass --runtimeclasses FILE.yaml (e.g. the generated runtimeclass.yaml)"))
            sources["runtimeclasses"] = f"not checked ({why})"
        else:
            findings += check_runtime_classes(cluster, "cluster", view)
            sources["runtimeclasses"] = "cluster (kubectl)"

    findings += check_cgroups(facts, view)
    findings += check_kvm(facts, vm_wanted=vm_wanted)
    findings += check_k3s(facts)
    return DoctorReport(findings, sources)
