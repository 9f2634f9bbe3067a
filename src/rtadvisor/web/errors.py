"""HTTP errors: the project's exception tree mapped to status codes by class, as one-line JSON.

=====================================  ======
``NotFoundError``                      404
``UnsupportedMediaType``               415  (a body that is not JSON by its content type)
``InputError`` (and ``ProfileError``)  422
``KnowledgeBaseError``, ``StoreError``,
``RuntimeUnavailable``, other ours     503  (a state of this node, e.g. nothing measured yet)
anything else                          500  (a bug: a generic line, never a traceback)
=====================================  ======

Messages are cut to one line of at most :data:`MAX_MESSAGE` characters, and absolute paths of this
host are reduced to their last component, so an answer never shows the server's file layout.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from rtadvisor.errors import InputError, NotFoundError, RtadvisorError

MAX_MESSAGE = 400
# An absolute POSIX path (two components or more) that is not part of a URL or of another path.
_PATH = re.compile(r"(?<![\w.:/~-])/(?:[^\s/'\"`,;:()<>\[\]{}]+/)+([^\s/'\"`,;:()<>\[\]{}]*)")


class ErrorResponse(BaseModel):
    """Every non-2xx answer of the API: one readable line, and the field at fault when there is one."""

    error: str
    field: str | None = None


class ValidationErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorResponse(ErrorResponse):
    """A 422 answer: ``error`` is one line naming the field, ``detail`` lists the problems found."""

    detail: list[ValidationErrorItem] = Field(default_factory=list)


def redact(text: str) -> str:
    """``text`` as one line of bounded length, with host paths reduced to their last component."""
    line = " ".join(text.split())
    line = _PATH.sub(lambda m: m.group(1) or "(path)", line)
    return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 1] + "…"


class UnsupportedMediaType(InputError):
    """The request body is declared as something other than JSON (HTTP 415)."""


def status_of(exc: RtadvisorError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, UnsupportedMediaType):
        return 415
    if isinstance(exc, InputError):
        return 422
    return 503


def error_body(message: str, field: str | None = None, detail: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": redact(message), "field": field}
    if detail is not None:
        body["detail"] = [{**d, "msg": redact(str(d.get("msg", "")))} for d in detail]
    return body


def field_from_loc(loc: tuple[Any, ...] | list[Any]) -> str | None:
    """``("body", "decision", "runtime")`` -> ``"decision.runtime"``; ``("query", "format")`` -> ``"format"``."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or None


#: The error answers every API route may give, for the OpenAPI schema.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "The request cannot be read (not JSON, not UTF-8) or its "
          "Host header is not one this server answers to"},
    422: {"model": ValidationErrorResponse, "description": "Invalid input; `field` names the culprit"},
    503: {"model": ErrorResponse, "description": "Something this needs is not there on this node yet "
          "(e.g. no stored bench results)"},
}
BODY_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorResponse, "description": "The request body is larger than the server's limit"},
    415: {"model": ErrorResponse, "description": "The request body is not application/json"},
}
NOT_FOUND_RESPONSE: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No such item"},
}
