"""Request and response models of the HTTP API (they make up the OpenAPI schema)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rtadvisor.model import Claim, Decision, Measurement, Workload


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    areas: dict[str, bool] = Field(description="Which parts of rtadvisor this server could load")


class Preset(BaseModel):
    """A profile preset for one of the sources' scenarios."""

    id: str
    label: str
    source: str = Field(description="Which row of the sources' tables the preset is derived from")
    profile: Workload


class TreeNode(BaseModel):
    id: str
    label: str
    question: str = ""
    threshold: str | None = None
    leaf: bool = False
    runtime: str | None = None
    note: str | None = None
    source: Any = None


class TreeEdge(BaseModel):
    source: str
    target: str
    label: str = ""


class DecisionTree(BaseModel):
    """The S-select decision tree as a drawable graph (``root`` is the first question)."""

    root: str
    nodes: list[TreeNode]
    edges: list[TreeEdge]


class Network(BaseModel):
    """The S-network relation network: nodes (``id``, ``label``, ``group``) and links."""

    directed: bool = True
    nodes: list[dict[str, Any]]
    links: list[dict[str, Any]]


class ComparePoint(BaseModel):
    """One runtime's figure for one metric: what the sources claim and what this node measured."""

    runtime: str
    metric: Literal["cold_start", "memory"]
    unit: Literal["ms", "MB"]
    measured: Measurement | None = None
    measured_value: float | None = Field(default=None, description="``measured`` converted to ``unit``")
    claims: list[Claim] = []
    claim_low: float | None = Field(default=None, description="Lowest claimed value, in ``unit``")
    claim_high: float | None = Field(default=None, description="Highest claimed value, in ``unit``")


class Comparison(BaseModel):
    """Claims next to measurements, per runtime, for the page's charts."""

    host: dict[str, Any] = {}
    measured_available: bool
    reason: str | None = Field(default=None, description="Why there are no measurements, when there are none")
    points: list[ComparePoint]


class TroubleshootingHit(BaseModel):
    """A row of the S-wasm troubleshooting table; ``score`` is the match quality of a symptom search."""

    entry: dict[str, Any]
    score: float | None = None
    source: str = "S-wasm"


class GenerateRequest(_Strict):
    """Give exactly one of ``decision`` (as ``recommend --json`` prints it) or ``profile``."""

    decision: Decision | None = None
    profile: Workload | None = None


class GeneratedFile(BaseModel):
    path: str
    content: str


class GenerateResponse(BaseModel):
    runtime: str
    route: str | None = None
    files: list[GeneratedFile]


GenerateFormat = Literal["json", "zip"]
