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
