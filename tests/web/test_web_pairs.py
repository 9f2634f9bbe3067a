"""Each API route answers exactly what its CLI command prints (both call one rtadvisor.app function).

The CLI runs in process (``rtadvisor.cli.main``) on the same store as the API; pairs that need
stored measurements are in test_web_evidence.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from rtadvisor.cli import main


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str, codes: tuple[int, ...] = (0,)) -> Any:
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    assert code in codes, captured.err
    return json.loads(captured.out)


def preset(client: TestClient, preset_id: str) -> dict[str, Any]:
    return next(p["profile"] for p in client.get("/api/presets").json() if p["id"] == preset_id)


@pytest.mark.parametrize("preset_id", ["edge", "enterprise", "multitenant-gpu"])
def test_recommend_pair(client: TestClient, capsys: pytest.CaptureFixture[str], tmp_path: Path, preset_id: str) -> None:
    profile = preset(client, preset_id)
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump({k: v for k, v in profile.items() if v is not None}), encoding="utf-8")
    assert cli_json(capsys, "recommend", str(path), "--json") == client.post("/api/recommend", json=profile).json()


def test_recommend_rejects_what_the_cli_rejects(client: TestClient, capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path) -> None:
    """The same bad value gets the same message from a profile file and from the API."""
    for field, value in (("memory_mb", "64"), ("untrusted_code", "yes"), ("services", 2.5), ("devices", [["usb"]])):
        path = tmp_path / "bad.yaml"
        path.write_text(yaml.safe_dump({"name": "x", field: value}), encoding="utf-8")
        capsys.readouterr()
        assert main(["recommend", str(path), "--json"]) == 2
        cli_error = capsys.readouterr().err.strip()
        api = client.post("/api/recommend", json={"name": "x", field: value})
        assert api.status_code == 422 and api.json()["field"] == field
        assert cli_error == "rtadvisor: error: " + api.json()["error"].replace("request body", str(path), 1)


@pytest.mark.parametrize("symptom", ["exec format error", "kubectl logs empty",
                                     'failed to create containerd task: no runtime for "kata" is configured'])
def test_doctor_symptom_pair(client: TestClient, capsys: pytest.CaptureFixture[str], symptom: str) -> None:
    cli = cli_json(capsys, "doctor", "--symptom", symptom, "--json")
    api = client.get("/api/doctor", params={"symptom": symptom}).json()
    assert cli == api
    assert api["diagnoses"] and all("on_this_node" in d for d in api["diagnoses"])


def test_doctor_pair(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    # The API only reports what dead rtadvisor runs left; the CLI's counterpart is --dry-run (plain
    # `doctor` removes it, and says "removed" where the API says "found").
    cli = cli_json(capsys, "doctor", "--dry-run", "--json", codes=(0, 1, 3))  # its exit code says the worst finding
    assert cli == client.get("/api/doctor").json()


@pytest.mark.parametrize(("argv", "path"), [
    (("kb", "runtimes", "--json"), "/api/runtimes"),
    (("kb", "show", "gvisor", "--json"), "/api/runtimes/gvisor"),
    (("kb", "show", "wasmedge", "--json"), "/api/runtimes/wasmedge"),
])
def test_knowledge_pairs(client: TestClient, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...],
                         path: str) -> None:
    assert cli_json(capsys, *argv) == client.get(path).json()


def test_troubleshooting_pair(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    cli = cli_json(capsys, "kb", "troubleshoot", "image", "pull", "fails", "--json")
    assert cli == client.get("/api/troubleshooting", params={"symptom": "image pull fails"}).json()
    assert cli["matches"]


def test_unknown_runtime_pair(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["kb", "show", "nosuch"]) == 2
    cli_error = capsys.readouterr().err.strip()
    api = client.get("/api/runtimes/nosuch")
    assert api.status_code == 404
    assert cli_error == "rtadvisor: error: " + api.json()["error"]


@pytest.mark.parametrize("preset_id", ["edge", "enterprise"])
def test_generate_pair(client: TestClient, capsys: pytest.CaptureFixture[str], tmp_path: Path, empty_db: str,
                       preset_id: str) -> None:
    """The files ``generate DECISION -o DIR`` writes are the files POST /api/generate returns."""
    decision = client.post("/api/recommend", json=preset(client, preset_id)).json()
    source = tmp_path / "decision.json"
    source.write_text(json.dumps(decision), encoding="utf-8")
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["generate", str(source), "-o", str(out), "--db", empty_db]) == 0
    written = {str(p.relative_to(out)): p.read_text(encoding="utf-8") for p in out.rglob("*") if p.is_file()}
    api = client.post("/api/generate", json={"decision": decision}).json()
    assert written == {f["path"]: f["content"] for f in api["files"]}
