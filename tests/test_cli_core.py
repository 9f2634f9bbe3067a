"""The core commands through the real CLI entry point (rtadvisor.cli.main)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rtadvisor.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml")) + sorted((ROOT / "examples").glob("*.toml"))
DOCUMENTED_KEYS = {"runtime", "architecture", "route", "service_mesh", "alternatives", "trace", "constraints", "conflicts", "claims"}


@pytest.mark.parametrize("profile", EXAMPLES, ids=lambda p: p.name)
def test_recommend_json_has_documented_keys(profile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recommend", str(profile), "--json"]) == 0
    out = capsys.readouterr().out
    doc = json.loads(out)  # exactly one JSON object
    assert set(doc) >= DOCUMENTED_KEYS
    assert doc["trace"], "every decision explains itself"
    for alt in doc["alternatives"]:
        assert {"runtime", "score", "rank", "contributions"} <= set(alt)
        assert abs(sum(alt["contributions"].values()) - alt["score"]) < 1e-3
    for step in doc["trace"]:
        assert {"step", "rule", "question", "answer", "threshold", "source"} <= set(step)


def test_edge_gateway_readable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recommend", str(ROOT / "examples" / "edge-gateway.yaml")]) == 0
    out = capsys.readouterr().out
    # the verdict first: runtime, architecture, route, SLO badge, reasons, next steps, the other rulebook
    assert "wasmtime (runwasi) + K3s" in out and "Wasm route R3" in out and "SLO met" in out
    assert "Why" in out and "To adopt it" in out and "The sources rulebook differs" in out
    assert "Decision path" not in out  # the trace is --explain
    assert main(["recommend", str(ROOT / "examples" / "edge-gateway.yaml"), "--rulebook", "sources", "--explain"]) == 0
    out = capsys.readouterr().out
    assert "WasmEdge + K3s" in out and "Decision path, rulebook sources" in out and "case-edge" in out


def test_bad_profile_value_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x.yaml"
    bad.write_text("name: x\ngpu: nvidia\n")
    assert main(["recommend", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "field 'gpu': expected one of none, shared, passthrough, vgpu, sriov, got 'nvidia'" in err


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    err = captured.err
    assert err.startswith("rtadvisor: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert captured.out == ""
    return err


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("name: x\nmemory_mb: lots\n", "field 'memory_mb': expected a number > 0 (MB), got 'lots'"),
        ("name: x\ndevices: [usb, firewire]\n", "field 'devices': expected a list of usb, serial, video, pci, sriov-nic, rdma, dpdk, fpga, qat, got 'firewire'"),
        ("name: x\nwhatever: 1\n", "unknown field 'whatever'"),
        ("scenario: edge\n", "field 'name': required"),
        ("name: [unclosed\n", "invalid YAML"),
    ],
)
def test_bad_profiles_rejected_cleanly(tmp_path: Path, content: str, fragment: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(content)
    assert main(["recommend", str(p), "--json"]) == 2
    assert fragment in _one_line_error(capsys)


def test_bad_option_value_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recommend", "--name", "x", "--isolation", "extreme"]) == 2
    assert "field 'isolation': expected one of standard, strong, got 'extreme'" in _one_line_error(capsys)


def test_options_override_file(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["recommend", str(ROOT / "examples" / "edge-gateway.yaml"), "--device", "pci", "--json"]
    assert main([*argv, "--rulebook", "sources"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["workload"]["devices"] == ["pci"] and doc["runtime"] in ("kata", "vm")  # HC-devices wins
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    # practice: a Wasm module cannot reach a PCI device at all; the conflict is said, not papered over
    assert doc["runtime"] in ("wasmtime", "wasmedge", "wasmer")
    assert any(c["winner"] == "P-artifact" for c in doc["conflicts"]) and "Some needs conflict" in doc["summary"]


def test_options_only(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["recommend", "--name", "x", "--scenario", "edge", "--memory-mb", "64", "--cpu-cores", "0.5",
            "--isolation", "strong", "--json"]
    assert main([*argv, "--rulebook", "sources"]) == 0
    assert json.loads(capsys.readouterr().out)["runtime"] == "wasmedge"
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    # no artifact given: a Linux image is assumed, and strong isolation for it is a sandbox
    assert doc["runtime"] == "gvisor" and doc["other_rulebook"]["runtime"] == "wasmedge"
    artifact = next(a for a in doc["assumptions"] if a["field"] == "artifact")
    assert artifact["assumed"] == "oci-image" and artifact["matters"]


def test_inconsistent_ahp_preferences(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["recommend", str(ROOT / "examples" / "general-api.yaml"), "--prefer", "S:M=9", "--prefer", "M:V=9",
            "--prefer", "V:S=9"]
    assert main(argv) == 2
    assert "consistency ratio" in _one_line_error(capsys)
    assert main(["recommend", str(ROOT / "examples" / "general-api.yaml"), "--prefer", "S:M=3", "--prefer", "M:V=1/2",
                 "--json"]) == 0


def test_evidence_without_store_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "none.db"
    code = main(["recommend", str(ROOT / "examples" / "edge-gateway.yaml"), "--evidence", "--db", str(db)])
    assert code != 0
    assert "bench" in _one_line_error(capsys)
    assert not db.exists()  # asking must not create an empty store


def test_subprocess_entry_point_bad_profile(tmp_path: Path) -> None:
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "rtadvisor"
    if not exe.exists():
        pytest.skip("console script not installed next to this interpreter")
    p = tmp_path / "x.toml"
    p.write_text('name = "x"\ngpu = "nvidia"\n')
    r = subprocess.run([str(exe), "recommend", str(p)], check=False, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().count("\n") == 0 and "field 'gpu'" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["kb", "runtimes", "--json"],
        ["kb", "show", "wasmedge", "--json"],
        ["kb", "tables", "--json"],
        ["kb", "tables", "--table", "claims", "--json"],
        ["kb", "network", "--json"],
        ["kb", "network", "path", "A1", "A7", "--json"],
        ["kb", "network", "timeline", "--json"],
        ["kb", "network", "observability", "--json"],
        ["kb", "network", "coordinates", "--json"],
        ["kb", "troubleshoot", "kubectl", "logs", "empty", "--json"],
    ],
)
def test_kb_commands_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc


def test_kb_json_content(capsys: pytest.CaptureFixture[str]) -> None:
    main(["kb", "runtimes", "--json"])
    ids = {r["id"] for r in json.loads(capsys.readouterr().out)}
    assert {"runc", "crun", "gvisor", "kata", "wasmedge", "wasmtime", "vm"} <= ids
    main(["kb", "network", "path", "A1", "A7", "--json"])
    assert [s["id"] for s in json.loads(capsys.readouterr().out)["path"]] == ["A1", "A5", "A6", "A7"]
    main(["kb", "troubleshoot", "dns", "lookup", "--json"])
    assert json.loads(capsys.readouterr().out)["matches"][0]["fix"].startswith("enable WasmEdge")
    main(["kb", "tables", "--table", "cases", "--json"])
    assert len(json.loads(capsys.readouterr().out)["cases"]["rows"]) == 7


@pytest.mark.parametrize(
    "argv",
    [["kb", "show", "docker"], ["kb", "network", "path", "A1", "A4"], ["kb", "tables", "--table", "nope"]],
)
def test_kb_bad_input_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    _one_line_error(capsys)


@pytest.mark.parametrize("argv", [["kb", "runtimes"], ["kb", "show", "kata"], ["kb", "tables"], ["kb", "network"],
                                  ["kb", "network", "timeline"], ["kb", "troubleshoot", "image", "pull", "fails"]])
def test_kb_commands_readable(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    assert capsys.readouterr().out.strip()


def test_evidence_from_a_real_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`recommend --evidence` reads what the bench area stored (here: a hand-written bench document)."""
    from rtadvisor.store import ResultStore

    db = str(tmp_path / "results.db")
    doc = {
        "host": {"hostname": "test-node", "date": "2026-11-22T06:00:00+00:00"},
        "results": [
            {"runtime": "crun", "kb_runtime": "crun", "available": True, "cold_start_ms": {"p50": 40.0, "n": 5}},
            {"runtime": "runc", "kb_runtime": "runc", "available": True, "cold_start_ms": {"p50": 80.0, "n": 5}},
            {"runtime": "runsc", "kb_runtime": "gvisor", "available": True, "cold_start_ms": {"p50": 300.0, "n": 5}},
        ],
    }
    ResultStore.open(db).save(doc)
    argv = ["recommend", str(ROOT / "examples" / "general-api.yaml"), "--evidence", "--db", db, "--json"]
    assert main(argv) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["evidence_used"] is True
    crun = next(a for a in d["alternatives"] if a["runtime"] == "crun")
    assert crun["values"]["S"] == {**crun["values"]["S"], "origin": "measurement", "value": 40.0, "host": "test-node", "n": 5}
    step = next(t for t in d["trace"] if t["kind"] == "evidence")
    assert "test-node" in step["answer"] and step["source"] == "measured"
    gvisor = next(a for a in d["alternatives"] if a["runtime"] == "gvisor")
    assert gvisor["values"]["S"]["value"] == 300.0


def test_weights_and_method_options(capsys: pytest.CaptureFixture[str]) -> None:
    profile = str(ROOT / "examples" / "enterprise-saas.yaml")
    assert main(["recommend", profile, "--weight", "S=0.9", "--method", "topsis", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    score = next(t for t in d["trace"] if t["rule"] == "mcdm:topsis")
    assert "user weights S=0.9" in score["threshold"]
    assert main(["recommend", profile, "--weight", "S=fast"]) == 2
    assert "--weight" in _one_line_error(capsys)
    assert main(["recommend", profile, "--method", "electre"]) == 2
    assert "method" in _one_line_error(capsys)


def test_kb_tables_lists_the_practice_rules(capsys: pytest.CaptureFixture[str]) -> None:
    from rtadvisor import kb

    assert main(["kb", "tables", "-t", "practice", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["practice"]["rows"]
    assert [r["rule"] for r in rows] == [r.id for r in kb.load().practice.rules]
    assert all(r["cites"] for r in rows)
