"""PrivateContainerd and the containerd backends: config, planning, and a real daemon on this node."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import tomlkit
from planrun import mounts_mentioning, processes_mentioning, run_once, running, settle

from rtadvisor import backends
from rtadvisor.backends import oci
from rtadvisor.backends.base import HELLO_OUTPUT, IDLE_READY, Assets
from rtadvisor.backends.containerd import (
    CRI_PLUGIN,
    CRI_PLUGIN_V1,
    RUN_CONTAINERD,
    PrivateContainerd,
    containerd_config,
    other_containerd_running,
    runsc_wrapper_text,
)
from rtadvisor.errors import BenchError, InputError


def instance_id() -> str:
    return f"rtadv-test-{uuid.uuid4().hex[:10]}"


# ---------------------------------------------------------------- pure parts


def test_config_is_private_and_disables_cri() -> None:
    doc = tomlkit.parse(containerd_config(Path("/p"))).unwrap()
    assert doc["root"] == "/p/root" and doc["state"] == "/p/state"
    assert doc["grpc"]["address"] == "/p/containerd.sock"
    assert doc["ttrpc"]["address"] == "/p/containerd.sock.ttrpc"
    assert CRI_PLUGIN in doc["disabled_plugins"]


def test_config_states_its_version_and_keeps_a_version_1_file_version_1(tmp_path: Path) -> None:
    made = tomlkit.parse(containerd_config(tmp_path)).unwrap()
    assert made["version"] == 2 and CRI_PLUGIN in made["disabled_plugins"]
    # containerd reads a file without `version` as version 1 (plugins by id): it stays version 1,
    # said explicitly, and CRI is disabled under its version-1 name
    v1 = tmp_path / "v1.toml"
    v1.write_text('disabled_plugins = ["cri"]\n[plugins.cri]\n  sandbox_image = "example.invalid/pause:1"\n')
    doc = tomlkit.parse(containerd_config(tmp_path / "d", config_path=v1)).unwrap()
    assert doc["version"] == 1 and doc["disabled_plugins"] == [CRI_PLUGIN_V1]
    assert doc["plugins"]["cri"]["sandbox_image"] == "example.invalid/pause:1"
    kept = tomlkit.parse(containerd_config(tmp_path / "d", config_path=v1, disable_cri=False)).unwrap()
    assert kept["version"] == 1 and kept["disabled_plugins"] == []
    v2 = tmp_path / "v2.toml"
    v2.write_text('version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "x"\n')
    assert tomlkit.parse(containerd_config(tmp_path / "e", config_path=v2)).unwrap()["version"] == 2


@pytest.mark.runtime("containerd")
def test_a_version_1_config_runs_as_version_1_for_real(tmp_path: Path) -> None:
    """The trap this avoids: adding `version = 2` to a version-1 file makes containerd refuse it."""
    v1 = tmp_path / "v1.toml"
    v1.write_text('[plugins.cri]\n  sandbox_image = "example.invalid/pause:1"\n')
    for disable, listed in ((False, True), (True, False)):
        with PrivateContainerd(config_path=v1, disable_cri=disable) as daemon:
            assert daemon.config_file.read_text().startswith("version = 1") or "\nversion = 1\n" in \
                daemon.config_file.read_text()
            plugins = daemon.ctr("plugins", "ls").stdout.splitlines()
            cri = [line.split() for line in plugins if line.split()[:2] == ["io.containerd.grpc.v1", "cri"]]
            assert (cri != []) is listed and all(c[-1] == "ok" for c in cri), plugins
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('version = 2\n[plugins.cri]\n  sandbox_image = "example.invalid/pause:1"\n')
    with pytest.raises(BenchError, match='invalid plugin key URI "cri"'), PrivateContainerd(config_path=wrong):
        pass


def test_config_merges_a_fragment_and_keeps_paths_private(tmp_path: Path) -> None:
    fragment = """
root = "/var/lib/containerd"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.crun]
  runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.crun.options]
    BinaryName = "crun"
"""
    doc = tomlkit.parse(containerd_config(tmp_path, extra_config=fragment, disable_cri=False)).unwrap()
    runtimes = doc["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]
    assert runtimes["crun"]["options"]["BinaryName"] == "crun"
    assert doc["root"] == str(tmp_path / "root")  # a fragment cannot point us at the host's store
    assert CRI_PLUGIN not in doc["disabled_plugins"]
    full = tmp_path / "full.toml"
    full.write_text('version = 2\nstate = "/run/containerd"\n[grpc]\n  max_recv_message_size = 1234\n')
    doc = tomlkit.parse(containerd_config(tmp_path / "d", config_path=full)).unwrap()
    assert doc["grpc"]["max_recv_message_size"] == 1234
    assert doc["state"] == str(tmp_path / "d" / "state")
    with pytest.raises(InputError):
        containerd_config(tmp_path, extra_config="[broken")


def test_plan_is_pure_outside_a_session(tmp_path: Path) -> None:
    cache = Assets(root=tmp_path / "cache")
    hello = backends.get("containerd").plan("hello", cache, tmp_path / "w", instance_id="rtadv-c1")
    argv = hello.stages[0].command.argv
    assert argv[0] == "ctr" and "run" in argv and "--rm" in argv
    assert argv[-1] == "rtadv-c1" and argv[-2].endswith(":hello")
    assert hello.expected_stdout == HELLO_OUTPUT
    assert "rtadv-c1" in hello.cleanup[0].argv[-1]
    assert not (tmp_path / "cache").exists() and not (tmp_path / "w").exists()
    idle = backends.get("containerd-runsc").plan("idle", cache, tmp_path / "w", instance_id="rtadv-c2")
    start, ready = idle.stages
    assert "--detach" in start.command.argv
    assert start.command.argv[start.command.argv.index("--runc-binary") + 1].endswith("runsc-wrapper")
    assert ready.ready_line == IDLE_READY
    assert idle.cmdline_markers == ("rtadv-c2",)


def test_runsc_wrapper_passes_network_none() -> None:
    text = runsc_wrapper_text("/usr/bin/runsc")
    assert text.startswith("#!/bin/sh\n")
    assert 'exec /usr/bin/runsc --network=none --platform=ptrace "$@"' in text


# ---------------------------------------------------------------- real daemon



def _assert_daemon_gone(daemon: PrivateContainerd, run_existed: bool) -> None:
    assert not daemon.directory.exists()
    assert mounts_mentioning(str(daemon.directory)) == []
    assert settle(str(daemon.directory)) == []  # daemon (its --config path) and shims
    assert settle(daemon.namespace) == []
    assert not list(Path("/sys/fs/cgroup").glob(f"*/{daemon.namespace}"))
    assert not (RUN_CONTAINERD / "runc" / daemon.namespace).exists()
    assert not list(RUN_CONTAINERD.glob("fifo/*/left-running-*"))  # ctr run --detach FIFOs
    if not run_existed and not other_containerd_running():  # a concurrent daemon may own it now
        assert not RUN_CONTAINERD.exists()


@pytest.mark.runtime("containerd")
def test_private_containerd_starts_imports_runs_and_leaves_nothing(assets: Assets) -> None:
    run_existed = RUN_CONTAINERD.exists()
    daemon = PrivateContainerd()
    with daemon:
        assert daemon.pid is not None
        images = daemon.import_image(assets.dir("oci") / "image.tar")
        assert f"{oci.IMAGE_NAME}:hello" in images and f"{oci.IMAGE_NAME}:idle" in images
        result = daemon.run(f"{oci.IMAGE_NAME}:hello", instance_id())
        assert result.returncode == 0, result.stderr
        assert HELLO_OUTPUT in result.stdout
        # a container still running at teardown is killed with the daemon
        daemon.ctr(*daemon.run_argv(f"{oci.IMAGE_NAME}:idle", "left-running", rm=False, detach=True)[5:])
        assert "left-running" in daemon.ctr("tasks", "list").stdout
    _assert_daemon_gone(daemon, run_existed)


@pytest.mark.runtime("containerd")
def test_teardown_runs_when_the_body_fails(assets: Assets) -> None:
    run_existed = RUN_CONTAINERD.exists()
    daemon = PrivateContainerd()
    with pytest.raises(RuntimeError), daemon:
        daemon.import_image(assets.dir("oci") / "image.tar")
        raise RuntimeError("boom")
    _assert_daemon_gone(daemon, run_existed)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.runtime(n))
                                  for n in ("containerd", "containerd-runsc")])
def test_backend_hello_and_idle_for_real(name: str, assets: Assets, tmp_path: Path) -> None:
    backend = backends.get(name)
    backend.prepare(assets)
    with backend.session(assets):  # type: ignore[attr-defined]
        iid = instance_id()
        outcome = run_once(backend.plan("hello", assets, tmp_path, instance_id=iid))
        assert outcome.returncodes == [0], outcome.stderr
        assert HELLO_OUTPUT in outcome.stdout
        idle_id = instance_id()
        with running(backend.plan("idle", assets, tmp_path, instance_id=idle_id)) as idle:
            assert IDLE_READY in idle.stdout
            assert processes_mentioning(idle_id), "the shim of the idle container should be running"
        assert settle(idle_id) == []
        assert mounts_mentioning(idle_id) == []


@pytest.mark.runtime("containerd")
def test_user_oci_layout_runs_through_containerd(assets: Assets, tmp_path: Path) -> None:
    import json
    import shutil

    # A layout as skopeo writes it: only a ref.name annotation, as a directory.
    layout = tmp_path / "layout"
    shutil.copytree(assets.dir("oci") / "layout", layout)
    index = json.loads((layout / "index.json").read_text())
    index["manifests"] = [dict(index["manifests"][0], annotations={"org.opencontainers.image.ref.name": "v1"})]
    (layout / "index.json").write_text(json.dumps(index))
    user = Assets(root=assets.root, user_oci_layout=layout)
    backend = backends.get("containerd")
    assert backend.supports("user", user) is None
    backend.prepare(user)
    with backend.session(user):  # type: ignore[attr-defined]
        plan = backend.plan("user", user, tmp_path, instance_id=instance_id())
        assert plan.stages[0].command.argv[-2] == "localhost/rtadvisor/user:v1"
        outcome = run_once(plan)
    assert outcome.returncodes == [0], outcome.stderr
    assert HELLO_OUTPUT in outcome.stdout


_OWNER_SCRIPT = """
import os, signal, sys
from pathlib import Path
from rtadvisor.backends.containerd import PrivateContainerd
from rtadvisor.backends.oci import IMAGE_NAME
daemon = PrivateContainerd()
with daemon:
    daemon.import_image(Path(sys.argv[1]))
    daemon.ctr(*daemon.run_argv(IMAGE_NAME + ":idle", "held", rm=False, detach=True)[5:])
    print(daemon.directory, daemon.namespace, flush=True)
    os.kill(os.getpid(), getattr(signal, sys.argv[2]))
    signal.pause()
"""


@pytest.mark.runtime("containerd")
@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_owner_interrupted_or_killed_leaves_nothing(assets: Assets, how: str) -> None:
    """Ctrl-C runs the normal teardown; SIGKILL of the owner is caught by the reaper stub."""
    import subprocess
    import sys
    import time

    run_existed = RUN_CONTAINERD.exists()
    proc = subprocess.run([sys.executable, "-c", _OWNER_SCRIPT, str(assets.dir("oci") / "image.tar"), how],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode != 0  # interrupted / killed, as intended
    directory, namespace = proc.stdout.split()
    deadline = time.monotonic() + 20  # after SIGKILL the stub tears down asynchronously
    while time.monotonic() < deadline and (Path(directory).exists() or processes_mentioning(directory)):
        time.sleep(0.1)
    assert not Path(directory).exists()
    assert processes_mentioning(directory) == [] and processes_mentioning(namespace) == []
    assert mounts_mentioning(directory) == []
    assert not list(Path("/sys/fs/cgroup").glob(f"*/{namespace}"))
    assert not (RUN_CONTAINERD / "runc" / namespace).exists()
    assert not list(RUN_CONTAINERD.glob("fifo/*/held-*"))  # ctr's FIFOs of the held container
    while time.monotonic() < deadline and RUN_CONTAINERD.exists() and not run_existed:
        time.sleep(0.1)
    if not run_existed and not other_containerd_running():
        assert not RUN_CONTAINERD.exists()
