"""`rtadvisor scan` end to end with the real decision engine: formats, exit codes, stdin, --fix."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rtadvisor.cli import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["scan", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_findings_for_the_corpus(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([str(corpus), "--format", "json"], capsys)
    doc = json.loads(out)
    assert code == 4  # the broken/ files were skipped
    assert set(doc) == {"schema_version", "findings", "ignored", "skipped", "summary"}
    for f in doc["findings"]:
        assert {"file", "line", "kind", "name", "namespace", "current_runtime_class", "recommended_runtime", "route", "reason", "inferred"} <= set(f)
        assert f["recommended_runtime"] in {"runc", "crun", "gvisor", "kata", "wasmedge", "wasmtime", "wasmer", "spin", "vm"}
        assert f["reason"] and "\n" not in f["reason"]
        assert all(set(v) == {"value", "source"} for v in f["inferred"].values())
    by = {f["name"]: f for f in doc["findings"]}
    # the practice rulebook, seen through inferred manifests: a privileged USB node agent stays on runc
    # (a VM cannot give it the host), and its device is still inferred
    assert by["sensor-agent"]["recommended_runtime"] == "runc" and by["sensor-agent"]["status"] == "ok"
    assert by["sensor-agent"]["inferred"]["devices"] == {"value": ["usb"], "source": "spec.template.spec.volumes[0].hostPath.path"}
    assert by["sensor-agent"]["inferred"]["host_access"]["value"] is True
    assert by["fpga-offload"]["inferred"]["devices"]["value"] == ["pci"]  # /dev/vfio
    assert by["fpga-offload"]["recommended_runtime"] == "runc"  # hostNetwork + NET_ADMIN: a node agent
    assert by["redis-cart"]["recommended_runtime"] in {"runc", "crun"}
    assert by["run-customer-scripts"]["recommended_runtime"] not in {"runc", "crun"}  # untrusted code
    assert by["thumbnailer"]["recommended_runtime"] in {"wasmtime", "wasmedge", "wasmer"} and by["thumbnailer"]["route"] == "R3"
    assert by["frontend"]["status"] == "ok" and by["frontend"]["current_runtime_class"] is None
    assert by["llm-server"]["current_runtime_class"] == "nvidia"
    assert [i["name"] for i in doc["ignored"]] == ["release-podinfo-jwt-test"]
    skipped = {(Path(p["file"]).name, p["line"], p["rule"]) for p in doc["skipped"]}
    assert skipped == {
        ("bad-quantity.yaml", 14, "malformed-quantity"),
        ("bad-quantity.yaml", 21, "invalid-annotation"),
        ("not-kubernetes.yaml", 2, "not-kubernetes"),
        ("not-kubernetes.yaml", 8, "not-kubernetes"),
        ("not-yaml.yaml", 9, "invalid-yaml"),
        ("unknown-kind.yaml", 2, "unknown-kind"),
    }
    s = doc["summary"]
    assert s["workloads"] == len(doc["findings"]) + 1 and s["skipped"] == 6
    assert s["ok"] + s["mismatch"] + s["choice"] == len(doc["findings"])
    assert "Traceback" not in err


def test_table_and_summary(corpus: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # A relative path, as typed (the table shows it as given), and a terminal wide enough that rich
    # does not fold the file column: what is checked must not depend on where the repository is
    # checked out. (The console is created at import; `_width` None means "ask the terminal".)
    from rtadvisor.cli.common import console

    monkeypatch.chdir(corpus)
    monkeypatch.setattr(console, "_width", 160)
    code, out, _ = run(["microservices"], capsys)
    assert code == 0
    flat = " ".join(out.split())
    for name in ("frontend", "cartservice", "checkoutservice", "redis-cart", "loadgenerator"):
        assert name in out
    assert "online-boutique" in out
    assert "5 workloads in 1 files: 5 ok, 0 mismatch, 0 team choice, 0 warnings, 0 ignored, 0 skipped (1 other objects" in flat


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["microservices"], 0),
        (["microservices", "--fail-on", "mismatch"], 0),
        (["batch"], 0),
        (["batch", "--fail-on", "mismatch"], 1),  # untrusted customer scripts on the default runtime
        (["wasm/wasm-workloads.yaml", "--fail-on", "warning"], 1),
        (["broken/not-yaml.yaml"], 4),
        (["batch", "broken", "--fail-on", "mismatch"], 5),
        (["does-not-exist.yaml"], 4),
    ],
)
def test_exit_codes(corpus: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: int) -> None:
    argv = [str(corpus / a) if not a.startswith("--") and a not in ("mismatch", "warning") else a for a in args]
    code, _, _ = run(argv, capsys)
    assert code == expected


def test_warning_threshold_is_stricter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A Wasm module (by its .wasm command) already on crun-wasm (route R2, a working Wasm route the
    # team chose; it is kept), but without the annotation route R2 needs: not a mismatch, a warning.
    (tmp_path / "w.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: w\nspec:\n  runtimeClassName: crun-wasm\n"
        "  containers:\n  - name: c\n    image: x\n    command: [/app.wasm]\n"
        "    resources: {limits: {memory: 64Mi, cpu: 200m}}\n"
    )
    code_m, _, _ = run([str(tmp_path), "--fail-on", "mismatch", "-f", "json"], capsys)
    code_w, out, _ = run([str(tmp_path), "--fail-on", "warning", "-f", "json"], capsys)
    finding = json.loads(out)["findings"][0]
    assert finding["status"] == "ok" and finding["route"] == "R2"  # a Wasm engine on the team's route
    assert [w["rule"] for w in finding["warnings"]] == ["wasm-annotation-missing"]
    assert (code_m, code_w) == (0, 1)


def test_stdin(corpus: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    data = (corpus / "gpu" / "inference.yaml").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, out, _ = run(["-", "-f", "json"], capsys)
    doc = json.loads(out)
    assert code == 0
    assert [(f["file"], f["line"], f["name"]) for f in doc["findings"]] == [
        ("<stdin>", 2, "llm-server"), ("<stdin>", 26, "finetune"), ("<stdin>", 45, "notebook-shared-gpu"),
    ]
    assert all(not f["fixable"] for f in doc["findings"])


def test_fix_and_dry_run_through_the_cli(corpus_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = corpus_copy / "batch" / "cronjobs.yaml"
    before = target.read_text()
    code, out, err = run([str(target), "--fix", "--dry-run", "--fail-on", "mismatch"], capsys)
    assert code == 1  # a dry run fixes nothing
    assert out.startswith(f"--- a/{str(target).lstrip('/')}\n")
    assert "+          runtimeClassName: " in out and "would change" in err
    assert target.read_text() == before
    code, out, err = run([str(target), "--fix", "--fail-on", "mismatch"], capsys)
    assert code == 0, err  # fixed now, so nothing left over the threshold
    assert "fixed " in err and "# customers upload these scripts" in target.read_text()
    runtime_class = yaml.safe_load_all(target.read_text())
    docs = list(runtime_class)
    assert docs[1]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["runtimeClassName"] in {"gvisor", "kata"}
    after = target.read_text()
    code, out, _ = run([str(target), "--fix", "--dry-run", "--fail-on", "mismatch"], capsys)
    assert (code, out) == (0, "") and target.read_text() == after  # idempotent


def test_dry_run_needs_fix(capsys: pytest.CaptureFixture[str], corpus: Path) -> None:
    code, _, err = run([str(corpus), "--dry-run"], capsys)
    assert code == 2 and "--dry-run" in err


def test_console_script_never_shows_a_traceback(corpus: Path) -> None:
    exe = Path(sys.executable).with_name("rtadvisor")
    proc = subprocess.run([str(exe), "scan", str(corpus / "broken"), "-f", "sarif"], check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 4
    assert "Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["version"] == "2.1.0"
