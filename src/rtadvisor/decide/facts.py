"""From what a profile says (:class:`~rtadvisor.model.Workload`, where ``None`` is *unknown*) to the
facts a rulebook reads (:class:`Facts`, every field concrete), with the assumptions made on the way.

Each rulebook reads unknowns its own way: the sources' rules treat a field they are not told as
"not given" (no devices, trusted code, standard isolation, the artifact unknown), which is what
they were written with; the practice rulebook assumes what its data file says (a Linux image,
trusted code, no /dev/kvm on the nodes, ...) and the engine then checks which of those assumptions
the answer depends on. Node evidence (``rtadvisor bench`` results) can fill a node fact such as
hardware virtualization instead of an assumption.

``holds`` evaluates a rule's ``when`` mapping (the vocabulary is :data:`rtadvisor.kb.schema.FACT_NAMES`).
Pure: no I/O.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from enum import Enum
from typing import Any

from rtadvisor.model import (
    Artifact,
    Assumption,
    Device,
    Evidence,
    Gpu,
    Isolation,
    KernelFeature,
    Scenario,
    Stage,
    Workload,
)

WASM_ARTIFACTS = (Artifact.wasm, Artifact.spin)
DEVICE_GPU = (Gpu.passthrough, Gpu.vgpu, Gpu.sriov)


@dataclass(frozen=True)
class Facts:
    """The workload's needs with every unknown filled in (hashable: the engine memoises on it)."""

    name: str
    scenario: Scenario
    stage: Stage
    memory_mb: float | None
    cpu_cores: float | None
    cold_start_slo_ms: float | None
    isolation: Isolation
    untrusted_code: bool
    multi_tenant: bool
    host_access: bool
    gpu: Gpu
    devices: tuple[Device, ...]
    kernel_features: tuple[KernelFeature, ...]
    services: int | None
    multi_os: bool
    offline: bool
    artifact: Artifact | None  # None only under the sources' reading: "not given"
    governance: bool | None  # None: the sources' mesh rule assumes governance when services > 50
    hardware_virtualization: bool
    assumed: frozenset[str] = frozenset()  # fields filled by an assumption, not stated or measured
    # Runtimes the measured nodes cannot run at all, with why (from Evidence.unusable).
    unusable: tuple[tuple[str, str], ...] = ()

    # ------------------------------------------------------------------ derived facts

    @property
    def tenant_boundary(self) -> bool:
        """Untrusted or tenant-isolated code: what must not reach the host kernel directly."""
        return self.untrusted_code or self.multi_tenant

    @property
    def sandbox_needed(self) -> bool:
        return self.tenant_boundary or self.isolation is Isolation.strong

    @property
    def wasm_artifact(self) -> bool:
        return self.artifact in WASM_ARTIFACTS

    def value(self, name: str) -> Any:
        """A fact by name (profile field or derived fact)."""
        return getattr(self, name)

    @functools.cached_property
    def plain_values(self) -> dict[str, Any]:
        """Every fact as plain JSON-like values (enums by value), computed once: conditions read these."""
        from rtadvisor.kb.schema import FACT_NAMES

        return {name: plain(getattr(self, name)) for name in FACT_NAMES}

    def with_(self, **changes: Any) -> Facts:
        return replace(self, **changes)


_NOT_PROFILE = ("assumed", "unusable")  # Facts fields that are not profile fields

#: How the sources' rules read a field they are not given (what the sources were written with).
SOURCES_READING: dict[str, Any] = {
    "stage": Stage.production, "isolation": Isolation.standard, "untrusted_code": False, "multi_tenant": False,
    "host_access": False, "gpu": Gpu.none, "devices": (), "kernel_features": (), "multi_os": False,
    "offline": False, "hardware_virtualization": True,
}
_SOURCES_TEXT = {
    "stage": "stage not given: the sources' route rule R*(S) falls back to production",
    "isolation": "isolation not given: read as standard (the sources have no unknown)",
    "untrusted_code": "untrusted_code not given: read as trusted code (the sources have no unknown)",
    "multi_tenant": "multi_tenant not given: the sources have no such fact (tenancy appears only as the enterprise scenario)",
    "host_access": "host_access not given: the sources have no such fact",
    "gpu": "gpu not given: read as no GPU",
    "devices": "devices not given: read as no devices",
    "kernel_features": "kernel_features not given: read as none",
    "multi_os": "multi_os not given: read as a single OS",
    "offline": "offline not given: read as connected nodes",
    "hardware_virtualization": "hardware_virtualization not given: the sources assume VMs can run",
    "artifact": "artifact not given: the sources then consider Wasm engines and OCI runtimes alike",
}
#: Unknowns the sources' answer is tested against (the same questions practice asks).
SOURCES_TRY: dict[str, tuple[Any, ...]] = {"untrusted_code": (True,), "isolation": (Isolation.strong,)}


def _coerce(field: str, value: Any) -> Any:
    """A rulebook's YAML value as the profile field's type (enum members, tuples of members)."""
    kinds: dict[str, type[Enum]] = {"stage": Stage, "isolation": Isolation, "gpu": Gpu, "artifact": Artifact,
                                    "scenario": Scenario}
    if field in kinds and value is not None:
        return kinds[field](value)
    if field == "devices":
        return tuple(Device(v) for v in value)
    if field == "kernel_features":
        return tuple(KernelFeature(v) for v in value)
    return value


def plain(value: Any) -> Any:
    """A fact value for JSON and text: enum members by value, tuples as lists."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Unknown:
    """One field the profile left unknown and what the rulebook put in its place."""

    field: str
    assumed: Any
    text: str
    try_values: tuple[Any, ...]
    if_text: str | None
    source: str = "assumed"  # or "evidence"


def node_virtualization(evidence: Evidence | None) -> tuple[bool, str] | None:
    """Whether the measured node offers hardware virtualization to a Linux guest, from bench host
    facts (``kvm`` as written by the bench: e.g. ``"kvm_pvm (no Linux guest)"``); None if unsaid."""
    if evidence is None:
        return None
    facts = evidence.host if isinstance(evidence.host, Mapping) else {}
    where = (facts.get("pool") and f"pool {facts['pool']}") or facts.get("hostname") or "the measured node"
    linux_guests = facts.get("kvm_linux_guests")
    if isinstance(linux_guests, bool):
        kvm = facts.get("kvm", "kvm")
        return linux_guests, (f"{where}: /dev/kvm ({kvm}) boots Linux guests" if linux_guests
                              else f"{where}: /dev/kvm ({kvm}) cannot boot a Linux guest")
    kvm = facts.get("kvm")
    if kvm is None:
        return None
    text = str(kvm).lower()
    host = where
    if text == "unknown":
        return None
    if not text or text in ("none", "no", "false", "absent") or "no linux guest" in text or "unusable" in text \
            or text.startswith("no "):
        return False, f"{host}: /dev/kvm {kvm}"
    return True, f"{host}: /dev/kvm {kvm}"


def resolve(w: Workload, rulebook: str, assumption_defs: tuple[Any, ...] = (),
            evidence: Evidence | None = None) -> tuple[Facts, tuple[Unknown, ...]]:
    """Fill every unknown of ``w`` the way ``rulebook`` reads it; return the facts and the unknowns."""
    values: dict[str, Any] = {f.name: getattr(w, f.name) for f in fields(Facts) if f.name not in _NOT_PROFILE}
    unknowns: list[Unknown] = []
    unusable = tuple(sorted(evidence.unusable.items())) if evidence is not None else ()
    if rulebook == "sources":
        for name, default in SOURCES_READING.items():
            if values[name] is None:
                values[name] = default
                unknowns.append(Unknown(name, default, _SOURCES_TEXT[name], SOURCES_TRY.get(name, ()), None))
        if values["artifact"] is None:
            unknowns.append(Unknown("artifact", None, _SOURCES_TEXT["artifact"], (), None))
        return Facts(**values, assumed=frozenset(u.field for u in unknowns), unusable=unusable), tuple(unknowns)
    node = node_virtualization(evidence)
    for a in assumption_defs:
        if values.get(a.field) is not None:
            continue
        if a.field == "hardware_virtualization" and node is not None:
            values[a.field] = node[0]
            unknowns.append(Unknown(a.field, node[0], f"hardware_virtualization from this node's measurements ({node[1]})",
                                    (), None, source="evidence"))
            continue
        assumed = _coerce(a.field, a.assume)
        values[a.field] = assumed
        unknowns.append(Unknown(a.field, assumed, a.text, tuple(_coerce(a.field, v) for v in a.try_), a.if_text))
    for name, default in SOURCES_READING.items():  # fields the rulebook has no assumption for
        if values[name] is None:
            values[name] = default
    return (Facts(**values, assumed=frozenset(u.field for u in unknowns if u.source == "assumed"), unusable=unusable),
            tuple(unknowns))


def as_workload(f: Facts) -> Workload:
    """The facts as a (fully known) profile, for the Decision record of a sub-decision."""
    return Workload.model_construct(**{fl.name: getattr(f, fl.name) for fl in fields(Facts) if fl.name not in _NOT_PROFILE})


def assumption(u: Unknown, changes_to: str | None, if_value: Any) -> Assumption:
    """The public record of an unknown (``changes_to``: the runtime the other answer leads to)."""
    if_text = u.if_text.format(runtime=changes_to) if (u.if_text and changes_to) else None
    return Assumption(field=u.field, assumed=plain(u.assumed), text=u.text, matters=changes_to is not None,
                      changes_to=changes_to, if_value=plain(if_value) if changes_to else None, if_text=if_text,
                      source="evidence" if u.source == "evidence" else "assumed")


# --------------------------------------------------------------------------- conditions


def holds(cond: Mapping[str, Any], facts: Facts) -> bool:
    """Does a rule's ``when`` hold for ``facts``? (Validated on load by kb.schema.check_condition.)"""
    for key, want in cond.items():
        if key == "any_of":
            if not any(holds(c, facts) for c in want):
                return False
        elif key == "all_of":
            if not all(holds(c, facts) for c in want):
                return False
        elif key == "not":
            if holds(want, facts):
                return False
        elif key == "stated":
            if set(want) & facts.assumed:
                return False
        elif not _test(facts.plain_values[key], want):
            return False
    return True


def _test(have: Any, want: Any) -> bool:
    if isinstance(want, dict):
        op, arg = next(iter(want.items()))
        items = set(have or ())
        if op == "any":
            return bool(items & set(arg))
        if op == "none":
            return not items & set(arg)
        if op == "nonempty":
            return bool(items) == bool(arg)
        if have is None:
            return False
        if op == "lt":
            return bool(have < arg)
        if op == "gt":
            return bool(have > arg)
        raise ValueError(f"unknown condition operator {op!r}")
    if isinstance(want, list):
        return have in want
    return bool(have == want)
