"""The microvm backend: initramfs and kernel builders, accelerator choice, and real boots (QEMU)."""

from __future__ import annotations

import gzip
import json
import lzma
import stat
import uuid
from pathlib import Path

import pytest
from planrun import processes_mentioning, run_once, running, settle

from rtadvisor import backends
from rtadvisor.backends import microvm
from rtadvisor.backends.base import HELLO_OUTPUT, IDLE_READY, Assets
from rtadvisor.errors import BenchError


def instance_id() -> str:
    return f"rtadv-test-{uuid.uuid4().hex[:10]}"


# ---------------------------------------------------------------- pure parts


def _parse_newc(data: bytes) -> dict[str, tuple[int, bytes]]:
    """A minimal reader, independent of the writer: name -> (mode, data)."""
    entries: dict[str, tuple[int, bytes]] = {}
    pos = 0
    while True:
        header = data[pos:pos + 110]
        assert header[:6] == b"070701"
        fields = [int(header[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name = data[pos + 110:pos + 110 + namesize - 1].decode()
        pos = (pos + 110 + namesize + 3) & ~3
        body = data[pos:pos + size]
        pos = (pos + size + 3) & ~3
        if name == "TRAILER!!!":
            return entries
        entries[name] = (mode, body)


def test_newc_archive_round_trips() -> None:
    archive = microvm.newc_archive([("bin", stat.S_IFDIR | 0o755, b""), ("bin/x", stat.S_IFREG | 0o755, b"abcde"),
                                    ("bin/sh", stat.S_IFLNK | 0o777, b"x")])
    parsed = _parse_newc(archive)
    assert parsed["bin/x"] == (stat.S_IFREG | 0o755, b"abcde")
    assert stat.S_ISLNK(parsed["bin/sh"][0]) and parsed["bin/sh"][1] == b"x"
    assert len(archive) % 4 == 0


@pytest.mark.parametrize("static", [True, False])
def test_initramfs_has_an_init_that_runs_the_workload(static: bool) -> None:
    hello_programs = {"hello": b"\x7fELF-hello"} if static else {}
    idle_programs = {"idle": b"\x7fELF-idle"} if static else {}
    hello = _parse_newc(gzip.decompress(microvm.initramfs("hello", busybox=b"BB", programs=hello_programs)))
    idle = _parse_newc(gzip.decompress(microvm.initramfs("idle", busybox=b"BB", programs=idle_programs)))
    assert hello["bin/busybox"][1] == b"BB"
    assert hello["init"][0] & 0o111
    assert "reboot -f" in hello["init"][1].decode()
    assert "reboot" not in idle["init"][1].decode()
    assert microvm.SELF_REPORT_PREFIX in hello["init"][1].decode()
    if static:
        assert hello["hello"][1] == b"\x7fELF-hello" and "exec /idle" in idle["init"][1].decode()
    else:
        assert HELLO_OUTPUT in hello["init"][1].decode() and IDLE_READY in idle["init"][1].decode()


def test_extract_vmlinux_finds_the_xz_payload() -> None:
    payload = b"\x7fELF" + b"\0" * 100
    blob = b"MZ bzImage setup code" + lzma.compress(payload, format=lzma.FORMAT_XZ) + b"trailer"
    assert microvm.extract_vmlinux(blob) == payload
    with pytest.raises(BenchError):
        microvm.extract_vmlinux(b"no payload here")


def test_tcg_command_line_is_the_reliable_recipe(tmp_path: Path) -> None:
    argv = microvm.qemu_argv(microvm.TCG_CONFIG, tmp_path / "k", tmp_path / "i", name="rtadv-v1")
    joined = " ".join(argv)
    assert "-accel tcg" in joined and "-M microvm,pit=on" in joined and "-cpu max" in joined
    assert "-m 128M" in joined and "-no-reboot" in joined and "-name rtadv-v1" in joined
    append = argv[argv.index("-append") + 1]
    for param in ("console=ttyS0", "reboot=t", "panic=-1", "tsc_early_khz=2000000", "lpj=4000000",
                  "no_timer_check"):
        assert param in append


def test_plan_is_pure_and_labels_tcg_as_emulated(tmp_path: Path) -> None:
    backend = microvm.MicroVmBackend()  # fresh: no probe result known -> TCG until proven otherwise
    cache = Assets(root=tmp_path / "cache")
    plan = backend.plan("hello", cache, tmp_path / "w", instance_id="rtadv-v2")
    assert not (tmp_path / "cache").exists()
    assert plan.labels["emulated"] is True and plan.labels["accel"] == "tcg"
    assert "EMULATED" in plan.method
    assert plan.expected_stdout == HELLO_OUTPUT
    assert plan.cmdline_markers == ("rtadv-v2",)
    assert plan.self_report_prefix == microvm.SELF_REPORT_PREFIX
    idle = backend.plan("idle", cache, tmp_path / "w", instance_id="rtadv-v3")
    assert idle.stages[-1].ready_line == IDLE_READY
    assert str(cache.dir("microvm") / "initrd-idle.cpio.gz") in idle.stages[0].command.argv


def test_decision_round_trips_through_its_cache_file() -> None:
    attempt = microvm.ProbeAttempt("host", "", "kvm", False, 10.0, "no exit within 10 s")
    decision = microvm.AccelDecision(microvm.TCG_CONFIG, "emulated (TCG): x", (attempt,), "2026-01-01", "k")
    again = microvm.AccelDecision.from_json(decision.to_json())
    assert again == decision and again.emulated


def test_probe_falls_back_to_tcg_when_no_candidate_boots(tmp_path: Path) -> None:
    # An empty file is no kernel: every KVM candidate fails fast, the decision must be TCG with reasons.
    kernel, initrd = tmp_path / "vmlinux", tmp_path / "initrd"
    kernel.write_bytes(b"")
    initrd.write_bytes(b"")
    if microvm.kvm_usable() is not None or microvm.qemu_version() is None:
        pytest.skip("needs qemu and /dev/kvm to exercise the KVM candidates")
    decision = microvm.probe_accelerator(kernel, initrd, timeout_s=10)
    assert decision.emulated
    assert decision.config == microvm.TCG_CONFIG
    assert len(decision.attempts) == len(microvm.KVM_CANDIDATES)
    assert all(not a.booted for a in decision.attempts)


# ---------------------------------------------------------------- real boots


@pytest.fixture(scope="module")
def prepared() -> tuple[microvm.MicroVmBackend, Assets]:
    backend = backends.get("microvm")
    assert isinstance(backend, microvm.MicroVmBackend)
    assets = Assets()
    if backend.probe().usable:
        backend.prepare(assets)
    return backend, assets


@pytest.mark.runtime("microvm")
def test_accelerator_was_probed_not_assumed(prepared: tuple[microvm.MicroVmBackend, Assets]) -> None:
    backend, assets = prepared
    data = json.loads(backend.paths(assets)["accel"].read_text())
    assert data["config"]["accel"] in {"kvm", "tcg"}
    if data["config"]["accel"] == "tcg":
        assert data["reason"].startswith("emulated (TCG)")
        assert backend.probe().emulated


@pytest.mark.runtime("microvm")
def test_microvm_boots_to_init_and_prints(prepared: tuple[microvm.MicroVmBackend, Assets], tmp_path: Path) -> None:
    backend, assets = prepared
    iid = instance_id()
    plan = backend.plan("hello", assets, tmp_path, instance_id=iid)
    outcome = run_once(plan, timeout=150)
    assert outcome.returncodes == [0], outcome.stderr
    assert HELLO_OUTPUT in outcome.stdout
    reported = [ln for ln in outcome.stdout.splitlines() if ln.startswith(microvm.SELF_REPORT_PREFIX)]
    assert reported and json.loads(reported[0][len(microvm.SELF_REPORT_PREFIX):])["guest_boot_to_init_ms"] > 0
    assert plan.labels["emulated"] is (plan.labels["accel"] == "tcg")
    assert settle(iid) == []


@pytest.mark.runtime("microvm")
def test_idle_vm_is_held_then_gone(prepared: tuple[microvm.MicroVmBackend, Assets], tmp_path: Path) -> None:
    backend, assets = prepared
    iid = instance_id()
    with running(backend.plan("idle", assets, tmp_path, instance_id=iid), timeout=150) as outcome:
        assert IDLE_READY in outcome.stdout
        assert processes_mentioning(iid), "qemu should be running while the instance is held"
    assert settle(iid) == []
