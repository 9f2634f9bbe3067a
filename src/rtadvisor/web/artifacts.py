"""Artifact generation and the node doctor, as the web layer calls them (deploy area)."""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from rtadvisor.model import Decision

from .convert import plain
from .errors import ServiceUnavailable


def _module(name: str, what: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ServiceUnavailable(what, f"module {name} is not installed ({exc})") from exc


def render_files(decision: Decision, db: str | None = None) -> list[dict[str, str]]:
    """The deployment artifacts of a decision as ``[{"path", "content"}]``: what ``rtadvisor generate`` writes.

    Pod overheads of sandbox/VM runtimes come from this node's store (``db``) when it has them,
    else from the knowledge base's claims (the generated NOTES.md says which).
    """
    bundle_mod = _module("rtadvisor.k8s.bundle", "artifact generation")
    from rtadvisor import kb
    from rtadvisor.k8s.overhead import pod_overheads
    from rtadvisor.store import try_load_evidence

    request = bundle_mod.request_from_decision(decision.model_dump(mode="json"))
    overheads = pod_overheads(request.runtimes, try_load_evidence(db), kb.load().claims)
    bundle = bundle_mod.build_bundle(dataclasses.replace(request, overheads=overheads))
    return _as_files(bundle.files)


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


def run_doctor(symptom: str | None = None) -> dict[str, Any]:
    """This node's doctor report (``rtadvisor doctor --json``), or the diagnoses of a symptom."""
    if symptom:
        symptoms = _module("rtadvisor.doctor.symptoms", "node doctor")
        return {"symptom": symptom, "diagnoses": [d.to_json() for d in symptoms.diagnose(symptom)]}
    doctor = _module("rtadvisor.doctor", "node doctor")
    report = doctor.run_doctor(use_cluster=False)
    return dict(plain(report.to_json()))
