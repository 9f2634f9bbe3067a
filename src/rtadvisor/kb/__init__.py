"""The packaged knowledge base: the distilled content of the source documents, as validated data.

>>> from rtadvisor import kb
>>> base = kb.load()
>>> base.runtimes["wasmedge"].isolation_layer
'L-4'
>>> [c.value for c in base.claims_for("wasmedge", "cold_start") if c.value is not None]
[6.0]

Everything lives in ``kb/data/*.yaml`` (versioned with ``schema_version``); :func:`load` validates
every file and raises :class:`~rtadvisor.errors.KnowledgeBaseError` naming the file and the field.
This package is pure: it reads its own data files and never starts processes or opens sockets.
"""

from __future__ import annotations

from .loader import DATA_DIR, KnowledgeBase, TroubleshootingHit, load, save_cache

__all__ = ["DATA_DIR", "KnowledgeBase", "TroubleshootingHit", "load", "save_cache"]
