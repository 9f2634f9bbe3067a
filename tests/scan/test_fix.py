"""--fix: minimal edits that keep comments, order and formatting; idempotent; atomic; dry run."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from rtadvisor.scan import scan
from rtadvisor.scan.fix import fix_files


def test_fix_inserts_runtime_class_keeping_everything_else(corpus_copy: Path, fixed_engine) -> None:
    target = corpus_copy / "microservices" / "online-boutique.yaml"
    before = target.read_text()
    result = scan([str(target)], recommend=fixed_engine("gvisor"))
    assert {f.status for f in result.findings} == {"mismatch"}
    outcomes = fix_files(result.findings)
    assert len(outcomes) == 1 and outcomes[0].changed and not outcomes[0].errors
    after = target.read_text()
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    # exactly one new line per workload, indented like its siblings; nothing else differs
    assert len(added) == 5 and all(line.strip() == "runtimeClassName: gvisor" for line in added)
    assert [line for line in after.splitlines() if "runtimeClassName" not in line] == before.splitlines()
    assert "# bursty at login" in after and "# redis is tuned for epoll on the host kernel" in after
    assert "      - name: server\n" in after  # the unindented sequence style of checkoutservice survives
    docs = list(yaml.safe_load_all(after))
    assert docs[0]["spec"]["template"]["spec"]["runtimeClassName"] == "gvisor"
    assert next(iter(docs[0]["spec"]["template"]["spec"])) == "runtimeClassName"
    assert "runtimeClassName" not in docs[1]["spec"]  # the Service is not a workload
    # idempotent: a second run finds nothing to change
    again = scan([str(target)], recommend=fixed_engine("gvisor"))
    assert {f.status for f in again.findings} == {"ok"}
    assert fix_files(again.findings) == []
    assert target.read_text() == after


def test_fix_replaces_existing_class_and_adds_wasm_annotation(corpus_copy: Path, fixed_engine) -> None:
    target = corpus_copy / "wasm" / "wasm-workloads.yaml"
    result = scan([str(target)], recommend=fixed_engine("wasmedge", "R3"))
    by = {f.name: f for f in result.findings}
    assert by["hello-wasm"].status == "mismatch" and by["hello-wasm"].recommended_runtime_class == "wasmedge"
    fix_files(result.findings)
    docs = list(yaml.safe_load_all(target.read_text()))
    assert docs[0]["spec"]["template"]["spec"]["runtimeClassName"] == "wasmedge"  # replaced in place
    assert docs[2]["spec"]["runtimeClassName"] == "wasmedge"
    # now route R2: crun-wasm plus the annotation crun looks for
    result = scan([str(target)], recommend=fixed_engine("wasmedge", "R2"))
    assert all(f.fixable for f in result.findings if f.status == "mismatch")
    fix_files(result.findings)
    text = target.read_text()
    docs = list(yaml.safe_load_all(text))
    for doc, meta in ((docs[0], docs[0]["spec"]["template"]["metadata"]), (docs[1], docs[1]["spec"]["template"]["metadata"]), (docs[2], docs[2]["metadata"])):
        assert meta["annotations"]["module.wasm.image/variant"] == "compat-smart", doc["metadata"]["name"]
    assert docs[1]["spec"]["template"]["metadata"]["labels"] == {"app": "thumbnailer"}
    assert text.startswith("# WasmEdge workloads: one already on the crun-wasm RuntimeClass (route R2),\n")
    second = scan([str(target)], recommend=fixed_engine("wasmedge", "R2"))
    assert all(f.status == "ok" and not f.warnings for f in second.findings)
    assert fix_files(second.findings) == []


def test_dry_run_prints_diff_and_writes_nothing(corpus_copy: Path, fixed_engine) -> None:
    target = corpus_copy / "batch" / "cronjobs.yaml"
    before = target.read_bytes()
    mtime = os.stat(target).st_mtime_ns
    result = scan([str(target)], recommend=fixed_engine("kata"))
    (outcome,) = fix_files(result.findings, dry_run=True)
    assert outcome.changed
    assert "+          runtimeClassName: kata\n" in outcome.diff
    lines = outcome.diff.splitlines()
    added = [line for line in lines if line.startswith("+") and not line.startswith("+++")]
    removed = [line for line in lines if line.startswith("-") and not line.startswith("---")]
    assert len(added) == 2 and all(line.strip() == "+          runtimeClassName: kata".strip() for line in added)
    assert removed == []
    assert target.read_bytes() == before and os.stat(target).st_mtime_ns == mtime
    assert sorted(p.name for p in target.parent.iterdir()) == ["cronjobs.yaml"]  # no temp file left


def test_fix_keeps_crlf_quotes_and_mode(tmp_path: Path, fixed_engine) -> None:
    target = tmp_path / "pod.yaml"
    text = (
        "apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: p  # keep me\r\nspec:\r\n"
        '    runtimeClassName: "runc"\r\n    containers:\r\n    - name: c\r\n      image: "nginx:1.27"\r\n'
    )
    target.write_bytes(text.encode())
    target.chmod(0o640)
    fix_files(scan([str(target)], recommend=fixed_engine("gvisor")).findings)
    out = target.read_bytes().decode()
    assert out == text.replace('"runc"', '"gvisor"')
    assert (target.stat().st_mode & 0o777) == 0o640


def test_list_items_are_fixed_in_place(corpus_copy: Path, fixed_engine) -> None:
    target = corpus_copy / "misc" / "list.yaml"
    fix_files(scan([str(target)], recommend=fixed_engine("kata")).findings)
    doc = yaml.safe_load(target.read_text())
    assert doc["items"][0]["spec"]["runtimeClassName"] == "kata"
    assert doc["items"][2]["spec"]["template"]["spec"]["runtimeClassName"] == "kata"
    assert "runtimeClassName" not in doc["items"][1]["spec"]


def test_not_fixed_when_it_would_break_or_weaken(corpus_copy: Path, fixed_engine) -> None:
    edge = scan([str(corpus_copy / "edge")], recommend=fixed_engine("kata"))
    assert all(f.status == "mismatch" and not f.fixable and "host access" in (f.fix_note or "") for f in edge.findings)
    helm = scan([str(corpus_copy / "misc" / "helm-rendered.yaml")], recommend=fixed_engine("runc"))
    plugins = next(f for f in helm.findings if f.name == "release-podinfo-plugins")
    assert plugins.status == "mismatch" and not plugins.fixable and "isolates more strongly" in (plugins.fix_note or "")
    assert fix_files(edge.findings + [plugins]) == []


def test_flow_style_spec_is_reported_not_mangled(tmp_path: Path, fixed_engine) -> None:
    target = tmp_path / "flow.yaml"
    target.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x}]}\n")
    (outcome,) = fix_files(scan([str(target)], recommend=fixed_engine("gvisor")).findings)
    assert not outcome.changed and "flow style" in outcome.errors[0]
    assert target.read_text().endswith("spec: {containers: [{name: c, image: x}]}\n")


def test_same_file_named_twice_is_scanned_and_fixed_once(corpus_copy: Path, fixed_engine, monkeypatch) -> None:
    monkeypatch.chdir(corpus_copy)
    result = scan(["batch", "./batch/cronjobs.yaml", "batch/../batch/cronjobs.yaml"], recommend=fixed_engine("gvisor"))
    assert len(result.findings) == 2
    fix_files(result.findings + result.findings)
    assert (corpus_copy / "batch" / "cronjobs.yaml").read_text().count("runtimeClassName: gvisor") == 2
