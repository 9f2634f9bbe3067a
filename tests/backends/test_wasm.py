"""The Wasm backends for real: wasmtime in process, node's WASI; the generic WASI CLI path."""

from __future__ import annotations

from pathlib import Path

import pytest

from rtadvisor import backends
from rtadvisor.backends.base import HELLO_OUTPUT, IDLE_READY, Assets
from rtadvisor.backends.wasm import WasiCliBackend
from rtadvisor.bench import BenchOptions
from rtadvisor.bench.harness import Session, bench_backend

SMALL = BenchOptions(runs=3, warmups=1, sweep=(1, 2), pack_sweep=(1, 20, 40))


@pytest.fixture(scope="module")
def assets() -> Assets:
    return Assets()


@pytest.mark.runtime("wasmtime")
def test_wasmtime_stages_fast_path_and_packing(assets: Assets, tmp_path: Path) -> None:
    backend = backends.get("wasmtime")
    assert backend.kb_runtime == "wasmtime" and backend.family == "wasm"
    with Session(tmp_path) as session:
        r = bench_backend(session, backend, assets, SMALL)
    assert r.error is None, r.error
    assert r.cold_start_stages == ("instantiate", "run")
    for stage in ("compile", "serialize", "deserialize", "instantiate", "run", "instantiate_pre", "whole_process"):
        assert stage in r.stages and r.stages[stage].p50 > 0
    assert r.cold_start_ms is not None
    # the reported cold start is instantiate + run, in process: far below a whole python process
    assert r.cold_start_ms.p50 < r.stages["whole_process"].p50
    mem = r.memory
    assert mem is not None
    assert [p.n for p in mem.packed_sweep] == [1, 20, 40] and all(p.processes == 1 for p in mem.packed_sweep)
    assert mem.per_instance_mb is not None and mem.per_instance_mb_process is not None
    assert mem.per_instance_mb < mem.per_instance_mb_process  # packing instances beats a process each
    assert "packed" in r.method["memory"]


@pytest.mark.runtime("wasmtime")
def test_wasmtime_runs_a_user_module(assets: Assets, tmp_path: Path) -> None:
    backend = backends.get("wasmtime")
    backend.prepare(assets)
    user = Assets(user_wasm=assets.wasm("hello"))
    backend.prepare(user)
    with Session(tmp_path) as session:
        sample = session.run_once(backend, user, "user")
    assert HELLO_OUTPUT in sample.stdout
    assert backend.supports("user", Assets()) is not None  # no --wasm: says why


@pytest.mark.runtime("node-wasi")
def test_node_wasi_runs_and_reports_its_own_stages(assets: Assets, tmp_path: Path) -> None:
    backend = backends.get("node-wasi")
    with Session(tmp_path) as session:
        r = bench_backend(session, backend, assets, BenchOptions(runs=3, warmups=0, sweep=(1, 2), pack_sweep=(1, 20)))
    assert r.error is None, r.error
    assert r.cold_start_ms is not None and r.cold_start_ms.n == 3
    assert {"process", "node_compile", "node_instantiate", "node_start"} <= set(r.stages)
    assert r.stages["node_start"].p50 < r.stages["process"].p50
    assert r.memory is not None and r.memory.pss_mb > 1 and len(r.memory.packed_sweep) == 2


def test_node_plan_uses_preview1_runner(tmp_path: Path) -> None:
    assets = Assets(root=tmp_path)
    plan = backends.get("node-wasi").plan("hello", assets, tmp_path, instance_id="x")
    argv = plan.stages[0].command.argv
    assert argv[:2] == ("node", "--no-warnings") and argv[-1] == str(assets.wasm("hello"))
    from rtadvisor.backends.wasm import _NODE_RUNNER

    assert "version: 'preview1'" in _NODE_RUNNER and "returnOnExit: true" in _NODE_RUNNER


def test_wasi_cli_engines_never_invent_numbers(tmp_path: Path) -> None:
    ghost = WasiCliBackend("ghost-wasm", "rtadvisor-no-such-engine", ("run",))
    availability = ghost.probe()
    assert not availability.usable and availability.reason == "rtadvisor-no-such-engine not installed on this node"
    assets = Assets(root=tmp_path)
    plan = ghost.plan("hello", assets, tmp_path, instance_id="x")
    assert plan.stages[0].command.argv == ("rtadvisor-no-such-engine", "run", str(assets.wasm("hello")))
    assert plan.expected_stdout == HELLO_OUTPUT
    idle = ghost.plan("idle", assets, tmp_path, instance_id="x")
    assert idle.stages[0].ready_line == IDLE_READY
    wasmedge = backends.probe("wasmedge")
    assert wasmedge.usable or wasmedge.reason == "wasmedge not installed on this node"
    assert backends.get("wasmedge").kb_runtime == "wasmedge"


# ---------------------------------------------------------------------- hostile modules, in process

HOSTILE = {
    # spins forever: only the epoch deadline stops it
    "loop": '(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))',
    # asks for 4 GiB and, if it got it, touches all of it
    "grow": """(module (memory (export "memory") 1)
      (func (export "_start")
        (if (i32.eq (memory.grow (i32.const 65535)) (i32.const -1)) (then unreachable))
        (memory.fill (i32.const 0) (i32.const 1) (i32.const 0xfffe0000))))""",
    # writes "y" lines forever and ignores write errors
    "output": """(module
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\\n")
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 64))
        (loop $l (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))) (br $l))))""",
}
EXPECTED = {
    "loop": "ran longer than 3 s and was stopped (epoch deadline",
    "grow": "wasm module failed: ",
    "output": "wrote more than 64 KiB to stdout and was stopped (output cap",
}


def _bench_wasm(tmp_path: Path, module: Path, env_extra: dict[str, str]) -> tuple[dict[str, object], float, float, int]:
    """Run ``rtadvisor bench --runtimes wasmtime --wasm MODULE``: (result, seconds, peak RSS MB, exit).

    Started through tests/hostile/launch.py, a small interpreter that forks the command and waits
    for it: Linux hands a child the RSS high-water mark of the process it was forked from (exec
    records the old address space's peak), so a child forked straight from a long pytest session
    would report pytest's size as its own peak."""
    import json
    import os
    import resource
    import subprocess
    import sys
    import time

    env = {**os.environ, "RTADVISOR_WASM_TIMEOUT_S": "3", "RTADVISOR_WASM_OUTPUT_KB": "64",
           "RTADVISOR_DB": str(tmp_path / "r.db"), **env_extra}
    argv = [str(Path(sys.executable).parent / "rtadvisor"), "bench", "--runtimes", "wasmtime", "--wasm", str(module),
            "--runs", "3", "--warmups", "0", "--no-store", "--json"]
    usage_file = tmp_path / "usage.json"
    launcher = Path(__file__).resolve().parents[1] / "hostile" / "launch.py"
    started = time.monotonic()
    # no address-space limit (wasmtime reserves guard regions far larger than it touches)
    proc = subprocess.run([sys.executable, str(launcher), str(usage_file), str(resource.RLIM_INFINITY), "--", *argv],
                          env=env, capture_output=True, check=False)
    elapsed = time.monotonic() - started
    usage = json.loads(usage_file.read_text())
    doc = json.loads(proc.stdout) if proc.returncode == 0 else {}
    results = doc.get("results") or [{}]
    return results[0], elapsed, usage["maxrss_kb"] / 1024, proc.returncode


@pytest.mark.runtime("wasmtime")
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_modules_end_in_a_clear_error_in_bounded_time_and_memory(tmp_path: Path, case: str) -> None:
    import wasmtime

    module = tmp_path / f"{case}.wasm"
    module.write_bytes(wasmtime.wat2wasm(HOSTILE[case]))
    result, elapsed, peak_mb, code = _bench_wasm(tmp_path, module, {})
    assert code == 0 and result["available"] is True
    error = str(result["error"])
    assert EXPECTED[case] in error, error
    assert "limits: 3 s (RTADVISOR_WASM_TIMEOUT_S), memory 256 MiB" in error  # the limits are named
    if case == "grow":
        assert "unreachable" in error  # memory.grow got -1 under the limit, and the module gave up
    assert elapsed < 30, elapsed  # the whole bench, interpreter start-up included
    assert peak_mb < 300, peak_mb  # 4 GiB were asked for; endless output was not kept


@pytest.mark.runtime("wasmtime")
def test_ctrl_c_stops_a_guest_that_never_returns(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    import wasmtime

    module = tmp_path / "loop.wasm"
    module.write_bytes(wasmtime.wat2wasm(HOSTILE["loop"]))
    env = {**os.environ, "RTADVISOR_WASM_TIMEOUT_S": "120", "RTADVISOR_DB": str(tmp_path / "r.db")}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "rtadvisor"), "bench", "--runtimes", "wasmtime",
                             "--wasm", str(module), "--no-store"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(4)  # start-up and compile done: the guest spins in native code now
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert time.monotonic() - sent < 10  # not the 120 s deadline: the watchdog saw the signal


def test_wasm_limits_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from rtadvisor.backends.wasm import WasmLimits
    from rtadvisor.errors import BenchError

    monkeypatch.setenv("RTADVISOR_WASM_MEMORY_MB", "64")
    monkeypatch.setenv("RTADVISOR_WASM_OUTPUT_KB", "8")
    limits = WasmLimits.from_env()
    assert limits.memory_bytes == 64 * 2**20 and limits.output_bytes == 8192 and limits.timeout_s == 30.0
    for bad in ("0", "-1", "nan", "inf", "1e400", "lots"):
        monkeypatch.setenv("RTADVISOR_WASM_TIMEOUT_S", bad)
        with pytest.raises(BenchError, match=r"^\$RTADVISOR_WASM_TIMEOUT_S: expected a positive number"):
            WasmLimits.from_env()
