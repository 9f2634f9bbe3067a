"""Agents at once and agents killed: nothing lost, nothing stored twice, the database consistent.

* Eight agents, separate processes, each in its own mount, UTS and network namespace (its own
  hostname and /etc/machine-id, no network but the Unix socket of the database), bench and write
  at the same time into one fresh store -- SQLite and a real PostgreSQL -- while each also sends
  the same spooled run (a retried upload): every run is stored, once, with all its rows.
* An agent SIGKILLed in the middle of its database transaction (PostgreSQL: the test holds a table
  lock, so the agent is provably mid-write when killed) leaves no trace of the run; the next agent
  start sends the run from the spool, exactly once.
* Agents SIGKILLed at random moments (SQLite) never leave a partial run or a corrupt spool.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from fleethelpers import AGENT_QUICK, AgentProcess, measured, node_run
from sqlalchemy import create_engine, text

from rtadvisor import app
from rtadvisor.agent import Spool
from rtadvisor.store import ResultStore, extract_measurements
from rtadvisor.store.database import _digest

AGENTS = 8
CYCLES = 2


def _namespaced(i: int, tmp_path: Path) -> tuple[list[str], str | None]:
    """A command prefix giving agent ``i`` its own mount/UTS/network namespaces, hostname and
    machine id (root only; otherwise the node name alone tells the agents apart)."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return [], None
    machine_id = tmp_path / f"machine-id-{i}"
    machine_id.write_text(secrets.token_hex(16) + "\n")
    script = f"mount --bind {machine_id} /etc/machine-id && hostname host-{i} && exec \"$@\""
    return ["unshare", "--mount", "--uts", "--net", "--fork", "--kill-child", "sh", "-c", script, "sh"], f"host-{i}"


def check_consistent(url: str) -> dict[str, Any]:
    """Every stored run whole (its document's results and measurement rows, its digest), no row
    without its run, no run twice; returns the runs by id."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            for table in ("results", "measurements"):
                orphans = conn.execute(text(f"SELECT count(*) FROM {table} WHERE run_id NOT IN (SELECT id FROM runs)"))
                assert orphans.scalar() == 0, f"{table} rows without their run"
            twice = conn.execute(text("SELECT run_id, runtime, count(*) FROM results GROUP BY run_id, runtime "
                                      "HAVING count(*) > 1")).all()
            assert twice == []
            counts = {r: (n_res, n_meas) for r, n_res, n_meas in conn.execute(text(
                "SELECT r.id, (SELECT count(*) FROM results x WHERE x.run_id = r.id), "
                "(SELECT count(*) FROM measurements m WHERE m.run_id = r.id) FROM runs r")).all()}
            digests = dict(conn.execute(text("SELECT id, digest FROM runs")).all())
    finally:
        engine.dispose()
    runs: dict[str, Any] = {}
    with ResultStore.open(url) as store:
        for run_id, (n_results, n_measurements) in counts.items():
            run = store.load_run(run_id)
            assert n_results == len(run.results)
            assert n_measurements == sum(len(extract_measurements(r)) for r in run.results)
            assert digests[run_id] == _digest(run.model_dump(mode="json"))
            runs[run_id] = run
    return runs


def test_eight_agents_at_once_lose_nothing_and_store_nothing_twice(store_url: str, tmp_path: Path,
                                                                    agent_env: dict[str, str]) -> None:
    shared = node_run("shared-node", "retry", (measured("runc", 30.0),))  # an upload every agent retries
    agents = []
    hosts = []
    for i in range(AGENTS):
        spool = tmp_path / f"spool-{i}"
        with Spool.open(spool) as s:
            s.put(shared)
        prefix, host = _namespaced(i, tmp_path)
        hosts.append(host)
        env = {**agent_env, "RTADVISOR_NODE_NAME": f"node-{i}"}
        agents.append(AgentProcess(["--db", store_url, "--pool", f"pool-{i % 2}", "--interval", "1s",
                                    "--cycles", str(CYCLES), "--retry-max", "2s", "--spool", str(spool), "--json",
                                    *AGENT_QUICK], env, prefix))
    reports = []
    for agent in agents:
        code, out = agent.finish(600)
        assert code == 0, agent.log
        reports.append(json.loads(out))
    runs = check_consistent(store_url)
    assert len(runs) == AGENTS * CYCLES + 1
    assert shared.run_id in runs
    for i, report in enumerate(reports):
        own = [r for r in report["stored"] if r != shared.run_id]
        assert len(own) == CYCLES and report["pending"] == [] and shared.run_id in report["stored"]
        for run_id in own:
            node = runs[run_id].node
            assert (node.node_name, node.pool) == (f"node-{i}", f"pool-{i % 2}")
            if hosts[i]:
                assert node.hostname == hosts[i]
        assert not list((tmp_path / f"spool-{i}").glob("*.json"))
    if hosts[0]:  # each namespace had its own /etc/machine-id: eight node identities
        assert len({r.node.machine_id for r in runs.values() if r.node.node_name.startswith("node-")}) == AGENTS
    report = app.fleet_report(store_url, "1h")
    assert sorted(n.node_name for n in report.nodes) == sorted([*(f"node-{i}" for i in range(AGENTS)), "shared-node"])


def _waiting_agents(conn: Any) -> int:
    return int(conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'rtadvisor' "
                            "AND wait_event_type = 'Lock'").fetchone()[0])


def test_an_agent_killed_mid_transaction_leaves_nothing_and_loses_nothing(postgres: Any, tmp_path: Path,
                                                                           agent_env: dict[str, str]) -> None:
    dbname = f"killed_{secrets.token_hex(4)}"
    url = postgres.create_database(dbname)
    ResultStore.open(url).close()
    spool = tmp_path / "spool"
    env = {**agent_env, "RTADVISOR_NODE_NAME": "killed-node"}
    blocker = postgres.connect(dbname, autocommit=False)
    watcher = postgres.connect(dbname)
    try:
        blocker.execute("LOCK TABLE measurements IN ACCESS EXCLUSIVE MODE")
        agent = AgentProcess(["--once", "--db", url, "--spool", str(spool), *AGENT_QUICK], env)
        deadline = time.monotonic() + 180
        while _waiting_agents(watcher) == 0:
            assert time.monotonic() < deadline and agent.proc.poll() is None, agent.log
            time.sleep(0.2)
        # the agent has written its run row and results rows and waits to write the measurements
        os.kill(agent.proc.pid, signal.SIGKILL)
        code, _ = agent.finish(60)
        assert code == -signal.SIGKILL
        blocker.rollback()
        deadline = time.monotonic() + 60
        while watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'rtadvisor'"
                              ).fetchone()[0]:
            assert time.monotonic() < deadline, "the killed agent's backend stayed"
            time.sleep(0.2)
    finally:
        blocker.close()
        watcher.close()
    assert check_consistent(url) == {}  # nothing of the half-written run
    (pending,) = list(spool.glob("*.json"))
    again = AgentProcess(["--once", "--db", url, "--spool", str(spool), "--json", *AGENT_QUICK], env)
    code, out = again.finish()
    assert code == 0, again.log
    runs = check_consistent(url)
    assert pending.stem in runs and len(runs) == 2 and json.loads(out)["stored"][0] == pending.stem
    assert not list(spool.glob("*.json"))


def test_agents_killed_at_random_moments_never_leave_a_partial_run(tmp_path: Path, agent_env: dict[str, str]) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    spool = tmp_path / "spool"
    env = {**agent_env, "RTADVISOR_NODE_NAME": "flaky-node"}
    rng = random.Random(20261127)
    logged: set[str] = set()
    for _ in range(6):
        agent = AgentProcess(["--db", url, "--interval", "1s", "--cycles", "20", "--spool", str(spool), *AGENT_QUICK],
                             env)
        agent.wait_for("bench started")
        time.sleep(rng.uniform(0.2, 3.0))
        os.kill(agent.proc.pid, signal.SIGKILL)
        agent.finish(60)
        logged |= {line.split("stored run ")[1].split()[0] for line in agent.lines if "stored run " in line}
        if Path(url.removeprefix("sqlite:///")).exists():
            runs = check_consistent(url)
            assert logged <= set(runs)
        for item in spool.glob("*.json"):  # whatever is spooled is a whole run
            json.loads(item.read_text())
    final = AgentProcess(["--once", "--db", url, "--spool", str(spool), "--json", *AGENT_QUICK], env)
    code, out = final.finish()
    assert code == 0, final.log
    runs = check_consistent(url)
    assert logged <= set(runs) and set(json.loads(out)["stored"]) <= set(runs)
    assert not list(spool.glob("*.json")) and not list(spool.glob(".*tmp*"))
    assert all(r.node.node_name == "flaky-node" for r in runs.values())


def _ours(proc: Any, base: Path) -> bool:
    cmdline = proc.info["cmdline"] or []
    return ("rtadvisor.agent.child" in cmdline or ("agent" in cmdline and any(a.endswith("/rtadvisor") for a in cmdline))
            ) and proc.info["environ"] is not None and str(base) in proc.info["environ"].get("XDG_STATE_HOME", "")


@pytest.fixture(autouse=True)
def _no_agent_left(tmp_path: Path) -> Any:
    """After each test no agent and no bench process of its own is left (a SIGKILLed agent's bench
    gets SIGTERM from the kernel and cleans up: given a minute)."""
    import psutil

    yield
    deadline = time.monotonic() + 60
    while True:
        left = [p for p in psutil.process_iter(["cmdline", "environ"]) if _ours(p, tmp_path)
                and p.status() != psutil.STATUS_ZOMBIE]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert left == [], f"agent processes left running: {left}"
