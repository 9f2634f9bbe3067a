"""What stands between the network and the routes: the Host check, the body limit, strict JSON.

Pure ASGI middleware (not ``BaseHTTPMiddleware``) so a refused request costs no thread and the body
is never read past the limit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from rtadvisor.errors import InputError

from .errors import error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Deepest nesting of arrays/objects a request body may have (a decision document needs ~6).
MAX_JSON_DEPTH = 64
#: Longest integer literal accepted (digits); longer ones are refused before Python converts them.
MAX_INT_DIGITS = 40


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


def host_of(header: str) -> str:
    """The name in a Host header without its port: ``example.org:80`` -> ``example.org``, ``[::1]:8765`` -> ``::1``."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class HostCheck:
    """Answer only requests whose Host header names this server (against DNS rebinding)."""

    def __init__(self, app: ASGIApp, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.any = "*" in allowed
        self.allowed = frozenset(h.lower().strip("[]") for h in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.any:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        raw = headers.get(b"host", b"").decode("latin-1")
        if host_of(raw) not in self.allowed:
            shown = raw if len(raw) <= 100 and raw.isprintable() else repr(raw[:100])
            await _send_json(send, 400, error_body(
                f"Host: {shown!r} is not a name this server answers to; start it with --allowed-host NAME "
                "(or RTADVISOR_ALLOWED_HOSTS) to add one", "Host"))
            return
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, by Content-Length or while streaming.

    The body (at most ``limit`` bytes) is read here and replayed to the app, so a chunked upload
    without a length is cut off at the limit too.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        too_big = error_body(f"body: larger than this server's limit of {self.limit} bytes "
                             "(rtadvisor serve --max-body-bytes)", "body")
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                if int(declared) > self.limit:
                    await _send_json(send, 413, too_big)
                    return
            except ValueError:
                await _send_json(send, 400, error_body("Content-Length: not a number", "Content-Length"))
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await _send_json(send, 413, too_big)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class _Bad:
    """A number JSON can write but this API cannot use (1e400, NaN, a 5000-digit integer)."""

    def __init__(self, text: str, why: str) -> None:
        self.text = text
        self.why = why


def _float(text: str) -> float | _Bad:
    value = float(text)
    return value if math.isfinite(value) else _Bad(text, "a finite number")


def _int(text: str) -> int | _Bad:
    digits = text.lstrip("-")
    return int(text) if len(digits) <= MAX_INT_DIGITS else _Bad(text[:20] + "…", f"a number of at most {MAX_INT_DIGITS} digits")


def _constant(text: str) -> _Bad:
    return _Bad(text, "a finite number (JSON has no NaN or Infinity)")


def _check(value: Any, source: str) -> None:
    """Find the first unusable number or the first too-deep level, without recursion."""
    stack: list[tuple[Any, tuple[str, ...], int]] = [(value, (), 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise InputError(f"{source}: nested deeper than {MAX_JSON_DEPTH} levels", field=".".join(path) or "body")
        if isinstance(item, _Bad):
            field = ".".join(path) or "body"
            raise InputError(f"{source}: field '{field}': expected {item.why}, got {item.text}", field=field)
        if isinstance(item, dict):
            stack.extend((v, (*path, str(k)), depth + 1) for k, v in reversed(list(item.items())))
        elif isinstance(item, list):
            stack.extend((v, (*path, str(i)), depth + 1) for i, v in reversed(list(enumerate(item))))


def parse_json(body: bytes, source: str = "request body") -> Any:
    """Strict JSON: UTF-8, no NaN/Infinity/1e400, no giant integers, bounded nesting; errors are
    ``InputError`` lines naming the field."""
    if not body.strip():
        raise InputError(f"{source}: empty; expected a JSON object", field="body")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{source}: not UTF-8", field="body") from None
    try:
        value = json.loads(text, parse_float=_float, parse_int=_int, parse_constant=_constant)
    except RecursionError:
        raise InputError(f"{source}: nested deeper than {MAX_JSON_DEPTH} levels", field="body") from None
    except ValueError as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else "unreadable number"
        raise InputError(f"{source}: not valid JSON: {why}{where}", field="body") from None
    _check(value, source)
    return value


def finite(obj: Any) -> Any:
    """``obj`` with NaN and infinities replaced by ``None``: what leaves the API is always valid JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj
