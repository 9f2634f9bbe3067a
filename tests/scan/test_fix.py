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


def test_fix_sets_wasm_classes_and_never_moves_a_wasm_workload_off_its_wasm_class(corpus_copy: Path, fixed_engine) -> None:
    target = corpus_copy / "wasm" / "wasm-workloads.yaml"
    result = scan([str(target)], recommend=fixed_engine("wasmedge", "R3"))
    by = {f.name: f for f in result.findings}
    # hello-wasm already runs a Wasm engine on crun-wasm (route R2): the team's route is kept
    assert by["hello-wasm"].status == "ok" and by["hello-wasm"].route == "R2" and not by["hello-wasm"].fixable
    assert by["thumbnailer"].status == "mismatch" and by["thumbnailer"].recommended_runtime_class == "wasmedge"
    fix_files(result.findings)
    docs = list(yaml.safe_load_all(target.read_text()))
    assert docs[0]["spec"]["template"]["spec"]["runtimeClassName"] == "crun-wasm"  # left alone
    assert docs[1]["spec"]["template"]["spec"]["runtimeClassName"] == "wasmedge"
    assert docs[2]["spec"]["runtimeClassName"] == "wasmedge"
    # they are on runwasi classes now: an engine that prefers route R2 does not move them either
    again = scan([str(target)], recommend=fixed_engine("wasmedge", "R2"))
    assert [(f.status, f.route) for f in again.findings] == [("ok", "R2"), ("ok", "R3"), ("ok", "R3")]
    assert fix_files(again.findings) == []


def test_fix_adds_the_wasm_annotation_route_r2_needs(tmp_path: Path, fixed_engine) -> None:
    target = tmp_path / "w.yaml"
    target.write_text("# a comment that stays\napiVersion: v1\nkind: Pod\nmetadata:\n  name: w\n  labels: {app: w}\n"
                      "spec:\n  containers:\n  - name: c\n    image: x\n    command: [/app.wasm]\n")
    result = scan([str(target)], recommend=fixed_engine("wasmedge", "R2"))
    assert result.findings[0].status == "mismatch" and result.findings[0].fixable
    fix_files(result.findings)
    text = target.read_text()
    doc = yaml.safe_load(text)
    assert doc["spec"]["runtimeClassName"] == "crun-wasmedge"  # crun's handler for the chosen engine
    assert doc["metadata"]["annotations"]["module.wasm.image/variant"] == "compat-smart"
    assert doc["metadata"]["labels"] == {"app": "w"} and text.startswith("# a comment that stays\n")
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
    # the team's stronger runtime is a choice, reported as such and never weakened by --fix
    assert plugins.status == "choice" and not plugins.fixable and "isolates more strongly" in (plugins.fix_note or "")
    assert fix_files([*edge.findings, plugins]) == []


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
