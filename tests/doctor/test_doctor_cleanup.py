"""``rtadvisor doctor`` after a SIGKILLed bench: it finds what the dead run left (runsc sandboxes and
gofers, cgroups in every hierarchy, its private temp directory) by rtadvisor's own markers, reports it
(``--dry-run``, and ``GET /api/doctor``, which never removes anything), removes exactly that and says
so -- and leaves a live rtadvisor's instances alone. Real runsc, real processes and cgroups."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
from leftovers import Left, left_by  # tests/bench/leftovers.py: read from /proc and /sys

RTADVISOR = [str(Path(sys.executable).parent / "rtadvisor")]

_HOLDER = """
import sys
from rtadvisor import backends
from rtadvisor.backends.base import Assets
from rtadvisor.bench.harness import Session
with Session() as session:
    for name in sys.argv[1:]:
        workdir, instance_id = session.new_workdir(name)
        session.hold(backends.get(name).plan("idle", Assets(), workdir, instance_id=instance_id), workdir)
    print("held", flush=True)
    sys.stdin.read()  # until the test closes our stdin
"""


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """Traversable by the runsc sandbox (pytest's own tmp_path is mode 0700: runsc then fails)."""
    path = Path(tempfile.mkdtemp(prefix="rtadv-d", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return {**os.environ, "RTADVISOR_DB": str(tmp_path / "results.db"), "TMPDIR": str(tmp_path / "tmp"),
            "KUBECONFIG": str(tmp_path / "no-kubeconfig")}


def _cmdlines(pid: int) -> list[str]:
    """Full command lines of the processes carrying bench ``pid``'s owner tag."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                text = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if f"rtadv-{pid}-" in text:
                out.append(text)
    return out


def _holding_still(pid: int, sandboxes: int) -> bool:
    """``sandboxes`` runsc sandboxes up and no runsc command of a teardown under way (one started before
    the SIGKILL would finish by itself and remove what this test wants left behind)."""
    lines = _cmdlines(pid)
    return (sum("runsc-sandbox" in c for c in lines) >= sandboxes
            and not any(f" {verb} " in f"{c} " for c in lines for verb in ("kill", "delete", "wait")))


def _kill_while_holding(victim: subprocess.Popen[bytes], sandboxes: int) -> None:
    """SIGKILL the bench while it holds its sandboxes: stopped first, so it starts no teardown meanwhile."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert victim.poll() is None, "the bench ended before it held its sandboxes"
        if _holding_still(victim.pid, sandboxes):
            os.kill(victim.pid, signal.SIGSTOP)
            time.sleep(0.2)
            if _holding_still(victim.pid, sandboxes):
                victim.kill()
                victim.wait(timeout=30)
                return
            os.kill(victim.pid, signal.SIGCONT)
        time.sleep(0.02)
    raise AssertionError("timed out waiting for the bench to hold its runsc sandboxes")


def _doctor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*RTADVISOR, "doctor", *args], env=env, capture_output=True, text=True, timeout=180,
                          check=False, stdin=subprocess.DEVNULL)
    assert done.returncode in (0, 1, 3), done.stderr  # the node's own findings decide; 2 would be bad input
    assert "Traceback" not in done.stderr
    return done


def _leftovers(report: dict[str, object]) -> list[dict[str, str]]:
    return [f for f in report["findings"] if f["area"] == "leftovers"]  # type: ignore[index,union-attr]


@pytest.mark.runtime("runsc", "native")
def test_doctor_reports_then_removes_exactly_what_a_killed_bench_left(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    env = _env(tmp_path)
    live = subprocess.Popen([sys.executable, "-c", _HOLDER, "runsc", "native"], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victim = subprocess.Popen([*RTADVISOR, "bench", "--runtimes", "runsc", "--sweep", "1,3", "--runs", "3",
                               "--warmups", "0", "--no-store"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        assert live.stdout is not None and live.stdout.readline().strip() == "held"
        held = left_by(live.pid, tmp_path / "tmp")
        assert held.processes and held.cgroups and held.dirs, held
        _kill_while_holding(victim, 3)  # the memory sweep's three idle sandboxes
        left = left_by(victim.pid, tmp_path / "tmp")
        assert left.processes and left.cgroups and left.dirs, left  # SIGKILL: nothing could clean up

        # --dry-run: every leftover reported (warn), each the dead bench's, nothing removed
        dry = json.loads(_doctor(env, "--dry-run", "--json").stdout)
        found = _leftovers(dry)
        summary, items = found[0], found[1:]
        assert summary["id"] == "leftovers" and summary["status"] == "warn"
        assert summary["title"].startswith("found ") and f"dead rtadvisor pid {victim.pid}" in summary["title"]
        assert items and all(i["status"] == "warn" and i["title"].startswith("found ") for i in items)
        assert all(f"pid {victim.pid} (dead)" in i["detail"] for i in items)  # only the dead one's
        kinds = {i["title"].split()[1] for i in items}
        assert {"process", "cgroup", "directory"} <= kinds, kinds
        assert dry["sources"]["leftovers"] == f"{len(items)} found, reported only (nothing removed)"
        assert dry["exit_code"] in (1, 3)  # leftovers are a warning at least
        assert left_by(victim.pid, tmp_path / "tmp").processes  # still there

        # the API reports the same and removes nothing either
        from fastapi.testclient import TestClient

        from rtadvisor.web import create_app

        monkeypatch.setenv("TMPDIR", env["TMPDIR"])
        monkeypatch.setattr(tempfile, "tempdir", env["TMPDIR"])
        with TestClient(create_app(db=env["RTADVISOR_DB"]), base_url="http://127.0.0.1") as client:
            api = client.get("/api/doctor").json()
        assert [(f["id"], f["status"], f["title"]) for f in _leftovers(api)] == \
            [(f["id"], f["status"], f["title"]) for f in found]
        assert left_by(victim.pid, tmp_path / "tmp") == left

        # the doctor removes them and names each one it removed
        done = _doctor(env)
        for item in items:
            removed = item["title"].replace("found ", "removed ", 1)
            assert removed in done.stdout, (removed, done.stdout[-2000:])
        assert f"left by dead rtadvisor pid {victim.pid}" in done.stdout
        assert f"leftovers: {len(items)} found, removed" in done.stdout
        deadline = time.monotonic() + 3
        while left_by(victim.pid, tmp_path / "tmp") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert left_by(victim.pid, tmp_path / "tmp") == Left()

        # the live run was not touched, and a second doctor finds nothing
        assert live.poll() is None
        after = left_by(live.pid, tmp_path / "tmp")
        assert (sorted(after.processes), sorted(after.cgroups), after.dirs) == \
            (sorted(held.processes), sorted(held.cgroups), held.dirs)
        again = json.loads(_doctor(env, "--json").stdout)
        assert [(f["id"], f["status"]) for f in _leftovers(again)] == [("leftovers", "ok")]
        assert again["sources"]["leftovers"] == "none found"
    finally:
        if victim.poll() is None:
            victim.kill()
        live.communicate(input="", timeout=60)  # EOF: it releases its instances
    assert live.returncode == 0
    assert left_by(live.pid, tmp_path / "tmp") == Left()


def test_no_cleanup_does_not_look(tmp_path: Path) -> None:
    """--no-cleanup: no leftover finding at all, and the sources say why."""
    report = json.loads(_doctor(_env(tmp_path), "--no-cleanup", "--json").stdout)
    assert _leftovers(report) == []
    assert report["sources"]["leftovers"] == "not looked for (--no-cleanup)"
