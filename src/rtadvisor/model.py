"""Plain domain types shared by every layer.

The boundary types (``Workload`` in, ``Decision`` out, ``Claim``, ``Measurement``) are pydantic v2
models so that profiles, JSON output and the HTTP API share one validated shape. This module imports
nothing of ours.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SourceTag = Literal["S-select", "S-cases", "S-network", "S-wasm", "measured", "derived"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- workload profile


class Scenario(str, Enum):
    edge = "edge"
    serverless = "serverless"
    ai_inference = "ai-inference"
    microservices = "microservices"
    enterprise = "enterprise"
    dl_training = "dl-training"
    multitenant_gpu = "multitenant-gpu"
    general = "general"


class Stage(str, Enum):
    development = "development"
    ci = "ci"
    production = "production"
    large_scale = "large-scale"
    edge = "edge"
    newest_k8s = "newest-k8s"


class Isolation(str, Enum):
    standard = "standard"
    strong = "strong"


class Gpu(str, Enum):
    none = "none"
    shared = "shared"
    passthrough = "passthrough"
    vgpu = "vgpu"
    sriov = "sriov"


class Device(str, Enum):
    usb = "usb"
    pci = "pci"


class KernelFeature(str, Enum):
    io_uring = "io_uring"
    epoll = "epoll"


class Artifact(str, Enum):
    oci_image = "oci-image"
    wasm = "wasm"


class Workload(_Frozen):
    """What a workload needs. Every field but ``name`` is optional.

    >>> Workload(name="thumbnailer", scenario="serverless", memory_mb=64, cold_start_slo_ms=50)
    Workload(name='thumbnailer', ...)
    """

    name: str = Field(min_length=1)
    scenario: Scenario = Scenario.general
    stage: Stage = Stage.production
    memory_mb: float | None = Field(default=None, gt=0)
    cpu_cores: float | None = Field(default=None, gt=0)
    cold_start_slo_ms: float | None = Field(default=None, gt=0)
    isolation: Isolation = Isolation.standard
    untrusted_code: bool = False
    gpu: Gpu = Gpu.none
    devices: tuple[Device, ...] = ()
    kernel_features: tuple[KernelFeature, ...] = ()
    services: int | None = Field(default=None, ge=1)
    multi_os: bool = False
    offline: bool = False
    artifact: Artifact | None = None
    # Inter-service governance needs (S-cases mesh rule); None = assumed when services > 50.
    governance: bool | None = None


# --------------------------------------------------------------------------- claims and evidence


class Claim(_Frozen):
    """A number stated by a source document: kept with its source, never trusted blindly."""

    id: str
    subject: str  # a runtime id, or a reference workload such as "alpine-container"
    metric: str  # cold_start, memory, image_size, density, cpu_spike, latency, performance, ...
    value: float | None = None
    low: float | None = None
    high: float | None = None
    unit: str
    conditions: str = ""
    source: SourceTag
    text: str = ""  # the statement as the source puts it


class Measurement(_Frozen):
    """One measured figure on this node, with where it came from."""

    runtime: str
    metric: str  # cold_start_ms, pss_mb, per_instance_mb, artifact_bytes, density, cpu_ms
    value: float
    unit: str
    n: int = 1
    method: str = ""
    run_id: str | None = None
    host: str | None = None
    date: str | None = None
    emulated: bool = False


class Evidence(_Frozen):
    """The measurements of one node that a decision may use instead of claims."""

    measurements: tuple[Measurement, ...] = ()
    host: dict[str, Any] = Field(default_factory=dict)

    def get(self, runtime: str, metric: str) -> Measurement | None:
        for m in self.measurements:
            if m.runtime == runtime and m.metric == metric:
                return m
        return None


# --------------------------------------------------------------------------- decision


class TraceStep(_Frozen):
    """One step of a decision: a rule or tree node, the question asked and the answer found."""

    step: int
    kind: Literal["constraint", "tree", "scenario", "case", "score", "route", "mesh", "conflict", "evidence", "guard"]
    rule: str  # rule or node id, e.g. "HC-devices", "tree:resource-constrained"
    question: str
    answer: str
    threshold: str | None = None
    source: SourceTag | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class Alternative(_Frozen):
    runtime: str
    score: float
    rank: int
    contributions: dict[str, float]  # criterion -> weighted contribution to the score
    architecture: str | None = None
    excluded: str | None = None  # why a hard constraint ruled it out, if it did
    topsis: float | None = None  # TOPSIS closeness (0..1) on the same criteria, for comparison
    values: dict[str, Any] = Field(default_factory=dict)  # criterion -> raw value with its origin


class Conflict(_Frozen):
    id: str
    topic: str
    positions: dict[str, str]  # source tag -> what that source says
    winner: str  # the source tag or rule that won
    why: str


class ConstraintHit(_Frozen):
    id: str
    rule: str
    requires: str
    because: str
    source: SourceTag


class Decision(_Frozen):
    """The engine's answer; ``model_dump(mode="json")`` is what ``recommend --json`` prints."""

    workload: Workload
    runtime: str
    architecture: str
    route: Literal["R1", "R2", "R3"] | None = None
    service_mesh: tuple[str, ...] | None = None
    alternatives: tuple[Alternative, ...] = ()
    trace: tuple[TraceStep, ...] = ()
    constraints: tuple[ConstraintHit, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    claims: tuple[Claim, ...] = ()
    evidence_used: bool = False
