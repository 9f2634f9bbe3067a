"""The explainable decision engine: workload profile in, :class:`~rtadvisor.model.Decision` out.

>>> from rtadvisor.decide import parse_profile, recommend
>>> d = recommend(parse_profile({"name": "gw", "scenario": "edge", "memory_mb": 64, "cpu_cores": 0.5}), rulebook="sources")
>>> d.runtime, d.architecture, d.route
('wasmedge', 'WasmEdge + K3s', 'R3')

Pure: imports only ``model``, ``errors`` and ``kb``; never starts processes or opens sockets.
"""

from __future__ import annotations

from .engine import architecture_for
from .profile import allowed, load_profile, parse_profile, read_profile_mapping
from .score import AHP_CR_LIMIT, BACKEND_TO_RUNTIME, CRITERIA, ahp_weights
from .verdict import RULEBOOKS, recommend, recommend_reference

__all__ = [
    "AHP_CR_LIMIT",
    "BACKEND_TO_RUNTIME",
    "CRITERIA",
    "RULEBOOKS",
    "ahp_weights",
    "allowed",
    "architecture_for",
    "load_profile",
    "parse_profile",
    "read_profile_mapping",
    "recommend",
    "recommend_reference",
]
