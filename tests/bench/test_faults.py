"""Faults in bench, for real: Ctrl-C and SIGTERM in every phase and during cleanup, SIGKILL followed
by the next run, two benches at once. After each: nothing of ours is left (processes, cgroups in
every hierarchy, mounts, temp dirs, /run/containerd entries) -- and nothing of a live bench is touched."""

from __future__ import annotations

import contextlib
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
from leftovers import Left, left_by

from rtadvisor.bench import interrupts

RTADVISOR = [str(Path(sys.executable).parent / "rtadvisor")]


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """A private directory the runsc sandbox can traverse: runsc fails ("waiting for sandbox to start:
    EOF") when $TMPDIR is inside a mode-0700 directory such as pytest's own tmp_path."""
    path = Path(tempfile.mkdtemp(prefix="rtadv-t", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["RTADVISOR_DB"] = str(tmp_path / "results.db")
    env["TMPDIR"] = str(tmp_path / "tmp")
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return env


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a runner started in the background ignores SIGINT


def _wait_for(condition: object, timeout: float, what: str, proc: subprocess.Popen[str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"{what}: the bench ended first ({proc.returncode}): {out[-300:]} {err[-300:]}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _run(argv: list[str], env: dict[str, str], timeout: float = 120) -> tuple[int, int, str, str]:
    """Run to completion (SIGINT at its default, as in a terminal): pid, exit code, stdout, stderr."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)  # single-threaded test
    out, err = proc.communicate(timeout=timeout)
    return proc.pid, proc.returncode, out, err


def _nothing_left(pid: int, tmp: Path, timeout: float = 5.0) -> None:
    left = Left()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = left_by(pid, tmp)
        if not left:
            return
        time.sleep(0.1)
    raise AssertionError(f"bench pid {pid} left: {left}")


# ------------------------------------------------------------------------------------------ signals


def test_deferred_signals_nest_and_are_never_dropped() -> None:
    """The bug of the old nested ``_no_sigint``: a Ctrl-C caught by an inner cleanup block was lost."""
    order: list[str] = []
    with pytest.raises(KeyboardInterrupt):  # noqa: SIM117 - the nesting is what is tested
        with interrupts.deferred():
            with interrupts.deferred():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.01)
                order.append("inner cleanup finished")
            order.append("outer cleanup finished")  # the signal waits for the outermost block
    assert order == ["inner cleanup finished", "outer cleanup finished"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored


def test_sigterm_unwinds_like_ctrl_c_after_cleanup() -> None:
    previous = signal.getsignal(signal.SIGTERM)
    done: list[str] = []
    with pytest.raises(interrupts.Terminated) as info:  # noqa: SIM117 - nesting under test
        with interrupts.sigterm_unwinds():
            with interrupts.deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.01)
                done.append("cleanup")
    assert done == ["cleanup"] and info.value.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == previous


_PHASE_SCRIPT = """
import os, signal, sys
from rtadvisor.bench import BenchOptions, run_bench
backend, phase, sig = sys.argv[1], sys.argv[2], int(sys.argv[3])
sent = []
def progress(name, ph, done, total):
    if ph == phase and not sent:
        sent.append(1)
        os.kill(os.getpid(), sig)
try:
    run_bench([backend], BenchOptions(runs=4, min_runs=4, warmups=2, sweep=(1, 3), pack_sweep=(1, 5)),
              progress=progress)
except KeyboardInterrupt as exc:
    print("stopped by", type(exc).__name__, flush=True)
    sys.exit(130)
print("finished: the signal was lost" if sent else "phase never reached", flush=True)
"""


@pytest.mark.runtime("native", "wasmtime")
@pytest.mark.parametrize(("backend", "phase", "sig"), [
    ("native", "first run", signal.SIGINT),
    ("native", "memory sweep", signal.SIGINT),
    ("native", "warm-up", signal.SIGINT),
    ("native", "cold start", signal.SIGTERM),
    ("wasmtime", "packed sweep", signal.SIGINT),
    ("wasmtime", "whole process", signal.SIGTERM),
    ("wasmtime", "cold start", signal.SIGINT),
])
def test_a_signal_in_any_phase_stops_the_run(tmp_path: Path, backend: str, phase: str, sig: int) -> None:
    pid, code, out, err = _run([sys.executable, "-c", _PHASE_SCRIPT, backend, phase, str(int(sig))], _env(tmp_path))
    expected = "Terminated" if sig == signal.SIGTERM else "KeyboardInterrupt"
    assert code == 130 and f"stopped by {expected}" in out, (out, err[-500:])
    _nothing_left(pid, tmp_path / "tmp")


_CLEANUP_SCRIPT = """
import os, sys
from pathlib import Path
from rtadvisor.backends.base import IDLE_READY, Assets, Availability, Backend, Command, LaunchPlan, Stage
from rtadvisor.bench import BenchOptions
from rtadvisor.bench.harness import Session, bench_backend
marker = Path(sys.argv[1])

class Interrupting(Backend):
    name, family = "interrupting", "native"
    def probe(self): return Availability(name=self.name, usable=True)
    def prepare(self, assets): pass
    def plan(self, workload, assets, workdir, *, instance_id):
        if workload == "idle":
            # the second idle instance's cleanup (inside the sweep's release-all) gets Ctrl-C
            cleanup = f"case {instance_id} in *-3) kill -INT {os.getpid()};; esac; sleep 0.3; echo {instance_id} >> {marker}"
            return LaunchPlan(workload=workload, cleanup=(Command(("sh", "-c", cleanup), check=False),),
                              stages=(Stage("start", Command(("sh", "-c", f"echo {IDLE_READY}; exec sleep 60")),
                                            ready_line=IDLE_READY),))
        return LaunchPlan(workload=workload, expected_stdout="hello from rtadvisor",
                          stages=(Stage("run", Command(("sh", "-c", "echo hello from rtadvisor"))),))

try:
    with Session() as session:
        bench_backend(session, Interrupting(), Assets(), BenchOptions(runs=3, warmups=0, sweep=(1, 2)))
except KeyboardInterrupt:
    print("stopped after cleanup", flush=True)
    sys.exit(130)
print("finished: the signal was lost", flush=True)
"""


def test_ctrl_c_during_a_nested_cleanup_waits_for_it_then_stops(tmp_path: Path) -> None:
    marker = tmp_path / "cleaned"
    pid, code, out, err = _run([sys.executable, "-c", _CLEANUP_SCRIPT, str(marker)], _env(tmp_path))
    assert code == 130 and "stopped after cleanup" in out, (out, err[-500:])
    # both idle instances were cleaned up completely, the one whose cleanup got the signal included
    assert sorted(line.rsplit("-", 1)[1] for line in marker.read_text().split()) == ["3", "4"]
    _nothing_left(pid, tmp_path / "tmp")


@pytest.mark.runtime("runsc")
def test_sigterm_during_a_runsc_sweep_leaves_no_cgroup_anywhere(tmp_path: Path) -> None:
    """Before: a runsc cgroup was left in 9 v1 hierarchies every time."""
    env = _env(tmp_path)
    proc = subprocess.Popen([*RTADVISOR, "bench", "--runtimes", "runsc", "--sweep", "1,2,3", "--runs", "3",
                             "--warmups", "0", "--no-store"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: sum("runsc-sandbox" in p for p in left_by(proc.pid).processes) >= 2, 120,
              "two runsc sandboxes of the memory sweep", proc)
    proc.terminate()
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert "terminated; all instances and temporary files removed" in stderr
    _nothing_left(proc.pid, tmp_path / "tmp", timeout=2.0)


# ------------------------------------------------------------------------------------------ SIGKILL


def _cleanup(env: dict[str, str], *args: str) -> dict[str, object]:
    done = subprocess.run([*RTADVISOR, "bench", "cleanup", "--json", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


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


@pytest.mark.runtime("runsc", "native")
def test_after_sigkill_the_next_run_removes_what_the_dead_one_left_and_spares_a_live_one(tmp_path: Path) -> None:
    env = _env(tmp_path)
    # a live rtadvisor holding a runsc sandbox (cgroups named after ITS tag) and a native instance
    live = subprocess.Popen([sys.executable, "-c", _HOLDER, "runsc", "native"], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victim = subprocess.Popen([*RTADVISOR, "bench", "--runtimes", "runsc", "--sweep", "1,2,3", "--runs", "3",
                               "--warmups", "0", "--no-store"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        assert live.stdout is not None and live.stdout.readline().strip() == "held"
        held = left_by(live.pid, tmp_path / "tmp")
        assert len(held.processes) >= 3 and held.cgroups and held.dirs, held
        _wait_for(lambda: sum("runsc-sandbox" in p for p in left_by(victim.pid).processes) >= 2, 120,
                  "runsc sandboxes of the victim")
        victim.kill()
        victim.wait(timeout=30)
        time.sleep(0.3)
        left = left_by(victim.pid, tmp_path / "tmp")
        assert left.processes and left.dirs, left  # SIGKILL: nothing could clean up

        dry = _cleanup(env, "--dry-run")
        items = dry["items"]
        assert isinstance(items, list) and items and not any(i["removed"] for i in items)
        assert left_by(victim.pid, tmp_path / "tmp").processes  # a dry run removes nothing
        assert all(f"pid {victim.pid} (dead)" in i["owner"] for i in items)  # only the dead one's

        # the next run cleans up first, and says so
        nxt = subprocess.run([*RTADVISOR, "bench", "--runtimes", "native", "--runs", "3", "--warmups", "0",
                              "--no-memory", "--no-store"], env=env, capture_output=True, text=True, timeout=120,
                             check=False)
        assert nxt.returncode == 0, nxt.stderr
        assert f"left by dead rtadvisor pid {victim.pid}" in nxt.stderr and "removed" in nxt.stderr
        assert "processes" in nxt.stderr and "cgroup directories" in nxt.stderr
        _nothing_left(victim.pid, tmp_path / "tmp", timeout=2.0)
        assert _cleanup(env)["items"] == []

        # the live run was not touched: the same processes, cgroups and directory
        assert live.poll() is None
        after = left_by(live.pid, tmp_path / "tmp")
        assert (sorted(after.processes), sorted(after.cgroups), after.dirs) == \
            (sorted(held.processes), sorted(held.cgroups), held.dirs)
    finally:
        live.communicate(input="", timeout=60)  # EOF: it releases its instances
    assert live.returncode == 0
    _nothing_left(live.pid, tmp_path / "tmp")


@pytest.mark.runtime("containerd")
def test_sigkill_of_a_containerd_bench_and_its_daemon_is_cleaned_up(tmp_path: Path) -> None:
    env = _env(tmp_path)
    victim = subprocess.Popen([*RTADVISOR, "bench", "--runtimes", "containerd", "--sweep", "1,2,3", "--runs", "3",
                               "--warmups", "0", "--no-store"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    _wait_for(lambda: sum("containerd-shim" in p for p in left_by(victim.pid).processes) >= 2, 120,
              "containerd shims of the sweep", victim)  # type: ignore[arg-type]
    # the worst case: the bench, its daemon's reaper, the daemon and the shims SIGKILLed at once (the
    # reaper would otherwise tear the daemon down itself when the bench dies)
    pids = [victim.pid] + [int(p.split(":")[0]) for p in left_by(victim.pid).processes]
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    victim.wait(timeout=30)
    time.sleep(0.5)
    left = left_by(victim.pid, tmp_path / "tmp")
    assert left.dirs and left.cgroups, left  # the containers' cgroups and the daemon's directory
    report = _cleanup(env)
    kinds = {i["kind"] for i in report["items"]}  # type: ignore[union-attr]
    assert {"directory", "cgroup", "containerd-state"} <= kinds, report
    assert all(i["removed"] for i in report["items"]), report  # type: ignore[union-attr]
    _nothing_left(victim.pid, tmp_path / "tmp", timeout=3.0)


@pytest.mark.runtime("native")
def test_two_benches_at_once_on_a_fresh_store(tmp_path: Path) -> None:
    env = _env(tmp_path)
    argv = [*RTADVISOR, "bench", "--runtimes", "native", "--runs", "3", "--warmups", "0", "--sweep", "1,2"]
    procs = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outcomes = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outcomes
    history = subprocess.run([*RTADVISOR, "bench", "history", "--json"], env=env, capture_output=True, text=True,
                             check=True)
    assert len(json.loads(history.stdout)) == 2
    for p in procs:
        _nothing_left(p.pid, tmp_path / "tmp")
