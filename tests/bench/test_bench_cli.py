"""The bench / claims / report commands through the real CLI (subprocesses, small run counts)."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from rtadvisor.model import BENCH_SCHEMA_VERSION
from rtadvisor.store import read_bench_run

RTADVISOR = [str(Path(sys.executable).parent / "rtadvisor")]


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    # Every process the bench starts inherits this: after the run, none may carry it any more.
    env["RTADVISOR_TEST_TAG"] = tmp_path.name + "-" + os.urandom(4).hex()
    env["RTADVISOR_DB"] = str(tmp_path / "results.db")
    env["TMPDIR"] = str(tmp_path / "tmp")
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return env


def _bench(tmp_path: Path, *args: str, stderr_tty: bool = False) -> subprocess.CompletedProcess[str]:
    argv = [*RTADVISOR, "bench", "--runs", "3", "--warmups", "0", "--sweep", "1,2", "--pack-sweep", "1,5", *args]
    if not stderr_tty:
        return subprocess.run(argv, env=_env(tmp_path), capture_output=True, text=True, timeout=240, check=False)
    # stderr on a terminal: the progress bar is drawn there; stdout must still be pure JSON
    leader, follower = pty.openpty()
    drawn: list[bytes] = []

    def drain() -> None:  # a terminal that nobody reads would block the writer
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                return
            if not chunk:
                return
            drawn.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        proc = subprocess.run(argv, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=follower, text=True,
                              timeout=240, check=False)
    finally:
        os.close(follower)
        reader.join(timeout=5)
        os.close(leader)
    proc.stderr = b"".join(drawn).decode(errors="replace")
    return proc


@pytest.mark.runtime("native", "wasmtime")
def test_bench_json_keys_and_store(tmp_path: Path) -> None:
    proc = _bench(tmp_path, "--runtimes", "native,wasmtime,wasmedge", "--json", stderr_tty=True)
    assert proc.returncode == 0, proc.stdout
    doc = json.loads(proc.stdout)  # progress bar went to the terminal on stderr, not into the JSON
    assert "cold start" in proc.stderr  # and it was drawn there
    run = read_bench_run(doc)  # the typed, versioned document
    assert doc["schema_version"] == BENCH_SCHEMA_VERSION and run.started and run.finished
    assert {"kernel", "cpu_model", "runtime_versions", "node_name", "kvm", "cgroup"} <= set(doc["node"])
    assert doc["options"]["max_runs"] == 3 and doc["options"]["ci_target_pct"] == 5.0
    by_name = {r["runtime"]: r for r in doc["results"]}
    assert list(by_name) == ["native", "wasmtime", "wasmedge"]
    for name in ("native", "wasmtime"):
        r = by_name[name]
        assert r["available"] is True and r["error"] is None
        assert {"min", "p50", "p95", "max", "n", "ci_half_width_pct"} <= set(r["cold_start_ms"])
        assert r["cold_start_ms"]["n"] == 3 and r["sampling"]["stop_reason"] == "max-runs"
        assert r["cold_start_ms"]["target_met"] is False and "n < 6" in r["cold_start_ms"]["note"]
        assert r["memory"]["pss_mb"] > 0 and r["memory"]["per_instance_mb"] is not None and r["artifact_bytes"] > 0
        assert {"value", "bound_by", "memory", "max_pods", "pids"} <= set(r["density"])
        # isolation and overhead of the same run, one launch each (kernel tracing needs root: CI is root)
        assert r["overhead"]["status"] == "measured" and r["overhead"]["runtime"] == name
        assert r["isolation"]["status"] == ("measured" if os.geteuid() == 0 else "not measurable")
    assert by_name["wasmtime"]["stands_for"][0]["relation"] == "same-engine"
    wasmtime = by_name["wasmtime"]
    assert wasmtime["cold_start_stages"] == ["instantiate", "run"]
    assert {"compile", "serialize", "deserialize", "instantiate", "run", "instantiate_pre", "whole_process"} <= set(
        wasmtime["stages"])
    if not by_name["wasmedge"]["available"]:
        assert by_name["wasmedge"]["reason"] == "wasmedge not installed on this node"
        assert by_name["wasmedge"]["cold_start_ms"] is None
    # stored: history, show, compare, claims, report
    env = _env(tmp_path)
    history = subprocess.run([*RTADVISOR, "bench", "history", "--json"], env=env, capture_output=True, text=True,
                             check=True)
    runs = json.loads(history.stdout)
    assert [r["id"] for r in runs] == [doc["run_id"]]
    shown = subprocess.run([*RTADVISOR, "bench", "show", "latest", "--json"], env=env, capture_output=True,
                           text=True, check=True)
    assert json.loads(shown.stdout) == doc  # stored and read back: the very same document
    compare = subprocess.run([*RTADVISOR, "bench", "compare", doc["run_id"], "latest", "--json"], env=env,
                             capture_output=True, text=True, check=True)
    rows = json.loads(compare.stdout)["rows"]
    assert any(r["runtime"] == "native" and r["metric"] == "cold_start_ms p50" and r["ratio"] == 1.0 for r in rows)
    claims = json.loads(subprocess.run([*RTADVISOR, "claims", "--json"], env=env, capture_output=True, text=True,
                                       check=True).stdout)
    wasmedge = [c for c in claims["claims"] if c["claim"]["subject"] == "wasmedge" and c["claim"]["metric"] == "cold_start"]
    assert wasmedge and all(c["verdict"] == "not measurable here" for c in wasmedge)
    assert "±25%" in claims["rule"]
    html = tmp_path / "report.html"
    report = subprocess.run([*RTADVISOR, "report", "--html", str(html)], env=env, capture_output=True, text=True,
                            check=False)
    assert report.returncode == 0, report.stderr
    page = html.read_text()
    assert "<script" in page and "Plotly" in page and "src=\"http" not in page  # self-contained
    assert "Start-time distributions" in page and "Memory vs N" in page
    assert "Steady-state overhead" in page and "claimed orders vs this node" in page


def test_bad_options_are_one_line_errors(tmp_path: Path) -> None:
    bad = _bench(tmp_path, "--runtimes", "nosuch")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0
    assert "unknown runtime 'nosuch'" in bad.stderr
    notwasm = tmp_path / "x.wasm"
    notwasm.write_text("hello")
    bad = _bench(tmp_path, "--wasm", str(notwasm))
    assert bad.returncode == 2 and "not a WebAssembly module" in bad.stderr
    bad = _bench(tmp_path, "--sweep", "0,a")
    assert bad.returncode == 2 and "--sweep" in bad.stderr
    empty = subprocess.run([*RTADVISOR, "bench", "history"], env=_env(tmp_path), capture_output=True, text=True,
                           check=False)
    assert empty.returncode == 1 and "no stored bench results" in empty.stderr
    for option, value in (("--ci-target", "101"), ("--budget", "-1"), ("--time-budget", "nan"), ("--min-runs", "0")):
        bad = _bench(tmp_path, option, value)
        assert bad.returncode == 2 and option in bad.stderr, (option, bad.stderr)
    listing = subprocess.run([*RTADVISOR, "bench", "cleanup", "--dry-run"], env=_env(tmp_path), capture_output=True,
                             text=True, check=False)
    assert listing.returncode == 0 and ("nothing left by earlier rtadvisor runs" in listing.stdout
                                        or "(dry run)" in listing.stdout)


def _tagged_survivors(env: dict[str, str]) -> list[int]:
    """Processes (not zombies) that inherited the test's tag: anything the bench left running."""
    from rtadvisor.bench.procs import pids_with_env

    time.sleep(0.2)
    alive = []
    for pid in pids_with_env("RTADVISOR_TEST_TAG", env["RTADVISOR_TEST_TAG"]):
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def _sigint_default() -> None:
    # A test runner started in the background inherits SIGINT ignored; a user's terminal does not.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.runtime("native")
def test_ctrl_c_leaves_nothing_behind(tmp_path: Path) -> None:
    env = _env(tmp_path)
    # A long memory sweep: SIGINT arrives while many idle instances are held.
    proc = subprocess.Popen([*RTADVISOR, "bench", "--runtimes", "native", "--runs", "2", "--warmups", "0",
                             "--sweep", "1,300", "--no-store"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_sigint_default)
    parent = psutil.Process(proc.pid)
    seen: list[psutil.Process] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        seen = parent.children(recursive=True)
        if len(seen) >= 20:
            break
        time.sleep(0.02)
    assert len(seen) >= 20, "the sweep never held idle instances"
    assert list((tmp_path / "tmp").glob("rtadvisor-bench-*"))
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    time.sleep(0.2)
    survivors = [p for p in seen if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert survivors == []
    assert _tagged_survivors(env) == []
    assert list((tmp_path / "tmp").glob("rtadvisor-bench-*")) == []


@pytest.mark.runtime("native")
def test_sigterm_cleans_up_like_ctrl_c(tmp_path: Path) -> None:
    env = _env(tmp_path)
    proc = subprocess.Popen([*RTADVISOR, "bench", "--runtimes", "native", "--runs", "100000", "--warmups", "0",
                             "--ci-target", "0", "--time-budget", "0", "--budget", "0",
                             "--no-store", "--no-memory"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not list((tmp_path / "tmp").glob("rtadvisor-bench-*")):
        time.sleep(0.02)
    time.sleep(0.3)
    proc.terminate()
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert "terminated; all instances and temporary files removed" in stderr
    assert _tagged_survivors(env) == []
    assert list((tmp_path / "tmp").glob("rtadvisor-bench-*")) == []
