"""``rtadvisor agent``: real benches (native + wasmtime, small budgets) sent to SQLite and to a real
PostgreSQL; a database that is away and comes back; the spool; SIGTERM in the sleep and in the
middle of a bench; the node's labels from the Kubernetes API; bad options."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import psutil
import pytest
from fleethelpers import AGENT_QUICK, AgentProcess, node_run

from pgserver import PostgresServer
from rtadvisor import app
from rtadvisor.agent import Backoff, Spool
from rtadvisor.agent.kube import node_labels
from rtadvisor.agent.runner import AgentConfig, resolve_pool
from rtadvisor.errors import InputError, RuntimeUnavailable
from rtadvisor.store import ResultStore


@pytest.mark.parametrize(("text", "seconds"), [("90", 90.0), ("30s", 30.0), ("5m", 300.0), ("6h", 21600.0),
                                               ("1d", 86400.0), ("1h30m", 5400.0), ("250ms", 0.25), ("1.5h", 5400.0)])
def test_durations(text: str, seconds: float) -> None:
    assert app.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-5s", "5 m", "0", "1y", "400d", "m5"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(InputError, match=r"--interval: expected a positive duration"):
        app.parse_duration(text, "--interval")


def test_backoff_grows_to_its_cap_with_jitter() -> None:
    backoff = Backoff(1.0, 8.0)
    delays = [backoff.next_delay() for _ in range(8)]
    for delay, nominal in zip(delays, (1, 2, 4, 8, 8, 8, 8, 8), strict=True):
        assert nominal / 2 <= delay <= nominal
    backoff.reset()
    assert backoff.next_delay() <= 1.0


def test_the_spool(tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    run = node_run("n1", "p", ())
    with Spool.open(spool_dir, max_files=2) as spool:
        assert (spool_dir.stat().st_mode & 0o777) == 0o700
        item = spool.put(run)
        assert (item.path.stat().st_mode & 0o777) == 0o600
        assert [s.run_id for s in spool.pending()] == [run.run_id]
        with pytest.raises(InputError, match="another rtadvisor agent is using it"):
            Spool.open(spool_dir)
        dropped: list[str] = []
        older = [node_run("n1", "p", (), seq=i, age=timedelta(hours=h))
                 for i, h in ((1, 5), (2, 4))]
        for r in older:
            spool.put(r, on_drop=dropped.append)
        assert len(spool.pending()) == 2 and len(dropped) == 1 and "dropped the oldest unsent run" in dropped[0]
        target = spool.reject(spool.pending()[0], "other content under this id")
        assert target.parent.name == "rejected" and (target.parent / f"{target.stem}.reason.txt").exists()
    # a killed writer's temporary file is swept when the spool is opened again
    (spool_dir / f".{run.run_id}.json.tmp-12345").write_text("{half")
    with Spool.open(spool_dir) as spool:
        assert not list(spool_dir.glob(".*.tmp-*")) and len(spool.pending()) == 1


class _NodeAPI(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        auth = self.headers.get("Authorization")
        if auth != "Bearer sa-token":
            self.send_response(403, "Forbidden")
            self.end_headers()
            return
        if self.path != "/api/v1/nodes/worker-7":
            self.send_response(404, "Not Found")
            self.end_headers()
            return
        body = json.dumps({"kind": "Node", "apiVersion": "v1", "metadata": {
            "name": "worker-7", "labels": {"kubernetes.io/hostname": "worker-7", "rtadvisor.io/pool": "edge-arm"}}})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: Any) -> None:
        pass


def test_the_pool_from_the_nodes_label(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The one API call, against a local HTTP server answering as the API server does (TLS and the
    real API server are the cluster's; the request, the token and the answer's shape are ours)."""
    server = HTTPServer(("127.0.0.1", 0), _NodeAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api = f"http://127.0.0.1:{server.server_port}"
    token = tmp_path / "token"
    token.write_text("sa-token\n")
    try:
        labels = node_labels("worker-7", api=api, token_file=token)
        assert labels["rtadvisor.io/pool"] == "edge-arm"
        with pytest.raises(RuntimeUnavailable, match=r"HTTP 404"):
            node_labels("other", api=api, token_file=token)
        token.write_text("wrong")
        with pytest.raises(RuntimeUnavailable, match=r"HTTP 403 Forbidden \(the service account needs `get` on nodes"):
            node_labels("worker-7", api=api, token_file=token)
    finally:
        server.shutdown()
        server.server_close()
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(RuntimeUnavailable, match="not inside a Kubernetes pod"):
        resolve_pool(AgentConfig(pool_label="rtadvisor.io/pool"), "worker-7", lambda _m: None)
    assert resolve_pool(AgentConfig(pool="given", pool_label="x"), "worker-7", lambda _m: None) == "given"


def _stored(url: str) -> list[Any]:
    with ResultStore.open(url) as store:
        return [store.load_run(r.id) for r in store.runs()]


def test_once_stores_one_typed_run_with_the_nodes_identity(store_url: str, tmp_path: Path,
                                                          agent_env: dict[str, str]) -> None:
    env = {**agent_env, "RTADVISOR_NODE_NAME": "worker-3"}
    agent = AgentProcess(["--once", "--db", store_url, "--pool", "edge-arm", "--spool", str(tmp_path / "spool"),
                          "--json", *AGENT_QUICK], env)
    code, out = agent.finish()
    assert code == 0, agent.log
    report = json.loads(out)
    (run,) = _stored(store_url)
    assert report["stored"] == [run.run_id] and report["pending"] == [] and report["cycles"] == 1
    assert (run.node.node_name, run.node.pool) == ("worker-3", "edge-arm")
    assert [r.runtime for r in run.results] == ["native", "wasmtime"] and all(r.measured for r in run.results)
    assert run.node.kernel and run.node.cpu_model and run.node.kvm != "unknown"
    # the doctor's facts of the node: its own runtimes and containerd, next to the bench's versions
    assert any(k.startswith("node:") for k in run.node.runtime_versions)
    assert run.node.runtime_versions.get("node:containerd-daemon") in ("answers", "not reachable")
    assert not list((tmp_path / "spool").glob("*.json"))
    assert "stored run" in agent.log and "worker-3" in agent.log


def test_a_database_that_comes_back_gets_the_runs(tmp_path: Path, agent_env: dict[str, str]) -> None:
    """The agent benches while PostgreSQL is not there, keeps the run, retries with backoff, and
    sends it once the server is up; then SIGTERM stops it cleanly."""
    server = PostgresServer()
    try:
        url = server.url("postgres")  # not started yet: nothing listens at the socket
        agent = AgentProcess(["--db", url, "--interval", "1h", "--retry-max", "1s", "--spool",
                              str(tmp_path / "spool"), *AGENT_QUICK], {**agent_env, "RTADVISOR_NODE_NAME": "n-away"})
        try:
            agent.wait_for("database not reachable, runs kept in the spool")
            assert len(list((tmp_path / "spool").glob("*.json"))) == 1
            server.start()
            line = agent.wait_for("stored run", timeout=120)
            agent.proc.send_signal(signal.SIGTERM)
            code, _ = agent.finish(60)
        finally:
            if agent.proc.poll() is None:
                agent.proc.kill()
        assert code == 0 and "stopped (SIGTERM)" in agent.log
        (run,) = _stored(url)
        assert run.run_id in line and run.node.node_name == "n-away"
        assert not list((tmp_path / "spool").glob("*.json"))
    finally:
        server.stop()


def test_once_gives_up_after_retry_for_and_the_next_run_sends_both(pg_url: str, tmp_path: Path,
                                                                     agent_env: dict[str, str]) -> None:
    spool = str(tmp_path / "spool")
    nowhere = f"postgresql://postgres@/postgres?host={tmp_path}&port=5432"
    first = AgentProcess(["--once", "--db", nowhere, "--retry-for", "3s", "--retry-max", "1s", "--spool", spool,
                          *AGENT_QUICK], {**agent_env, "RTADVISOR_NODE_NAME": "n-late"})
    code, _ = first.finish()
    assert code == 1, first.log
    error = first.lines[-1]
    assert error.startswith("rtadvisor: error: 1 run(s) not sent, kept in ") and "OperationalError" in error
    assert len(list(Path(spool).glob("*.json"))) == 1
    second = AgentProcess(["--once", "--db", pg_url, "--spool", spool, "--json", *AGENT_QUICK],
                          {**agent_env, "RTADVISOR_NODE_NAME": "n-late"})
    code, out = second.finish()
    assert code == 0, second.log
    assert len(json.loads(out)["stored"]) == 2 and len(_stored(pg_url)) == 2


@pytest.mark.parametrize(("sig", "exit_code", "last_line"), [
    (signal.SIGTERM, 0, "stopped (SIGTERM)"), (signal.SIGINT, 130, "stopped (SIGINT)")])
def test_a_signal_while_sleeping_stops_at_once_and_releases_the_spool(
        sig: int, exit_code: int, last_line: str, tmp_path: Path, agent_env: dict[str, str]) -> None:
    db = str(tmp_path / "r.db")
    spool = tmp_path / "spool"
    agent = AgentProcess(["--db", db, "--interval", "1h", "--spool", str(spool), *AGENT_QUICK], agent_env)
    agent.wait_for("stored run")
    time.sleep(0.5)
    started = time.monotonic()
    agent.proc.send_signal(sig)
    code, _ = agent.finish(60)
    assert code == exit_code and time.monotonic() - started < 15, agent.log
    assert last_line in agent.lines[-1]
    with Spool.open(spool):  # the lock went with the process
        pass
    assert not list(spool.glob(".*tmp*")) and len(_stored(db)) == 1


@pytest.mark.runtime("microvm")
def test_sigterm_in_the_middle_of_a_bench_leaves_nothing(tmp_path: Path, agent_env: dict[str, str]) -> None:
    """A micro-VM is booting when SIGTERM arrives: the bench cleans up (no qemu left), the half-done
    run is neither stored nor spooled, and the agent exits 0."""
    db = str(tmp_path / "r.db")
    spool = tmp_path / "spool"
    agent = AgentProcess(["--once", "--db", db, "--spool", str(spool), "--runtimes", "microvm", "--runs", "5",
                          "--no-memory", "--budget", "120s"], agent_env)
    agent.wait_for("bench started")
    proc = psutil.Process(agent.proc.pid)
    deadline = time.monotonic() + 60
    children: list[psutil.Process] = []
    while time.monotonic() < deadline:
        children = proc.children(recursive=True)
        if any("qemu" in (c.name() or "") for c in children if c.is_running()):
            break
        time.sleep(0.2)
    assert any("qemu" in c.name() for c in children), "no micro-VM was running"
    agent.proc.send_signal(signal.SIGTERM)
    code, _ = agent.finish(120)
    assert code == 0, agent.log
    left = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert left == [], f"left behind: {left}"
    assert not list(spool.glob("*.json")) and not list(spool.glob(".*tmp*"))
    assert not Path(db).exists() or _stored(db) == []


def test_a_spooled_file_the_database_refuses_is_set_aside(tmp_path: Path, agent_env: dict[str, str]) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "20260101T000000Z-000000000000.json").write_text('{"schema_version": 99}')
    agent = AgentProcess(["--once", "--db", str(tmp_path / "r.db"), "--spool", str(spool), *AGENT_QUICK], agent_env)
    code, _ = agent.finish()
    assert code == 0, agent.log
    assert "refused for good" in agent.log
    assert (spool / "rejected" / "20260101T000000Z-000000000000.json").exists()
    assert "newer than this rtadvisor" in (spool / "rejected" / "20260101T000000Z-000000000000.reason.txt").read_text()
    assert len(_stored(str(tmp_path / "r.db"))) == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--interval", "often"], "--interval: expected a positive duration"),
    (["--runtimes", "native,nope"], "--runtimes: unknown runtime 'nope'"),
    (["--pool", "a b"], "--pool 'a b': expected a Kubernetes label value"),
    (["--cycles", "0"], "--cycles: expected a positive number"),
    (["--spool-max", "0"], "--spool-max: expected a positive number of runs"),
    (["--db", "postgresql://u:secret@h:port/x"], "invalid database URL"),
])
def test_bad_options_exit_2_with_one_line(args: list[str], message: str, tmp_path: Path,
                                          agent_env: dict[str, str]) -> None:
    agent = AgentProcess(["--once", "--spool", str(tmp_path / "spool"), *args], agent_env)
    code, _ = agent.finish(120)
    assert code == (2 if "URL" not in message else 1), agent.log
    assert len(agent.lines) >= 1 and message in agent.lines[-1] and "secret" not in agent.log


def test_two_agents_cannot_share_a_spool(tmp_path: Path, agent_env: dict[str, str]) -> None:
    with Spool.open(tmp_path / "spool"):
        agent = AgentProcess(["--once", "--db", str(tmp_path / "r.db"), "--spool", str(tmp_path / "spool"),
                              *AGENT_QUICK], agent_env)
        code, _ = agent.finish()
    assert code == 2 and "another rtadvisor agent is using it" in agent.lines[-1]
    assert os.path.exists(tmp_path / "spool" / ".lock")
