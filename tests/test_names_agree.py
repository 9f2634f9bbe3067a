"""The RuntimeClass and handler a decision's next steps name are the ones `rtadvisor generate` writes
(the knowledge base's `adopt` data and rtadvisor.k8s.handlers must agree), and the scan maps them back."""

from __future__ import annotations

import pytest

from rtadvisor import kb
from rtadvisor.k8s.handlers import handlers_for
from rtadvisor.scan.advise import runtime_class_for, runtime_of_class

KB = kb.load()


@pytest.mark.parametrize("rid", sorted(KB.runtimes))
def test_kb_adoption_names_what_generate_writes(rid: str) -> None:
    rt = KB.runtime(rid)
    route = "R3" if rt.family == "wasm" else None
    handler = handlers_for(rid, route)[0]
    if rid == "vm":
        # practice's full VM is a KubeVirt VirtualMachine (no RuntimeClass); generate writes kata-deploy's
        # kata-qemu class for a pod-level QEMU VM, and the adoption text says so
        assert rt.adopt.runtime_class is None and "kata-qemu" in rt.adopt.node and handler.runtime_class == "kata-qemu"
        return
    assert rt.adopt.handler == handler.name
    assert rt.adopt.runtime_class == (None if handler.default_runtime else handler.runtime_class)
    assert runtime_class_for(rid, route) == rt.adopt.runtime_class
    if rt.adopt.runtime_class is not None:
        assert runtime_of_class(rt.adopt.runtime_class) == rid
