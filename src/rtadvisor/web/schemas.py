"""The web's own request and response models; the domain's are in :mod:`rtadvisor.model`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rtadvisor.model import Decision, Workload


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    limits: dict[str, int] = Field(description="The API's limits: max_body_bytes, max_json_depth")


class GenerateBody(BaseModel):
    """Give exactly one of ``decision`` (as ``recommend --json`` prints it) or ``profile``.

    (Documents the body; the route reads it with the same strict checks as ``/api/recommend``.)
    """

    model_config = ConfigDict(extra="forbid")

    decision: Decision | None = None
    profile: Workload | None = None
