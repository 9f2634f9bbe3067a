"""The native backend: a pure plan, and a real run through the harness."""

from __future__ import annotations

from pathlib import Path

import pytest

from rtadvisor import backends
from rtadvisor.backends.base import HELLO_OUTPUT, IDLE_READY, Assets
from rtadvisor.bench.harness import Session


def test_registry_lists_native_first_and_unknown_names_are_not_usable() -> None:
    assert backends.names()[0] == "native"
    assert backends.get("native").family == "native" and backends.get("native").kb_runtime is None
    unknown = backends.probe("no-such-runtime")
    assert not unknown.usable and "unknown runtime" in (unknown.reason or "")


def test_plan_is_pure(tmp_path: Path) -> None:
    assets = Assets(root=tmp_path / "assets")
    plan = backends.get("native").plan("hello", assets, tmp_path, instance_id="x")
    assert plan.stages[0].command.argv == (str(assets.native("hello")),)
    assert plan.expected_stdout == HELLO_OUTPUT and plan.artifacts == (assets.native("hello"),)
    idle = backends.get("native").plan("idle", assets, tmp_path, instance_id="x")
    assert idle.stages[-1].ready_line == IDLE_READY
    assert not (tmp_path / "assets").exists()  # planning wrote nothing
    assert backends.get("native").supports("user", assets)  # a reason: native runs no user artifact


@pytest.mark.runtime("native")
def test_prepare_builds_a_static_binary_and_it_runs(tmp_path: Path) -> None:
    assets = Assets(root=tmp_path / "assets")
    native = backends.get("native")
    native.prepare(assets)
    stamp = assets.native("hello").with_name("hello.stamp").read_text()
    native.prepare(assets)  # idempotent: nothing rebuilt
    assert assets.native("hello").with_name("hello.stamp").read_text() == stamp
    assert assets.native("hello").read_bytes()[:4] == b"\x7fELF"
    with Session(tmp_path) as session:
        sample = session.run_once(native, assets, "hello")
        assert HELLO_OUTPUT in sample.stdout and sample.total_ms > 0 and sample.cpu_ms >= 0
        workdir, iid = session.new_workdir("native")
        instance = session.hold(native.plan("idle", assets, workdir, instance_id=iid), workdir)
        pids = instance.host_pids()
        assert len(pids) == 1
        session.release_all()
        assert not workdir.exists()
