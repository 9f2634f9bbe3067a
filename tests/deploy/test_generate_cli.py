"""``rtadvisor generate`` end to end through the CLI: files written, decisions on stdin, merges, errors."""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

import pytest
import tomlkit
import yaml

from rtadvisor.cli import main
from rtadvisor.k8s import containerd as ctd

FIXTURES = Path(__file__).parents[1] / "data" / "deploy" / "fixtures"
EXAMPLES = Path(__file__).parents[2] / "examples"


def test_generate_from_flags_writes_valid_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["generate", "--runtime", "wasmedge", "--route", "R2", "--distro", "containerd", "-o", str(out),
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["handlers"][0]["runtime_class"] == "crun-wasmedge"
    for rel in summary["files"]:
        assert (out / rel).is_file(), rel
    assert (out / "Dockerfile").read_text().count("FROM scratch") == 1
    rc = yaml.safe_load((out / "runtimeclass.yaml").read_text())
    assert rc["handler"] == "crun-wasmedge"


def test_generate_from_a_decision_on_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """``rtadvisor recommend PROFILE --json | rtadvisor generate -`` with the real decision engine."""
    assert main(["recommend", str(EXAMPLES / "edge-gateway.yaml"), "--json"]) == 0
    decision = capsys.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.StringIO(decision))
    out = tmp_path / "edge"
    assert main(["generate", "-", "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    parsed = json.loads(decision)
    assert summary["runtimes"] == [parsed["runtime"]]
    notes = (out / "NOTES.md").read_text()
    assert f"runtime `{parsed['runtime']}`" in notes
    if "K3s" in parsed["architecture"]:
        assert summary["distro"] == "k3s"
        for f in summary["containerd"]["files"]:  # a template only when K3s does not configure it all itself
            assert f["install_to"].startswith("/var/lib/rancher/k3s/") and (out / f["file"]).is_file()


def test_generate_merges_an_existing_config_and_patches_a_manifest(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["generate", "--runtime", "wasmedge", "-o", str(out), "--containerd-config",
                 str(FIXTURES / "containerd-v3.toml"), "--manifest", str(FIXTURES / "deployment.yaml")]) == 0
    merged = (out / "containerd" / "config.toml").read_text()
    assert "# containerd 2.x config" in merged
    assert "crun-wasmedge" in ctd.configured_runtimes(tomlkit.parse(merged).unwrap(), 3)
    patched = (out / "patched" / "deployment.yaml").read_text()
    assert "# measured peak + headroom" in patched and "runtimeClassName: crun-wasmedge" in patched
    assert json.loads((out / "patches" / "deployment-thumbnailer.json").read_text())
    # the user's originals are untouched
    assert "crun" not in (FIXTURES / "containerd-v3.toml").read_text()


def test_generate_refuses_bad_input_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["generate", "--runtime", "nope", "-o", str(out)]) == 2
    assert "--runtime" in capsys.readouterr().err
    assert not out.exists()
    assert main(["generate", "--runtime", "crun", "-o", str(out), "--containerd-config",
                 str(FIXTURES / "containerd-v3-with-v2-keys.toml")]) != 0
    assert not out.exists()
    assert main(["generate", "-o", str(out)]) == 2
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    assert main(["generate", "--runtime", "runc", "-o", str(out)]) == 2  # not empty
    assert main(["generate", "--runtime", "runc", "-o", str(out), "--force"]) == 0
    assert (out / "mine.txt").read_text() == "keep"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".rtadvisor-")]  # no staging left


def test_generate_twice_with_merge_is_idempotent(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert main(["generate", "--runtime", "gvisor", "--runtime", "crun", "-o", str(first), "--containerd-config",
                 str(FIXTURES / "containerd-v2.toml")]) == 0
    merged = first / "containerd" / "config.toml"
    assert main(["generate", "--runtime", "gvisor", "--runtime", "crun", "-o", str(second), "--containerd-config",
                 str(merged), "--json"]) == 0
    assert (second / "containerd" / "config.toml").read_text() == merged.read_text()


def test_overhead_says_where_it_came_from(tmp_path: Path) -> None:
    """Nothing here is Kata: the figure is kata-deploy's own default for the handler it registers."""
    out = tmp_path / "out"
    assert main(["generate", "--runtime", "kata", "-o", str(out), "--db", str(tmp_path / "empty.db")]) == 0
    rc = yaml.safe_load((out / "runtimeclass.yaml").read_text())
    source = rc["metadata"]["annotations"]["rtadvisor.io/overhead-source"]
    assert source.startswith("kata-deploy's RuntimeClass overhead for shim qemu") and "not measured" in source
    assert rc["overhead"]["podFixed"] == {"memory": "320Mi", "cpu": "250m"}
    out2 = tmp_path / "fc"
    assert main(["generate", "--runtime", "kata", "--kata-hypervisor", "fc", "-o", str(out2),
                 "--db", str(tmp_path / "empty.db")]) == 0
    rc = yaml.safe_load((out2 / "runtimeclass.yaml").read_text())
    assert rc["handler"] == "kata-fc" and rc["overhead"]["podFixed"] == {"memory": "130Mi", "cpu": "250m"}
    assert main(["generate", "--runtime", "kata", "--kata-hypervisor", "bhyve", "-o", str(tmp_path / "x")]) == 2


def test_overhead_from_this_nodes_measurements(monkeypatch: pytest.MonkeyPatch) -> None:
    """A measurement counts only for the runtime measured: runsc is gVisor; the emulated micro-VM is not Kata."""
    from rtadvisor.app.deploy import pod_overheads
    from rtadvisor.model import Evidence, Measurement

    evidence = Evidence(measurements=(
        Measurement(runtime="runsc", metric="per_instance_mb", value=9.7, unit="MB", n=2, host="node-a"),
        Measurement(runtime="runsc", metric="pss_mb", value=11.3, unit="MiB", n=5, host="node-a", date="2026-11-22"),
        Measurement(runtime="microvm", metric="pss_mb", value=236.0, unit="MiB", n=5, host="node-a", emulated=True),
        Measurement(runtime="microvm", metric="per_instance_mb", value=150.0, unit="MiB", n=5, host="node-a"),
    ))
    from rtadvisor import store

    # (try_load_evidence answers a missing SQLite file itself, without opening a store)
    monkeypatch.setattr(store, "try_load_evidence", lambda db=None: evidence)
    overheads = pod_overheads(["gvisor", "kata", "vm"], None)
    assert overheads["gvisor"].memory_mib == 11.3
    # the whole idle sandbox (PSS), not the marginal sweep cost: the conservative scheduling overhead
    assert overheads["gvisor"].source.startswith("measured on node-a: runsc pss_mb = 11.3 MiB, n=5")
    for runtime in ("kata", "vm"):
        assert overheads[runtime].source.startswith("kata-deploy's RuntimeClass overhead for shim qemu")
        assert overheads[runtime].memory_mib == 320 and "microvm" not in overheads[runtime].source


def test_names_from_the_users_files_never_become_paths_or_markup(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A manifest named `../../x` writes patches/deployment-x.json inside --output; a config path with rich
    markup and an ESC is printed as text, escaped, after everything was written."""
    weird = tmp_path / "[bold]cfg[" / "bold]\x1b[31m"  # the path reads "[bold]cfg[/bold]<ESC>[31m"
    weird.mkdir(parents=True)
    config = weird / "config.toml"
    config.write_text((FIXTURES / "containerd-v2.toml").read_text())
    manifest = tmp_path / "m.yaml"
    manifest.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ../../escape}\nspec:\n"
                        "  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n"
                        "    spec: {containers: [{name: c, image: x}]}\n")
    out = tmp_path / "out"
    assert main(["generate", "--runtime", "gvisor", "-o", str(out), "--containerd-config", str(config),
                 "--manifest", str(manifest)]) == 0
    printed = capsys.readouterr().out
    assert "[/bold]" in printed and "\x1b" not in printed and "\\x1b" in printed
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert all(p.startswith(("out/", "m.yaml", "[bold]")) for p in written), written
    assert (out / "patches" / "deployment-escape.json").is_file()


def test_force_never_writes_through_a_link_nor_half_a_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every target is checked before the first file is replaced: a symbolic link (to a file outside),
    or a file where the bundle needs a directory, stops the whole write."""
    outside = tmp_path / "outside.txt"
    outside.write_text("not yours\n")
    out = tmp_path / "out"
    assert main(["generate", "-r", "crun", "-o", str(out)]) == 0
    before = {p.name: p.read_text() for p in out.iterdir() if p.is_file()}
    (out / "NOTES.md").unlink()
    (out / "NOTES.md").symlink_to(outside)
    capsys.readouterr()
    assert main(["generate", "-r", "gvisor", "-o", str(out), "--force"]) == 2
    assert "NOTES.md exists and is not a regular file; nothing written" in capsys.readouterr().err
    assert outside.read_text() == "not yours\n"
    assert {p.name: p.read_text() for p in out.iterdir() if p.is_file() and not p.is_symlink()} == \
        {k: v for k, v in before.items() if k != "NOTES.md"}  # the earlier bundle is untouched
    (out / "NOTES.md").unlink()
    shutil.rmtree(out / "containerd")
    (out / "containerd").write_text("a file where a directory goes\n")
    assert main(["generate", "-r", "gvisor", "-o", str(out), "--force"]) == 2
    assert "containerd exists and is not a directory; nothing written" in capsys.readouterr().err
    assert not (out / "NOTES.md").exists()
