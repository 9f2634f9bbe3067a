"""Deployment: artifacts for a decision (``generate``, ``POST /api/generate``), writing them all or
none, and the node doctor with its symptom cross-check (``doctor``, ``GET /api/doctor``)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rtadvisor.errors import InputError
from rtadvisor.model import (
    Decision,
    DoctorFinding,
    DoctorReport,
    GeneratedBundle,
    GeneratedFile,
    SymptomDiagnosis,
    SymptomReport,
)


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise InputError(f"{what} {path}: cannot read: {why}", field=what.lstrip("-")) from exc


def _overheads(runtimes: Sequence[str], db: str | None) -> dict[str, Any]:
    """Per-pod memory overhead of sandbox/VM runtimes: this node's measurement, else the kb claim."""
    from rtadvisor.k8s.overhead import OVERHEAD_RUNTIMES, pod_overheads
    from rtadvisor.kb import load
    from rtadvisor.store import try_load_evidence

    if not any(r in OVERHEAD_RUNTIMES for r in runtimes):
        return {}  # nothing to look up: do not open the store
    return pod_overheads(list(runtimes), try_load_evidence(db), load().claims)


def generate(
    decision: Decision | Mapping[str, Any] | None = None,
    *,
    runtimes: Sequence[str] | None = None,
    route: str | None = None,
    distro: str | None = None,
    name: str | None = None,
    image: str | None = None,
    containerd_config: Path | None = None,
    containerd_version: int | None = None,
    manifest: Path | None = None,
    variant: str | None = None,
    wasi_socket: bool | None = None,
    db: str | None = None,
) -> GeneratedBundle:
    """The RuntimeClass, containerd entries, Pod patches and notes for a decision (as ``recommend
    --json`` prints it), or for ``runtimes`` named directly. Nothing is written (see :func:`write_bundle`).
    """
    from dataclasses import replace

    from rtadvisor.k8s.bundle import GenerateRequest, build_bundle, request_from_decision

    if containerd_version is not None and containerd_version not in (2, 3):
        raise InputError(f"--containerd-version: expected 2 or 3, got {containerd_version}", field="containerd_version")
    overrides: dict[str, Any] = {"distro": distro, "name": name, "image": image,
                                 "containerd_version": containerd_version, "variant": variant,
                                 "wasi_socket": wasi_socket}
    if containerd_config is not None:
        overrides["existing_config"] = _read_text(containerd_config, "--containerd-config")
        overrides["existing_config_name"] = str(containerd_config)
    if manifest is not None:
        overrides["manifest"] = _read_text(manifest, "--manifest")
        overrides["manifest_name"] = str(manifest)
    if decision is not None:
        data = decision.model_dump(mode="json") if isinstance(decision, Decision) else dict(decision)
        if runtimes:
            overrides["runtimes"] = tuple(runtimes)
        if route:
            overrides["route"] = route
        try:
            request = request_from_decision(data, **overrides)
            request = replace(request, overheads=_overheads(request.runtimes, db))
            bundle = build_bundle(request)
        except InputError as exc:
            # the decision itself cannot be deployed (e.g. a runtime with no known handler)
            raise InputError(f"decision: {exc}", field="decision") from exc
    else:
        if not runtimes:
            raise InputError("generate: give a decision ('-' for stdin) or --runtime ID", field="decision")
        request = GenerateRequest(runtimes=tuple(runtimes), route=route,
                                  **{k: v for k, v in overrides.items() if v is not None})
        bundle = build_bundle(replace(request, overheads=_overheads(request.runtimes, db)))
    route_out = request.route if request.route in ("R1", "R2", "R3") else None
    return GeneratedBundle(runtime=request.runtimes[0], route=route_out,  # type: ignore[arg-type]
                           files=tuple(GeneratedFile(path=p, content=c) for p, c in bundle.files.items()),
                           summary=bundle.summary)


def write_bundle(bundle: GeneratedBundle, output: Path, *, force: bool = False) -> Path:
    """Write every file of ``bundle`` under ``output``, or none: they are staged in a temporary
    directory beside ``output`` and moved into place only when all were written."""
    out = output
    for f in bundle.files:
        rel = Path(f.path)
        if rel.is_absolute() or ".." in rel.parts:
            raise InputError(f"bundle file {f.path!r}: not a relative path inside the output directory")
    if out.exists() and not out.is_dir():
        raise InputError(f"--output {out}: exists and is not a directory", field="output")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(f"--output {out}: directory is not empty (use --force to overwrite generated files)",
                         field="output")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=".rtadvisor-generate-", dir=out.parent))
    except OSError as exc:
        raise InputError(f"--output {out}: cannot create: {exc.strerror}", field="output") from exc
    try:
        for f in bundle.files:
            path = stage / f.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f.content, encoding="utf-8")
            if f.path.endswith(".sh"):
                path.chmod(0o755)
        out.mkdir(exist_ok=True)
        for f in bundle.files:
            target = out / f.path
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / f.path, target)
    except OSError as exc:
        raise InputError(f"--output {out}: cannot write: {exc.strerror}", field="output") from exc
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return out


# --------------------------------------------------------------------------- doctor


def _finding(f: Any) -> DoctorFinding:
    return DoctorFinding.model_validate(f.to_json())


def doctor(
    *,
    containerd_config: Path | None = None,
    runtimeclasses: Sequence[Path] = (),
    use_cluster: bool = True,
) -> DoctorReport:
    """Check this node's runtimes, shims, containerd config, RuntimeClasses, cgroups and KVM
    (the given files instead of the live ones, when given)."""
    from rtadvisor.doctor import run_doctor

    report = run_doctor(containerd_config=containerd_config, runtimeclasses=list(runtimeclasses),
                        use_cluster=use_cluster)
    return DoctorReport.model_validate(report.to_json())


def diagnose(
    symptom: str,
    *,
    containerd_config: Path | None = None,
    runtimeclasses: Sequence[Path] = (),
    use_cluster: bool = True,
) -> SymptomReport:
    """The likely causes of a pasted symptom (``exec format error``, ``kubectl logs empty``), each with
    this node's warn/fail findings that may explain it (``on_this_node``)."""
    from rtadvisor.doctor import run_doctor
    from rtadvisor.doctor.symptoms import diagnose as find
    from rtadvisor.doctor.symptoms import related

    text = symptom.strip()
    if not text:
        raise InputError("--symptom: empty", field="symptom")
    diagnoses = find(text)
    node = run_doctor(containerd_config=containerd_config, runtimeclasses=list(runtimeclasses),
                      use_cluster=use_cluster).findings
    return SymptomReport(symptom=symptom, diagnoses=tuple(
        SymptomDiagnosis(**d.to_json(), on_this_node=tuple(_finding(f) for f in related(d.id, node)))
        for d in diagnoses))
