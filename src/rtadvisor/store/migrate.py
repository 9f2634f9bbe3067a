"""Schema migrations of the result store (Alembic), applied when a store is opened.

Why Alembic and not a hand-written ``ALTER TABLE`` per version: the same revisions run on SQLite
and PostgreSQL (Alembic's batch mode rebuilds a SQLite table where SQLite cannot alter it), each
revision is a file with an upgrade and, where one exists, a downgrade, and a DBA can read or
replay them with Alembic's own tools. The revisions live in ``store/migrations/versions``.

Two records of the version, kept in step by the revisions themselves:

* ``alembic_version.version_num`` (``0001`` ...): which revisions ran;
* ``schema_version.version`` (1, 2, 3): what rtadvisor before the migrations read. An rtadvisor
  that finds a newer one (or a revision it does not know) refuses the store instead of misreading it.

Concurrent first use: every change runs in ONE transaction that first takes the store's lock
(PostgreSQL: a transaction-level advisory lock; SQLite: ``BEGIN IMMEDIATE``, the database's write
lock), then re-reads the version. Two agents creating the schema at the same moment: one creates
it, the other waits, finds it current and goes on. A store opened at the current version costs
two small SELECTs and never imports Alembic.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

from rtadvisor.errors import StoreError

from .records import SCHEMA_VERSION

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

#: Alembic revisions in order; revision ``REVISIONS[v - 1]`` leaves schema version ``v``.
REVISIONS: tuple[str, ...] = ("0001", "0002", "0003")
HEAD = REVISIONS[-1]
SCRIPT_LOCATION = "rtadvisor.store:migrations"
LOCK_KEY = 0x72746164  # PostgreSQL advisory lock id for schema changes ("rtad")
OURS = frozenset({"runs", "results", "measurements"})


@dataclass(frozen=True)
class SchemaState:
    tables: frozenset[str]
    version: int | None  # schema_version, None without the table
    revision: str | None  # alembic_version, None without the table

    @property
    def current(self) -> bool:
        return self.revision == HEAD and self.version == SCHEMA_VERSION


def read_state(conn: Connection) -> SchemaState:
    tables = frozenset(inspect(conn).get_table_names())
    version = revision = None
    if "schema_version" in tables:
        version = conn.execute(text("SELECT max(version) FROM schema_version")).scalar()
    if "alembic_version" in tables:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return SchemaState(tables, version, revision)


def refuse_newer(state: SchemaState, location: str) -> None:
    if state.version is not None and state.version > SCHEMA_VERSION:
        raise StoreError(f"result store {location} has schema version {state.version}, newer than this rtadvisor "
                         f"understands ({SCHEMA_VERSION}): upgrade rtadvisor or use another --db")
    if state.revision is not None and state.revision not in REVISIONS:
        raise StoreError(f"result store {location} has schema revision {state.revision!r}, which this rtadvisor "
                         f"does not know (newest known: {HEAD}): upgrade rtadvisor or use another --db")


@contextmanager
def schema_lock(engine: Engine) -> Iterator[Connection]:
    """A transaction holding the store's schema lock (see the module docstring)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execution_options(rtadvisor_begin="BEGIN IMMEDIATE")
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            yield conn


def ensure_schema(engine: Engine, location: str, *, create: bool) -> None:
    """Bring the store to the current schema (creating it when ``create``); refuse a newer one."""
    with engine.connect() as conn:  # the common case, without taking the lock
        state = read_state(conn)
    if state.current:
        return
    refuse_newer(state, location)
    with schema_lock(engine) as conn:
        state = read_state(conn)  # again, under the lock: another process may have won
        refuse_newer(state, location)
        if state.current:
            return
        if state.version is None and state.revision is None:
            if state.tables & OURS:
                raise StoreError(f"result store {location} has rtadvisor tables but no schema_version")
            if not create:
                raise StoreError(f"no stored bench results in {location}: run `rtadvisor bench` first")
        stamp = None
        if state.revision is None and state.version is not None:
            if state.version < 1:
                raise StoreError(f"result store {location}: schema_version {state.version} is not a version")
            stamp = REVISIONS[state.version - 1]  # a store from before the migrations
        upgrade(conn, "head", stamp=stamp)


def _config(conn: Connection) -> object:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = conn
    return config


def upgrade(conn: Connection, target: str = "head", *, stamp: str | None = None) -> None:
    """Run the revisions up to ``target`` on ``conn`` (inside the caller's transaction)."""
    from alembic import command

    config = _config(conn)
    if stamp is not None:
        command.stamp(config, stamp)  # type: ignore[arg-type]
    command.upgrade(config, target)  # type: ignore[arg-type]


def downgrade(conn: Connection, target: str) -> None:
    """Run the downgrades to ``target`` on ``conn`` (tests and DBAs; 0002 -> 0001 has none)."""
    from alembic import command

    command.downgrade(_config(conn), target)  # type: ignore[arg-type]
