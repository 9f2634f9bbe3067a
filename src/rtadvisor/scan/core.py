"""The scan itself: files -> objects -> inferred profiles -> decisions -> findings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rtadvisor import safeio
from rtadvisor.errors import RtadvisorError
from rtadvisor.model import Decision

from .advise import (
    GENERIC_WASM_CLASSES,
    R2_CLASSES,
    RUNWASI_CLASSES,
    SANDBOXES,
    VMS,
    WASM_RUNTIMES,
    DecisionCache,
    Recommend,
    class_matches,
    isolation_rank,
    one_line_reason,
    runtime_class_for,
    runtime_of_class,
)
from .infer import WASM_VARIANT, Inference, InferenceError, Inferred, infer
from .reader import Input, KubeObject, Problem, Unreadable, classify, expand_paths, iter_objects, read_text

# ok: the current class selects the recommended runtime; mismatch: it does not; choice: it selects
# another runtime the team chose on purpose and that isolates at least as well (gVisor or Kata
# where a container would do, another runwasi engine for a Wasm module): reported, never "fixed".
Status = Literal["ok", "mismatch", "choice"]


@dataclass(frozen=True)
class Warning_:
    """A finding of lower severity attached to a workload (SARIF level ``note``)."""

    rule: str  # a rule name of report.RULES with level note (host-access, unknown-runtime-class, ...)
    message: str


@dataclass(frozen=True)
class Finding:
    """The advice for one workload."""

    file: str
    path: Path | None
    line: int
    doc_index: int
    item_index: int | None
    kind: str
    name: str
    namespace: str | None
    current_runtime_class: str | None
    recommended_runtime: str
    recommended_runtime_class: str | None
    route: str | None
    architecture: str
    status: Status
    reason: str
    inferred: dict[str, Inferred]
    warnings: tuple[Warning_, ...] = ()
    fixable: bool = False
    fix_note: str | None = None
    needs_wasm_annotation: bool = False
    pod_spec_path: tuple[str, ...] = ()
    template_meta_path: tuple[str, ...] = ()

    @property
    def workload(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{ns}{self.name}"

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "kind": self.kind,
            "name": self.name,
            "namespace": self.namespace,
            "current_runtime_class": self.current_runtime_class,
            "recommended_runtime": self.recommended_runtime,
            "recommended_runtime_class": self.recommended_runtime_class,
            "route": self.route,
            "architecture": self.architecture,
            "status": self.status,
            "reason": self.reason,
            "inferred": {k: v.as_json() for k, v in self.inferred.items()},
            "warnings": [{"rule": w.rule, "message": w.message} for w in self.warnings],
            "fixable": self.fixable,
            "fix_note": self.fix_note,
        }


@dataclass(frozen=True)
class Ignored:
    file: str
    line: int
    kind: str
    name: str
    namespace: str | None
    source: str

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "kind": self.kind, "name": self.name, "namespace": self.namespace, "source": self.source}


@dataclass
class ScanResult:
    """Findings, ignored workloads, problems (skipped input) and counts."""

    findings: list[Finding] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    documents: int = 0
    other_objects: int = 0
    cache_hits: int = 0
    cache_misses: int = 0

    def summary(self) -> dict[str, Any]:
        statuses = Counter(f.status for f in self.findings)
        return {
            "files": self.files,
            "objects": len(self.findings) + len(self.ignored) + self.other_objects,
            "workloads": len(self.findings) + len(self.ignored),
            "ok": statuses.get("ok", 0),
            "mismatch": statuses.get("mismatch", 0),
            "choice": statuses.get("choice", 0),
            "warnings": sum(len(f.warnings) for f in self.findings),
            "ignored": len(self.ignored),
            "skipped": len(self.problems),
            "other_objects": self.other_objects,
            "distinct_profiles": self.cache_misses,
        }


def scan(paths: Sequence[str], recommend: Recommend | None = None) -> ScanResult:
    """Scan files/directories/``-`` and return the advice for every workload found.

    ``recommend`` defaults to the real engine (``rtadvisor.decide.recommend`` with the packaged kb).
    Nothing here raises for bad input: unreadable files, invalid YAML, non-Kubernetes documents,
    unknown kinds and malformed values become ``ScanResult.problems`` and the scan goes on.
    """
    if recommend is None:
        from .advise import engine

        recommend = engine()
    cache = DecisionCache(recommend)
    inputs, problems = expand_paths(paths)
    result = ScanResult(problems=list(problems))
    lim = safeio.limits()  # once per scan, not per file
    for src in inputs:
        _scan_input(src, cache, result, lim)
    result.cache_hits, result.cache_misses = cache.hits, cache.misses
    return result


def _scan_input(src: Input, cache: DecisionCache, result: ScanResult, lim: safeio.Limits) -> None:
    try:
        text = read_text(src, lim)
    except Unreadable as exc:
        result.problems.append(Problem(src.display, None, "unreadable", f"cannot read: {exc}"))
        return
    result.files += 1
    for item in iter_objects(src, text, lim=lim):
        if isinstance(item, Problem):
            result.problems.append(item)
            continue
        what = classify(item)
        if what == "other":
            result.other_objects += 1
        elif what == "unknown-kind":
            result.problems.append(
                Problem(
                    src.display, item.line_of(("kind",)), "unknown-kind",
                    f"unknown kind {item.kind!r} for apiVersion {item.data.get('apiVersion')!r}",
                    kind=item.kind, name=_name(item.data),
                )
            )
        else:
            _advise(item, cache, result)


def _name(data: dict[str, Any]) -> str | None:
    meta = data.get("metadata")
    return str(meta.get("name")) if isinstance(meta, dict) and meta.get("name") else None


def _advise(obj: KubeObject, cache: DecisionCache, result: ScanResult) -> None:
    try:
        inf = infer(obj.data)
    except InferenceError as exc:
        result.problems.append(Problem(obj.file, obj.line_of(exc.path), exc.rule, str(exc), kind=obj.kind, name=_name(obj.data)))
        return
    if inf.ignored is not None:
        result.ignored.append(Ignored(obj.file, obj.line, inf.kind, inf.name, inf.namespace, inf.ignored.source))
        return
    assert inf.workload is not None
    try:
        decision = cache(inf.workload)
    except RtadvisorError as exc:
        result.problems.append(Problem(obj.file, obj.line, "no-decision", f"no decision for the inferred profile: {exc}", kind=obj.kind, name=_name(obj.data)))
        return
    result.findings.append(make_finding(obj, inf, decision))


def make_finding(obj: KubeObject, inf: Inference, decision: Decision) -> Finding:
    """Compare the decision with what the manifest runs today and decide what --fix may change."""
    runtime, route = decision.runtime, decision.route
    if runtime in WASM_RUNTIMES and route is None:
        route = "R2"
    current = inf.current_runtime_class
    wanted = runtime_class_for(runtime, route)
    warnings: list[Warning_] = []
    matches = class_matches(current, runtime, route)
    needs_annotation = False
    fixable = False
    note: str | None = None

    current_runtime = runtime_of_class(current)
    # A Wasm module already on a Wasm class (a runwasi/KWasm/SpinKube class: route R3 with that
    # class's engine; crun-wasm: route R2) keeps its route: it is never "fixed" onto another class.
    # KWasm's and OpenShift's crun class with the Wasm annotation is crun's Wasm handler too (route R2).
    current_route: Literal["R1", "R2", "R3"] | None = ("R3" if current in RUNWASI_CLASSES else
                     "R2" if current in R2_CLASSES or (current == "crun" and inf.is_wasm) else None) if current else None
    on_wasm_class = inf.is_wasm_like and current_route is not None
    if on_wasm_class and runtime in WASM_RUNTIMES and not matches and class_matches(current, runtime, current_route):
        route, matches, wanted = current_route, True, current  # same engine, the team's route
    if current_runtime is None:
        warnings.append(Warning_("unknown-runtime-class", f"runtimeClassName {current!r} is not a RuntimeClass rtadvisor knows; cannot tell which runtime it selects"))
    host = inf.host_access
    if host and (runtime in SANDBOXES or any("P-host-access" in c.id for c in decision.conflicts)):
        what = (f"{runtime} cannot give this workload the host access it asks for" if runtime in SANDBOXES else
                "it needs the host and runs code that should be sandboxed; no runtime can do both")
        warnings.append(Warning_("host-access", f"{what}: {'; '.join(host)}"))
    if runtime in WASM_RUNTIMES and not inf.is_wasm:
        src = inf.fields["artifact"].source if "artifact" in inf.fields else "containers"
        warnings.append(Warning_("not-wasm-artifact", f"{runtime} runs Wasm modules but the image is an OCI Linux image ({src}); port the workload to Wasm first"))
    if inf.is_wasm and runtime not in WASM_RUNTIMES:
        src = inf.fields["artifact"].source
        warnings.append(Warning_("wasm-artifact-on-container", f"the workload is a Wasm module ({src}) but {runtime} runs Linux containers; it works only as route R1 (an image that carries a Wasm engine)"))
    status: Status = "ok" if matches else "mismatch"
    chosen_why = None if matches else _team_choice(inf, current, current_runtime, runtime, current_route)
    if chosen_why:
        status = "choice"
    effective_route = current_route if status == "choice" and on_wasm_class else route
    if effective_route == "R2" and (runtime in WASM_RUNTIMES or on_wasm_class):
        ann = _template_annotations(obj.data, inf.template_meta_path)
        needs_annotation = ann.get(WASM_VARIANT) != "compat-smart"
        if needs_annotation and (matches or status == "choice"):
            warnings.append(Warning_("wasm-annotation-missing", f"route R2 needs the pod annotation {WASM_VARIANT}: compat-smart so crun hands the container to its Wasm engine"))

    needs_change = status == "mismatch" or (needs_annotation and status in ("ok", "choice") and effective_route == "R2")
    if status == "choice":
        note = chosen_why
    if needs_change:
        device_or_gpu = inf.fields.get("gpu") is not None or "devices" in inf.fields
        if obj.path is None:
            note = "read from stdin: nothing to write back"
        elif inf.kind == "SpinApp":
            note = "not changed by --fix: a SpinApp runs on its executor (spec.executor), not a runtimeClassName"
        elif host and runtime in SANDBOXES:
            note = "not changed by --fix: the workload needs host access the recommended runtime cannot give"
        elif status == "mismatch" and device_or_gpu and runtime in VMS and current_runtime not in VMS:
            # Moving a GPU job or a device workload into a VM needs passthrough set up first (VFIO,
            # IOMMU, a device plugin that hands out VFIO devices): advice, never an automatic edit.
            note = f"not changed by --fix: moving a GPU or device workload into {runtime} needs VFIO passthrough set up first"
        elif status == "mismatch" and runtime in WASM_RUNTIMES and not inf.is_wasm:
            note = "not changed by --fix: the workload is not a Wasm module yet"
        elif status == "mismatch" and inf.is_wasm and runtime not in WASM_RUNTIMES:
            note = f"not changed by --fix: the workload is a Wasm module; moving it to {runtime} needs an R1 image first"
        elif status == "mismatch" and current_runtime is not None and isolation_rank(current_runtime) > isolation_rank(runtime):
            note = (
                f"not changed by --fix: {current} isolates more strongly than {runtime}; "
                "state the need with rtadvisor.io/isolation or switch by hand"
            )
        elif status == "mismatch" and current_runtime is None:
            note = f"not changed by --fix: unknown runtimeClassName {current!r}"
        else:
            fixable = True
    return Finding(
        file=obj.file,
        path=obj.path,
        line=obj.line,
        doc_index=obj.doc_index,
        item_index=obj.item_index,
        kind=inf.kind,
        name=inf.name,
        namespace=inf.namespace,
        current_runtime_class=current,
        recommended_runtime=runtime,
        recommended_runtime_class=wanted,
        route=route,
        architecture=decision.architecture,
        status=status,
        reason=one_line_reason(decision),
        inferred=inf.fields | inf.hints,
        warnings=tuple(warnings),
        fixable=fixable,
        fix_note=note,
        needs_wasm_annotation=needs_annotation and fixable,
        pod_spec_path=inf.pod_spec_path,
        template_meta_path=inf.template_meta_path,
    )


def _team_choice(inf: Inference, current: str | None, current_runtime: str | None, runtime: str,
                 current_route: str | None) -> str | None:
    """Why the current class is the team's own, defensible choice rather than a mismatch (or None)."""
    if current_runtime is None or current is None:
        return None
    if inf.is_wasm_like and current_route is not None:
        via = ("crun's Wasm handler" if current_route == "R2" else "a runwasi shim" if current in GENERIC_WASM_CLASSES
               else f"the runwasi shim of {RUNWASI_CLASSES[current]}")
        return (f"the team runs it on {via} (RuntimeClass {current}, route {current_route}); a Wasm workload is "
                f"never moved off its Wasm class by --fix" + (f" ({runtime} would also fit)" if runtime in WASM_RUNTIMES else ""))
    if inf.host_access:
        return None
    if current_runtime in SANDBOXES and runtime not in SANDBOXES and isolation_rank(current_runtime) >= isolation_rank(runtime):
        return (f"the team chose {current_runtime} (RuntimeClass {current}), which isolates more strongly than "
                f"{runtime}; a stronger runtime is a choice, not a mismatch")
    if (current_runtime in VMS and runtime == "gvisor") or (current_runtime == "gvisor" and runtime in VMS):
        return (f"the team chose {current_runtime} (RuntimeClass {current}); both {current_runtime} and {runtime} "
                f"sandbox it, and the facts the manifest states do not decide between them")
    return None


def _template_annotations(data: dict[str, Any], meta_path: tuple[str, ...]) -> dict[str, Any]:
    node: Any = data
    for key in meta_path:
        node = node.get(key) if isinstance(node, dict) else None
    ann = node.get("annotations") if isinstance(node, dict) else None
    return ann if isinstance(ann, dict) else {}
