"""Schemas of the packaged knowledge files (``kb/data/*.yaml``).

Every file is validated by one of these pydantic models on load; unknown fields are rejected so a
typo in a data file is an error naming the file and the field, not a silently ignored key.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rtadvisor.model import Claim, SourceTag

SCHEMA_VERSION = 1

Family = Literal["container", "sandbox", "wasm", "microvm", "vm"]
Support = Literal["yes", "partial", "no", "full"]
Trait = Literal["yes", "partly", "no"]
CriterionId = Literal["V", "S", "M", "D", "isolation", "compatibility", "gpu"]


class _Strict(BaseModel):
    # defer_build: validators are built when a file is first validated, not at import (the CLI
    # loads a validated knowledge base from its cache and validates nothing).
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class _File(_Strict):
    schema_version: Literal[1]
    kind: str


# --------------------------------------------------------------------------- runtimes


class Sourced(_Strict):
    """A qualitative value with the source that states it (``derived`` = rtadvisor's reading)."""

    value: str | int | float
    source: SourceTag
    basis: str | None = None

    @model_validator(mode="after")
    def _derived_needs_basis(self) -> Sourced:
        if self.source == "derived" and not self.basis:
            raise ValueError("a derived value needs a 'basis'")
        return self


class SupportLevel(_Strict):
    support: Support
    detail: str | None = None
    source: SourceTag
    basis: str | None = None


class VersionFact(_Strict):
    fact: str
    source: SourceTag


class CriterionValue(_Strict):
    """Either a reference to a claim, or a derived value with its basis (never a bare number)."""

    claim: str | None = None
    value: float | None = None
    unit: str | None = None
    basis: str | None = None

    @model_validator(mode="after")
    def _claim_or_derived(self) -> CriterionValue:
        if self.claim is None and (self.value is None or not self.basis or not self.unit):
            raise ValueError("give either 'claim' or 'value' + 'unit' + 'basis'")
        if self.claim is not None and self.value is not None:
            raise ValueError("give either 'claim' or 'value', not both")
        return self


class RuntimeCriteria(_Strict):
    image_size: CriterionValue
    cold_start: CriterionValue
    memory: CriterionValue
    density: CriterionValue


class Citation(_Strict):
    source: SourceTag
    title: str
    url: str | None = None


class Adoption(_Strict):
    """What it takes to run pods on a runtime: the RuntimeClass, the node set-up, the citation."""

    runtime_class: str | None  # None: the cluster's default runtime (no runtimeClassName needed)
    handler: str | None
    node: str
    workload: str | None = None  # what changes in the workload's manifests
    cite: tuple[Citation, ...] = ()


class Runtime(_Strict):
    """One candidate runtime (SPEC section 1)."""

    id: str
    name: str
    what: str
    family: Family
    wasm: bool
    isolation_layer: str
    isolation_kind: str
    isolation_rating: Sourced
    ratings: dict[str, Sourced]
    gpu: SupportLevel
    compatibility: SupportLevel
    ecosystem: SupportLevel
    containerd_runtime_type: str | None
    containerd_options: dict[str, str] = Field(default_factory=dict)
    binaries: tuple[str, ...] = ()
    suits: tuple[str, ...]
    typical_uses: tuple[str, ...]
    best_practices: tuple[str, ...]
    version_facts: tuple[VersionFact, ...]
    criteria: RuntimeCriteria
    # Which artifacts the runtime can execute (oci-image, wasm, spin): a Linux image needs an OCI
    # runtime, a Wasm module an engine, a Spin app the Spin shim.
    executes: tuple[Literal["oci-image", "wasm", "spin"], ...]
    adopt: Adoption
    in_sources: bool = True  # False: named by no source document (rtadvisor's own addition)

    @property
    def isolation(self) -> int:
        """The isolation rating (1-5) the engine orders runtimes by."""
        return int(self.isolation_rating.value)


class RuntimesFile(_File):
    kind: Literal["runtimes"]
    runtimes: tuple[Runtime, ...]


class ClaimsFile(_File):
    kind: Literal["claims"]
    claims: tuple[Claim, ...]


# --------------------------------------------------------------------------- decision tree


TreeTest = Literal["resource_constrained", "strong_isolation", "fast_start", "gpu_needed"]


class TreeNode(_Strict):
    id: str
    question: str
    test: TreeTest
    threshold: str
    claims: tuple[str, ...] = ()
    yes: str
    no: str


class TreeThresholds(_Strict):
    memory_mb: float
    cpu_cores: float
    cold_start_slo_ms: float
    cold_start_wanted_ms: float


class Guidance(_Strict):
    id: str
    when: dict[str, str]
    first: str
    fallback: str


class TreeFile(_File):
    kind: Literal["tree"]
    source: SourceTag
    thresholds: TreeThresholds
    root: str
    nodes: tuple[TreeNode, ...]
    leaves: dict[str, dict[str, str]]
    guidance_2025: tuple[Guidance, ...]

    def node(self, node_id: str) -> TreeNode:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)


# --------------------------------------------------------------------------- scenario matrix, cases


class ScenarioRow(_Strict):
    scenario: str
    label: str
    resource_constrained: Trait
    fast_start: Trait
    strong_isolation: Trait
    gpu: Trait
    recommended: str
    recommended_label: str


class ScenariosFile(_File):
    kind: Literal["scenarios"]
    source: SourceTag
    rows: tuple[ScenarioRow, ...]


class CaseMatch(_Strict):
    gpu: tuple[str, ...] | None = None


class Case(_Strict):
    id: str
    scenario: str
    category: str
    traits: tuple[str, ...]
    device_access: str
    kernel_features: str
    architecture: str
    runtime: str
    alternative: str
    alternative_runtime: str
    key_factors: tuple[str, ...]
    dimensions: tuple[str, ...]
    claims: tuple[str, ...] = ()
    match: CaseMatch = CaseMatch()


class CaseSignature(_Strict):
    gpu: tuple[str, ...]
    multi_os: bool | None = None
    case: str


class CasesFile(_File):
    kind: Literal["cases"]
    source: SourceTag
    cases: tuple[Case, ...]
    signatures: tuple[CaseSignature, ...]


# --------------------------------------------------------------------------- constraints, conflicts


ConstraintWhen = Literal["devices", "kernel_features", "services_governance", "artifact_wasm", "always"]
GuardWhen = Literal["untrusted_code", "strong_isolation", "strong_untrusted", "artifact_oci", "artifact_executes", "node_unusable"]


class HardConstraint(_Strict):
    id: str
    when: ConstraintWhen
    question: str
    requires: str
    because: str
    source: SourceTag
    allow_families: tuple[Family, ...] = ()
    threshold: float | None = None
    meshes: tuple[str, ...] = ()
    claims: tuple[str, ...] = ()


class Guard(_Strict):
    id: str
    when: GuardWhen
    question: str
    requires: str
    because: str
    source: SourceTag
    exclude_families: tuple[Family, ...] = ()
    min_isolation: int | None = None


class ConstraintsFile(_File):
    kind: Literal["constraints"]
    constraints: tuple[HardConstraint, ...]
    guards: tuple[Guard, ...]
    precedence: tuple[str, ...]


class ConflictDef(_Strict):
    id: str
    topic: str
    positions: dict[str, str]
    between: tuple[str, str] | None = None  # the two rules whose collision this conflict describes
    claims: tuple[str, ...] = ()  # the disagreeing claims, for claim-level conflicts
    touches: tuple[str, ...] = ()  # runtimes whose choice this conflict touches (claim-level conflicts)
    fallback_families: tuple[Family, ...] = ()  # how the losing rule's need is still served, if it can be
    winner: str | None = None
    why: str | None = None
    rule: str | None = None
    why_cases: str | None = None
    why_select: str | None = None
    why_artifact: str | None = None
    why_oci: str | None = None


class ConflictsFile(_File):
    kind: Literal["conflicts"]
    conflicts: tuple[ConflictDef, ...]


# --------------------------------------------------------------------------- scoring weights


class Criterion(_Strict):
    id: CriterionId
    label: str
    metric: str
    unit: str
    type: Literal["cost", "benefit"]
    log: bool
    source: SourceTag


class ScenarioWeights(_Strict):
    V: float = Field(ge=0)
    S: float = Field(ge=0)
    M: float = Field(ge=0)
    D: float = Field(ge=0)
    isolation: float = Field(ge=0)
    compatibility: float = Field(ge=0)
    gpu: float = Field(ge=0)
    basis: str

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.model_dump().items() if k != "basis"}

    @model_validator(mode="after")
    def _sums_to_one(self) -> ScenarioWeights:
        total = sum(self.as_dict().values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"weights must sum to 1, they sum to {total:g}")
        return self


class WeightsFile(_File):
    kind: Literal["weights"]
    criteria: tuple[Criterion, ...]
    levels: dict[str, int]
    scenarios: dict[str, ScenarioWeights]


# --------------------------------------------------------------------------- routes


class Route(_Strict):
    id: Literal["R1", "R2", "R3"]
    name: str
    starts: str
    rootfs: str
    yaml_change: str
    for_: tuple[str, ...] = Field(alias="for")
    maturity: int = Field(ge=1, le=5)
    claim: str
    artifacts: tuple[str, ...]
    # What starts the pod on this route; the decision's runtime stays the Wasm engine (R1 = runc +
    # an image carrying WasmEdge, still runtime WasmEdge).
    oci_runtime: str | None = None  # placeholders: {engine}, {shim}, {runtime_type} of the chosen engine
    engines: tuple[str, ...] = ()  # the engines this route can start (empty: any)


class RouteRule(_Strict):
    id: str
    when: dict[str, tuple[str, ...]]
    route: Literal["R1", "R2", "R3"]
    also: tuple[Literal["R1", "R2", "R3"], ...] = ()
    text: str


class RoutesFile(_File):
    kind: Literal["routes"]
    source: SourceTag
    routes: tuple[Route, ...]
    selection: tuple[RouteRule, ...]
    requirements: tuple[dict[str, str], ...]
    runtime_classes: tuple[dict[str, str], ...]
    containerd_runtime_types: dict[str, str]
    pod_resources: dict[str, Any]
    cri_identification: tuple[dict[str, str], ...]
    scenario_configurations: tuple[dict[str, Any], ...]
    performance_model: dict[str, Any]


# --------------------------------------------------------------------------- network


class Layer(_Strict):
    id: str
    layer: str
    name: str
    examples: tuple[str, ...]


class Order(_Strict):
    direction: Literal["ascending", "descending"]
    groups: tuple[tuple[str, ...], ...]
    text: str


class Dimension(_Strict):
    id: str
    name: str
    members: tuple[str, ...]


class TimelineEvent(_Strict):
    id: str
    year: int
    event: str


class Coordinate(_Strict):
    scenario: str
    stack: str
    X: int | None = None
    Y: int | None = None
    Z: int | None = None


class ObsDimension(_Strict):
    id: str
    name: str
    tool: str


class ObsFormula(_Strict):
    name: str
    expression: str


class Observability(_Strict):
    dimensions: tuple[ObsDimension, ...]
    formulas: tuple[ObsFormula, ...]


class NetworkFile(_File):
    kind: Literal["network"]
    source: SourceTag
    layers: tuple[Layer, ...]
    orders: dict[Literal["isolation", "overhead"], Order]
    dimensions: tuple[Dimension, ...]
    chains: tuple[tuple[str, ...], ...]
    timeline: tuple[TimelineEvent, ...]
    axes: dict[str, dict[str, Any]]
    coordinates: tuple[Coordinate, ...]
    observability: Observability


# --------------------------------------------------------------------------- troubleshooting


class TroubleshootingEntry(_Strict):
    id: str
    symptom: str
    keywords: tuple[str, ...]
    root_cause: str
    fix: str
    diagnostics: tuple[str, ...] = ()


class Diagnostic(_Strict):
    id: str
    what: str
    command: str


class TroubleshootingFile(_File):
    kind: Literal["troubleshooting"]
    source: SourceTag
    entries: tuple[TroubleshootingEntry, ...]
    diagnostics: tuple[Diagnostic, ...]


# --------------------------------------------------------------------------- rulebooks

#: Facts a rulebook's ``when`` may test: the profile's fields and three derived facts.
FACT_NAMES: frozenset[str] = frozenset({
    "scenario", "stage", "memory_mb", "cpu_cores", "cold_start_slo_ms", "isolation", "untrusted_code",
    "multi_tenant", "host_access", "gpu", "devices", "kernel_features", "services", "multi_os", "offline",
    "artifact", "governance", "hardware_virtualization",
    "tenant_boundary", "sandbox_needed", "wasm_artifact",
})
_COMBINATORS = frozenset({"any_of", "all_of", "not"})
_OPERATORS = frozenset({"any", "none", "nonempty", "lt", "gt"})


def check_condition(cond: Any, where: str = "when") -> None:
    """Validate a ``when`` mapping (raises ValueError naming the offending key)."""
    if not isinstance(cond, dict):
        raise ValueError(f"{where}: expected a mapping of fact -> condition")
    for key, value in cond.items():
        if key in ("any_of", "all_of"):
            if not isinstance(value, list) or not value:
                raise ValueError(f"{where}.{key}: expected a non-empty list of conditions")
            for i, sub in enumerate(value):
                check_condition(sub, f"{where}.{key}[{i}]")
        elif key == "not":
            check_condition(value, f"{where}.not")
        elif key == "stated":
            # holds when these facts were given (or measured), not assumed
            if not isinstance(value, list) or not set(value) <= FACT_NAMES:
                raise ValueError(f"{where}.stated: expected a list of facts")
        elif key not in FACT_NAMES:
            raise ValueError(f"{where}: unknown fact {key!r} (known: {', '.join(sorted(FACT_NAMES))})")
        elif isinstance(value, dict):
            bad = set(value) - _OPERATORS
            if bad or len(value) != 1:
                raise ValueError(f"{where}.{key}: expected one of {', '.join(sorted(_OPERATORS))}, got {', '.join(map(str, value))}")


class FamiliesOrRuntimes(_Strict):
    families: tuple[Family, ...] = ()
    runtimes: tuple[str, ...] = ()


class RuleStep(_Strict):
    kind: Literal["runtimeclass", "node", "workload", "migration", "requirement"]
    text: str
    when_runtime: tuple[str, ...] = ()  # only when the decision chose one of these runtimes
    when_family: tuple[Family, ...] = ()
    when_gpu: tuple[str, ...] = ()


class Rule(_Strict):
    """One rule of the practice rulebook: scope (``when``), action, reason and citation."""

    id: str
    title: str
    when: dict[str, Any]
    require: FamiliesOrRuntimes | None = None
    exclude: FamiliesOrRuntimes | None = None
    require_executes_artifact: bool = False
    exclude_unusable: bool = False  # leave out the runtimes the evidence says the nodes cannot run
    prefer: tuple[str, ...] = ()
    by_score: bool = False  # rank ``prefer`` by score (its order breaks ties)
    reason: str | None = None
    # "fired": a reason whenever it applied; "decisive": only when leaving it out changes the answer
    reason_if: Literal["fired", "decisive"] = "fired"
    narrows: tuple[str, ...] = ()  # the sources' rules this one reads within their scope
    scope: str | None = None  # what the source wrote the narrowed rule for
    conflict: str | None = None  # said when earlier rules leave this one nothing to act on
    steps: tuple[RuleStep, ...] = ()
    architecture_adds: str | None = None
    cite: tuple[Citation, ...]

    @model_validator(mode="after")
    def _checks(self) -> Rule:
        check_condition(self.when)
        if (self.require or self.exclude or self.require_executes_artifact or self.exclude_unusable or self.prefer) \
                and not self.reason:
            raise ValueError("a rule that filters or prefers needs a 'reason'")
        if not self.cite:
            raise ValueError("every rule needs at least one citation ('cite')")
        return self


class AssumptionDef(_Strict):
    field: str
    assume: Any
    try_: tuple[Any, ...] = Field(default=(), alias="try")
    text: str
    if_text: str | None = None

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)

    @model_validator(mode="after")
    def _if_text(self) -> AssumptionDef:
        if self.try_ and not self.if_text:
            raise ValueError("an assumption with 'try' values needs an 'if_text'")
        return self


class SloPolicy(_Strict):
    switch_within_tier: bool
    reason: str
    cite: tuple[Citation, ...] = ()


class MeshPolicy(_Strict):
    rule: str
    note: str
    cite: tuple[Citation, ...] = ()


class WasmCost(_Strict):
    base: str
    blockers: dict[str, str]


class PracticeRoute(_Strict):
    when: dict[str, Any]
    route: Literal["R1", "R2", "R3"]
    reason: str
    cite: tuple[Citation, ...] = ()

    @model_validator(mode="after")
    def _checks(self) -> PracticeRoute:
        check_condition(self.when)
        return self


class RulebookFile(_File):
    kind: Literal["rulebook"]
    id: Literal["practice"]
    title: str
    summary: str
    assumptions: tuple[AssumptionDef, ...]
    tiers: dict[Family, str]
    slo: SloPolicy
    mesh: MeshPolicy
    rules: tuple[Rule, ...]
    routes: tuple[PracticeRoute, ...]
    artifact_reasons: dict[str, str]
    scenario_notes: dict[str, str]
    wasm_cost: WasmCost
    device_plugins: dict[str, str]
    sources_scope: dict[str, str]


FILE_MODELS: dict[str, type[_File]] = {
    "runtimes.yaml": RuntimesFile,
    "claims.yaml": ClaimsFile,
    "tree.yaml": TreeFile,
    "scenarios.yaml": ScenariosFile,
    "cases.yaml": CasesFile,
    "constraints.yaml": ConstraintsFile,
    "conflicts.yaml": ConflictsFile,
    "weights.yaml": WeightsFile,
    "routes.yaml": RoutesFile,
    "network.yaml": NetworkFile,
    "troubleshooting.yaml": TroubleshootingFile,
    "practice.yaml": RulebookFile,
}
