"""The fleet agent: ``rtadvisor agent`` on every node measures it and sends the typed result to the
shared store (see :mod:`.runner` for the loop, :mod:`.spool` for the on-disk buffer, :mod:`.kube`
for the one Kubernetes API call, and docs/fleet.md)."""

from __future__ import annotations

from .runner import AgentConfig, AgentReport, Backoff, run_agent
from .spool import Spool, atomic_write

__all__ = ["AgentConfig", "AgentReport", "Backoff", "Spool", "atomic_write", "run_agent"]
