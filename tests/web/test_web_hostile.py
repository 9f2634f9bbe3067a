"""The API under hostile input: never a 5xx, never invalid JSON, never a host path, always one line.

Covers what issue 11 lists for the API (1e400, Infinity, NaN, deep nesting, huge strings and
integers, wrong types, oversized bodies, foreign Host headers) against every route.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from rtadvisor.app.server import WebSettings, allowed_hosts_for, settings_from_env
from rtadvisor.web import create_app


def strict_json(text: str) -> Any:
    """Parse as a strict JSON parser would: NaN / Infinity are not JSON."""
    def refuse(token: str) -> Any:
        raise AssertionError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def check_answer(resp: httpx.Response, *forbidden: str) -> dict[str, Any] | list[Any]:
    assert resp.status_code < 500 or resp.status_code == 503, (resp.status_code, resp.text[:300])
    body = strict_json(resp.text)
    for secret in forbidden:
        assert secret not in resp.text
    if resp.status_code >= 400:
        assert isinstance(body, dict) and body["error"] and "\n" not in body["error"], body
        assert len(body["error"]) <= 400
        assert "Traceback" not in resp.text
    return body


HOSTILE_BODIES: list[tuple[str, bytes]] = [
    ("1e400", b'{"name": "x", "memory_mb": 1e400}'),
    ("-1e400", b'{"name": "x", "cpu_cores": -1e400}'),
    ("Infinity", b'{"name": "x", "memory_mb": Infinity}'),
    ("-Infinity", b'{"name": "x", "cold_start_slo_ms": -Infinity}'),
    ("NaN", b'{"name": "x", "memory_mb": NaN}'),
    ("NaN-in-list", b'{"name": "x", "devices": [NaN]}'),
    ("5000-digit int", b'{"name": "x", "services": ' + b"9" * 5000 + b"}"),
    ("big int", b'{"name": "x", "services": 123456789012345678901234567890}'),
    ("deep list", b'{"name": "x", "devices": ' + b"[" * 10000 + b"]" * 10000 + b"}"),
    ("deep object", b'{"name": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}"),
    ("deep 100", b'{"name": "x", "devices": ' + b"[" * 100 + b"]" * 100 + b"}"),
    ("string number", b'{"name": "x", "memory_mb": "64"}'),
    ("yes bool", b'{"name": "x", "untrusted_code": "yes"}'),
    ("int bool", b'{"name": "x", "offline": 1}'),
    ("float services", b'{"name": "x", "services": 2.5}'),
    ("list scalar", b'{"name": "x", "devices": [["usb"]]}'),
    ("map in list", b'{"name": "x", "kernel_features": [{"a": 1}]}'),
    ("map scalar", b'{"name": "x", "gpu": {"kind": "none"}}'),
    ("list name", b'{"name": ["x"]}'),
    ("null name", b'{"name": null}'),
    ("bool number", b'{"name": "x", "memory_mb": true}'),
    ("unknown field", b'{"name": "x", "__proto__": 1}'),
    ("array body", b"[1, 2, 3]"),
    ("string body", b'"x"'),
    ("number body", b"1e400"),
    ("not utf-8", b'{"name": "\xff\xfe"}'),
    ("lone surrogate", b'{"name": "\\ud800"}'),
    ("control chars", b'{"name": "\\u001b[2J\\u0007x"}'),
    ("markup name", b'{"name": "[/bold][red]x"}'),
    ("trailing garbage", b'{"name": "x"} {"name": "y"}'),
    ("huge name", b'{"name": "' + b"a" * 900_000 + b'"}'),
    ("empty", b""),
    ("whitespace", b"   \n"),
]


@pytest.fixture(scope="module")
def hostile_client(empty_db: str) -> Iterator[TestClient]:
    with TestClient(create_app(db=empty_db), base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize(("label", "raw"), HOSTILE_BODIES, ids=[b[0] for b in HOSTILE_BODIES])
@pytest.mark.parametrize("route", ["/api/recommend", "/api/generate"])
def test_hostile_bodies(hostile_client: TestClient, empty_db: str, route: str, label: str, raw: bytes) -> None:
    if route == "/api/generate":
        # the same junk as the profile and as the decision of a generate request
        for wrapped in (b'{"profile": ' + (raw or b"null") + b"}", b'{"decision": ' + (raw or b"null") + b"}"):
            resp = hostile_client.post(route, content=wrapped, headers={"content-type": "application/json"})
            check_answer(resp, empty_db)
            assert resp.status_code in (200, 413, 422), (label, resp.status_code, resp.text[:200])
        return
    resp = hostile_client.post(route, content=raw, headers={"content-type": "application/json"})
    body = check_answer(resp, empty_db)
    if label in ("markup name", "big int"):
        # markup is only text in a name (echoed as JSON data); services has no upper bound
        assert resp.status_code == 200
    elif label in ("control chars", "huge name"):
        # a profile name is at most 253 characters, without control characters (as a profile file's)
        assert resp.status_code == 422 and body["field"] == "name", (label, resp.text[:300])
    else:
        assert resp.status_code == 422, (label, resp.text[:300])
        assert isinstance(body, dict) and body["field"]


@pytest.mark.parametrize("field", ["memory_mb", "cpu_cores", "cold_start_slo_ms"])
def test_non_finite_numbers_name_the_field(hostile_client: TestClient, field: str) -> None:
    for token in ("1e400", "-1e400", "Infinity", "NaN"):
        raw = f'{{"name": "x", "{field}": {token}}}'.encode()
        resp = hostile_client.post("/api/recommend", content=raw, headers={"content-type": "application/json"})
        assert resp.status_code == 422
        assert resp.json()["field"] == field
        why = " (JSON has no NaN or Infinity)" if token in ("Infinity", "NaN") else ""
        assert resp.json()["error"] == f"request body: field '{field}': expected a finite number{why}, got {token}"


def test_wrong_content_type_is_415(hostile_client: TestClient) -> None:
    resp = hostile_client.post("/api/recommend", content=b"name=x", headers={"content-type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 415 and resp.json()["field"] == "content-type"


@pytest.mark.parametrize(("method", "path", "params"), [
    ("GET", "/api/runtimes/..%2F..%2Fetc%2Fpasswd", None),
    ("GET", "/api/runtimes/" + "x" * 300, None),
    ("GET", "/api/runs/..%2F..%2Fetc%2Fpasswd", None),
    ("GET", "/api/runs/%00", None),
    ("GET", "/api/troubleshooting", {"symptom": "\x1b[2J" * 10}),
    ("GET", "/api/troubleshooting", {"symptom": "x" * 10_000}),
    ("GET", "/api/doctor", {"symptom": "x" * 10_000}),
    ("GET", "/api/doctor", {"symptom": "zzzz qqqq"}),
    ("GET", "/api/doctor", {"symptom": "   "}),
    ("POST", "/api/recommend?evidence=maybe", None),
    ("POST", "/api/recommend?rulebook=mine", None),
    ("POST", "/api/generate?format=tar", None),
    ("DELETE", "/api/recommend", None),
    ("GET", "/api/recommend", None),
    ("GET", "/api/../../etc/passwd", None),
    ("GET", "/static/../../../../etc/passwd", None),
])
def test_hostile_requests(hostile_client: TestClient, empty_db: str, method: str, path: str,
                          params: dict[str, str] | None) -> None:
    resp = hostile_client.request(method, path, params=params, json={"name": "x"} if method == "POST" else None)
    check_answer(resp, empty_db, "/etc/passwd", "root:x:0:0")
    assert resp.status_code != 200 or path.startswith(("/api/doctor", "/api/troubleshooting"))


def test_every_get_route_answers_without_a_host_path(hostile_client: TestClient, empty_db: str) -> None:
    """503 (nothing stored) included: the store's directory never shows."""
    schema = hostile_client.get("/openapi.json").json()
    for path, item in schema["paths"].items():
        if "get" in item and "{" not in path:
            check_answer(hostile_client.get(path), empty_db)


# ---------------------------------------------------------------------------- body limit


def test_body_over_the_limit_is_413(empty_db: str) -> None:
    app = create_app(settings=WebSettings(db=empty_db, max_body_bytes=1000))
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        ok = c.post("/api/recommend", content=b'{"name": "x"' + b" " * 900 + b"}",
                    headers={"content-type": "application/json"})
        assert ok.status_code == 200
        big = c.post("/api/recommend", json={"name": "x" * 2000})
        assert big.status_code == 413 and big.json()["field"] == "body" and "1000 bytes" in big.json()["error"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while streaming
            yield b'{"name": "'
            for _ in range(100):
                yield b"x" * 100
            yield b'"}'

        streamed = c.post("/api/recommend", content=chunks(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413
        assert c.get("/api/health").json()["limits"]["max_body_bytes"] == 1000


def test_default_limit_is_one_mebibyte(hostile_client: TestClient) -> None:
    resp = hostile_client.post("/api/recommend", content=b'{"name": "' + b"x" * (1024 * 1024) + b'"}',
                               headers={"content-type": "application/json"})
    assert resp.status_code == 413


# ---------------------------------------------------------------------------- Host header


@pytest.mark.parametrize(("host", "status"), [
    ("127.0.0.1", 200), ("127.0.0.1:8765", 200), ("localhost:8765", 200), ("LOCALHOST", 200),
    ("evil.example", 400), ("evil.example:8765", 400), ("127.0.0.1.evil.example", 400), ("", 400),
    ("[::1]:8765", 400),  # not bound to IPv6 loopback by default
])
def test_host_header_is_checked(empty_db: str, host: str, status: int) -> None:
    with TestClient(create_app(db=empty_db), base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        resp = c.get("/api/health", headers={"host": host})
        assert resp.status_code == status, resp.text
        if status == 400:
            assert resp.json()["field"] == "Host"
            page = c.get("/", headers={"host": host})
            assert page.status_code == 400  # the page too, not only the API


def test_allowed_hosts_follow_the_bind_address() -> None:
    assert set(allowed_hosts_for("127.0.0.1")) == {"127.0.0.1", "localhost", "::1"}
    assert set(allowed_hosts_for("::1")) == {"::1", "localhost", "127.0.0.1"}
    assert allowed_hosts_for("192.0.2.10") == ("192.0.2.10",)
    assert allowed_hosts_for("192.0.2.10", ["rt.example"]) == ("192.0.2.10", "rt.example")
    wildcard = allowed_hosts_for("0.0.0.0")
    assert {"localhost", "127.0.0.1"} <= set(wildcard) and "0.0.0.0" in wildcard


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RTADVISOR_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("RTADVISOR_ALLOWED_HOSTS", "a.example, b.example")
    s = settings_from_env(None, "127.0.0.1")
    assert s.max_body_bytes == 2048 and {"a.example", "b.example"} <= set(s.allowed_hosts)
    # options win over the environment
    s = settings_from_env(None, "127.0.0.1", 4096, ["c.example"])
    assert s.max_body_bytes == 4096 and "c.example" in s.allowed_hosts and "a.example" not in s.allowed_hosts
    monkeypatch.setenv("RTADVISOR_MAX_BODY_BYTES", "lots")
    from rtadvisor.errors import InputError

    with pytest.raises(InputError, match="RTADVISOR_MAX_BODY_BYTES"):
        settings_from_env(None, "127.0.0.1")


def test_configured_hosts_and_wildcard(empty_db: str) -> None:
    app = create_app(settings=WebSettings(db=empty_db, allowed_hosts=allowed_hosts_for("127.0.0.1", ["rt.example"])))
    with TestClient(app, base_url="http://rt.example", raise_server_exceptions=False) as c:
        assert c.get("/api/health").status_code == 200
        assert c.get("/api/health", headers={"host": "other.example"}).status_code == 400
    with TestClient(create_app(settings=WebSettings(db=empty_db, allowed_hosts=("*",))),
                    base_url="http://anything.example") as c:
        assert c.get("/api/health").status_code == 200
