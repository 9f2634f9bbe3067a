"""Names of a package imported from its submodules on first use (PEP 562).

``rtadvisor.model``, ``rtadvisor.app`` and ``rtadvisor.store`` keep what most commands never use in
submodules and still offer every name at the package level::

    _LAZY = {"BenchRun": "bench", ...}          # name -> submodule
    __getattr__ = submodule_attributes(__name__, _LAZY)

A name is imported the first time it is asked for and then kept in the package, so the lookup runs
once. Imports nothing of ours: the pure layers use it too.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def submodule_attributes(package: str, table: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``name`` comes from ``package.<table[name]>``."""

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
