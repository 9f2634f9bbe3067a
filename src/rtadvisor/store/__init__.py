"""The result store: typed bench runs (:class:`rtadvisor.model.BenchRun`), in SQLite by default
(any SQLAlchemy URL, e.g. PostgreSQL for a fleet).

Where: ``--db`` / ``$RTADVISOR_DB`` (a file path or a SQLAlchemy URL such as
``postgresql+psycopg://user@host/rtadvisor``), else ``$XDG_DATA_HOME/rtadvisor/results.db``
(default ``~/.local/share/rtadvisor/results.db``).

Two versions, kept apart: the *database* schema (``SCHEMA_VERSION``, table ``schema_version``) and the
*document* schema of each stored run (``runs.document_version``, see ``BENCH_SCHEMA_VERSION``). A
store or a document newer than this rtadvisor is refused with a clear error rather than misread; an
older store is migrated in place, under a lock, in one transaction (version 1 -> 2: node identity
columns, typed documents).

Tables (version 2):

* ``runs``: id (the run's globally unique ``run_id``), created (start, UTC ISO), finished, wall_s,
  hostname, node_name, pool, host (the ``node`` object, JSON), options (JSON), document_version,
  digest (sha256 of the canonical document: saving the same run again is a no-op, saving other
  content under the same id an error);
* ``results``: one row per backend per run, the typed ``BenchResult`` as JSON;
* ``measurements``: the headline figures, one row each (runtime, kb_runtime, metric, value, unit, n,
  method, emulated) -- what :func:`load_evidence` turns into :class:`rtadvisor.model.Evidence`.

>>> store = ResultStore.open("/tmp/x.db")                     # doctest: +SKIP
>>> store.save(run)                                           # a BenchRun (or a bench --json mapping)
>>> store.load_run("latest").result("runc").cold_start_ms.p50  # doctest: +SKIP
>>> load_evidence("/tmp/x.db").get("runc", "cold_start_ms").value   # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError
from sqlalchemy.schema import CreateIndex, CreateTable

from rtadvisor.errors import StoreError
from rtadvisor.model import (
    BenchResult,
    BenchRun,
    Evidence,
    Measurement,
    NodeInfo,
    isolation_overhead_figures,
    stand_ins,
)

from .documents import read_bench_result, read_bench_run

__all__ = [
    "SCHEMA_VERSION", "ResultStore", "RunInfo", "StoredResult", "describe", "extract_measurements",
    "load_evidence", "read_bench_run", "resolve_url", "try_load_evidence",
]

SCHEMA_VERSION = 2

metadata = MetaData()
schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))
runs = Table(
    "runs", metadata,
    Column("id", String(64), primary_key=True),
    Column("created", String(40), nullable=False),
    Column("hostname", String(255)),
    Column("host", JSON, nullable=False),
    Column("options", JSON, nullable=False),
    Column("node_name", String(255)),
    Column("pool", String(255)),
    Column("document_version", Integer),
    Column("finished", String(40)),
    Column("wall_s", Float),
    Column("digest", String(64)),
)
results = Table(
    "results", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("runtime", String(64), nullable=False),
    Column("available", Boolean, nullable=False),
    Column("reason", Text),
    Column("data", JSON, nullable=False),
)
measurements = Table(
    "measurements", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("runtime", String(64), nullable=False),
    Column("kb_runtime", String(64)),
    Column("metric", String(64), nullable=False),
    Column("value", Float, nullable=False),
    Column("unit", String(32), nullable=False),
    Column("n", Integer, nullable=False),
    Column("method", Text, nullable=False),
    Column("emulated", Boolean, nullable=False),
)
_OURS = {"runs", "results", "measurements"}
#: Columns version 2 added to ``runs`` (the migration from version 1 adds them).
_RUNS_V2_COLUMNS = ("node_name", "pool", "document_version", "finished", "wall_s", "digest")

#: metric -> unit of the headline figures filed as evidence
METRICS: dict[str, str] = {
    "cold_start_ms": "ms", "cpu_ms": "ms", "pss_mb": "MB", "per_instance_mb": "MB",
    "artifact_bytes": "bytes", "density": "instances/node",
}
#: Relations under which a backend's figure is also filed under the knowledge-base runtime's id:
#: the runtime itself was measured. A stand-in (the micro-VM for Kata) stays under its own name.
_FILED_UNDER_RUNTIME = ("itself", "through", "same-engine")
_LOCK_KEY = 0x72746164  # PostgreSQL advisory lock id for schema changes ("rtad")


def default_db_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rtadvisor" / "results.db"


def resolve_url(db: str | None = None) -> str:
    """A SQLAlchemy URL from ``db``, ``$RTADVISOR_DB`` or the default path."""
    target = db or os.environ.get("RTADVISOR_DB") or str(default_db_path())
    if "://" in target:
        try:
            make_url(target)
        except ArgumentError as exc:
            raise StoreError(f"invalid database URL {target!r}: {exc}") from exc
        return target
    return f"sqlite:///{Path(target).expanduser().resolve()}"


def describe(url: str) -> str:
    """A printable location (a path for SQLite, the URL without password otherwise)."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        return parsed.database or ":memory:"
    return parsed.render_as_string(hide_password=True)


def _ci_text(stats: Any) -> str:
    if getattr(stats, "ci_low", None) is None:
        return f"n={stats.n}, no CI (n < 6)"
    return f"95% CI {stats.ci_low:g}-{stats.ci_high:g}" + (
        f", ±{stats.ci_half_width_pct:.3g}%" if stats.ci_half_width_pct is not None else "")


def extract_measurements(result: BenchResult) -> list[dict[str, Any]]:
    """The headline figures of one backend's result, as measurement rows (none unless measured)."""
    if not result.measured:
        return []
    rows: list[dict[str, Any]] = []
    method = result.method

    def add(metric: str, value: float | None, count: int, how: str) -> None:
        if value is None:
            return
        rows.append({"metric": metric, "value": float(value), "unit": METRICS[metric], "n": int(count),
                     "method": f"backend {result.runtime}: {how}"})

    cold = result.cold_start_ms
    if cold is not None:
        add("cold_start_ms", cold.p50, cold.n, f"p50 ({_ci_text(cold)}); " + method.get("cold_start", ""))
    if result.cpu_ms is not None:
        add("cpu_ms", result.cpu_ms.p50, result.cpu_ms.n, f"p50 ({_ci_text(result.cpu_ms)}); " + method.get("cpu", ""))
    mem = result.memory
    if mem is not None:
        add("pss_mb", mem.pss_mb, 1, "one idle instance; " + method.get("memory", ""))
        add("per_instance_mb", mem.per_instance_mb, len(mem.packed_sweep or mem.sweep) or 1, method.get("memory", ""))
    add("artifact_bytes", result.artifact_bytes, 1, method.get("artifact", ""))
    if result.density is not None:
        add("density", result.density.value, 1, f"bound by {result.density.bound_by}; " + method.get("density", ""))
    # isolation and overhead (model.EVIDENCE_METRICS: isolation.*, overhead.*_ratio, io_uring_supported)
    rows += [{"metric": f.metric, "value": f.value, "unit": f.unit, "n": f.n, "method": f.method}
             for f in isolation_overhead_figures(result)]
    return rows


def _digest(document: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class RunInfo:
    """One stored run, for listings."""

    id: str
    created: str
    hostname: str | None
    runtimes: tuple[str, ...]
    node_name: str | None = None
    pool: str | None = None


@dataclass(frozen=True)
class StoredResult:
    """One backend's stored result with the run it came from (what claims and reports cite)."""

    result: BenchResult
    run_id: str
    started: str
    node: NodeInfo


class ResultStore:
    """Access to one result database; create with :meth:`open`."""

    def __init__(self, engine: Engine, location: str) -> None:
        self.engine = engine
        self.location = location

    @classmethod
    def open(cls, db: str | None = None, *, create: bool = True) -> ResultStore:
        """Open (and, with ``create``, initialise) the store; migrates an older one, refuses a newer one.

        Safe when several processes open a fresh store at once (two benches, a bench and the web
        page): schema changes run under a lock, in one transaction, and re-check what they find."""
        url = resolve_url(db)
        location = describe(url)
        parsed = make_url(url)
        kwargs: dict[str, Any] = {}
        if parsed.drivername.startswith("sqlite") and parsed.database:
            path = Path(parsed.database)
            if not create and not path.exists():
                raise StoreError(f"no stored bench results in {location}: run `rtadvisor bench` first")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the directory of {location}: {exc.strerror}") from exc
            kwargs["connect_args"] = {"timeout": 30.0}  # wait for another writer instead of failing
        try:
            engine = create_engine(url, **kwargs)
            if engine.dialect.name == "sqlite":
                _transactional_sqlite(engine)
            store = cls(engine, location)
            store._check_schema(create)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open result store {location}: {exc.__class__.__name__}: "
                             f"{str(exc).splitlines()[0]}") from exc
        except ModuleNotFoundError as exc:
            raise StoreError(f"cannot open result store {location}: database driver {exc.name} is not "
                             "installed") from exc
        return store

    # ------------------------------------------------------------------ schema

    def _version(self, conn: Connection) -> tuple[int | None, set[str]]:
        tables = set(inspect(conn).get_table_names())
        if "schema_version" not in tables:
            return None, tables
        return conn.execute(select(func.max(schema_version.c.version))).scalar(), tables

    def _check_schema(self, create: bool) -> None:
        with self.engine.connect() as conn:  # the common case, without taking the write lock
            found, _ = self._version(conn)
        if found == SCHEMA_VERSION:
            return
        self._refuse_newer(found)
        with self._schema_tx() as conn:
            found, tables = self._version(conn)  # again, under the lock: another process may have won
            self._refuse_newer(found)
            if found == SCHEMA_VERSION:
                return
            if found is None and tables & _OURS:
                raise StoreError(f"result store {self.location} has rtadvisor tables but no schema_version")
            if found is None:
                if not create:
                    raise StoreError(f"no stored bench results in {self.location}: run `rtadvisor bench` first")
                for table in metadata.sorted_tables:
                    conn.execute(CreateTable(table, if_not_exists=True))
                    for index in table.indexes:
                        conn.execute(CreateIndex(index, if_not_exists=True))
            elif found == 1:
                self._migrate_1_to_2(conn)
            conn.execute(schema_version.delete())
            conn.execute(schema_version.insert().values(version=SCHEMA_VERSION))

    def _refuse_newer(self, found: int | None) -> None:
        if found is not None and found > SCHEMA_VERSION:
            raise StoreError(
                f"result store {self.location} has schema version {found}, newer than this rtadvisor "
                f"understands ({SCHEMA_VERSION}): upgrade rtadvisor or use another --db"
            )

    @contextmanager
    def _schema_tx(self) -> Iterator[Connection]:
        """A transaction that holds the store's write lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: an
        advisory transaction lock), so concurrent openers create or migrate the schema once."""
        with self.engine.connect() as conn:
            if self.engine.dialect.name == "sqlite":
                conn.execution_options(rtadvisor_begin="BEGIN IMMEDIATE")
            with conn.begin():
                if self.engine.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
                yield conn

    def _migrate_1_to_2(self, conn: Connection) -> None:
        """Version 1 -> 2: node identity columns on ``runs``; every stored document upgraded to the
        typed version-2 form (its figures unchanged), measurement rows recomputed."""
        present = {c["name"] for c in inspect(conn).get_columns("runs")}
        for column in runs.columns:
            if column.name in _RUNS_V2_COLUMNS and column.name not in present:
                kind = column.type.compile(dialect=conn.dialect)
                conn.execute(text(f"ALTER TABLE runs ADD COLUMN {column.name} {kind}"))
        old_runs = conn.execute(select(runs.c.id, runs.c.host, runs.c.options)).all()
        for row in old_runs:
            data = conn.execute(select(results.c.data).where(results.c.run_id == row.id)
                                .order_by(results.c.id)).scalars().all()
            document = {"run_id": row.id, "host": row.host or {}, "options": row.options or {}, "results": list(data)}
            run = read_bench_run(document, source=f"{self.location}: run {row.id}")
            conn.execute(measurements.delete().where(measurements.c.run_id == row.id))
            conn.execute(results.delete().where(results.c.run_id == row.id))
            conn.execute(runs.delete().where(runs.c.id == row.id))
            self._insert(conn, run)

    @contextmanager
    def _tx(self, *, write: bool = False) -> Iterator[Connection]:
        """A transaction; ``write`` takes SQLite's write lock up front (BEGIN IMMEDIATE): a read that
        later turns into a write could otherwise deadlock with a concurrent writer ("database is
        locked" at once, without waiting)."""
        try:
            with self.engine.connect() as conn:
                if write and self.engine.dialect.name == "sqlite":
                    conn.execution_options(rtadvisor_begin="BEGIN IMMEDIATE")
                with conn.begin():
                    yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"result store {self.location}: {str(exc).splitlines()[0]}") from exc

    # ------------------------------------------------------------------ writing

    def _insert(self, conn: Connection, run: BenchRun) -> str:
        document = run.model_dump(mode="json")
        conn.execute(runs.insert().values(
            id=run.run_id, created=run.started, finished=run.finished, wall_s=run.wall_s,
            hostname=run.node.hostname, node_name=run.node.node_name, pool=run.node.pool,
            host=document["node"], options=document["options"], document_version=run.schema_version,
            digest=_digest(document)))
        for result, data in zip(run.results, document["results"], strict=True):
            conn.execute(results.insert().values(run_id=run.run_id, runtime=result.runtime,
                                                 available=result.available, reason=result.reason or result.error,
                                                 data=data))
            for row in extract_measurements(result):
                conn.execute(measurements.insert().values(
                    run_id=run.run_id, runtime=result.runtime, kb_runtime=result.kb_runtime,
                    emulated=result.emulated, **row))
        return run.run_id

    def save(self, run: BenchRun | Mapping[str, Any]) -> str:
        """Store one run (a :class:`BenchRun`, or a ``bench --json`` mapping of any known version);
        returns its run id. Idempotent: the same run saved again is a no-op; different content under
        an id already stored is a :class:`StoreError`."""
        if not isinstance(run, BenchRun):
            run = read_bench_run(run, source="bench result to store")
        digest = _digest(run.model_dump(mode="json"))
        try:
            with self._tx(write=True) as conn:
                existing = conn.execute(select(runs.c.digest).where(runs.c.id == run.run_id)).first()
                if existing is None:
                    return self._insert(conn, run)
        except StoreError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
            with self._tx() as conn:  # lost a race against the same run being saved concurrently
                existing = conn.execute(select(runs.c.digest).where(runs.c.id == run.run_id)).first()
        if existing is not None and existing.digest != digest:
            raise StoreError(f"run {run.run_id} is already stored in {self.location} with different content")
        return run.run_id

    # ------------------------------------------------------------------ reading

    def runs(self, limit: int | None = None) -> list[RunInfo]:
        """Runs, newest first."""
        with self._tx() as conn:
            query = (select(runs.c.id, runs.c.created, runs.c.hostname, runs.c.node_name, runs.c.pool)
                     .order_by(runs.c.created.desc(), runs.c.id.desc()))
            if limit:
                query = query.limit(limit)
            rows = conn.execute(query).all()
            out = []
            for row in rows:
                names = conn.execute(select(results.c.runtime).where(results.c.run_id == row.id)
                                     .order_by(results.c.id)).scalars().all()
                out.append(RunInfo(id=row.id, created=row.created, hostname=row.hostname, runtimes=tuple(names),
                                   node_name=row.node_name, pool=row.pool))
        return out

    def load_run(self, run_id: str) -> BenchRun:
        """A stored run; ``latest`` or a unique id prefix work too."""
        with self._tx() as conn:
            if run_id == "latest":
                row = conn.execute(select(runs).order_by(runs.c.created.desc(), runs.c.id.desc()).limit(1)).first()
            else:
                candidates = conn.execute(select(runs).where(runs.c.id.startswith(run_id, autoescape=True))).all()
                if len(candidates) > 1:
                    raise StoreError(f"run id prefix {run_id!r} is ambiguous in {self.location}")
                row = candidates[0] if candidates else None
            if row is None:
                raise StoreError(f"no run {run_id!r} in {self.location} (see `rtadvisor bench history`)")
            data = conn.execute(select(results.c.data).where(results.c.run_id == row.id)
                                .order_by(results.c.id)).scalars().all()
        document = {"schema_version": row.document_version or 1, "run_id": row.id, "started": row.created,
                    "finished": row.finished, "wall_s": row.wall_s, "node": row.host, "options": row.options,
                    "results": list(data)}
        if document["schema_version"] == 1:
            document = {"run_id": row.id, "host": row.host, "options": row.options, "results": list(data)}
        return read_bench_run(document, source=f"{self.location}: run {row.id}")

    def latest_results(self) -> dict[str, StoredResult]:
        """The newest stored *measured* result per backend (across runs), with its run."""
        out: dict[str, StoredResult] = {}
        with self._tx() as conn:
            rows = conn.execute(
                select(results.c.runtime, results.c.data, runs.c.id, runs.c.host, runs.c.created,
                       runs.c.document_version)
                .join(runs, runs.c.id == results.c.run_id)
                .where(results.c.available.is_(True))
                .order_by(runs.c.created.desc(), results.c.id.desc())
            ).all()
        nodes: dict[str, NodeInfo] = {}
        for row in rows:
            if row.runtime in out or (row.data or {}).get("error"):
                continue
            source = f"{self.location}: run {row.id}"
            result = read_bench_result(row.data or {}, row.document_version or 1, source)
            if row.id not in nodes:
                try:
                    nodes[row.id] = NodeInfo.model_validate(row.host or {})
                except ValidationError as exc:
                    raise StoreError(f"{source}: node: {exc.errors()[0].get('msg')}") from exc
            out[row.runtime] = StoredResult(result=result, run_id=row.id, started=row.created, node=nodes[row.id])
        return out

    def evidence(self) -> Evidence:
        """Latest measurement per backend + metric, also filed under the knowledge-base runtime it
        measures *itself* (registry relations itself / through / same engine; the strongest wins:
        runc itself beats runc through containerd). A stand-in's figures stay under its own name."""
        with self._tx() as conn:
            rows = conn.execute(
                select(measurements, runs.c.created, runs.c.hostname, runs.c.host)
                .join(runs, runs.c.id == measurements.c.run_id)
                .order_by(runs.c.created.desc(), measurements.c.id.desc())
            ).all()
        if not rows:
            raise StoreError(f"no stored bench results in {self.location}: run `rtadvisor bench` first")
        chosen: dict[tuple[str, str], Measurement] = {}
        for row in rows:
            m = Measurement(runtime=row.runtime, metric=row.metric, value=row.value, unit=row.unit, n=row.n,
                            method=row.method, run_id=row.run_id, host=row.hostname, date=row.created,
                            emulated=row.emulated)
            chosen.setdefault((row.runtime, row.metric), m)
        filed: dict[tuple[str, str], tuple[int, Measurement]] = {}
        for (backend, metric), m in list(chosen.items()):
            for s in stand_ins(backend=backend):
                if s.relation not in _FILED_UNDER_RUNTIME or s.runtime == backend:
                    continue
                key = (s.runtime, metric)
                if key in filed and filed[key][0] >= s.rank:
                    continue
                note = f"measured by backend {backend} ({s.sense}); "
                filed[key] = (s.rank, m.model_copy(update={"runtime": s.runtime, "method": note + m.method}))
        for key, (_, m) in filed.items():
            chosen.setdefault(key, m)  # a backend of the very same name (runc) was measured: it wins
        return Evidence(measurements=tuple(chosen.values()), host=dict(rows[0].host or {}))


def _transactional_sqlite(engine: Engine) -> None:
    """pysqlite's own transaction handling skips BEGIN before DDL; take over (SQLAlchemy's recipe),
    so DDL is transactional and a connection can ask for ``BEGIN IMMEDIATE`` (the write lock)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get("rtadvisor_begin", "BEGIN"))


def load_evidence(db: str | None = None) -> Evidence:
    """The latest stored measurement per runtime and metric, for ``recommend --evidence``.

    Raises :class:`StoreError` ("no stored bench results in <path>: run `rtadvisor bench` first")
    when there is nothing stored yet.
    """
    return ResultStore.open(db, create=False).evidence()


def try_load_evidence(db: str | None = None) -> Evidence | None:
    """:func:`load_evidence`, or ``None`` when nothing is stored (callers then fall back to claims)."""
    try:
        return load_evidence(db)
    except StoreError:
        return None
