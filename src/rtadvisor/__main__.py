"""``python -m rtadvisor`` is the ``rtadvisor`` command."""

from __future__ import annotations

from rtadvisor.cli import run

run()
