"""SARIF 2.1.0 validity and the JSON/table shapes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from rtadvisor.scan import scan
from rtadvisor.scan.report import RULES, to_json, to_sarif

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "data" / "scan" / "sarif-2.1.0-subset.schema.json").read_text())


def test_sarif_is_valid_and_locates_every_result(corpus: Path) -> None:
    log = to_sarif(scan([str(corpus)]))
    validator = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len({r["id"] for r in rules}) == len(rules) == len(RULES)
    results = run["results"]
    assert results
    for r in results:
        # ruleIndex points at the rule with that id (SARIF §3.27.6)
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        # a result whose kind is not "fail" has level "none" (SARIF §3.27.10)
        if r.get("kind", "fail") != "fail":
            assert r["level"] == "none"
        loc = r["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"]
        if loc["artifactLocation"]["uri"].endswith("does-not-exist.yaml"):
            continue
        assert loc["region"]["startLine"] >= 1
    ids = {r["ruleId"] for r in results}
    assert {"RTA001", "RTA002", "RTA101", "RTA102", "RTA103", "RTA104", "RTA105"} <= ids


def test_sarif_schema_rejects_what_sarif_rejects() -> None:
    # the subset schema is not a rubber stamp
    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "A", "message": {}, "level": "fatal"}]}]}
    validator = jsonschema.Draft7Validator(SCHEMA)
    messages = [e.message for e in validator.iter_errors(bad)]
    assert any("fatal" in m for m in messages)
    assert len(messages) >= 2
    assert list(validator.iter_errors({"version": "2.0.0", "runs": []}))


def test_json_is_serialisable_and_mirrors_the_summary(corpus: Path) -> None:
    result = scan([str(corpus / "gpu"), str(corpus / "edge")])
    doc = json.loads(json.dumps(to_json(result)))
    assert doc["summary"]["workloads"] == len(doc["findings"]) == 5
    assert doc["summary"]["mismatch"] == sum(f["status"] == "mismatch" for f in doc["findings"])
    assert doc["summary"]["distinct_profiles"] <= 5


def test_sarif_uris_are_uri_references(tmp_path: Path, fixed_engine) -> None:
    d = tmp_path / "my manifests"
    d.mkdir()
    (d / "p.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x}]}\n")
    log = to_sarif(scan([str(d)], recommend=fixed_engine("runc")))
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.startswith("file:///") and "my%20manifests/p.yaml" in uri and " " not in uri
