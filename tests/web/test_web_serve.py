"""``rtadvisor serve`` as a user runs it: a real process, a real port, Ctrl-C stops it."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

SERVE = [sys.executable, "-c", "import sys; from rtadvisor.cli import main; sys.exit(main(sys.argv[1:]))", "serve"]


def start(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([*SERVE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    match = re.search(r"serving on (http://\S+?)/ ", line)
    if not match:
        proc.kill()
        proc.wait()
        pytest.fail(f"no 'serving on' line: {line!r}")
    return proc, match.group(1)


def test_serve_on_a_free_loopback_port_and_stop_with_ctrl_c(tmp_path: Path) -> None:
    proc, url = start("--port", "0", "--db", str(tmp_path / "none.db"))
    try:
        assert url.startswith("http://127.0.0.1:")  # loopback by default
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(url + "/api/health", timeout=5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert health.json()["status"] == "ok"
        assert "rtadvisor" in httpx.get(url + "/", timeout=5).text
        evidence = httpx.get(url + "/api/evidence", timeout=5)
        assert evidence.status_code == 503 and "none.db" in evidence.json()["error"]  # --db is used
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("serve did not stop on SIGINT")
    assert proc.returncode in (0, 130)
    with pytest.raises(httpx.TransportError):
        httpx.get(url + "/api/health", timeout=2)


def test_port_in_use_is_one_clear_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([*SERVE, "--port", str(port)], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rtadvisor: error: --host/--port: cannot listen on 127.0.0.1:")


def test_port_out_of_range() -> None:
    result = subprocess.run([*SERVE, "--port", "70000"], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == "rtadvisor: error: --port: 70000 is not a TCP port (0-65535)"


def test_serve_limits_and_host_check(tmp_path: Path) -> None:
    """The options reach the server: --max-body-bytes (413) and --allowed-host (Host check)."""
    proc, url = start("--port", "0", "--db", str(tmp_path / "none.db"), "--max-body-bytes", "200",
                      "--allowed-host", "rt.example")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(url + "/api/health", timeout=5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert health.json()["limits"]["max_body_bytes"] == 200
        big = httpx.post(url + "/api/recommend", json={"name": "x" * 300}, timeout=5)
        assert big.status_code == 413 and big.json()["field"] == "body"
        assert httpx.post(url + "/api/recommend", json={"name": "x"}, timeout=30).status_code == 200
        assert httpx.get(url + "/api/health", headers={"host": "rt.example"}, timeout=5).status_code == 200
        evil = httpx.get(url + "/api/health", headers={"host": "evil.example"}, timeout=5)
        assert evil.status_code == 400 and evil.json()["field"] == "Host"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
