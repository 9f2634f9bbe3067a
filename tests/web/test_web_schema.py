"""Property-based API tests: schemathesis generates requests from /openapi.json (in process, ASGI).

Every operation gets a bounded number of generated requests (valid and invalid); none may get a
5xx other than our documented 503 (something this node does not have yet, e.g. no stored bench
results), and every answer must match the schema: status code, content type and body.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rtadvisor.app.server import WebSettings
from rtadvisor.web import create_app

# A scratch store so the bench endpoints answer "not available" rather than read the user's data.
# (made at import time because the schema is; removed when the test process ends)
_STORE_DIR = tempfile.mkdtemp(prefix="rtadvisor-schemathesis-")
atexit.register(shutil.rmtree, _STORE_DIR, True)
_STORE = os.path.join(_STORE_DIR, "empty.db")
# schemathesis' in-process client sends "Host: testserver": name it as an operator would with
# --allowed-host (the Host check itself is tested in test_web_hostile.py)
_APP = create_app(settings=WebSettings(db=_STORE, allowed_hosts=("testserver",)))
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP).exclude(path="/api/generate")
# The coverage phase expands the deep Decision body of /api/generate into ~800 boundary cases (a
# minute here); random generation (valid and invalid bodies) keeps that operation's share bounded.
generate_schema = schemathesis.openapi.from_asgi("/openapi.json", _APP).include(path="/api/generate")
generate_schema.config.phases.update(phases=["examples", "fuzzing"])
MAX_EXAMPLES = int(os.environ.get("RTADVISOR_SCHEMATHESIS_EXAMPLES", "15"))


def not_a_server_error(ctx: object, response: schemathesis.Response, case: schemathesis.Case) -> bool:
    """500-599 are failures, except our deliberate 503 (an area or its data is not available)."""
    if response.status_code >= 500 and response.status_code != 503:
        raise AssertionError(f"{case.method} {case.path} -> {response.status_code}: {response.text[:300]}")
    if response.status_code == 503:
        body = response.json()
        assert body["error"] and "\n" not in body["error"] and _STORE_DIR not in body["error"], body
    return True


def check(case: schemathesis.Case) -> None:
    response = case.call()
    not_a_server_error(None, response, case)
    case.validate_response(response, checks=[status_code_conformance, content_type_conformance,
                                             response_schema_conformance])


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_fails_and_matches_its_schema(case: schemathesis.Case) -> None:
    check(case)


@generate_schema.parametrize()
@settings(max_examples=MAX_EXAMPLES * 2, deadline=None, suppress_health_check=list(HealthCheck))
def test_generate_never_fails_and_matches_its_schema(case: schemathesis.Case) -> None:
    check(case)
