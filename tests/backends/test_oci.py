"""runc, crun and runsc backends: pure planning, bundle building, and real runs on this node."""

from __future__ import annotations

import json
import os
import tarfile
import uuid
from pathlib import Path

import pytest
from planrun import mounts_mentioning, processes_mentioning, run_once, running, settle

from rtadvisor import backends
from rtadvisor.backends import oci
from rtadvisor.backends.base import HELLO_OUTPUT, IDLE_READY, Assets
from rtadvisor.errors import InputError

OCI_RUNTIMES = ("runc", "crun", "runsc")
REAL = [pytest.param(name, marks=pytest.mark.runtime(name)) for name in OCI_RUNTIMES]


def instance_id() -> str:
    return f"rtadv-test-{uuid.uuid4().hex[:10]}"



# ---------------------------------------------------------------- pure parts


def test_spec_has_the_flags_the_runtimes_need() -> None:
    spec = oci.oci_spec(["/hello"], root_path="/abs/rootfs")
    assert spec["process"]["terminal"] is False
    assert spec["root"] == {"path": "/abs/rootfs", "readonly": True}
    assert spec["process"]["args"] == ["/hello"]
    kinds = {ns["type"] for ns in spec["linux"]["namespaces"]}
    assert {"pid", "mount", "network"} <= kinds
    with pytest.raises(ValueError):
        oci.oci_spec([], root_path="/r")


@pytest.mark.parametrize("name", OCI_RUNTIMES)
def test_plan_is_pure_and_uses_a_private_state_root(name: str, tmp_path: Path) -> None:
    cache = Assets(root=tmp_path / "cache")  # nothing built there: plan must not need it
    workdir = tmp_path / "w"
    plan = backends.get(name).plan("hello", cache, workdir, instance_id="rtadv-x1")
    assert not (tmp_path / "cache").exists() and not workdir.exists()
    argv = plan.stages[0].command.argv
    assert argv[-1] == "rtadv-x1"
    assert str(workdir / "state") in argv
    assert str(cache.dir("oci") / "bundles" / "hello") in argv
    assert plan.expected_stdout == HELLO_OUTPUT
    assert plan.cleanup and "rtadv-x1" in " ".join(plan.cleanup[0].argv)
    assert plan.cleanup[0].check is False
    assert "rtadv-x1" in plan.cmdline_markers


def test_idle_plan_is_detached_with_ready_line_and_pid_file(tmp_path: Path) -> None:
    plan = backends.get("runc").plan("idle", Assets(root=tmp_path), tmp_path / "w", instance_id="rtadv-x2")
    start, ready = plan.stages
    assert ready.ready_line == IDLE_READY
    assert "--detach" in start.command.argv
    assert str(tmp_path / "w" / "container.log") in start.command.argv  # stdout to a file, not a pipe
    assert plan.pid_files == (tmp_path / "w" / "container.pid",)


def test_runsc_plan_flags(tmp_path: Path) -> None:
    plan = backends.get("runsc").plan("hello", Assets(root=tmp_path), tmp_path / "w", instance_id="rtadv-x3")
    argv = plan.stages[0].command.argv
    assert "--network=none" in argv and "--platform=ptrace" in argv
    assert argv.index("--network=none") < argv.index("run")  # global flags go before the subcommand
    assert "delete -force" in plan.cleanup[0].argv[-1]  # retried in a small shell loop


def test_crun_wraps_in_private_cgroup_view_only_when_asked(tmp_path: Path) -> None:
    wrapped = oci.CrunBackend(private_cgroup_view=True).plan("hello", Assets(root=tmp_path), tmp_path, instance_id="i")
    plain = oci.CrunBackend(private_cgroup_view=False).plan("hello", Assets(root=tmp_path), tmp_path, instance_id="i")
    assert wrapped.stages[0].command.argv[:4] == ("unshare", "--mount", "--propagation", "private")
    assert "umount" in wrapped.stages[0].command.argv[7]
    assert plain.stages[0].command.argv[0] == "crun"
    # delete must see the same cgroup layout as run did
    assert wrapped.cleanup[0].argv[0] == "unshare"


def test_user_workload_needs_an_artifact(tmp_path: Path) -> None:
    backend = backends.get("runc")
    assert backend.supports("user", Assets(root=tmp_path)) is not None
    assert backend.supports("user", Assets(root=tmp_path, user_rootfs=tmp_path)) is None
    with pytest.raises(ValueError):
        backend.plan("user", Assets(root=tmp_path), tmp_path, instance_id="i")


def test_static_elf_detection(tmp_path: Path) -> None:
    assert not oci.is_static_elf(Path("/bin/sh"))  # dynamically linked on Debian
    (tmp_path / "x").write_bytes(b"not an elf")
    assert not oci.is_static_elf(tmp_path / "x")
    busybox = oci.find_busybox()
    if busybox is not None:
        assert oci.is_static_elf(busybox)


def test_cgroup_layout_is_classified() -> None:
    layout = oci.cgroup_layout()
    assert layout.mode in {"v1", "v2", "hybrid", "none", "unknown"}
    if layout.mode == "hybrid":
        assert layout.unified_mount


# ---------------------------------------------------------------- built assets


def test_prepare_builds_rootfs_bundles_and_layout(assets: Assets) -> None:
    if oci.find_busybox() is None:
        pytest.skip("busybox-static not installed")
    base = assets.dir("oci")
    rootfs = base / "rootfs"
    assert rootfs.is_dir() and not rootfs.is_symlink()
    assert (rootfs / "bin" / "busybox").is_file()
    for workload in ("hello", "idle"):
        spec = json.loads((base / "bundles" / workload / "config.json").read_text())
        assert spec["root"]["path"] == str(rootfs.resolve())
        assert spec["process"]["terminal"] is False
    index = json.loads((base / "layout" / "index.json").read_text())
    tags = {m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]}
    assert tags == {"hello", "idle"}
    with tarfile.open(base / "image.tar") as tar:
        assert "index.json" in tar.getnames()
    before = (base / ".stamp").stat().st_mtime_ns
    oci.prepare_oci_assets(assets)  # idempotent: nothing rebuilt
    assert (base / ".stamp").stat().st_mtime_ns == before


# ---------------------------------------------------------------- real runs


def _assert_nothing_left(iid: str, workdir: Path) -> None:
    assert settle(iid) == []
    assert mounts_mentioning(iid) == []
    leftovers = [str(p) for p in Path("/sys/fs/cgroup").glob(f"*/{iid}")]
    assert leftovers == []
    state = workdir / "state"
    assert not state.exists() or not any(state.iterdir()), list(state.iterdir())


@pytest.mark.parametrize("name", REAL)
def test_hello_runs_for_real(name: str, assets: Assets, tmp_path: Path) -> None:
    iid = instance_id()
    outcome = run_once(backends.get(name).plan("hello", assets, tmp_path, instance_id=iid))
    assert outcome.returncodes == [0], outcome.stderr
    assert HELLO_OUTPUT in outcome.stdout
    _assert_nothing_left(iid, tmp_path)


@pytest.mark.parametrize("name", REAL)
def test_idle_instances_start_and_are_cleaned_up(name: str, assets: Assets, tmp_path: Path) -> None:
    backend = backends.get(name)
    ids = [instance_id() for _ in range(2)]
    workdirs = [tmp_path / str(i) for i in range(2)]
    for w in workdirs:
        w.mkdir()
    plans = [backend.plan("idle", assets, w, instance_id=i) for w, i in zip(workdirs, ids, strict=True)]
    with running(plans[0]) as first, running(plans[1]) as second:
        for outcome in (first, second):
            assert IDLE_READY in outcome.stdout
        for plan in plans:
            pid = int(plan.pid_files[0].read_text().strip())
            os.kill(pid, 0)  # the container's process is alive while we hold it
            if name == "runsc":  # the markers find the whole sandbox: Sentry and gofer
                found = {p for marker in plan.cmdline_markers for p in processes_mentioning(marker)}
                assert len(found) >= 2, found
    for iid, workdir in zip(ids, workdirs, strict=True):
        _assert_nothing_left(iid, workdir)


@pytest.mark.runtime("runc")
def test_user_rootfs_and_oci_layout_run(assets: Assets, tmp_path: Path) -> None:
    layout_tar = assets.dir("oci") / "image.tar"
    rootfs = assets.dir("oci") / "rootfs"
    for user in (Assets(root=assets.root, user_rootfs=rootfs), Assets(root=assets.root, user_oci_layout=layout_tar)):
        backend = backends.get("runc")
        backend.prepare(user)
        iid = instance_id()
        outcome = run_once(backend.plan("user", user, tmp_path, instance_id=iid))
        assert outcome.returncodes == [0], outcome.stderr
        _assert_nothing_left(iid, tmp_path)
    # the layout's first manifest is "hello": its Cmd ran
    assert HELLO_OUTPUT in outcome.stdout


def test_bad_user_artifacts_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        oci.prepare_user_bundle(Assets(root=tmp_path, user_rootfs=tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError):
        oci.prepare_user_bundle(Assets(root=tmp_path, user_rootfs=tmp_path / "empty"))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "index.json").write_text("{}")
    with pytest.raises(InputError):
        oci.read_layout_image(tmp_path / "bad")

