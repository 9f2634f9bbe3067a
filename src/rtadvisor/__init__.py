"""rtadvisor: choose the isolation runtime for a cloud-native workload and prove the choice."""

from __future__ import annotations

__version__ = "0.1.0"
