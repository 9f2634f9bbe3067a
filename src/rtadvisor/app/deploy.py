"""Deployment: artifacts for a decision (``generate``, ``POST /api/generate``), writing them all or
none, and the node doctor with its symptom cross-check and its sweep of what dead rtadvisor runs left
(``doctor``, ``GET /api/doctor``).

Every file a user names is read through :mod:`rtadvisor.safeio` (regular files only, size limits,
bounded YAML/TOML/JSON), so the CLI and the API refuse the same inputs with the same one-line errors.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

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

#: What ``doctor`` does about the leftovers of dead rtadvisor runs (see :func:`doctor`).
Leftovers = Literal["remove", "report", "skip"]


def _overheads(runtimes: Sequence[str], db: str | None, kata_shim: str | None = None) -> dict[str, Any]:
    """Per-pod overhead of sandbox/VM runtimes: this node's measurement of that very runtime, else the
    installer's default (kata-deploy), else the kb claim."""
    from rtadvisor.k8s import upstream
    from rtadvisor.k8s.overhead import OVERHEAD_RUNTIMES, pod_overheads
    from rtadvisor.kb import load
    from rtadvisor.store import try_load_evidence

    if not any(r in OVERHEAD_RUNTIMES for r in runtimes):
        return {}  # nothing to look up: do not open the store
    return pod_overheads(list(runtimes), try_load_evidence(db), load().claims,
                         kata_shim=kata_shim or upstream.KATA_DEFAULT_SHIM)


pod_overheads = _overheads


def load_decision(source: str) -> dict[str, Any]:
    """A decision document (what ``recommend --json`` prints) from a file, or ``-`` for stdin; bounded
    (size, depth, no NaN/Infinity), one error line naming the file otherwise."""
    from rtadvisor import safeio

    where = decision_label(source)
    raw = safeio.read_stdin(what=where) if source == "-" else safeio.read_text(Path(source), what="decision")
    data = safeio.load_json(raw, where=where)
    if not isinstance(data, dict):
        kinds = {list: "a list", str: "a string", type(None): "null", bool: "a boolean", int: "a number",
                 float: "a number"}
        raise InputError(f"{where}: expected the JSON object `rtadvisor recommend --json` prints, got "
                         f"{kinds.get(type(data), type(data).__name__)}", field="decision")
    return data


def decision_label(source: str) -> str:
    """How messages name a decision read from ``source`` (a path, or ``-``)."""
    from rtadvisor.safeio import show

    return "decision on stdin" if source == "-" else f"decision {show(source)}"


def _containerd_config_text(path: Path) -> str:
    """The user's containerd config: bounded read, then checked as TOML (depth, sizes) before tomlkit,
    a pure-Python parser ~20 us a byte here, edits it. K3s/RKE2 template lines are hidden first."""
    from rtadvisor import safeio
    from rtadvisor.k8s.containerd import hide_template_actions

    text = safeio.read_text(path, what="--containerd-config", limit_name="max_config_bytes")
    body, _ = hide_template_actions(text)
    safeio.check_toml(body, where=f"--containerd-config {safeio.show(str(path))}")
    return text


def _manifest_text(path: Path) -> str:
    """The user's manifest to patch: bounded read, then nodes/depth/aliases checked for ruamel.yaml's
    round-trip loader (pure Python, ~0.1 ms a node)."""
    from rtadvisor import safeio

    text = safeio.read_text(path, what="--manifest")
    safeio.check_yaml(text, where=f"--manifest {safeio.show(str(path))}", for_edit=True)
    return text


def generate(
    decision: Decision | Mapping[str, Any] | None = None,
    *,
    runtimes: Sequence[str] | None = None,
    route: str | None = None,
    kata_hypervisor: str | None = None,
    distro: str | None = None,
    name: str | None = None,
    image: str | None = None,
    containerd_config: Path | None = None,
    containerd_version: int | None = None,
    manifest: Path | None = None,
    variant: str | None = None,
    wasi_socket: bool | None = None,
    db: str | None = None,
    decision_source: str = "decision",
) -> GeneratedBundle:
    """The RuntimeClass, containerd entries, Pod patches and notes for a decision (as ``recommend
    --json`` prints it), or for ``runtimes`` named directly. Nothing is written (see :func:`write_bundle`).

    ``containerd_config`` (a config.toml or K3s/RKE2/MicroK8s template) is merged into, keeping its
    version, comments and placeholders; ``manifest`` (the user's Pod/Deployment YAML) is patched. Bad
    input (a field of the wrong type, an unknown runtime, a config containerd could not decode) is an
    :class:`InputError` naming the file and field; ``decision_source`` names the decision in those
    messages (``decision plan.json``, ``decision on stdin``).
    """
    from rtadvisor.k8s.bundle import GenerateRequest, build_bundle, request_from_decision

    if containerd_version is not None and containerd_version not in (2, 3):
        raise InputError(f"--containerd-version: expected 2 or 3, got {containerd_version}", field="containerd_version")
    overrides: dict[str, Any] = {"distro": distro, "name": name, "image": image,
                                 "containerd_version": containerd_version, "variant": variant,
                                 "wasi_socket": wasi_socket, "kata_hypervisor": kata_hypervisor}
    if containerd_config is not None:
        overrides["existing_config"] = _containerd_config_text(containerd_config)
        overrides["existing_config_name"] = str(containerd_config)
    if manifest is not None:
        overrides["manifest"] = _manifest_text(manifest)
        overrides["manifest_name"] = str(manifest)
    if decision is not None:
        data = decision.model_dump(mode="json") if isinstance(decision, Decision) else dict(decision)
        if runtimes:
            overrides["runtimes"] = tuple(runtimes)
        if route:
            overrides["route"] = route
        # request_from_decision names the decision's fields in its errors ("decision: field 'runtime': ...")
        request = request_from_decision(data, where=decision_source, **overrides)
        bundle = build_bundle(replace(request, overheads=_overheads(request.runtimes, db, request.kata_hypervisor)))
    else:
        if not runtimes:
            raise InputError("generate: give a decision ('-' for stdin) or --runtime ID", field="decision")
        request = GenerateRequest(runtimes=tuple(runtimes), route=route,
                                  **{k: v for k, v in overrides.items() if v is not None})
        bundle = build_bundle(replace(request, overheads=_overheads(request.runtimes, db, request.kata_hypervisor)))
    route_out = request.route if request.route in ("R1", "R2", "R3") else None
    return GeneratedBundle(runtime=request.runtimes[0], route=route_out,  # type: ignore[arg-type]
                           files=tuple(GeneratedFile(path=p, content=c) for p, c in bundle.files.items()),
                           summary=bundle.summary)


def write_bundle(bundle: GeneratedBundle, output: Path, *, force: bool = False) -> Path:
    """Write every file of ``bundle`` under ``output``, or none: they are staged in a temporary
    directory beside ``output`` and moved into place only when all were written."""
    from rtadvisor.safeio import show

    out = output
    shown = show(str(out))
    for f in bundle.files:
        rel = Path(f.path)
        if rel.is_absolute() or ".." in rel.parts:
            raise InputError(f"bundle file {f.path!r}: not a relative path inside the output directory")
    if out.is_symlink() and not out.is_dir():
        raise InputError(f"--output {shown}: a symbolic link that is not to a directory", field="output")
    if out.exists() and not out.is_dir():
        raise InputError(f"--output {shown}: exists and is not a directory", field="output")
    try:
        non_empty = out.is_dir() and any(out.iterdir())
    except OSError as exc:
        raise InputError(f"--output {shown}: cannot read: {exc.strerror}", field="output") from exc
    if non_empty and not force:
        raise InputError(f"--output {shown}: directory is not empty (use --force to overwrite generated files)",
                         field="output")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=".rtadvisor-generate-", dir=out.parent))
    except OSError as exc:
        raise InputError(f"--output {shown}: cannot create: {exc.strerror}", field="output") from exc
    try:
        for f in bundle.files:
            path = stage / f.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f.content, encoding="utf-8")
            if f.path.endswith(".sh"):
                path.chmod(0o755)
        # every target checked before the first is replaced: all files or none
        for f in bundle.files:
            rel = Path(f.path)
            for depth in range(1, len(rel.parts) + 1):
                node = out / Path(*rel.parts[:depth])
                is_last = depth == len(rel.parts)
                if node.is_symlink() or (node.exists() and not (node.is_file() if is_last else node.is_dir())):
                    what = "a regular file" if is_last else "a directory"
                    raise InputError(f"--output {shown}: {show(str(Path(*rel.parts[:depth])))} exists and is not "
                                     f"{what}; nothing written", field="output")
        out.mkdir(exist_ok=True)
        for f in bundle.files:
            target = out / f.path
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / f.path, target)
    except OSError as exc:
        raise InputError(f"--output {shown}: cannot write: {exc.strerror}", field="output") from exc
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return out


# --------------------------------------------------------------------------- doctor


def _finding(f: Any) -> DoctorFinding:
    return DoctorFinding.model_validate(f.to_json())


def leftover_findings(mode: Leftovers) -> tuple[list[DoctorFinding], str]:
    """What dead rtadvisor runs left on this node (processes, mounts, containerd state, cgroups, temp
    directories: by rtadvisor's own markers only, see ``rtadvisor.bench.cleanup``), as doctor findings,
    and the ``sources`` entry saying what was done.

    ``remove`` removes them (like ``rtadvisor bench cleanup``) and reports each item removed (``info``);
    ``report`` removes nothing and reports each item found (``warn``: it holds memory, cgroups or disk);
    ``skip`` does not look.
    """
    if mode == "skip":
        return [], "not looked for (--no-cleanup)"
    from rtadvisor.bench.cleanup import summary, sweep_stale

    items = sweep_stale(dry_run=mode == "report")
    # the same words whatever the mode when there is nothing: `doctor --json` and the API then agree
    source = ("none found" if not items else f"{len(items)} found, "
              + ("removed" if mode == "remove" else "reported only (nothing removed)"))
    if not items:
        return [DoctorFinding(id="leftovers", area="leftovers", status="ok",
                              title="nothing left by earlier, dead rtadvisor runs (processes, mounts, cgroups, "
                                    "temp directories)")], source
    findings: list[DoctorFinding] = []
    failed = [i for i in items if not i.removed and i.error]
    if mode == "remove":
        status: Literal["info", "warn"] = "warn" if failed else "info"
        title = summary(items)
        detail = "an earlier rtadvisor was killed (SIGKILL, OOM) before it could clean up; removed by its markers"
        fix = "see the errors above; `rtadvisor bench cleanup` retries" if failed else None
    else:
        status = "warn"
        title = summary(items).replace("removed ", "found ", 1)
        detail = "an earlier rtadvisor was killed (SIGKILL, OOM) before it could clean up; they hold memory, " \
                 "cgroups or disk space until removed"
        fix = "rtadvisor doctor (without --dry-run), or rtadvisor bench cleanup"
    findings.append(DoctorFinding(id="leftovers", area="leftovers", status=status, title=title, detail=detail,
                                  fix=fix))
    for n, item in enumerate(items, 1):
        done = "removed" if item.removed else ("could not remove" if item.error else "found")
        findings.append(DoctorFinding(
            id=f"leftover-{n}", area="leftovers",
            status="info" if item.removed else "warn",
            title=f"{done} {item.kind} {item.what}", detail=f"{item.owner}" + (f"; {item.error}" if item.error else "")))
    return findings, source


def _report(findings: Sequence[DoctorFinding], sources: Mapping[str, str]) -> DoctorReport:
    """The report of ``findings``, worst and exit code as the doctor computes them (doctor.checks)."""
    rank = {"ok": 0, "info": 0, "warn": 1, "fail": 2}
    worst = max(findings, key=lambda f: rank[f.status]).status if findings else "ok"
    counts = {s: sum(1 for f in findings if f.status == s) for s in ("ok", "info", "warn", "fail")}
    return DoctorReport(worst=worst, exit_code={0: 0, 1: 1, 2: 3}[rank[worst]], counts=counts,
                        sources=dict(sources), findings=tuple(findings))


def doctor(
    *,
    containerd_config: Path | None = None,
    runtimeclasses: Sequence[Path] = (),
    use_cluster: bool = True,
    leftovers: Leftovers = "report",
) -> DoctorReport:
    """Check this node's runtimes, shims, containerd config, RuntimeClasses, cgroups and KVM (the given
    files instead of the live ones, when given), and look for what dead rtadvisor runs left.

    ``leftovers`` (see :func:`leftover_findings`) defaults to ``report``: a caller that does not say
    otherwise never removes anything (``GET /api/doctor`` is such a caller). ``rtadvisor doctor``
    passes ``remove`` (``--dry-run``: ``report``; ``--no-cleanup``: ``skip``).
    """
    from rtadvisor.doctor import run_doctor

    report = run_doctor(containerd_config=containerd_config, runtimeclasses=list(runtimeclasses),
                        use_cluster=use_cluster)
    node = DoctorReport.model_validate(report.to_json())
    extra, source = leftover_findings(leftovers)
    if leftovers == "skip":
        return node.model_copy(update={"sources": {**node.sources, "leftovers": source}})
    return _report((*node.findings, *extra), {**node.sources, "leftovers": source})


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
