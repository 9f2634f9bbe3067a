"""Plain domain types shared by every layer.

The boundary types (``Workload`` in, ``Decision`` out, ``Claim``, ``Measurement``) are pydantic v2
models so that profiles, JSON output and the HTTP API share one validated shape. This module imports
nothing of ours.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Where a rule or number comes from: one of the five source documents' tags, a measurement on a
# node, a derivation of rtadvisor's own, or current upstream practice (the practice rulebook; the
# rule then cites the project or document it follows).
SourceTag = Literal["S-select", "S-cases", "S-network", "S-wasm", "measured", "derived", "practice"]
RulebookId = Literal["practice", "sources"]


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
    # The verdict a person reads first (``recommend`` prints these; the trace is ``--explain``).
    rulebook: RulebookId = "practice"
    runtime_name: str = ""  # display name of ``runtime`` ("gVisor", "Kata Containers")
    summary: str = ""  # the verdict as one or two sentences of text
    reasons: tuple[Reason, ...] = ()  # the 1-3 reasons that decided it, in plain words
    assumptions: tuple[Assumption, ...] = ()  # every unknown field the decision filled in
    next_steps: tuple[NextStep, ...] = ()  # what must change to adopt it
    slo: SloCheck | None = None  # None when the workload states no cold-start SLO
    other_rulebook: OtherRulebook | None = None


# --------------------------------------------------------------------------- application layer results
#
# What the use cases of ``rtadvisor.app`` return, so that both front ends (the CLI's ``--json`` and
# the HTTP API) print the same documents: ``GET /api/doctor?symptom=X`` and ``doctor --symptom X
# --json`` are one ``SymptomReport``. Frozen, ``extra="forbid"`` like the types above, except where
# a record carries the knowledge base's free-form attributes (network nodes and links).


class Preset(_Frozen):
    """A ready-made profile for one of the sources' scenarios (the page's preset buttons)."""

    id: str
    label: str
    source: str = Field(description="Which row of the sources' tables the preset is derived from")
    profile: Workload


class RuntimeSummary(_Frozen):
    """One runtime of the knowledge base in a line (``kb runtimes --json``, ``GET /api/runtimes``)."""

    id: str
    name: str
    what: str
    family: str
    isolation_layer: str
    isolation: int | float | str = Field(description="Isolation rating 1-5 (S-select), with its source in the detail")
    wasm: bool
    gpu: str
    compatibility: str
    ecosystem: str
    containerd_runtime_type: str | None = None


class DecisionTreeNode(_Frozen):
    """A question of the S-select tree, or a leaf (a runtime) reached by one of its answers."""

    id: str
    label: str
    question: str = ""
    threshold: str | None = None
    leaf: bool = False
    runtime: str | None = None
    note: str | None = None
    claims: tuple[str, ...] = ()


class DecisionTreeEdge(_Frozen):
    source: str
    target: str
    label: Literal["yes", "no"]


class DecisionTree(_Frozen):
    """The S-select decision tree as a drawable graph; ``root`` is the first question."""

    root: str
    source: SourceTag = "S-select"
    nodes: tuple[DecisionTreeNode, ...]
    edges: tuple[DecisionTreeEdge, ...]


class NetworkNode(BaseModel):
    """A node of the relation network (S-network): ``id``, a readable ``label``, a ``group`` for
    colouring, and the knowledge base's own attributes of that node (``kind``, ``name``, ``year``...)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str
    label: str
    group: str


class NetworkLink(BaseModel):
    """A relation between two nodes; ``derived`` links are stated as attributes in the knowledge
    base (a scenario's Y coordinate, an observability formula) rather than as edges."""

    model_config = ConfigDict(frozen=True, extra="allow")

    source: str
    target: str
    kind: str = ""
    derived: bool = False


class RelationNetwork(_Frozen):
    """The S-network relation network as a graph (nodes and links)."""

    directed: bool = True
    nodes: tuple[NetworkNode, ...]
    links: tuple[NetworkLink, ...]


class TroubleshootingMatch(_Frozen):
    """A row of the S-wasm troubleshooting table; ``score`` is how well a symptom matched (0..1),
    ``None`` when the whole table is listed."""

    id: str
    symptom: str
    keywords: tuple[str, ...] = ()
    root_cause: str
    fix: str
    diagnostics: tuple[str, ...] = ()
    score: float | None = None
    source: str = "S-wasm"


class TroubleshootingResult(_Frozen):
    """``kb troubleshoot TEXT --json`` and ``GET /api/troubleshooting?symptom=TEXT``."""

    symptom: str | None = None
    matches: tuple[TroubleshootingMatch, ...]


class DoctorFinding(_Frozen):
    """One check of the node doctor."""

    id: str
    area: str
    status: Literal["ok", "info", "warn", "fail"]
    title: str
    detail: str = ""
    fix: str | None = None
    troubleshooting: str | None = None


class DoctorReport(_Frozen):
    """``doctor --json`` and ``GET /api/doctor``: every finding, the worst status and the exit code."""

    worst: Literal["ok", "info", "warn", "fail"]
    exit_code: int = Field(description="0 nothing worse than info, 1 a warning, 3 a failure")
    counts: dict[str, int]
    sources: dict[str, str] = Field(description="Where the containerd config and RuntimeClasses were read from")
    findings: tuple[DoctorFinding, ...]


class SymptomDiagnosis(_Frozen):
    """A likely cause of a reported symptom, and the node's findings that may explain it here."""

    id: str
    symptom: str
    root_cause: str
    checks: tuple[str, ...]
    fix: str
    source: str = Field(description='"S-wasm" (the knowledge base) or "rtadvisor" (the doctor\'s own table)')
    score: float = 1.0
    on_this_node: tuple[DoctorFinding, ...] = ()


class SymptomReport(_Frozen):
    """``doctor --symptom TEXT --json`` and ``GET /api/doctor?symptom=TEXT``."""

    symptom: str
    diagnoses: tuple[SymptomDiagnosis, ...]


class ClaimMeasurement(_Frozen):
    """The measurement a claim was compared with, and where it came from."""

    runtime: str
    value: float
    unit: str
    n: int
    run_id: str | None = None
    date: str | None = None
    host: str | None = None
    emulated: bool = False
    detail: str = ""


class ClaimVerdict(_Frozen):
    """A claim of the sources checked against this node's closest measurement."""

    claim: Claim
    verdict: Literal["holds", "does not hold", "not measurable here"]
    why: str
    measurement: ClaimMeasurement | None = None
    stand_in: str | None = None
    tolerance: str


class ComparePoint(_Frozen):
    """One runtime's figure for one metric: what the sources claim and what this node measured."""

    runtime: str
    metric: Literal["cold_start", "memory"]
    unit: Literal["ms", "MB"]
    measured: Measurement | None = None
    measured_value: float | None = Field(default=None, description="``measured`` converted to ``unit``")
    claims: tuple[Claim, ...] = ()
    claim_low: float | None = Field(default=None, description="Lowest claimed value, in ``unit``")
    claim_high: float | None = Field(default=None, description="Highest claimed value, in ``unit``")


class Comparison(_Frozen):
    """Claims next to measurements, per runtime (the page's charts)."""

    host: dict[str, Any] = Field(default_factory=dict)
    measured_available: bool
    reason: str | None = Field(default=None, description="Why there are no measurements, when there are none")
    points: tuple[ComparePoint, ...]


class RunSummary(_Frozen):
    """One stored bench run in a line (``bench history --json``, ``GET /api/runs``)."""

    id: str
    created: str
    hostname: str | None = None
    runtimes: tuple[str, ...]


class StoredRun(_Frozen):
    """One stored bench run as ``bench --json`` printed it (``bench show ID --json``, ``GET /api/runs/ID``).

    ``results`` are the bench's per-runtime result documents (their typed model belongs to the bench).
    """

    run_id: str
    host: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    results: tuple[dict[str, Any], ...] = ()


class RunComparisonRow(_Frozen):
    runtime: str
    metric: str
    a: float | None = None
    b: float | None = None
    ratio: float | None = Field(default=None, description="b / a")
    ci_overlap: bool | None = Field(default=None, description="Whether the 95% CIs of the two runs overlap")


class RunComparison(_Frozen):
    """``bench compare A B --json``: run B against baseline A, runtime by runtime."""

    a: str
    b: str
    rows: tuple[RunComparisonRow, ...]


class GeneratedFile(_Frozen):
    path: str = Field(description="Relative path inside the bundle")
    content: str


class GeneratedBundle(_Frozen):
    """The deployment artifacts of a decision: what ``generate`` writes and ``POST /api/generate`` returns."""

    runtime: str
    route: Literal["R1", "R2", "R3"] | None = None
    files: tuple[GeneratedFile, ...]
    summary: dict[str, Any] = Field(default_factory=dict, description="Handlers, containerd files, overhead sources")


class PrepareOutcome(_Frozen):
    runtime: str
    status: Literal["ready", "skipped", "failed"]
    reason: str = ""


class PrepareReport(_Frozen):
    """What ``prepare`` built: the built-in workloads and each backend's assets."""

    built: int
    fresh: int
    outcomes: tuple[PrepareOutcome, ...]
