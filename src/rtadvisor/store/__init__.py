"""The result store: typed bench runs (:class:`rtadvisor.model.BenchRun`), in SQLite by default,
in PostgreSQL for a fleet -- the same SQLAlchemy code for both.

Where: ``--db`` / ``$RTADVISOR_DB`` (a file path or a SQLAlchemy URL such as
``postgresql://rtadvisor@db.example/rtadvisor``, which means the psycopg 3 driver), else
``$XDG_DATA_HOME/rtadvisor/results.db`` (default ``~/.local/share/rtadvisor/results.db``).

Two versions, kept apart: the *database* schema (``SCHEMA_VERSION``; Alembic revisions in
``store/migrations``, applied under a lock when a store is opened, see :mod:`.migrate`) and the
*document* schema of each stored run (``runs.document_version``, see ``BENCH_SCHEMA_VERSION``). A
store or a document newer than this rtadvisor is refused with a clear error rather than misread.
The tables are described in :mod:`.database`; the fleet's queries (newest run per node, per-pool
medians, pool evidence) in :mod:`.fleet`.

Importing this package does not import SQLAlchemy: ``recommend`` without a store must stay fast.

>>> store = ResultStore.open("/tmp/x.db")                     # doctest: +SKIP
>>> store.save(run)                                           # a BenchRun (or a bench --json mapping)
>>> store.load_run("latest").result("runc").cold_start_ms.p50  # doctest: +SKIP
>>> load_evidence("/tmp/x.db").get("runc", "cold_start_ms").value   # doctest: +SKIP
>>> load_pool_evidence("postgresql://db/rtadvisor", "edge-arm").unusable   # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rtadvisor.errors import StoreError
from rtadvisor.lazy import submodule_attributes
from rtadvisor.model import Evidence

from .location import default_db_path, describe, resolve_url, sqlite_file

if TYPE_CHECKING:
    from .database import ResultStore
    from .documents import read_bench_run
    from .records import ALL_METRICS, METRICS, SCHEMA_VERSION, RunInfo, StoredResult, extract_measurements

# Imported on first use: the result documents (and with them the bench's pydantic types, see
# rtadvisor.model) are not needed to answer `recommend` on a node without stored measurements.
_LAZY = {"ResultStore": "database", "read_bench_run": "documents", "ALL_METRICS": "records", "METRICS": "records",
         "SCHEMA_VERSION": "records", "RunInfo": "records", "StoredResult": "records",
         "extract_measurements": "records"}

__all__ = [
    "ALL_METRICS", "METRICS", "SCHEMA_VERSION", "ResultStore", "RunInfo", "StoredResult", "default_db_path", "describe",
    "extract_measurements", "load_evidence", "load_pool_evidence", "read_bench_run", "resolve_url",
    "try_load_evidence",
]


# ResultStore (and so SQLAlchemy) is imported on first use only, like the result documents.
__getattr__ = submodule_attributes(__name__, _LAZY)


def load_evidence(db: str | None = None) -> Evidence:
    """The latest stored measurement per runtime and metric, for ``recommend --evidence``.

    Raises :class:`StoreError` ("no stored bench results in <path>: run `rtadvisor bench` first")
    when there is nothing stored yet.
    """
    from .database import ResultStore

    with ResultStore.open(db, create=False) as store:
        return store.evidence()


def try_load_evidence(db: str | None = None) -> Evidence | None:
    """:func:`load_evidence`, or ``None`` when nothing is stored (callers then fall back to claims).

    A SQLite store whose file does not exist is answered without opening anything (no SQLAlchemy
    import), so ``recommend`` on a node that never ran a bench stays fast."""
    path = sqlite_file(db)
    if path is not None and not path.exists():
        return None
    try:
        return load_evidence(db)
    except StoreError:
        return None


def load_pool_evidence(db: str | None, pool: str, *, stale_after_s: float | None = None) -> Evidence:
    """The evidence of the nodes of one pool: the median across the pool's nodes of each figure
    (each node's newest run), the pool's node facts (``pool``, ``nodes``, ``kvm``,
    ``kvm_linux_guests``) and the knowledge-base runtimes the pool cannot run, with why.

    ``NotFoundError`` when no node of the store is in ``pool``; see :mod:`rtadvisor.store.fleet`.
    """
    from .database import ResultStore
    from .fleet import pool_evidence

    with ResultStore.open(db, create=False) as store:
        return pool_evidence(store, pool, stale_after_s=stale_after_s)
