"""Scan Kubernetes manifests and advise a runtime for every workload.

>>> from rtadvisor.scan import scan
>>> result = scan(["deploy/"])            # doctest: +SKIP
>>> [(f.workload, f.recommended_runtime, f.status) for f in result.findings]  # doctest: +SKIP

Modules: ``quantity`` (Kubernetes quantities), ``reader`` (files, documents, line numbers),
``infer`` (manifest -> profile with sources), ``advise`` (engine cache, RuntimeClass names),
``core`` (the scan), ``report`` (JSON, table, SARIF), ``fix`` (``--fix``).
"""

from __future__ import annotations

from .core import Finding, Ignored, ScanResult, scan
from .reader import Problem

__all__ = ["Finding", "Ignored", "Problem", "ScanResult", "scan"]
