"""The HTTP API, in process (TestClient): answers, errors that name the field, no 500s."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rtadvisor.model import Decision, Workload


def presets(client: TestClient) -> list[dict[str, Any]]:
    resp = client.get("/api/presets")
    assert resp.status_code == 200
    return resp.json()


def test_health_states_the_limits(client: TestClient) -> None:
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["limits"]["max_body_bytes"] == 1024 * 1024


def test_openapi_documents_every_api_route(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = set(schema["paths"])
    for path in ("/api/recommend", "/api/runtimes", "/api/runtimes/{runtime_id}", "/api/tree", "/api/network",
                 "/api/troubleshooting", "/api/evidence", "/api/runs", "/api/verdicts", "/api/compare",
                 "/api/generate", "/api/doctor", "/api/presets", "/api/claims", "/api/routes", "/api/scenarios"):
        assert path in paths, path
    # the profile body is the Workload model, with its enums, so clients see every allowed value
    assert "Workload" in schema["components"]["schemas"]
    assert set(schema["components"]["schemas"]["Gpu"]["enum"]) == {"none", "shared", "passthrough", "vgpu", "sriov"}
    # 503, 422 and 413 answers are documented, and the body is the Workload model
    recommend = schema["paths"]["/api/recommend"]["post"]
    assert {"200", "413", "422", "503"} <= set(recommend["responses"])
    assert recommend["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Workload"}
    assert {p["name"] for p in recommend["parameters"]} == {"evidence", "rulebook", "pool"}
    assert "GenerateBody" in schema["components"]["schemas"]


def test_no_route_declares_any(client: TestClient) -> None:
    """Every 200 answer of the API has a real schema: a $ref or an array of $ref, never ``{}``."""
    schema = client.get("/openapi.json").json()
    for path, item in schema["paths"].items():
        for method, op in item.items():
            ok = op["responses"]["200"]["content"]["application/json"]["schema"]
            target = ok.get("items", ok)
            refs = [target] if "$ref" in target else target.get("anyOf", [])
            assert refs and all("$ref" in r for r in refs), f"{method.upper()} {path}: {ok}"


def test_presets_cover_the_sources_scenarios(client: TestClient) -> None:
    ids = {p["id"] for p in presets(client)}
    assert ids >= {"edge", "serverless", "ai-inference", "microservices", "enterprise", "dl-training", "multitenant-gpu"}
    for p in presets(client):
        Workload.model_validate(p["profile"])  # every preset is a valid profile
        # a sources' scenario names its row; a real workload names the practice it follows
        assert p["source"].startswith(("S-", "practice: "))


@pytest.mark.parametrize("preset_id", ["edge", "serverless", "ai-inference", "microservices", "enterprise",
                                       "dl-training", "multitenant-gpu"])
def test_recommend_equals_the_engine(client: TestClient, preset_id: str) -> None:
    """POST /api/recommend returns exactly what the engine (and so ``recommend --json``) returns."""
    from rtadvisor import decide

    profile = next(p["profile"] for p in presets(client) if p["id"] == preset_id)
    resp = client.post("/api/recommend", json=profile)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    expected = decide.recommend(decide.parse_profile(profile, source="test"), kb=None, evidence=None)
    assert body == expected.model_dump(mode="json")
    assert body["rulebook"] == "practice"
    sources = client.post("/api/recommend", params={"rulebook": "sources"}, json=profile).json()
    assert sources == decide.recommend(decide.parse_profile(profile, source="test"), rulebook="sources").model_dump(
        mode="json")
    assert sources["rulebook"] == "sources"
    decision = Decision.model_validate(body)
    assert decision.trace, "every decision has a trace"
    assert decision.workload.name == profile["name"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "memory_mb": -5}, "memory_mb"),
        ({"name": "x", "memory_mb": "lots"}, "memory_mb"),
        ({"name": "x", "gpu": "quantum"}, "gpu"),
        ({"name": "x", "devices": ["floppy"]}, "devices"),
        ({"name": "x", "memory_mb": "64"}, "memory_mb"),
        ({"name": "x", "untrusted_code": "yes"}, "untrusted_code"),
        ({"name": "x", "services": 2.5}, "services"),
        ({"name": "x", "multi_tenant": 1}, "multi_tenant"),
        ({"name": "x", "devices": [["usb"]]}, "devices"),
        ({"name": "x", "gpu": ["none"]}, "gpu"),
        ({"name": "x", "services": 0}, "services"),
        ({"name": "x", "colour": "blue"}, "colour"),
        ({"memory_mb": 64}, "name"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_profile_is_422_naming_the_field(client: TestClient, body: dict[str, Any], field: str) -> None:
    resp = client.post("/api/recommend", json=body)
    assert resp.status_code == 422
    err = resp.json()
    assert err["field"] == field
    assert field in err["error"] and "\n" not in err["error"]
    assert err["detail"] and err["detail"][0]["loc"][-1] == field
    # the very message the CLI gives for the same profile (with "request body" for the file name)
    from rtadvisor.decide import parse_profile
    from rtadvisor.errors import ProfileError

    with pytest.raises(ProfileError) as cli_error:
        parse_profile(body, source="request body")
    assert err["error"] == str(cli_error.value)


def test_null_means_unknown(client: TestClient) -> None:
    """Tri-state booleans: null (or absent) is unknown, and the decision says what it assumed."""
    given = client.post("/api/recommend", json={"name": "x", "untrusted_code": None, "memory_mb": None})
    absent = client.post("/api/recommend", json={"name": "x"})
    assert given.status_code == absent.status_code == 200
    assert given.json() == absent.json()
    assert given.json()["workload"]["untrusted_code"] is None


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", "null", "{\"name\": ", ""])
def test_malformed_body_is_422(client: TestClient, raw: str) -> None:
    resp = client.post("/api/recommend", content=raw, headers={"content-type": "application/json"})
    assert resp.status_code == 422
    assert resp.json()["error"]


def test_runtimes_and_one_runtime(client: TestClient) -> None:
    runtimes = client.get("/api/runtimes").json()
    ids = {r["id"] for r in runtimes}
    assert {"runc", "crun", "gvisor", "kata", "wasmedge", "wasmtime", "vm"} <= ids
    one = client.get("/api/runtimes/gvisor").json()
    assert one["id"] == "gvisor"
    assert one["claims"] and all(c["subject"] == "gvisor" for c in one["claims"])
    assert {s["metric"] for s in one["scored"]} == {"image_size", "cold_start", "memory", "density"}
    missing = client.get("/api/runtimes/nosuch")
    assert missing.status_code == 404
    assert missing.json()["field"] == "runtime_id"
    assert "runc" in missing.json()["error"]  # says what is known


def test_claims_carry_source_tags(client: TestClient) -> None:
    claims = client.get("/api/claims").json()
    assert claims
    assert {c["source"] for c in claims} <= {"S-select", "S-cases", "S-network", "S-wasm", "measured", "derived"}
    assert any(c["subject"] == "wasmedge" and c["metric"] == "cold_start" for c in claims)


def test_tree_is_a_drawable_tree_with_kb_runtimes_at_the_leaves(client: TestClient) -> None:
    tree = client.get("/api/tree").json()
    ids = {n["id"] for n in tree["nodes"]}
    assert tree["root"] in ids
    for edge in tree["edges"]:
        assert edge["source"] in ids and edge["target"] in ids
        assert edge["label"] in {"yes", "no"}
    leaves = [n for n in tree["nodes"] if n["leaf"]]
    runtimes = {r["id"] for r in client.get("/api/runtimes").json()}
    assert leaves and {n["runtime"] for n in leaves} <= runtimes
    questions = [n for n in tree["nodes"] if not n["leaf"]]
    assert len(questions) == 4  # S-select: resource-constrained, strong isolation, fast start, GPU
    # every question has exactly a yes and a no branch
    for q in questions:
        assert sorted(e["label"] for e in tree["edges"] if e["source"] == q["id"]) == ["no", "yes"]


def test_network_matches_the_kb_graph(client: TestClient) -> None:
    from rtadvisor import kb

    graph = kb.load().graph()
    net = client.get("/api/network").json()
    assert len(net["nodes"]) == graph.number_of_nodes()
    assert len([x for x in net["links"] if not x.get("derived")]) == graph.number_of_edges()
    ids = {n["id"] for n in net["nodes"]}
    assert {"L-0", "L-4", "A1", "A7", "T1", "O1"} <= ids
    assert all(n["label"] and n["group"] for n in net["nodes"])
    assert any(link["kind"] == "chain" and link["source"] == "A1" and link["target"] == "A5" for link in net["links"])


def test_troubleshooting_search(client: TestClient) -> None:
    found = client.get("/api/troubleshooting", params={"symptom": "kubectl logs is empty"}).json()
    assert found["symptom"] == "kubectl logs is empty"
    hits = found["matches"]
    assert hits and hits[0]["id"] == "TS-logs-empty" and hits[0]["score"] > 0
    assert "1.8.5" in hits[0]["fix"]
    everything = client.get("/api/troubleshooting").json()
    assert everything["symptom"] is None and len(everything["matches"]) >= 4
    assert {"kubectl logs empty", "image pull fails", "DNS does not resolve", "HPA on CPU never fires"} <= {
        e["symptom"] for e in everything["matches"]}
    assert client.get("/api/troubleshooting", params={"symptom": "zzzz qqqq"}).json()["matches"] == []


def test_scenarios_and_routes(client: TestClient) -> None:
    scen = client.get("/api/scenarios").json()
    assert len(scen["matrix"]["rows"]) == 4
    assert len(scen["cases"]["cases"] if "cases" in scen["cases"] else scen["cases"]["rows"]) == 7
    routes = client.get("/api/routes").json()
    assert [r["id"] for r in routes["routes"]] == ["R1", "R2", "R3"]


def test_bench_endpoints_say_unavailable_on_an_empty_store(client: TestClient, empty_db: str) -> None:
    for path in ("/api/evidence", "/api/runs", "/api/runs/latest"):
        resp = client.get(path)
        assert resp.status_code == 503, path
        assert resp.json()["error"].startswith("no stored bench results in empty.db")  # no directory shown
        assert empty_db not in resp.text
    cmp = client.get("/api/compare").json()
    assert cmp["measured_available"] is False
    assert "rtadvisor bench" in cmp["reason"] and empty_db not in cmp["reason"]
    # the claims are still there, in ms and MB
    wasm = next(p for p in cmp["points"] if p["runtime"] == "wasmedge" and p["metric"] == "cold_start")
    assert wasm["claim_low"] == 5.0 and wasm["claim_high"] == 10.0 and wasm["unit"] == "ms"
    kata = next(p for p in cmp["points"] if p["runtime"] == "kata" and p["metric"] == "cold_start")
    assert (kata["claim_low"], kata["claim_high"]) == (5000.0, 15000.0)  # "5-15 s" converted


def _decision(client: TestClient, preset_id: str) -> dict[str, Any]:
    profile = next(p["profile"] for p in presets(client) if p["id"] == preset_id)
    resp = client.post("/api/recommend", json=profile)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_generate_files_and_zip(client: TestClient) -> None:
    decision = _decision(client, "edge")
    resp = client.post("/api/generate", json={"decision": decision})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["runtime"] == decision["runtime"]
    paths = [f["path"] for f in body["files"]]
    if "runtimeclass.yaml" in paths:
        rc = next(f for f in body["files"] if f["path"] == "runtimeclass.yaml")["content"]
        assert "kind: RuntimeClass" in rc
    else:  # K3s ships the class (handler immutable): reused, and NOTES.md says so
        notes = next(f for f in body["files"] if f["path"] == "NOTES.md")["content"]
        assert "already provides the RuntimeClass" in notes
    zipped = client.post("/api/generate", params={"format": "zip"}, json={"decision": decision})
    assert zipped.status_code == 200
    assert zipped.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as zf:
        names = zf.namelist()
        assert len(names) == len(paths)
        first = names[0]
        assert zf.read(first).decode() == body["files"][0]["content"]
    # from a profile: the same files as from its decision
    profile = next(p["profile"] for p in presets(client) if p["id"] == "edge")
    again = client.post("/api/generate", json={"profile": profile}).json()
    assert again == body
    # and the profile is checked as strictly as in /api/recommend
    bad = client.post("/api/generate", json={"profile": {**profile, "memory_mb": "64"}})
    assert bad.status_code == 422 and bad.json()["field"] == "memory_mb"


@pytest.mark.parametrize("body", [{}, {"decision": None, "profile": None}])
def test_generate_needs_one_input(client: TestClient, body: dict[str, Any]) -> None:
    resp = client.post("/api/generate", json=body)
    assert resp.status_code == 422
    assert resp.json()["field"] == "decision"


def test_generate_rejects_both_inputs_and_bad_format(client: TestClient) -> None:
    decision = _decision(client, "microservices")
    both = client.post("/api/generate", json={"decision": decision, "profile": decision["workload"]})
    assert both.status_code == 422 and both.json()["field"] == "profile"
    fmt = client.post("/api/generate", params={"format": "tar"}, json={"decision": decision})
    assert fmt.status_code == 422 and fmt.json()["field"] == "format"


def test_generate_an_undeployable_decision_is_422(client: TestClient) -> None:
    decision = _decision(client, "edge")
    resp = client.post("/api/generate", json={"decision": {**decision, "runtime": "nosuch"}})
    assert resp.status_code == 422
    assert resp.json()["field"] == "decision"
    assert "nosuch" in resp.json()["error"]
    garbage = client.post("/api/generate", json={"decision": {**decision, "alternatives": [[1]]}})
    assert garbage.status_code == 422 and garbage.json()["field"].startswith("decision.alternatives")


def test_generate_for_a_vm_has_pod_overhead_with_its_source(client: TestClient) -> None:
    decision = _decision(client, "enterprise")
    assert decision["runtime"] == "vm"
    files = {f["path"]: f["content"] for f in client.post("/api/generate", json={"decision": decision}).json()["files"]}
    rc = files["runtimeclass.yaml"]
    assert "podFixed" in rc
    assert "claim" in files["NOTES.md"] or "measured" in files["NOTES.md"]


def test_doctor_and_symptoms(client: TestClient) -> None:
    report = client.get("/api/doctor").json()
    assert report["worst"] in {"ok", "info", "warn", "fail"}
    assert any(f["id"] == "program-runc" for f in report["findings"])
    diag = client.get("/api/doctor", params={"symptom": "kubectl logs empty"}).json()
    assert diag["diagnoses"] and "1.8.5" in json.dumps(diag["diagnoses"][0])
    assert all("on_this_node" in d for d in diag["diagnoses"])


def test_unknown_api_path_is_json_404(client: TestClient) -> None:
    resp = client.get("/api/no/such/thing")
    assert resp.status_code == 404
    assert "no API endpoint" in resp.json()["error"]


def test_page_and_assets_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "{{version}}" not in page.text
    for asset in ("/static/app.js", "/static/app.css", "/static/graph.js", "/static/tree.js", "/static/charts.js",
                  "/static/svg.js", "/static/favicon.svg"):
        assert client.get(asset).status_code == 200, asset
    # the page refers to no other origin: no http(s):// in any src/href
    for marker in ('src="http', "src='http", 'href="http', "href='http", "//cdn"):
        assert marker not in page.text
    # and neither do the scripts (no fetch/import of an external URL)
    for asset in ("app.js", "graph.js", "tree.js", "charts.js", "svg.js", "app.css"):
        text = client.get(f"/static/{asset}").text
        assert "https://" not in text and "http://" not in text.replace("http://www.w3.org/2000/svg", ""), asset


def test_error_bodies_are_one_line(client: TestClient) -> None:
    resp = client.post("/api/recommend", json={"name": "x", "cpu_cores": -1})
    assert "\n" not in resp.json()["error"]
    assert json.loads(resp.text)["field"] == "cpu_cores"


def test_recommend_is_what_the_cli_prints(client: TestClient, tmp_path: Any) -> None:
    """The API's answer parses to the same JSON document as ``rtadvisor recommend FILE --json``."""
    import subprocess
    preset_id = "enterprise"  # hard constraints, conflicts and a VM: the richest decision
    import sys

    import yaml

    profile = next(p["profile"] for p in presets(client) if p["id"] == preset_id)
    path = tmp_path / f"{preset_id}.yaml"
    path.write_text(yaml.safe_dump(profile), encoding="utf-8")
    cli = subprocess.run(
        [sys.executable, "-c", "import sys; from rtadvisor.cli import main; sys.exit(main(sys.argv[1:]))",
         "recommend", str(path), "--json"], check=False, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    assert client.post("/api/recommend", json=profile).json() == json.loads(cli.stdout)
