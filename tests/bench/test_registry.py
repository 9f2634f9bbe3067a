"""The one registry of what each bench backend stands in for, checked against the backends, the
knowledge base and every reader (so the mapping cannot drift apart again)."""

from __future__ import annotations

import re
from pathlib import Path

from rtadvisor import backends, kb
from rtadvisor.bench.claims import REFERENCES, SUBJECT_BACKENDS
from rtadvisor.decide.score import BACKEND_TO_RUNTIME, STAND_IN_NOTE
from rtadvisor.model import STAND_INS, primary_runtime, stand_ins

#: Backends that evidence no knowledge-base runtime (the baseline, engines the sources do not cover).
NO_RUNTIME = {"native", "wasmer", "iwasm"}


def test_registry_names_real_backends_and_knowledge_base_runtimes() -> None:
    runtimes = set(kb.load().runtimes)
    registered = set(backends.names())
    for entry in STAND_INS:
        assert entry.backend in registered, entry
        assert entry.runtime in runtimes, entry
        assert entry.sense and entry.label.startswith(f"{entry.runtime} <- {entry.backend}: ")
    assert {b for b in registered if not stand_ins(backend=b)} == NO_RUNTIME
    assert len({(s.backend, s.runtime) for s in STAND_INS}) == len(STAND_INS)  # one sense per pair


def test_the_micro_vm_is_a_stand_in_never_kata_itself() -> None:
    (kata,) = stand_ins(backend="microvm", runtime="kata")
    assert kata.relation == "stand-in" and "not Kata" in kata.sense
    assert kata.label.startswith("kata <- microvm: same VMM class")
    assert all(s.relation != "itself" for s in stand_ins(runtime="kata"))
    assert [s.backend for s in stand_ins(runtime="runc", judging_only=True)] == ["runc", "containerd"]
    assert primary_runtime("node-wasi") is None  # a relative only: reference, never a verdict or a score


def test_every_reader_derives_from_the_registry() -> None:
    assert backends.get("microvm").kb_runtime == primary_runtime("microvm") == "kata"
    assert backends.get("containerd-runsc").kb_runtime == "gvisor"
    assert BACKEND_TO_RUNTIME["microvm"] == ("kata", "vm") and BACKEND_TO_RUNTIME["node-wasi"] == ()
    assert "not Kata" in STAND_IN_NOTE[("microvm", "kata")] and ("runc", "runc") not in STAND_IN_NOTE
    assert SUBJECT_BACKENDS["gvisor"] == ("runsc", "containerd-runsc") and SUBJECT_BACKENDS["kata"] == ("microvm",)
    assert set(REFERENCES["wasmedge"]) == {"wasmtime", "node-wasi"}


def test_no_backend_module_keeps_its_own_mapping() -> None:
    root = Path(backends.__file__).parent
    for module in root.glob("*.py"):
        text = module.read_text(encoding="utf-8")
        assert not re.search(r"^\s+kb_runtime\s*=", text, re.MULTILINE), f"{module.name} declares kb_runtime"


def test_the_documented_table_is_the_registry() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "bench.md").read_text(encoding="utf-8")
    rows = {line for line in doc.splitlines() if line.startswith("| `")}
    for s in STAND_INS:
        assert f"| `{s.backend}` | `{s.runtime}` | {s.relation} | {s.sense} |" in rows, s.label
