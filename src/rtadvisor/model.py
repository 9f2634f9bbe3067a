"""Plain domain types shared by every layer.

The boundary types (``Workload`` in, ``Decision`` out, ``Claim``, ``Measurement``) are pydantic v2
models so that profiles, JSON output and the HTTP API share one validated shape. This module imports
nothing of ours.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

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

    model_config = ConfigDict(frozen=True, extra="allow", defer_build=True)

    id: str
    label: str
    group: str


class NetworkLink(BaseModel):
    """A relation between two nodes; ``derived`` links are stated as attributes in the knowledge
    base (a scenario's Y coordinate, an observability formula) rather than as edges."""

    model_config = ConfigDict(frozen=True, extra="allow", defer_build=True)

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
    ci_low: float | None = None  # the 95% CI of the measured median, when the bench recorded one
    ci_high: float | None = None


class ClaimVerdict(_Frozen):
    """A claim of the sources checked against this node's closest measurement."""

    claim: Claim
    # "holds in part": judged on several relations, some of which cannot be measured here (the
    # kernel-I/O speedup against the emulated VM); "inconclusive": a CI straddles the bound
    verdict: Literal["holds", "does not hold", "holds in part", "inconclusive", "not measurable here"]
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
    node_name: str | None = None
    pool: str | None = None
    runtimes: tuple[str, ...]


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
    root: str | None = None  # where the node assets are

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


class BenchStats(_Frozen):
    """Order statistics of one metric's samples (in the metric's unit, usually ms) and how well the
    median is pinned down: ``ci_low``/``ci_high`` is a distribution-free 95% CI of the median,
    ``ci_half_width_pct`` its larger half as a % of the median, ``target_met`` whether that is within
    the run's target (``note`` says why not). ``min``/``p95``/``max``/``mean`` are None only in
    results upgraded from version-1 documents that did not record them."""

    n: int = Field(ge=1)
    p50: float
    min: float | None = None
    p95: float | None = None
    max: float | None = None
    mean: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: float = 0.95
    ci_method: str = "binomial order-statistic CI of the median"
    ci_half_width_pct: float | None = None
    target_pct: float | None = None
    target_met: bool | None = None
    note: str | None = None


StopReason = Literal["ci-target", "max-runs", "time-budget", "bench-budget", "fixed-runs", "failed"]


class BenchSampling(_Frozen):
    """How one backend's cold starts were sampled (the adaptive stopping rule's outcome)."""

    warmups: int = Field(ge=0)
    runs: int = Field(ge=0)  # timed runs kept
    min_runs: int = Field(ge=1)
    max_runs: int = Field(ge=1)
    target_pct: float | None = None  # None: a fixed number of runs, no CI target
    time_budget_s: float | None = None
    elapsed_s: float = Field(ge=0)
    stop_reason: StopReason
    detail: str = ""


class BenchMemoryPoint(_Frozen):
    """Summed PSS of N concurrent idle instances."""

    n: int = Field(ge=1)
    pss_mb: float
    mem_available_drop_mb: float
    processes: int
    tasks: int


class BenchMemory(_Frozen):
    """Memory of idle instances: one instance, the per-instance slope, and the sweeps behind them."""

    pss_mb: float
    per_instance_mb: float | None = None  # None only in version-1 documents that did not record it
    per_instance_fit_r2: float | None = None
    per_instance_mb_memavailable: float | None = None
    per_instance_mb_process: float | None = None  # one process per instance, when packing is the headline
    sweep: tuple[BenchMemoryPoint, ...] = ()
    packed_sweep: tuple[BenchMemoryPoint, ...] = ()
    capped: str | None = None  # why the sweep stopped early, if it did


class BenchDensity(_Frozen):
    """min(memory capacity, Kubernetes maxPods, pid limit); ``bound_by`` names the binding one."""

    value: int
    bound_by: Literal["memory", "max_pods", "pids"]
    memory: int | None = None
    max_pods: int | None = None
    pids: int | None = None
    mem_available_mb: float | None = None
    per_instance_mb: float | None = None
    tasks_per_instance: float | None = None
    pid_limit: int | None = None


MeasureStatus = Literal["measured", "not measurable", "not supported", "error"]
"""``measured``; ``not measurable`` (this node cannot: no tracefs, the runtime is not installed);
``not supported`` (the runtime cannot run the workload at all: a result); ``error`` (it failed)."""

# ----------------------------------------------------------------------- isolation (host exposure)
#
# How much of the host kernel one sandbox exposes to its workload, after Anjali, Caraza-Harter and
# Swift (VEE 2020): host system calls of every host process of the sandbox, whether the workload's
# own call reaches the host kernel, the function tracer where the kernel allows it, and what
# confines each host process. Measured by ``rtadvisor.bench.measure`` (method in ``method``).

IsolationRole = Literal["workload", "runtime", "shim", "sandbox kernel", "gofer", "vmm", "engine", "client",
                        "launcher", "other"]


class SyscallCount(_Frozen):
    name: str
    count: int


class ProcessExposure(_Frozen):
    """One host process of the sandbox in one window."""

    pid: int
    comm: str
    exe: str | None = None
    role: IsolationRole
    syscalls: int
    distinct: int
    top: tuple[SyscallCount, ...] = ()


class SyscallWindow(_Frozen):
    """Host system calls in one window, summed over every host process of the sandbox: ``startup``
    (spawn until the probe is ready), ``workload`` (the probe's fixed mix), ``lifecycle`` (a user
    artifact, spawn to exit)."""

    name: Literal["startup", "workload", "lifecycle"]
    what: str
    syscalls: int
    distinct: int
    by_syscall: tuple[SyscallCount, ...]
    processes: tuple[ProcessExposure, ...]
    duration_ms: float | None = None


class PassThrough(_Frozen):
    """Did the host kernel execute the workload's own rare call (``probe``) itself?"""

    probe: str
    outcome: Literal["passed through", "not passed through", "not expressible", "not run"]
    seen_in: tuple[str, ...] = ()
    inside: str | None = None  # what the call returned inside the sandbox (the probe's own report)
    detail: str


class Confinement(_Frozen):
    """What confines one host process while the workload runs (``/proc/PID/status``)."""

    pid: int
    comm: str
    exe: str | None = None
    role: IsolationRole
    uid: int | None = None
    seccomp: Literal["disabled", "strict", "filter"] | None = None
    seccomp_filters: int | None = None
    no_new_privs: bool | None = None
    capabilities: tuple[str, ...] = ()  # effective
    all_capabilities: bool = False
    host_namespaces: tuple[str, ...] = ()  # which of user/pid/net/mnt it shares with the host


class KernelFunctions(_Frozen):
    """Host kernel functions executed for the sandbox (the ftrace function tracer), or why not."""

    status: Literal["measured", "not measurable"]
    distinct: int | None = None
    complete: bool | None = None
    reason: str | None = None


class IsolationResult(_Frozen):
    """Host-kernel exposure of one runtime: the ``isolation`` section of a :class:`BenchResult`.
    ``status`` other than ``measured`` comes with a ``reason``; counts from one traced launch."""

    runtime: str
    workload: Literal["probe", "user"] = "probe"
    status: MeasureStatus
    reason: str | None = None
    method: str = ""
    windows: tuple[SyscallWindow, ...] = ()
    pass_through: PassThrough | None = None
    confinement: tuple[Confinement, ...] = ()
    kernel_functions: KernelFunctions | None = None
    events_lost: int = 0
    complete: bool = True  # False: the ring buffer lost events, counts are lower bounds
    emulated: bool = False
    notes: tuple[str, ...] = ()
    duration_s: float | None = None

    def window(self, name: str) -> SyscallWindow | None:
        return next((w for w in self.windows if w.name == name), None)

    @property
    def unconfined(self) -> tuple[Confinement, ...]:
        """Host processes with no seccomp filter (every host system call is reachable from them)."""
        return tuple(c for c in self.confinement if c.seccomp not in ("filter", "strict"))


# ----------------------------------------------------------------------- steady-state overhead

#: The steady-state micro-benchmarks of the built-in ``measure`` workload, in the order it runs them.
OVERHEAD_SUITE: tuple[str, ...] = ("null_call", "file_write_fsync", "file_read", "epoll_pingpong", "io_uring_nop",
                                   "tcp_loopback", "cpu")

OverheadMetricStatus = Literal["measured", "not supported", "not expressible", "not comparable", "error"]


class Interval(_Frozen):
    """A point estimate with its 95% confidence interval."""

    value: float
    low: float
    high: float

    @property
    def half_width_pct(self) -> float | None:
        """The larger half of the interval as a % of the value (None for a value of 0)."""
        if self.value == 0:
            return None
        return 100.0 * max(self.value - self.low, self.high - self.value) / abs(self.value)


class OverheadMetric(_Frozen):
    """One micro-benchmark in one runtime: its rate (median, 95% CI) and, paired sample by sample
    with a native process run beside it, its ``slowdown`` (native rate / this rate: 1 = native
    speed). ``ci_half_width_pct`` is of the headline figure (the slowdown; native: its rate);
    ``target_met``/``ci_note`` say whether sampling reached the run's CI target and why not."""

    name: str
    status: OverheadMetricStatus
    reason: str | None = None
    unit: str | None = None  # of the rates (per second)
    how: str | None = None
    n: int = 0
    median: Interval | None = None  # rate, with the 95% CI of the median
    samples: tuple[float, ...] = ()
    slowdown: Interval | None = None  # median of paired native/this rates (1 = native speed), 95% CI
    native_median: Interval | None = None  # native's rate in the same pairs
    native_samples: tuple[float, ...] = ()  # native_samples[i] was taken beside samples[i]
    pairs: int = 0
    note: str | None = None
    ci_half_width_pct: float | None = None
    target_pct: float | None = None
    target_met: bool | None = None
    ci_note: str | None = None


class OverheadResult(_Frozen):
    """Steady-state overhead of one runtime: the ``overhead`` section of a :class:`BenchResult`."""

    runtime: str
    status: MeasureStatus
    reason: str | None = None
    method: str = ""
    metrics: tuple[OverheadMetric, ...] = ()
    storage: str | None = None
    emulated: bool = False
    sample_ms: int | None = None
    samples: int | None = None  # samples per benchmark at least (more when sampling adapted)
    notes: tuple[str, ...] = ()
    duration_s: float | None = None

    def metric(self, name: str) -> OverheadMetric | None:
        return next((m for m in self.metrics if m.name == name), None)


# ----------------------------------------------------------------------- verdicts on claimed orders


OrderVerdictValue = Literal["holds", "does not hold", "holds in part", "inconclusive", "not measurable here"]
RelationVerdict = Literal["holds", "does not hold", "inconclusive", "not measurable here"]


class OrderRelation(_Frozen):
    """One pairwise relation a claim implies (``gvisor > runc``, ``L-4 > L-3``), judged on the
    runtimes that measure its two sides, with the figures."""

    claim: str
    left: tuple[str, ...]  # measured runtimes on the left side
    right: tuple[str, ...]
    verdict: RelationVerdict
    figures: str
    caveats: tuple[str, ...] = ()


class OrderVerdict(_Frozen):
    """An isolation or overhead claim (a claimed order or ratio) with its verdict on this node."""

    id: str
    kind: Literal["isolation", "overhead"]
    source: str
    text: str
    claims: tuple[str, ...] = ()  # knowledge-base claim ids it is made of
    basis: str
    verdict: OrderVerdictValue
    why: str
    relations: tuple[OrderRelation, ...] = ()


class RuntimeIsolationOverhead(_Frozen):
    """One backend's latest isolation and overhead sections, with the run they came from."""

    runtime: str
    run_id: str
    date: str
    host: str | None = None
    emulated: bool = False
    stands_for: tuple[StandIn, ...] = ()
    isolation: IsolationResult | None = None
    overhead: OverheadResult | None = None


class IsolationOverheadView(_Frozen):
    """This node's measured isolation and overhead per runtime and the verdicts on the claimed
    orders (``GET /api/isolation``; the page's isolation/overhead view)."""

    available: bool
    reason: str | None = None
    runtimes: tuple[RuntimeIsolationOverhead, ...] = ()
    verdicts: tuple[OrderVerdict, ...] = ()
    kernel_functions: str | None = None  # why the function tracer could not be used, if it could not


# ----------------------------------------------------------------------- evidence from these sections

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


class EvidenceFigure(_Frozen):
    """One figure of a bench result that ``--evidence`` can use (the store files it as a Measurement)."""

    metric: str
    value: float
    unit: str
    n: int = 1
    method: str


def _first_clause(text: str) -> str:
    """``text`` up to its first ';' outside parentheses (a method's headline, brackets balanced)."""
    depth = 0
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if ch == ";" and depth <= 0:
            return text[:i]
    return text


def isolation_overhead_figures(result: BenchResult) -> tuple[EvidenceFigure, ...]:
    """The isolation and overhead figures of one backend's result as evidence (see
    :data:`EVIDENCE_METRICS`); none unless measured. Booleans are 1.0 / 0.0."""
    out: list[EvidenceFigure] = []
    iso, ovh = result.isolation, result.overhead
    if iso is not None and iso.status == "measured" and iso.workload == "probe":
        workload, startup = iso.window("workload"), iso.window("startup")
        where = f"backend {result.runtime}: {_first_clause(iso.method)}"
        if workload is not None:
            out.append(EvidenceFigure(metric="isolation.host_syscalls", value=float(workload.syscalls), unit="calls",
                                      method=f"{where}; host system calls in the probe's workload window"
                                             + ("" if iso.complete else " (lower bound: events lost)")))
            out.append(EvidenceFigure(metric="isolation.host_syscalls_distinct", value=float(workload.distinct),
                                      unit="syscalls", method=f"{where}; distinct host system calls in the probe's "
                                                              "workload window"))
        if startup is not None:
            out.append(EvidenceFigure(metric="isolation.startup_syscalls_distinct", value=float(startup.distinct),
                                      unit="syscalls", method=f"{where}; distinct host system calls while the "
                                                              "sandbox was created"))
        if iso.pass_through is not None and iso.pass_through.outcome in ("passed through", "not passed through"):
            out.append(EvidenceFigure(metric="isolation.syscall_passthrough",
                                      value=1.0 if iso.pass_through.outcome == "passed through" else 0.0,
                                      unit="bool", method=f"{where}; {iso.pass_through.detail}"))
        if iso.confinement:
            out.append(EvidenceFigure(metric="isolation.unconfined_processes", value=float(len(iso.unconfined)),
                                      unit="processes",
                                      method=f"{where}; host processes without a seccomp filter, of "
                                             f"{len(iso.confinement)}"))
    if ovh is not None and ovh.status == "measured":
        uring = ovh.metric("io_uring_nop")
        if uring is not None and uring.status in ("measured", "not supported"):
            out.append(EvidenceFigure(metric="io_uring_supported", value=1.0 if uring.status == "measured" else 0.0,
                                      unit="bool", method=f"backend {result.runtime}: io_uring_setup inside the "
                                                          "runtime" + (f" ({uring.reason})" if uring.reason else "")))
        for m in ovh.metrics:
            if m.status != "measured" or m.slowdown is None or m.note:
                continue
            s = m.slowdown
            out.append(EvidenceFigure(
                metric=f"overhead.{m.name}_ratio", value=s.value, unit="x native", n=m.pairs or m.n,
                method=(f"backend {result.runtime}: slowdown vs a native process run beside it (1 = native speed), "
                        f"median of {m.pairs} paired samples, 95% CI {s.low:.4g}-{s.high:.4g}"
                        + (f", ±{m.ci_half_width_pct:.3g}%" if m.ci_half_width_pct is not None else "")
                        + ("; emulated (TCG)" if ovh.emulated else ""))))
    return tuple(out)


KvmKind = Literal["kvm_intel", "kvm_amd", "kvm_pvm", "kvm", "absent", "unknown"]


class NodeInfo(_Frozen):
    """Which node measured: identity for the store and a fleet, and the facts that shape the figures."""

    hostname: str
    node_name: str  # Kubernetes node name ($RTADVISOR_NODE_NAME or $NODE_NAME), else the hostname
    pool: str | None = None  # node pool ($RTADVISOR_NODE_POOL)
    machine_id: str | None = None  # sha256 of /etc/machine-id, 16 hex digits: stable across renames
    kernel: str = ""
    os: str = ""
    arch: str = ""
    cpu_model: str = ""
    cpus: int | None = None
    mem_total_mb: int | None = None
    kvm: KvmKind = "unknown"  # which KVM module provides /dev/kvm
    kvm_linux_guests: bool | None = None  # False when a Linux guest could not boot under it (emulated)
    cgroup: Literal["v1", "v2", "hybrid", "unknown"] = "unknown"
    python: str = ""
    rtadvisor: str = ""
    runtime_versions: dict[str, str] = Field(default_factory=dict)


class BenchSettings(_Frozen):
    """The options a run was made with; the defaults here ARE the defaults of ``rtadvisor bench``
    (the CLI and ``rtadvisor.bench.BenchOptions`` take them from this class)."""

    workload: str = "hello"
    warmups: int = Field(default=3, ge=0)
    min_runs: int = Field(default=10, ge=1)
    max_runs: int = Field(default=200, ge=1)
    ci_target_pct: float | None = Field(default=5.0, gt=0)  # None: exactly max_runs timed runs
    time_budget_s: float | None = Field(default=30.0, gt=0)  # per backend, cold-start sampling
    budget_s: float | None = Field(default=80.0, gt=0)  # the whole bench (prepare not counted)
    sweep: tuple[int, ...] = (1, 2, 4, 8)
    pack_sweep: tuple[int, ...] = (1, 50, 100, 200)
    max_pods: int = Field(default=110, ge=1)
    memory: bool = True
    isolation: bool = True  # trace host-kernel exposure (the measurement phase)
    overhead: bool = True  # steady-state micro-benchmarks against a native process beside them
    overhead_suite: tuple[str, ...] = OVERHEAD_SUITE
    overhead_sample_ms: int = Field(default=5, ge=1)
    overhead_min_rounds: int = Field(default=12, ge=1)
    overhead_max_rounds: int = Field(default=48, ge=1)


class BenchResult(_Frozen):
    """Everything measured for one backend, or why it could not be (``available``/``reason``), or how
    it failed (``error``; the cleanup still ran)."""

    runtime: str  # the bench backend's name
    available: bool
    reason: str | None = None
    error: str | None = None
    family: str | None = None
    kb_runtime: str | None = None  # primary_runtime(runtime), recorded for readers without the registry
    stands_for: tuple[StandIn, ...] = ()
    binary: str | None = None
    version: str | None = None
    notes: tuple[str, ...] = ()
    emulated: bool = False
    workload: str = "hello"
    sampling: BenchSampling | None = None
    cold_start_ms: BenchStats | None = None
    cold_start_stages: tuple[str, ...] = ()  # in-process engines: the stages summed into cold_start_ms
    first_run_ms: float | None = None
    samples_ms: tuple[float, ...] = ()
    stages: dict[str, BenchStats] = Field(default_factory=dict)
    cpu_ms: BenchStats | None = None
    memory: BenchMemory | None = None
    artifact_bytes: int | None = None
    density: BenchDensity | None = None
    isolation: IsolationResult | None = None
    overhead: OverheadResult | None = None
    labels: dict[str, str | bool | int | float] = Field(default_factory=dict)
    method: dict[str, str] = Field(default_factory=dict)
    elapsed_s: float | None = None

    @property
    def measured(self) -> bool:
        """Usable and did not fail: its figures can be read."""
        return self.available and self.error is None


class BenchRun(_Frozen):
    """One ``rtadvisor bench`` run: ``model_dump(mode="json")`` is what ``bench --json`` prints.

    ``run_id`` is assigned when the run starts and is globally unique (UTC start time + 48 random
    bits), so storing or uploading the same run twice is idempotent.
    """

    schema_version: int = BENCH_SCHEMA_VERSION
    run_id: str = Field(min_length=1, max_length=64)
    started: str  # UTC, ISO 8601
    finished: str | None = None
    wall_s: float | None = None
    node: NodeInfo
    options: BenchSettings = Field(default_factory=BenchSettings)
    results: tuple[BenchResult, ...] = ()

    @model_validator(mode="after")
    def _known_version(self) -> BenchRun:
        if self.schema_version != BENCH_SCHEMA_VERSION:
            raise ValueError(f"schema_version {self.schema_version} is not {BENCH_SCHEMA_VERSION}")
        return self

    def result(self, runtime: str) -> BenchResult | None:
        """The result of one backend, or None if it was not requested."""
        return next((r for r in self.results if r.runtime == runtime), None)

    def to_dict(self) -> dict[str, Any]:
        """The ``bench --json`` document."""
        return self.model_dump(mode="json")


#: One stored bench run (``bench show ID --json``, ``GET /api/runs/ID``): the typed bench result.
StoredRun = BenchRun
