"""What the use cases of :mod:`rtadvisor.app` return (see :mod:`rtadvisor.model`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from . import Claim, Measurement, SourceTag, Workload, _Frozen

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
