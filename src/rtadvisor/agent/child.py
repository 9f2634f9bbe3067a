"""One bench of the agent, in a process of its own: ``python -m rtadvisor.agent.child`` < settings.

Why a separate process: the agent lives for weeks; the bench runs native code in-process (the
wasmtime engine and its runtime threads, psycopg is not loaded here) and starts runtimes, VMs and
daemons. A crash or a leak there ends this process, not the agent, and a bench's memory is given
back when it exits. The child writes its result into the agent's spool (atomically) and prints the
run id; the agent sends it. If the agent dies, the kernel sends this process SIGTERM
(``PR_SET_PDEATHSIG``): the bench cleans up and nothing is written.

Input (JSON on stdin): ``spool``, ``runtimes``, ``bench`` (BenchOptions fields), ``node_name``,
``pool``, ``host_root``, ``probe_node``, ``parent`` (the agent's pid).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PR_SET_PDEATHSIG = 1


def log(message: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in message)
    sys.stderr.write(f"{stamp} rtadvisor agent: {text}\n")
    sys.stderr.flush()


def _die_with(parent: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the agent's own SIGTERM handling still stops us
    if os.getppid() != parent:  # the agent died before the line above
        raise SystemExit(0)


def measure(settings: dict[str, Any]) -> str:
    from rtadvisor.bench import interrupts, run_bench
    from rtadvisor.bench.harness import BenchOptions

    from .runner import node_program_versions
    from .spool import atomic_write

    options = dict(settings.get("bench") or {})
    for key in ("sweep", "pack_sweep"):
        if key in options:
            options[key] = tuple(options[key])
    with interrupts.sigterm_unwinds():
        host_root = settings.get("host_root")
        versions = node_program_versions(Path(host_root) if host_root else None) if settings.get("probe_node") else {}
        runtimes = list(settings.get("runtimes") or ())
        log(f"bench started: {', '.join(runtimes) if runtimes else 'every backend'}")
        run = run_bench(runtimes or None, BenchOptions(**options))
        node = run.node.model_copy(update={
            "node_name": settings["node_name"], "pool": settings.get("pool"),
            "runtime_versions": {**versions, **run.node.runtime_versions}})
        run = run.model_copy(update={"node": node})
        with interrupts.deferred():  # a signal now waits until the file is whole
            atomic_write(Path(settings["spool"]) / f"{run.run_id}.json", run.model_dump_json().encode())
    return run.run_id


def main() -> int:
    settings = json.loads(sys.stdin.read())
    _die_with(int(settings["parent"]))
    from rtadvisor.errors import RtadvisorError

    try:
        run_id = measure(settings)
    except KeyboardInterrupt:
        return 130
    except RtadvisorError as exc:
        log(f"bench failed: {' '.join(str(exc).splitlines())}")
        return 1
    sys.stdout.write(run_id + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
