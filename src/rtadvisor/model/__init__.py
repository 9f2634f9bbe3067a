"""Plain domain types shared by every layer.

The boundary types (``Workload`` in, ``Decision`` out, ``Claim``, ``Measurement``) are pydantic v2
models so that profiles, JSON output and the HTTP API share one validated shape. This package imports
nothing of ours but :mod:`rtadvisor.lazy` (its loader of names from submodules).

This module holds what a decision needs (the workload, claims and evidence, the decision, the
registry of which bench backend measures which runtime). The application layer's result types
(:mod:`.results`) and the bench's typed result (:mod:`.bench`) are imported on first use of one of
their names -- ``from rtadvisor.model import BenchRun`` works as before -- because defining their
~70 pydantic classes took ~45 ms of every CLI start, ``recommend`` included, which uses none.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rtadvisor.lazy import submodule_attributes

# Where a rule or number comes from: one of the five source documents' tags, a measurement on a
# node, a derivation of rtadvisor's own, or current upstream practice (the practice rulebook; the
# rule then cites the project or document it follows).
SourceTag = Literal["S-select", "S-cases", "S-network", "S-wasm", "measured", "derived", "practice"]
RulebookId = Literal["practice", "sources"]


class _Frozen(BaseModel):
    # defer_build: a model's validator is built when first used, not at import (the CLI starts
    # faster; most commands use a handful of the types declared here).
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


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
    """Host devices a workload needs inside its pod (beyond a GPU, which is ``gpu``)."""

    usb = "usb"
    serial = "serial"  # a tty such as /dev/ttyUSB0 or /dev/ttyACM0
    video = "video"  # V4L2 cameras (/dev/video*)
    pci = "pci"  # a PCI device not listed below
    sriov_nic = "sriov-nic"  # an SR-IOV virtual function of a NIC
    rdma = "rdma"  # RDMA / InfiniBand (verbs)
    dpdk = "dpdk"  # a NIC bound to vfio-pci / uio for DPDK
    fpga = "fpga"
    qat = "qat"  # Intel QuickAssist


class KernelFeature(str, Enum):
    io_uring = "io_uring"
    epoll = "epoll"
    ebpf = "ebpf"  # loads eBPF programs (bpf(2))
    kernel_modules = "kernel_modules"  # loads or needs host kernel modules
    full_kernel_abi = "full_kernel_abi"  # needs the complete Linux syscall/ioctl/procfs surface


class Artifact(str, Enum):
    oci_image = "oci-image"  # a Linux container image (linux/amd64, linux/arm64, ...)
    wasm = "wasm"  # a WASI module or component (wasm32/wasi)
    spin = "spin"  # a Spin application (Wasm components + spin.toml), run by containerd-shim-spin


class Workload(_Frozen):
    """What a workload needs. Every field but ``name`` is optional, and a field left out (or
    ``null``) is *unknown*, not false: the decision says what it assumed for it and which answer
    would change the outcome. ``scenario`` is a prior (a label), never a fact.

    >>> Workload(name="thumbnailer", scenario="serverless", memory_mb=64, cold_start_slo_ms=50)
    Workload(name='thumbnailer', ...)
    """

    name: str = Field(min_length=1)
    scenario: Scenario = Scenario.general
    stage: Stage | None = None
    memory_mb: float | None = Field(default=None, gt=0)
    cpu_cores: float | None = Field(default=None, gt=0)
    cold_start_slo_ms: float | None = Field(default=None, gt=0)
    isolation: Isolation | None = None
    untrusted_code: bool | None = None
    # Tenants that must not reach each other share the nodes (multi-tenant SaaS, a shared CI farm).
    multi_tenant: bool | None = None
    # Needs the host itself: privileged, host namespaces, hostPath into kubelet/containerd sockets
    # (device plugins, CNI/CSI daemons, node agents).
    host_access: bool | None = None
    gpu: Gpu | None = None
    devices: tuple[Device, ...] | None = None
    kernel_features: tuple[KernelFeature, ...] | None = None
    services: int | None = Field(default=None, ge=1)
    multi_os: bool | None = None
    offline: bool | None = None
    artifact: Artifact | None = None
    # Inter-service governance needs (S-cases mesh rule); None = assumed when services > 50.
    governance: bool | None = None
    # The nodes offer hardware virtualization to pods' runtimes (/dev/kvm: bare metal or nested
    # virtualization), which Kata and full VMs need.
    hardware_virtualization: bool | None = None


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
    """The measurements of one node (or one node pool) that a decision may use instead of claims.

    ``host`` holds the node facts (``kvm``, ``kvm_linux_guests``, ``hostname``, ``pool``, ...);
    ``unusable`` names the knowledge-base runtimes that cannot run there at all, with the reason
    ("no /dev/kvm with hardware virtualization on pool edge-arm"): a decision excludes them.
    """

    measurements: tuple[Measurement, ...] = ()
    host: dict[str, Any] = Field(default_factory=dict)
    unusable: dict[str, str] = Field(default_factory=dict)

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
    # What adopting this alternative would cost the workload, when that is more than a RuntimeClass
    # (e.g. "recompile to wasm32-wasi; not possible for: io_uring"); None when nothing beyond it.
    cost: str | None = None


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


class Citation(_Frozen):
    """Where a rule comes from: a source document (``S-cases``) or an upstream project's doc."""

    source: SourceTag
    title: str  # "S-cases case table", "Kubernetes: Device Plugins", "gVisor: GPU support (nvproxy)"
    url: str | None = None


class Reason(_Frozen):
    """One reason for the verdict, in plain words; ``rule`` and ``cite`` are for ``--explain``."""

    text: str
    rule: str
    cite: tuple[Citation, ...] = ()


class Assumption(_Frozen):
    """What the decision assumed for a field the workload left unknown, and whether it mattered.

    ``changes_to`` is the runtime the decision would choose if the other answer held; ``if_text``
    says it in words ("if this runs untrusted code, the answer becomes gvisor").
    """

    field: str
    assumed: Any  # the value used in place of the unknown (JSON: a string, number, bool or list)
    text: str  # "untrusted_code not given: assumed trusted code (your own or vetted code)"
    matters: bool = False
    changes_to: str | None = None
    if_value: Any = None  # the answer that would change the decision
    if_text: str | None = None
    source: Literal["assumed", "evidence"] = "assumed"  # evidence: filled from node measurements


class NextStep(_Frozen):
    """What must change to adopt the verdict."""

    kind: Literal["runtimeclass", "node", "workload", "migration", "requirement", "slo"]
    text: str
    cite: tuple[Citation, ...] = ()


class SloCheck(_Frozen):
    """The cold-start SLO against the chosen runtime's start time (claimed or measured)."""

    slo_ms: float
    runtime: str
    value_ms: float
    met: bool
    origin: Literal["claim", "measured", "derived"]
    origin_text: str  # "claim runc-cold-start-alpine [S-wasm]" / "measured by runc on host h, n=30, 2026-..."
    emulated: bool = False  # measured on a stand-in under emulation (the TCG micro-VM)
    # Eligible runtimes (those the rules left) whose start time meets the SLO, with their figures.
    meeting: dict[str, float] = Field(default_factory=dict)


class OtherRulebook(_Frozen):
    """What the other rulebook decides for the same workload, and why it differs (or agrees)."""

    rulebook: RulebookId
    runtime: str
    architecture: str
    route: Literal["R1", "R2", "R3"] | None = None
    differs: bool
    why: str


class MeasuredFigure(_Frozen):
    """A measured isolation or steady-state overhead figure about one knowledge-base runtime, as the
    decision shows it (``recommend --evidence``), with its provenance: the bench backend it came from
    and in what sense that backend is the runtime (``relation``/``sense`` from the registry
    :data:`STAND_INS`). A ``stand_in`` figure (the emulated micro-VM for Kata or a VM) is about
    another thing of the same class, never the runtime itself; it is shown, labelled, and never
    overrides the knowledge base."""

    runtime: str  # the knowledge-base runtime the figure is shown for
    metric: str  # a key of EVIDENCE_METRICS: isolation.*, io_uring_supported, overhead.<name>_ratio
    value: float  # booleans as 1.0 / 0.0
    unit: str
    n: int = 1
    host: str | None = None
    date: str | None = None
    method: str = ""
    run_id: str | None = None
    backend: str  # the bench backend that measured it
    relation: StandInRelation = "itself"
    sense: str = ""  # "runc itself", "same VMM class (QEMU ...), not Kata: ..."
    stand_in: bool = False  # measured on a stand-in, not on the runtime itself
    emulated: bool = False  # measured under emulation (TCG)


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
    # Whose measurements the score used: "node vm" or "pool edge-arm (12 nodes)"; None without evidence.
    evidence_from: str | None = None
    # The verdict a person reads first (``recommend`` prints these; the trace is ``--explain``).
    rulebook: RulebookId = "practice"
    runtime_name: str = ""  # display name of ``runtime`` ("gVisor", "Kata Containers")
    summary: str = ""  # the verdict as one or two sentences of text
    reasons: tuple[Reason, ...] = ()  # the 1-3 reasons that decided it, in plain words
    assumptions: tuple[Assumption, ...] = ()  # every unknown field the decision filled in
    next_steps: tuple[NextStep, ...] = ()  # what must change to adopt it
    slo: SloCheck | None = None  # None when the workload states no cold-start SLO
    other_rulebook: OtherRulebook | None = None
    # With evidence: this node's measured isolation and overhead figures for the chosen runtime and the
    # eligible alternatives (and any runtime a measurement excluded), chosen runtime first.
    measured: tuple[MeasuredFigure, ...] = ()


# =========================================================================== bench results
#
# What `rtadvisor bench` measured, as one typed, versioned document (`bench --json`, the store, the
# fleet). Everything below is owned by the bench area; readers get it through
# ``rtadvisor.store.read_bench_run`` (which refuses a newer ``schema_version`` and upgrades the
# untyped version-1 documents) or through ``ResultStore.load_run``.

#: Version of the :class:`BenchRun` document. Bump it when a field changes meaning or a required
#: field is added; readers refuse documents newer than the version they know. 3: the ``isolation``
#: and ``overhead`` sections are the measurement's own models (windows, pass-through, confinement;
#: paired samples with CIs), no longer the generic metric maps reserved in version 2.
BENCH_SCHEMA_VERSION = 3

StandInRelation = Literal["itself", "through", "same-engine", "stand-in", "relative"]
_RELATION_RANK: dict[str, int] = {"itself": 3, "through": 2, "same-engine": 2, "stand-in": 1, "relative": 0}


class StandIn(_Frozen):
    """What one bench backend's figures say about one knowledge-base runtime, and in what sense.

    ``relation``, strongest first: ``itself`` (the runtime itself, run directly), ``through`` (the
    runtime itself, reached through another component, e.g. runc under containerd's shim),
    ``same-engine`` (the same engine embedded differently), ``stand-in`` (a different thing of the
    same class, e.g. a QEMU micro-VM for Kata), ``relative`` (a near relative shown for reference
    only: never a verdict, never scored).

    >>> stand_ins(backend="microvm")[0].label
    'kata <- microvm: same VMM class (QEMU, a guest kernel per instance), not Kata: no kata-agent, no Kata shim'
    """

    backend: str
    runtime: str
    relation: StandInRelation
    sense: str

    @property
    def rank(self) -> int:
        """3 itself, 2 through / same engine, 1 stand-in, 0 relative (reference only)."""
        return _RELATION_RANK[self.relation]

    @property
    def judges(self) -> bool:
        """May this backend's figures give a claim about ``runtime`` a verdict (and replace it in scoring)?"""
        return self.relation != "relative"

    @property
    def label(self) -> str:
        return f"{self.runtime} <- {self.backend}: {self.sense}"


#: THE registry of which knowledge-base runtime each bench backend stands in for (the only copy:
#: the harness, store, claims, report and the decision engine's scoring all read it). It lives in
#: the model because every layer that needs it may import the model, while backends and store may
#: not import the knowledge base; ``tests/bench/test_registry.py`` checks it against both the
#: registered backends and the knowledge base's runtime ids.
STAND_INS: tuple[StandIn, ...] = (
    StandIn(backend="runc", runtime="runc", relation="itself", sense="runc itself"),
    StandIn(backend="crun", runtime="crun", relation="itself",
            sense="crun itself (in a private cgroup-v1 mount namespace on a hybrid-cgroup node)"),
    StandIn(backend="runsc", runtime="gvisor", relation="itself",
            sense="gVisor's runsc itself (ptrace platform, --network=none)"),
    StandIn(backend="containerd", runtime="runc", relation="through",
            sense="runc through containerd and its runc v2 shim"),
    StandIn(backend="containerd-runsc", runtime="gvisor", relation="through",
            sense="runsc through containerd's runc v2 shim (a wrapper: Debian has no runsc shim)"),
    StandIn(backend="microvm", runtime="kata", relation="stand-in",
            sense="same VMM class (QEMU, a guest kernel per instance), not Kata: no kata-agent, no Kata shim"),
    StandIn(backend="microvm", runtime="vm", relation="stand-in",
            sense="a minimal QEMU micro-VM (kernel + initramfs, no distribution), not a full VM"),
    StandIn(backend="wasmtime", runtime="wasmtime", relation="same-engine",
            sense="the wasmtime engine embedded in Python (wasmtime-py), not a containerd shim"),
    StandIn(backend="wasmtime-cli", runtime="wasmtime", relation="itself", sense="the wasmtime CLI itself"),
    StandIn(backend="wasmedge", runtime="wasmedge", relation="itself", sense="the WasmEdge CLI itself"),
    StandIn(backend="wasmtime", runtime="wasmedge", relation="relative",
            sense="another Wasm engine (reference only, never a verdict on WasmEdge)"),
    StandIn(backend="node-wasi", runtime="wasmedge", relation="relative",
            sense="V8 + Node's WASI, another Wasm engine (reference only, never a verdict on WasmEdge)"),
)


def stand_ins(*, backend: str | None = None, runtime: str | None = None,
              judging_only: bool = False) -> tuple[StandIn, ...]:
    """Registry entries for a backend and/or a runtime, strongest relation first (registry order
    breaks ties). ``judging_only`` drops the ``relative`` (reference-only) entries."""
    found = [s for s in STAND_INS
             if (backend is None or s.backend == backend) and (runtime is None or s.runtime == runtime)
             and (s.judges or not judging_only)]
    return tuple(sorted(found, key=lambda s: -s.rank))


def primary_runtime(backend: str) -> str | None:
    """The knowledge-base runtime a backend's figures evidence most directly, or None."""
    best = stand_ins(backend=backend, judging_only=True)
    return best[0].runtime if best else None


#: The steady-state micro-benchmarks of the built-in ``measure`` workload, in the order it runs them.
OVERHEAD_SUITE: tuple[str, ...] = ("null_call", "file_write_fsync", "file_read", "epoll_pingpong", "io_uring_nop",
                                   "tcp_loopback", "cpu")


#: The Measurement metrics the isolation and overhead sections give ``--evidence`` (with their units);
#: docs/bench.md documents them. ``overhead.<benchmark>_ratio`` is the slowdown against native.
EVIDENCE_METRICS: dict[str, str] = {
    "isolation.host_syscalls": "calls",
    "isolation.host_syscalls_distinct": "syscalls",
    "isolation.startup_syscalls_distinct": "syscalls",
    "isolation.syscall_passthrough": "bool",
    "isolation.unconfined_processes": "processes",
    "io_uring_supported": "bool",
    **{f"overhead.{name}_ratio": "x native" for name in OVERHEAD_SUITE},
}




# ------------------------------------------------------------------ the rest, imported on first use

#: name -> submodule, for the types defined in :mod:`.results` and :mod:`.bench`
_LAZY: dict[str, str] = {
    "Preset": "results",
    "RuntimeSummary": "results",
    "DecisionTreeNode": "results",
    "DecisionTreeEdge": "results",
    "DecisionTree": "results",
    "NetworkNode": "results",
    "NetworkLink": "results",
    "RelationNetwork": "results",
    "TroubleshootingMatch": "results",
    "TroubleshootingResult": "results",
    "DoctorFinding": "results",
    "DoctorReport": "results",
    "SymptomDiagnosis": "results",
    "SymptomReport": "results",
    "ClaimMeasurement": "results",
    "ClaimVerdict": "results",
    "ComparePoint": "results",
    "Comparison": "results",
    "RunSummary": "results",
    "RunComparisonRow": "results",
    "RunComparison": "results",
    "GeneratedFile": "results",
    "GeneratedBundle": "results",
    "PrepareOutcome": "results",
    "PrepareReport": "results",
    "BenchStats": "bench",
    "StopReason": "bench",
    "BenchSampling": "bench",
    "BenchMemoryPoint": "bench",
    "BenchMemory": "bench",
    "BenchDensity": "bench",
    "MeasureStatus": "bench",
    "IsolationRole": "bench",
    "SyscallCount": "bench",
    "ProcessExposure": "bench",
    "SyscallWindow": "bench",
    "PassThrough": "bench",
    "Confinement": "bench",
    "KernelFunctions": "bench",
    "IsolationResult": "bench",
    "OverheadMetricStatus": "bench",
    "Interval": "bench",
    "OverheadMetric": "bench",
    "OverheadResult": "bench",
    "OrderVerdictValue": "bench",
    "RelationVerdict": "bench",
    "OrderRelation": "bench",
    "OrderVerdict": "bench",
    "RuntimeIsolationOverhead": "bench",
    "IsolationOverheadView": "bench",
    "EvidenceFigure": "bench",
    "isolation_overhead_figures": "bench",
    "KvmKind": "bench",
    "NodeInfo": "bench",
    "BenchSettings": "bench",
    "BenchResult": "bench",
    "BenchRun": "bench",
    "StoredRun": "bench",
}

if TYPE_CHECKING:
    from .bench import BenchDensity as BenchDensity
    from .bench import BenchMemory as BenchMemory
    from .bench import BenchMemoryPoint as BenchMemoryPoint
    from .bench import BenchResult as BenchResult
    from .bench import BenchRun as BenchRun
    from .bench import BenchSampling as BenchSampling
    from .bench import BenchSettings as BenchSettings
    from .bench import BenchStats as BenchStats
    from .bench import Confinement as Confinement
    from .bench import EvidenceFigure as EvidenceFigure
    from .bench import Interval as Interval
    from .bench import IsolationOverheadView as IsolationOverheadView
    from .bench import IsolationResult as IsolationResult
    from .bench import IsolationRole as IsolationRole
    from .bench import KernelFunctions as KernelFunctions
    from .bench import KvmKind as KvmKind
    from .bench import MeasureStatus as MeasureStatus
    from .bench import NodeInfo as NodeInfo
    from .bench import OrderRelation as OrderRelation
    from .bench import OrderVerdict as OrderVerdict
    from .bench import OrderVerdictValue as OrderVerdictValue
    from .bench import OverheadMetric as OverheadMetric
    from .bench import OverheadMetricStatus as OverheadMetricStatus
    from .bench import OverheadResult as OverheadResult
    from .bench import PassThrough as PassThrough
    from .bench import ProcessExposure as ProcessExposure
    from .bench import RelationVerdict as RelationVerdict
    from .bench import RuntimeIsolationOverhead as RuntimeIsolationOverhead
    from .bench import StopReason as StopReason
    from .bench import StoredRun as StoredRun
    from .bench import SyscallCount as SyscallCount
    from .bench import SyscallWindow as SyscallWindow
    from .bench import isolation_overhead_figures as isolation_overhead_figures
    from .results import ClaimMeasurement as ClaimMeasurement
    from .results import ClaimVerdict as ClaimVerdict
    from .results import ComparePoint as ComparePoint
    from .results import Comparison as Comparison
    from .results import DecisionTree as DecisionTree
    from .results import DecisionTreeEdge as DecisionTreeEdge
    from .results import DecisionTreeNode as DecisionTreeNode
    from .results import DoctorFinding as DoctorFinding
    from .results import DoctorReport as DoctorReport
    from .results import GeneratedBundle as GeneratedBundle
    from .results import GeneratedFile as GeneratedFile
    from .results import NetworkLink as NetworkLink
    from .results import NetworkNode as NetworkNode
    from .results import PrepareOutcome as PrepareOutcome
    from .results import PrepareReport as PrepareReport
    from .results import Preset as Preset
    from .results import RelationNetwork as RelationNetwork
    from .results import RunComparison as RunComparison
    from .results import RunComparisonRow as RunComparisonRow
    from .results import RunSummary as RunSummary
    from .results import RuntimeSummary as RuntimeSummary
    from .results import SymptomDiagnosis as SymptomDiagnosis
    from .results import SymptomReport as SymptomReport
    from .results import TroubleshootingMatch as TroubleshootingMatch
    from .results import TroubleshootingResult as TroubleshootingResult


__getattr__ = submodule_attributes(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
