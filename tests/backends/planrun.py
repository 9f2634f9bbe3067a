"""A deliberately small executor of :class:`LaunchPlan` for the backend tests.

The bench harness is the real runner (timing, PSS, statistics); the backend tests only need to run
a plan once, see its output, hold an idle instance, and check that cleanup leaves nothing behind.
Semantics follow ``rtadvisor.backends.base``: setup, stages in order (each in its own session; a
stage with ``ready_line`` ends when the line appears on its stdout, even if the stage process has
exited while a detached child still holds the pipe), cleanup always, then kill what was started.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rtadvisor.backends.base import Command, LaunchPlan


@dataclass
class Outcome:
    stdout: str = ""
    stderr: str = ""
    returncodes: list[int] = field(default_factory=list)
    stage_ms: dict[str, float] = field(default_factory=dict)
    pids: list[int] = field(default_factory=list)


def _env(command: Command) -> dict[str, str] | None:
    if command.env is None:
        return None
    return {**os.environ, **command.env}


def _run_plain(command: Command) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(list(command.argv), env=_env(command), cwd=command.cwd, input=command.stdin,
                          capture_output=True, timeout=command.timeout_s, check=False, start_new_session=True)


def _read_until(proc: subprocess.Popen[bytes], ready: str | None, timeout: float) -> tuple[str, bool]:
    """Read proc.stdout until EOF (ready None) or until the ready line; returns (text, seen)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            data = os.read(fd, 65536)
            if not data:
                break
            chunks.append(data)
            if ready is not None and ready in b"".join(chunks).decode(errors="replace").splitlines():
                return b"".join(chunks).decode(errors="replace"), True
    return b"".join(chunks).decode(errors="replace"), ready is None


@contextmanager
def running(plan: LaunchPlan, *, timeout: float = 60.0) -> Iterator[Outcome]:
    """Run ``plan``'s setup and stages; yield while the instance is up; always clean up."""
    outcome = Outcome()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for command in plan.setup:
            _run_plain(command)
        for stage in plan.stages:
            c = stage.command
            start = time.perf_counter()
            proc = subprocess.Popen(list(c.argv), env=_env(c), cwd=c.cwd, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
            procs.append(proc)
            outcome.pids.append(proc.pid)
            text, seen = _read_until(proc, stage.ready_line, min(timeout, c.timeout_s))
            outcome.stdout += text
            if stage.ready_line is None:
                proc.wait(timeout=c.timeout_s)
                outcome.returncodes.append(proc.returncode)
                assert proc.stderr is not None
                os.set_blocking(proc.stderr.fileno(), False)  # a detached child may hold it open
                try:
                    outcome.stderr += (proc.stderr.read() or b"").decode(errors="replace")
                except BlockingIOError:
                    pass
            elif not seen:
                raise AssertionError(f"stage {stage.name}: no ready line {stage.ready_line!r}; got {text!r}")
            outcome.stage_ms[stage.name] = (time.perf_counter() - start) * 1000
        # A detached runtime writes its pid file right after start; the container may print first.
        deadline = time.monotonic() + 10
        while any(not p.exists() for p in plan.pid_files) and time.monotonic() < deadline:
            time.sleep(0.01)
        yield outcome
    finally:
        for command in plan.cleanup:
            try:
                _run_plain(command)
            except subprocess.TimeoutExpired:
                pass
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()


def run_once(plan: LaunchPlan, *, timeout: float = 60.0) -> Outcome:
    """Run a run-to-exit plan (hello) and return its outcome after cleanup."""
    with running(plan, timeout=timeout) as outcome:
        pass
    return outcome


def mounts_mentioning(text: str) -> list[str]:
    return [line for line in Path("/proc/mounts").read_text().splitlines() if text in line]


def processes_mentioning(text: str) -> list[int]:
    """Live (non-zombie) processes whose command line contains ``text``."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def settle(text: str, timeout: float = 10.0) -> list[int]:
    """Processes mentioning ``text`` once they had up to ``timeout`` s to finish exiting (a killed
    sandbox takes a moment to go away under load); an empty list is what the tests want."""
    deadline = time.monotonic() + timeout
    while True:
        left = processes_mentioning(text)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)
