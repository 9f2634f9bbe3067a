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
    assert DOCUMENTED_KEYS <= set(doc)
    assert doc["trace"], "every decision explains itself"
    for alt in doc["alternatives"]:
        assert {"runtime", "score", "rank", "contributions"} <= set(alt)
        assert abs(sum(alt["contributions"].values()) - alt["score"]) < 1e-3
    for step in doc["trace"]:
        assert {"step", "rule", "question", "answer", "threshold", "source"} <= set(step)


def test_edge_gateway_readable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recommend", str(ROOT / "examples" / "edge-gateway.yaml")]) == 0
    out = capsys.readouterr().out
    assert "wasmedge" in out and "WasmEdge + K3s" in out and "Decision path" in out


def test_bad_profile_value_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x.yaml"
    bad.write_text("name: x\ngpu: nvidia\n")
    assert main(["recommend", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "field 'gpu': expected one of none, shared, passthrough, vgpu, sriov, got 'nvidia'" in err
