"""The fleet agent's loop: probe the node, bench it, keep the result on disk, send it, repeat.

One cycle::

    send what the spool still holds (a previous cycle's, or a killed agent's)
    in a child process (rtadvisor.agent.child): probe the node (the doctor's facts: the node's own
        runtimes and containerd), run the bench (the configured backends and budget) and spool
        the typed BenchRun with the node's identity (atomic write)
    send it (one transaction), forget it once the database has it

Between cycles the agent sleeps until the next one is due and, while runs are waiting, retries
the database with exponential backoff and jitter (``retry_max_s`` caps the wait). ``once`` runs
one cycle and keeps retrying the upload for ``retry_for_s`` before giving up (the run stays in
the spool for the next agent run: nothing is lost).

SIGTERM and SIGINT stop the agent in any phase: the bench cleans up after itself and discards the
unfinished run, an unfinished database transaction is rolled back, the spool is never half
written; whatever was spooled is sent by the next start.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rtadvisor.errors import BenchError, InputError, RuntimeUnavailable, StoreError, StoreUnavailable
from rtadvisor.model import BenchRun

from .spool import Spool, Spooled

if TYPE_CHECKING:
    from rtadvisor.bench.harness import BenchOptions
    from rtadvisor.store.database import ResultStore

Log = Callable[[str], None]

#: Where the doctor looks for the node's own programs under ``host_root`` (the host's / mounted
#: read-only in the agent's pod): the usual PATH plus where K3s and kata-deploy install shims.
HOST_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin", "/opt/kwasm/bin",
             "/opt/kata/bin", "/var/lib/rancher/k3s/data/current/bin")


@dataclass(frozen=True)
class AgentConfig:
    """Everything ``rtadvisor agent`` was asked to do (options and their environment variables)."""

    db: str | None = None
    spool: Path = Path("spool")
    once: bool = True
    interval_s: float = 6 * 3600.0
    cycles: int | None = None  # stop after this many cycles (None: until stopped; once: 1)
    pool: str | None = None
    pool_label: str | None = None
    node_name: str | None = None
    runtimes: tuple[str, ...] = ()  # empty: every registered backend
    bench: BenchOptions | None = None
    spool_max: int = 200
    retry_for_s: float = 120.0
    retry_base_s: float = 1.0
    retry_max_s: float = 300.0
    host_root: Path | None = None
    probe_node: bool = True


@dataclass
class AgentReport:
    """What an agent did (``agent --json``)."""

    cycles: int = 0
    failed: int = 0  # cycles whose bench produced no result
    stored: list[str] = field(default_factory=list)  # run ids the database committed
    pending: list[str] = field(default_factory=list)  # run ids still in the spool
    rejected: list[str] = field(default_factory=list)
    node_name: str | None = None
    pool: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"cycles": self.cycles, "failed": self.failed, "stored": self.stored, "pending": self.pending, "rejected": self.rejected,
                "node_name": self.node_name, "pool": self.pool}


class Backoff:
    """Exponential backoff with jitter: base, 2 base, 4 base ... capped, each drawn from [d/2, d]
    so that a fleet of agents does not retry in lockstep after the database comes back."""

    def __init__(self, base_s: float, cap_s: float) -> None:
        self.base_s = base_s
        self.cap_s = max(cap_s, base_s)
        self.failures = 0

    def next_delay(self) -> float:
        delay = min(self.cap_s, self.base_s * (2 ** min(self.failures, 30)))
        self.failures += 1
        return random.uniform(delay / 2, delay)

    def reset(self) -> None:
        self.failures = 0


class Sender:
    """Sends spooled runs; keeps one store open between cycles and reopens it after a failure."""

    def __init__(self, db: str | None, log: Log, report: AgentReport) -> None:
        self.db = db
        self.log = log
        self.report = report
        self.store: ResultStore | None = None
        self.last_error: StoreError | None = None

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None

    def _open(self) -> ResultStore:
        if self.store is None:
            from rtadvisor.store import ResultStore

            self.store = ResultStore.open(self.db)
        return self.store

    def flush(self, spool: Spool) -> bool:
        """Send every pending run, oldest first; True when the spool is empty afterwards."""
        from rtadvisor.store import read_bench_run

        for item in spool.pending():
            try:
                run = read_bench_run(item.path.read_bytes(), source=f"spool {item.path}")
            except OSError:
                continue  # vanished meanwhile
            except StoreError as exc:
                self._reject(spool, item, str(exc))
                continue
            try:
                store = self._open()
                store.save(run)
            except StoreUnavailable as exc:
                self._failed(exc)
                return False
            except StoreError as exc:
                if self.store is None:  # opening failed for good (e.g. a newer schema): keep the runs
                    self._failed(exc)
                    return False
                self._reject(spool, item, str(exc))
                continue
            spool.done(item)
            self.last_error = None
            self.report.stored.append(run.run_id)
            self.log(f"stored run {run.run_id} (node {run.node.node_name}, pool {run.node.pool or '-'}): "
                     f"{_summary(run)}")
        return not spool.pending()

    def _failed(self, exc: StoreError) -> None:
        self.close()
        if self.last_error is None or str(self.last_error) != str(exc):
            self.log(f"database not reachable, runs kept in the spool: {exc}")
        self.last_error = exc

    def _reject(self, spool: Spool, item: Spooled, reason: str) -> None:
        target = spool.reject(item, reason)
        self.report.rejected.append(item.run_id)
        self.log(f"run {item.run_id} refused for good, moved to {target}: {reason}")


def _summary(run: BenchRun) -> str:
    measured = [r.runtime for r in run.results if r.measured]
    failed = [r.runtime for r in run.results if r.available and not r.measured]
    missing = [r.runtime for r in run.results if not r.available]
    parts = [f"measured {', '.join(measured) or 'none'}"]
    if failed:
        parts.append(f"failed {', '.join(failed)}")
    if missing:
        parts.append(f"not usable {', '.join(missing)}")
    return "; ".join(parts)


def resolve_pool(config: AgentConfig, node_name: str, log: Log) -> str | None:
    """``--pool``, else the node's ``--pool-label`` read from the Kubernetes API (retried: the API
    server may be busy when a whole DaemonSet starts), else none."""
    if config.pool:
        return config.pool
    if not config.pool_label:
        return None
    from .kube import node_labels

    backoff = Backoff(config.retry_base_s, min(config.retry_max_s, 30.0))
    for attempt in range(5):
        try:
            labels = node_labels(node_name)
        except RuntimeUnavailable as exc:
            if attempt == 4 or "not inside a Kubernetes pod" in str(exc):
                raise
            log(f"reading node {node_name}'s labels: {exc}; retrying")
            time.sleep(backoff.next_delay())
            continue
        pool = labels.get(config.pool_label)
        if not pool:
            log(f"node {node_name} has no label {config.pool_label}: its results are stored without a pool")
        return pool
    return None


def node_program_versions(host_root: Path | None) -> dict[str, str]:
    """The node's own runtimes and containerd, as the doctor finds them (``node:NAME`` -> version).

    With ``host_root`` (the host's / mounted read-only in the agent's pod) the doctor searches the
    node's PATH and K3s/kata-deploy directories there and asks the node's containerd (socket under
    ``host_root/run/containerd``); a binary that cannot run in the agent's image is recorded as
    present with its version unknown."""
    from rtadvisor.doctor.facts import gather, k3s_detected

    if host_root is None:
        facts = gather()
        k3s = facts.k3s_detected
    else:
        root = str(host_root).rstrip("/")
        config = Path(root, "etc/containerd/config.toml")
        facts = gather(":".join(root + d for d in HOST_PATH), socket=f"{root}/run/containerd/containerd.sock",
                       config=str(config) if config.is_file() else None)
        k3s = k3s_detected(root)
    out = {f"node:{name}": facts.versions.get(name) or "present (version unknown)" for name in sorted(facts.programs)}
    for name in sorted(k3s):
        out.setdefault(f"node:k3s-detects:{name}", k3s[name])
    out["node:containerd-daemon"] = "answers" if facts.containerd_live else "not reachable"
    return out


def measure(config: AgentConfig, node_name: str, pool: str | None, spool: Spool, log: Log) -> str | None:
    """One bench run of this node, in a child process (:mod:`rtadvisor.agent.child`) that writes
    the typed result, with the node's identity and its own runtimes, into the spool. Returns the
    run id, or None when the bench failed (said in the log). SIGTERM/SIGINT here stop the child
    (the bench cleans up) before they stop the agent."""
    from dataclasses import asdict

    from rtadvisor.bench.harness import BenchOptions

    options = {k: v for k, v in asdict(config.bench or BenchOptions()).items() if k != "tmp_root"}
    settings = {"spool": str(spool.directory), "runtimes": list(config.runtimes), "bench": options,
                "node_name": node_name, "pool": pool, "probe_node": config.probe_node, "parent": os.getpid(),
                "host_root": str(config.host_root) if config.host_root else None}
    proc = subprocess.Popen([sys.executable, "-m", "rtadvisor.agent.child"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(settings))
        proc.stdin.close()
        out = proc.stdout.read()
        code = proc.wait()
    except BaseException:
        _stop(proc)
        raise
    finally:
        if proc.stdout is not None:
            proc.stdout.close()
    run_id = out.strip().splitlines()[-1] if out.strip() else ""
    if run_id and (spool.directory / f"{run_id}.json").exists():
        if code != 0:
            log(f"the bench process exited with {_exit_text(code)} after writing run {run_id}; the run is whole")
        spool.trim(log)
        return run_id
    log(f"bench failed: the bench process exited with {_exit_text(code)} and no result")
    return None


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"


def _stop(proc: subprocess.Popen[str], grace_s: float = 90.0) -> None:
    """SIGTERM the bench process (it cleans up what it started), SIGKILL it after ``grace_s``."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)


def _wait(deadline: float, spool: Spool, sender: Sender, backoff: Backoff, *, until_sent: bool = False) -> None:
    """Sleep until ``deadline`` (or, ``until_sent``, until the spool is empty), retrying the
    database with backoff while runs are waiting."""
    retry_at = time.monotonic() + backoff.next_delay() if spool.pending() else None
    while True:
        now = time.monotonic()
        if now >= deadline or (until_sent and retry_at is None):
            return
        if retry_at is not None and now >= retry_at:
            if sender.flush(spool):
                backoff.reset()
                retry_at = None
            else:
                retry_at = time.monotonic() + backoff.next_delay()
        wake = deadline if retry_at is None else min(deadline, retry_at)
        time.sleep(max(0.0, min(wake - time.monotonic(), 60.0)))


def run_agent(config: AgentConfig, log: Log) -> AgentReport:
    """Run the agent (see the module docstring); :class:`StoreUnavailable` when ``once`` could not
    send its run within ``retry_for_s`` (the run stays in the spool)."""
    from rtadvisor.bench import interrupts
    from rtadvisor.bench.node import NODE_NAME_VARIABLES, node_info

    if config.interval_s <= 0 and not config.once:
        raise InputError("--interval: expected a positive duration", field="interval")
    report = AgentReport()
    with interrupts.sigterm_unwinds(), Spool.open(config.spool, max_files=config.spool_max) as spool:
        sender = Sender(config.db, log, report)
        try:
            node_name = config.node_name or node_info().node_name
            report.node_name = node_name
            if config.node_name is None and not any(os.environ.get(v) for v in NODE_NAME_VARIABLES):
                log(f"no {NODE_NAME_VARIABLES[0]}: the node is named by its hostname, {node_name}")
            pool = resolve_pool(config, node_name, log)
            report.pool = pool
            backoff = Backoff(config.retry_base_s, config.retry_max_s)
            limit = 1 if config.once else config.cycles
            while True:
                started = time.monotonic()
                if spool.pending():
                    sender.flush(spool)
                run_id = measure(config, node_name, pool, spool, log)
                report.cycles += 1
                if run_id is None:
                    report.failed += 1
                if sender.flush(spool):
                    backoff.reset()
                if limit is not None and report.cycles >= limit:
                    break
                _wait(started + config.interval_s, spool, sender, backoff)
            if spool.pending() and config.retry_for_s > 0:
                _wait(time.monotonic() + config.retry_for_s, spool, sender, backoff, until_sent=True)
            report.pending = [s.run_id for s in spool.pending()]
            if config.once and report.failed:
                raise BenchError("the bench failed (see the log above); nothing was measured")
            if report.pending:
                cause = sender.last_error or StoreUnavailable("the database did not take the runs")
                raise StoreUnavailable(f"{len(report.pending)} run(s) not sent, kept in {spool.directory} for the next "
                                       f"agent run: {cause}") from cause
            return report
        finally:
            sender.close()
