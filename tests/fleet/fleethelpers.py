"""Fleet test helpers (a module of its own: ``conftest`` is not a unique name to import across test
directories): typed bench runs of made-up nodes (for the report's arithmetic; the agents in
test_agent*.py measure for real), the CLI, and agent processes."""

from __future__ import annotations

import hashlib
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rtadvisor.model import (
    BenchDensity,
    BenchMemory,
    BenchResult,
    BenchRun,
    BenchStats,
    NodeInfo,
    primary_runtime,
    stand_ins,
)

RTADVISOR = str(Path(sys.executable).parent / "rtadvisor")
NOW = datetime.now(UTC).replace(microsecond=0)  # ages are relative to the real clock (stale = older than 24 h)


def measured(runtime: str, cold: float, pss: float = 10.0, *, emulated: bool = False, **extra: Any) -> BenchResult:
    fields: dict[str, Any] = {
        "runtime": runtime, "available": True, "kb_runtime": primary_runtime(runtime),
        "stands_for": stand_ins(backend=runtime), "emulated": emulated,
        "cold_start_ms": BenchStats(n=20, p50=cold, min=cold * 0.9, ci_low=cold * 0.98, ci_high=cold * 1.03),
        "cpu_ms": BenchStats(n=20, p50=cold / 3), "artifact_bytes": 2_000_000,
        "memory": BenchMemory(pss_mb=pss, per_instance_mb=pss * 0.9),
        "density": BenchDensity(value=110, bound_by="max_pods", max_pods=110),
    }
    fields.update(extra)
    return BenchResult(**fields)


def unavailable(runtime: str, reason: str) -> BenchResult:
    return BenchResult(runtime=runtime, available=False, reason=reason, kb_runtime=primary_runtime(runtime),
                       stands_for=stand_ins(backend=runtime))


def failed(runtime: str, error: str) -> BenchResult:
    return BenchResult(runtime=runtime, available=True, error=error, kb_runtime=primary_runtime(runtime),
                       stands_for=stand_ins(backend=runtime))


def node_run(node: str, pool: str | None, results: tuple[BenchResult, ...], *, age: timedelta = timedelta(hours=1),
             seq: int = 0, **facts: Any) -> BenchRun:
    """The newest (``seq`` 0) or an older run of a made-up node."""
    started = NOW - age
    info: dict[str, Any] = {"hostname": node, "node_name": node, "pool": pool, "kernel": "6.1.0-28-amd64",
                            "cpu_model": "Intel Xeon", "cpus": 8, "arch": "x86_64", "kvm": "kvm_intel",
                            "kvm_linux_guests": True, "cgroup": "v2"}
    info.update(facts)
    run_id = f"{started.strftime('%Y%m%dT%H%M%SZ')}-{hashlib.sha256(f'{node}/{seq}'.encode()).hexdigest()[:12]}"
    return BenchRun(run_id=run_id, started=started.isoformat(timespec="seconds"), node=NodeInfo(**info),
                    results=results)


def _sigint_default() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


class AgentProcess:
    """``rtadvisor agent ...`` as a separate process, its log lines collected as they come."""

    def __init__(self, args: list[str], env: dict[str, str], prefix: list[str] | None = None) -> None:
        import subprocess
        import threading

        # a test runner started in the background may ignore SIGINT, and children inherit that:
        # give the agent the default disposition, as a terminal would
        self.proc = subprocess.Popen([*(prefix or []), RTADVISOR, "agent", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env,
                                     preexec_fn=_sigint_default)  # async-signal-safe
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 120.0) -> str:
        """The first log line containing ``text`` (fails with the log after ``timeout`` or an exit)."""
        import time

        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((line for line in self.lines if text in line), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"agent never logged {text!r} (exit {self.proc.poll()}):\n{self.log}")
                self._changed.wait(min(left, 0.5))

    def finish(self, timeout: float = 180.0) -> tuple[int, str]:
        """Wait for the exit; (exit code, stdout)."""
        try:
            self.proc.wait(timeout=timeout)  # stdout holds one small JSON object at most
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=30)
        assert self.proc.stdout is not None
        out = self.proc.stdout.read()
        self.proc.stdout.close()
        self._reader.join(timeout=10)
        if self.proc.stderr:
            self.proc.stderr.close()
        return self.proc.returncode, out


AGENT_QUICK = ["--runtimes", "native,wasmtime", "--runs", "3", "--no-memory", "--budget", "60s"]
