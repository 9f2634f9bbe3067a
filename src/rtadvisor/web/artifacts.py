"""Artifact generation and the node doctor, as the web layer calls them (deploy area)."""

from __future__ import annotations

import importlib
from typing import Any

from rtadvisor.model import Decision, Evidence

from .convert import plain
from .errors import ServiceUnavailable


def _module(name: str, what: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ServiceUnavailable(what, f"module {name} is not installed ({exc})") from exc


def render_files(decision: Decision, kb: Any = None, evidence: Evidence | None = None) -> list[dict[str, str]]:
    """The deployment artifacts of a decision as ``[{"path", "content"}]`` (text files)."""
    bundle_mod = _module("rtadvisor.k8s.bundle", "artifact generation")
    request_cls = getattr(bundle_mod, "GenerateRequest", None)
    build = getattr(bundle_mod, "build_bundle", None)
    if request_cls is None or build is None:
        raise ServiceUnavailable("artifact generation", "rtadvisor.k8s.bundle has no build_bundle")
    request = request_cls(
        runtimes=(decision.runtime,),
        route=decision.route,
        name=_dns_label(decision.workload.name),
        decision=decision.model_dump(mode="json"),
    )
    return _as_files(build(request).files)


def _dns_label(name: str) -> str:
    """A workload name as a Kubernetes DNS label (lower-case alphanumerics and '-', <= 63 chars)."""
    out = "".join(ch if ch.isalnum() and ch.isascii() else "-" for ch in name.lower())
    out = "-".join(part for part in out.split("-") if part)[:63].strip("-")
    return out or "app"


def _as_files(files: Any) -> list[dict[str, str]]:
    if isinstance(files, dict):
        items = list(files.items())
    else:
        items = [(getattr(f, "path", None) or getattr(f, "name", None), getattr(f, "content", None)) for f in files]
    out = []
    for path, content in items:
        if isinstance(content, bytes):
            content = content.decode("utf-8", errors="replace")
        out.append({"path": str(path), "content": str(content)})
    return out


def run_doctor() -> Any:
    """This node's doctor report (checks with ok/warn/fail and fixes)."""
    doctor = _module("rtadvisor.doctor", "node doctor")
    fn = getattr(doctor, "run", None) or getattr(doctor, "diagnose", None)
    if fn is None:
        raise ServiceUnavailable("node doctor", "rtadvisor.doctor has no run function")
    return plain(fn())
