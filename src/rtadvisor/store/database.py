"""The result store on SQLAlchemy: one code path for SQLite (the default) and PostgreSQL (a fleet).

Tables (schema version 3; the migrations in ``store/migrations`` create and upgrade them):

* ``runs``: id (the run's globally unique ``run_id``), created (start, UTC ISO), finished, wall_s,
  hostname, node_name, pool, host (the ``node`` object, JSON), options (JSON), document_version,
  digest (sha256 of the canonical document: saving the same run again is a no-op, saving other
  content under the same id an error);
* ``results``: one row per backend per run, the typed ``BenchResult`` as JSON, with ``available``,
  ``reason`` (why not usable, or the error) and ``error`` (why a usable backend failed) as columns;
* ``measurements``: the headline figures, one row each (runtime, kb_runtime, metric, value, unit, n,
  method, emulated) -- what :meth:`ResultStore.evidence` turns into :class:`rtadvisor.model.Evidence`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from pydantic import ValidationError
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError, SQLAlchemyError

from rtadvisor.errors import StoreError, StoreUnavailable
from rtadvisor.model import BenchRun, Evidence, Measurement, NodeInfo

from .documents import read_bench_result, read_bench_run
from .location import describe, resolve_url
from .migrate import ensure_schema
from .records import RunInfo, StoredResult, extract_measurements, file_under_runtimes

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
    Index("ix_runs_node_created", "node_name", "created"),
    Index("ix_runs_pool", "pool"),
)
results = Table(
    "results", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("runtime", String(64), nullable=False),
    Column("available", Boolean, nullable=False),
    Column("reason", Text),
    Column("data", JSON, nullable=False),
    Column("error", Text),
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


def _digest(document: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def translate(exc: SQLAlchemyError, where: str) -> StoreError:
    """Our error for a database error: :class:`StoreUnavailable` when retrying may help (the
    server is down or unreachable, the connection dropped, SQLite is locked), else StoreError."""
    transient = isinstance(exc, (OperationalError, InterfaceError)) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated)
    cls = StoreUnavailable if transient else StoreError
    return cls(f"{where}: {type(exc).__name__}: {_first_line(exc)}")


class ResultStore:
    """Access to one result database; create with :meth:`open`, release with :meth:`close` (or
    ``with ResultStore.open(url) as store:``)."""

    def __init__(self, engine: Engine, location: str) -> None:
        self.engine = engine
        self.location = location

    @classmethod
    def open(cls, db: str | None = None, *, create: bool = True) -> ResultStore:
        """Open (and, with ``create``, initialise) the store; migrates an older one, refuses a newer one.

        Safe when several processes open a fresh store at once (benches, agents, the web page):
        schema changes run under a lock, in one transaction, and re-check what they find."""
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
        elif parsed.drivername.startswith("postgresql"):
            # Fail over a dead network within seconds (the agent retries), name ourselves in
            # pg_stat_activity, and notice a connection the server dropped before using it.
            kwargs["connect_args"] = {"connect_timeout": 10, "application_name": "rtadvisor"}
            kwargs["pool_pre_ping"] = True
        try:
            engine = create_engine(url, **kwargs)
        except ModuleNotFoundError as exc:
            raise StoreError(f"cannot open result store {location}: database driver {exc.name} is not "
                             "installed") from exc
        except (SQLAlchemyError, ValueError, TypeError) as exc:
            raise StoreError(f"cannot open result store {location}: {type(exc).__name__}: {_first_line(exc)}") from exc
        if engine.dialect.name == "sqlite":
            _transactional_sqlite(engine)
        store = cls(engine, location)
        try:
            ensure_schema(engine, location, create=create)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise translate(exc, f"cannot open result store {location}") from exc
        except BaseException:
            engine.dispose()
            raise
        return store

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def _tx(self, *, write: bool = False, snapshot: bool = False) -> Iterator[Connection]:
        """A transaction; ``write`` takes SQLite's write lock up front (BEGIN IMMEDIATE): a read that
        later turns into a write could otherwise deadlock with a concurrent writer ("database is
        locked" at once, without waiting). ``snapshot``: every statement sees the same data
        (PostgreSQL REPEATABLE READ; a SQLite read transaction already does)."""
        try:
            with self.engine.connect() as conn:
                if write and self.dialect == "sqlite":
                    conn.execution_options(rtadvisor_begin="BEGIN IMMEDIATE")
                if snapshot and self.dialect == "postgresql":
                    conn = conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    yield conn
        except SQLAlchemyError as exc:
            raise translate(exc, f"result store {self.location}") from exc

    # ------------------------------------------------------------------ writing

    def _insert(self, conn: Connection, run: BenchRun, document: Mapping[str, Any], digest: str) -> str:
        conn.execute(runs.insert().values(
            id=run.run_id, created=run.started, finished=run.finished, wall_s=run.wall_s,
            hostname=run.node.hostname, node_name=run.node.node_name, pool=run.node.pool,
            host=document["node"], options=document["options"], document_version=run.schema_version,
            digest=digest))
        result_rows = []
        measurement_rows = []
        for result, data in zip(run.results, document["results"], strict=True):
            result_rows.append({"run_id": run.run_id, "runtime": result.runtime, "available": result.available,
                                "reason": result.reason or result.error, "error": result.error, "data": data})
            for row in extract_measurements(result):
                measurement_rows.append({"run_id": run.run_id, "runtime": result.runtime,
                                         "kb_runtime": result.kb_runtime, "emulated": result.emulated, **row})
        # one statement per table (executemany): a fleet of agents means many small writers
        if result_rows:
            conn.execute(results.insert(), result_rows)
        if measurement_rows:
            conn.execute(measurements.insert(), measurement_rows)
        return run.run_id

    def save(self, run: BenchRun | Mapping[str, Any]) -> str:
        """Store one run (a :class:`BenchRun`, or a ``bench --json`` mapping of any known version);
        returns its run id. Idempotent: the same run saved again is a no-op; different content under
        an id already stored is a :class:`StoreError`. All of a run's rows are written in one
        transaction: a writer killed half-way leaves nothing of the run."""
        if not isinstance(run, BenchRun):
            run = read_bench_run(run, source="bench result to store")
        document = run.model_dump(mode="json")
        digest = _digest(document)
        try:
            with self._tx(write=True) as conn:
                existing = conn.execute(select(runs.c.digest).where(runs.c.id == run.run_id)).first()
                if existing is None:
                    return self._insert(conn, run, document, digest)
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
            names: dict[str, list[str]] = {row.id: [] for row in rows}
            if rows:
                ids = select(query.subquery().c.id)
                for run_id, runtime in conn.execute(select(results.c.run_id, results.c.runtime)
                                                    .where(results.c.run_id.in_(ids)).order_by(results.c.id)):
                    names[run_id].append(runtime)
        return [RunInfo(id=row.id, created=row.created, hostname=row.hostname, runtimes=tuple(names[row.id]),
                        node_name=row.node_name, pool=row.pool) for row in rows]

    def load_run(self, run_id: str) -> BenchRun:
        """A stored run; ``latest`` or a unique id prefix work too."""
        with self._tx() as conn:
            if run_id == "latest":
                row = conn.execute(select(runs).order_by(runs.c.created.desc(), runs.c.id.desc()).limit(1)).first()
            else:
                candidates = conn.execute(select(runs).where(runs.c.id.startswith(run_id, autoescape=True))
                                          .limit(2)).all()
                if len(candidates) > 1:
                    raise StoreError(f"run id prefix {run_id!r} is ambiguous in {self.location}")
                row = candidates[0] if candidates else None
            if row is None:
                raise StoreError(f"no run {run_id!r} in {self.location} (see `rtadvisor bench history`)")
            data = conn.execute(select(results.c.data).where(results.c.run_id == row.id)
                                .order_by(results.c.id)).scalars().all()
        return self._document(row, data)

    def _document(self, row: Any, data: Sequence[Any]) -> BenchRun:
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
                .where(results.c.available.is_(True), results.c.error.is_(None))
                .order_by(runs.c.created.desc(), results.c.id.desc())
            ).all()
        nodes: dict[str, NodeInfo] = {}
        for row in rows:
            if row.runtime in out or (row.data or {}).get("error"):
                continue
            source = f"{self.location}: run {row.id}"
            result = read_bench_result(row.data or {}, row.document_version or 1, source)
            if row.id not in nodes:
                nodes[row.id] = node_of(row.host, source)
            out[row.runtime] = StoredResult(result=result, run_id=row.id, started=row.created, node=nodes[row.id])
        return out

    def evidence(self) -> Evidence:
        """Latest measurement per backend + metric, also filed under the knowledge-base runtime it
        measures *itself* (see :func:`rtadvisor.store.records.file_under_runtimes`)."""
        with self._tx() as conn:
            rows = conn.execute(
                select(measurements, runs.c.created, runs.c.hostname, runs.c.host)
                .join(runs, runs.c.id == measurements.c.run_id)
                .order_by(runs.c.created.desc(), measurements.c.id.desc())
            ).all()
        if not rows:
            raise StoreError(f"no stored bench results in {self.location}: run `rtadvisor bench` first")
        found = (Measurement(runtime=row.runtime, metric=row.metric, value=row.value, unit=row.unit, n=row.n,
                             method=row.method, run_id=row.run_id, host=row.hostname, date=row.created,
                             emulated=row.emulated) for row in rows)
        return Evidence(measurements=file_under_runtimes(found), host=dict(rows[0].host or {}))


def node_of(host: Any, source: str) -> NodeInfo:
    try:
        return NodeInfo.model_validate(host or {})
    except ValidationError as exc:
        raise StoreError(f"{source}: node: {exc.errors()[0].get('msg')}") from exc


def _transactional_sqlite(engine: Engine) -> None:
    """pysqlite's own transaction handling skips BEGIN before DDL; take over (SQLAlchemy's recipe),
    so DDL is transactional and a connection can ask for ``BEGIN IMMEDIATE`` (the write lock)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get("rtadvisor_begin", "BEGIN"))
