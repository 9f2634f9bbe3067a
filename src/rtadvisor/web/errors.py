"""HTTP error mapping: our exception tree becomes JSON with a 4xx/503 status, never a traceback."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ServiceUnavailable(Exception):
    """A part of rtadvisor the request needs is not available (not installed, no data yet).

    The API answers 503 with ``"<what> not available: <why>"`` so a client can tell a missing
    area (e.g. no bench results stored yet) from a bug.
    """

    def __init__(self, what: str, why: str) -> None:
        super().__init__(f"{what} not available: {why}")
        self.what = what
        self.why = why


class NotFound(Exception):
    """The thing named in the path does not exist (unknown runtime id, run id, ...)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ErrorResponse(BaseModel):
    """Every non-2xx answer of the API that is not a request-validation error."""

    error: str
    field: str | None = None


class ValidationErrorItem(BaseModel):
    """One problem found in the request, as FastAPI/pydantic report it."""

    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorResponse(BaseModel):
    """A 422 answer: ``error`` is one readable line naming the field, ``detail`` has every problem."""

    error: str
    field: str | None = None
    detail: list[ValidationErrorItem]


#: The error responses every API route may give, for the OpenAPI schema.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "The request body cannot be read (not JSON, not UTF-8)"},
    422: {"model": ValidationErrorResponse, "description": "Invalid input; `field` names the culprit"},
    503: {"model": ErrorResponse, "description": "A part of rtadvisor this needs is not available"},
}
NOT_FOUND_RESPONSE: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No such item"},
}


def field_from_loc(loc: tuple[Any, ...] | list[Any]) -> str | None:
    """``("body", "workload", "memory_mb")`` -> ``"workload.memory_mb"``; ``("query", "symptom")`` -> ``"symptom"``."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or None
