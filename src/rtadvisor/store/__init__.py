"""The result store: bench runs with host metadata, in SQLite by default (PostgreSQL for a fleet).

Where: ``--db`` / ``$RTADVISOR_DB`` (a file path or a SQLAlchemy URL such as
``postgresql+psycopg://user@host/rtadvisor``), else ``$XDG_DATA_HOME/rtadvisor/results.db``
(default ``~/.local/share/rtadvisor/results.db``).

Schema (versioned in table ``schema_version``; a database written by a newer rtadvisor is refused
with a clear error rather than misread):

* ``runs``: id, created (UTC ISO date), hostname, host (JSON: kernel, cpu, versions...), options (JSON);
* ``results``: one row per backend per run, the full ``bench --json`` entry as JSON;
* ``measurements``: the headline figures, one row each (runtime, kb_runtime, metric, value, unit, n,
  method, emulated) -- what :func:`load_evidence` turns into :class:`rtadvisor.model.Evidence`.

>>> store = ResultStore.open("/tmp/x.db")        # doctest: +SKIP
>>> run_id = store.save(report.to_dict())        # doctest: +SKIP
>>> load_evidence("/tmp/x.db").get("runc", "cold_start_ms").value   # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    func,
    inspect,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from rtadvisor.errors import StoreError
from rtadvisor.model import Evidence, Measurement

SCHEMA_VERSION = 1

metadata = MetaData()
schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))
runs = Table(
    "runs", metadata,
    Column("id", String(64), primary_key=True),
    Column("created", String(40), nullable=False),
    Column("hostname", String(255)),
    Column("host", JSON, nullable=False),
    Column("options", JSON, nullable=False),
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

#: metric name -> (unit, how to get it from a result dict)
METRICS: dict[str, str] = {
    "cold_start_ms": "ms", "cpu_ms": "ms", "pss_mb": "MB", "per_instance_mb": "MB",
    "artifact_bytes": "bytes", "density": "instances/node",
}


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


def extract_measurements(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The headline figures of one ``bench --json`` result entry, as measurement rows."""
    if not result.get("available") or result.get("error"):
        return []
    n = (result.get("cold_start_ms") or {}).get("n") or 1
    method = result.get("method") or {}
    rows: list[dict[str, Any]] = []

    def add(metric: str, value: Any, count: int, how: str) -> None:
        if value is None:
            return
        rows.append({"metric": metric, "value": float(value), "unit": METRICS[metric], "n": int(count),
                     "method": f"backend {result['runtime']}: {how}"})

    cold = result.get("cold_start_ms") or {}
    add("cold_start_ms", cold.get("p50"), n, "p50; " + method.get("cold_start", ""))
    add("cpu_ms", (result.get("cpu_ms") or {}).get("p50"), n, "p50; " + method.get("cpu", ""))
    sweep = result.get("memory_sweep") or []
    add("pss_mb", result.get("pss_mb"), 1, "one idle instance; " + method.get("memory", ""))
    add("per_instance_mb", result.get("per_instance_mb"), len(result.get("packed_sweep") or sweep) or 1,
        method.get("memory", ""))
    add("artifact_bytes", result.get("artifact_bytes"), 1, method.get("artifact", ""))
    dens = result.get("density") or {}
    add("density", dens.get("value"), 1, f"bound by {dens.get('bound_by')}; " + method.get("density", ""))
    return rows


@dataclass(frozen=True)
class RunInfo:
    id: str
    created: str
    hostname: str | None
    runtimes: tuple[str, ...]


class ResultStore:
    """Access to one result database; create with :meth:`open`."""

    def __init__(self, engine: Engine, location: str) -> None:
        self.engine = engine
        self.location = location

    @classmethod
    def open(cls, db: str | None = None, *, create: bool = True) -> ResultStore:
        """Open (and, with ``create``, initialise) the store; refuses a newer schema."""
        url = resolve_url(db)
        location = describe(url)
        parsed = make_url(url)
        if parsed.drivername.startswith("sqlite") and parsed.database:
            path = Path(parsed.database)
            if not create and not path.exists():
                raise StoreError(f"no stored bench results in {location}: run `rtadvisor bench` first")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the directory of {location}: {exc.strerror}") from exc
        try:
            engine = create_engine(url, future=True)
            store = cls(engine, location)
            store._check_schema(create)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open result store {location}: {exc.__class__.__name__}: "
                             f"{str(exc).splitlines()[0]}") from exc
        except ModuleNotFoundError as exc:
            raise StoreError(f"cannot open result store {location}: database driver {exc.name} is not "
                             "installed") from exc
        return store

    def _check_schema(self, create: bool) -> None:
        tables = set(inspect(self.engine).get_table_names())
        if "schema_version" in tables:
            with self.engine.connect() as conn:
                found = conn.execute(select(func.max(schema_version.c.version))).scalar()
            if found is not None and found > SCHEMA_VERSION:
                raise StoreError(
                    f"result store {self.location} has schema version {found}, newer than this rtadvisor "
                    f"understands ({SCHEMA_VERSION}): upgrade rtadvisor or use another --db"
                )
            if found is not None and found == SCHEMA_VERSION:
                return
        elif tables & {"runs", "results", "measurements"}:
            raise StoreError(f"result store {self.location} has rtadvisor tables but no schema_version")
        if not create:
            raise StoreError(f"no stored bench results in {self.location}: run `rtadvisor bench` first")
        metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            conn.execute(schema_version.delete())
            conn.execute(schema_version.insert().values(version=SCHEMA_VERSION))

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"result store {self.location}: {str(exc).splitlines()[0]}") from exc

    def save(self, document: Mapping[str, Any]) -> str:
        """Store one ``bench --json`` document; returns its run id (also written into ``run_id``)."""
        run_id = document.get("run_id") or (
            datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
        )
        host = dict(document.get("host") or {})
        created = host.get("date") or datetime.now(UTC).isoformat(timespec="seconds")
        with self._tx() as conn:
            conn.execute(runs.insert().values(id=run_id, created=created, hostname=host.get("hostname"),
                                              host=host, options=document.get("options") or {}))
            for result in document.get("results") or []:
                data = json.loads(json.dumps(result, default=str))
                conn.execute(results.insert().values(run_id=run_id, runtime=result["runtime"],
                                                     available=bool(result.get("available")),
                                                     reason=result.get("reason") or result.get("error"),
                                                     data=data))
                for row in extract_measurements(result):
                    conn.execute(measurements.insert().values(
                        run_id=run_id, runtime=result["runtime"], kb_runtime=result.get("kb_runtime"),
                        emulated=bool(result.get("emulated")), **row))
        return run_id

    def runs(self, limit: int | None = None) -> list[RunInfo]:
        """Runs, newest first."""
        with self._tx() as conn:
            query = select(runs.c.id, runs.c.created, runs.c.hostname).order_by(runs.c.created.desc(),
                                                                                   runs.c.id.desc())
            if limit:
                query = query.limit(limit)
            rows = conn.execute(query).all()
            out = []
            for row in rows:
                names = conn.execute(select(results.c.runtime).where(results.c.run_id == row.id)
                                     .order_by(results.c.id)).scalars().all()
                out.append(RunInfo(id=row.id, created=row.created, hostname=row.hostname, runtimes=tuple(names)))
        return out

    def load_run(self, run_id: str) -> dict[str, Any]:
        """A stored run as a ``bench --json`` document; ``latest`` or a unique id prefix work too."""
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
        return {"run_id": row.id, "host": row.host, "options": row.options, "results": list(data)}

    def latest_results(self) -> dict[str, dict[str, Any]]:
        """The newest stored measured result per runtime (across runs), with its run's host."""
        out: dict[str, dict[str, Any]] = {}
        with self._tx() as conn:
            rows = conn.execute(
                select(results.c.runtime, results.c.data, runs.c.id, runs.c.host, runs.c.created)
                .join(runs, runs.c.id == results.c.run_id)
                .where(results.c.available.is_(True))
                .order_by(runs.c.created.desc(), results.c.id.desc())
            ).all()
        for row in rows:
            if row.runtime not in out and not (row.data or {}).get("error"):
                out[row.runtime] = {**row.data, "_run_id": row.id, "_host": row.host, "_created": row.created}
        return out

    def evidence(self) -> Evidence:
        """Latest measurement per runtime + metric, keyed by backend name AND knowledge-base runtime id."""
        with self._tx() as conn:
            rows = conn.execute(
                select(measurements, runs.c.created, runs.c.hostname, runs.c.host)
                .join(runs, runs.c.id == measurements.c.run_id)
                .order_by(runs.c.created.desc(), measurements.c.id.desc())
            ).all()
        if not rows:
            raise StoreError(f"no stored bench results in {self.location}: run `rtadvisor bench` first")
        chosen: dict[tuple[str, str], Measurement] = {}
        direct: set[tuple[str, str]] = set()
        for row in rows:
            m = Measurement(runtime=row.runtime, metric=row.metric, value=row.value, unit=row.unit, n=row.n,
                            method=row.method, run_id=row.run_id, host=row.hostname, date=row.created,
                            emulated=row.emulated)
            chosen.setdefault((row.runtime, row.metric), m)
            if row.runtime == row.kb_runtime:
                direct.add((row.runtime, row.metric))
        # Also file each figure under the knowledge-base id it evidences (runsc -> gvisor, microvm -> vm),
        # unless a backend of that very name measured it (runc itself beats runc-through-containerd).
        for row in rows:
            kb = row.kb_runtime
            if not kb or kb == row.runtime:
                continue
            key = (kb, row.metric)
            if key in direct or key in chosen:
                continue
            chosen[key] = chosen[(row.runtime, row.metric)].model_copy(update={"runtime": kb})
        return Evidence(measurements=tuple(chosen.values()), host=dict(rows[0].host or {}))


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
