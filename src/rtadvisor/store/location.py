"""Where the result store is: a file path or a SQLAlchemy URL, resolved without importing SQLAlchemy.

``recommend`` asks the store for measurements on every call; when the default SQLite file does not
exist there is nothing to read, and finding that out must not cost SQLAlchemy's import (~0.1 s).
"""

from __future__ import annotations

import os
from pathlib import Path

from rtadvisor.errors import StoreError


def default_db_path() -> Path:
    """``$XDG_DATA_HOME/rtadvisor/results.db`` (default ``~/.local/share/rtadvisor/results.db``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rtadvisor" / "results.db"


def _target(db: str | None) -> str:
    return db or os.environ.get("RTADVISOR_DB") or str(default_db_path())


def sqlite_file(db: str | None = None) -> Path | None:
    """The SQLite file ``db`` names when it is a plain path (not a URL), else None; cheap."""
    target = _target(db)
    if "://" in target:
        return None
    return Path(target).expanduser().resolve()


#: libpq-style URL schemes and the driver rtadvisor installs for them (psycopg 3)
_POSTGRES_SCHEMES = ("postgres://", "postgresql://")


def resolve_url(db: str | None = None) -> str:
    """A SQLAlchemy URL from ``db``, ``$RTADVISOR_DB`` or the default path.

    ``postgresql://`` and ``postgres://`` (libpq's spelling) mean psycopg 3, the driver rtadvisor
    ships with; ``postgresql+psycopg://user@/db?host=/run/postgresql`` names a socket directory.
    """
    target = _target(db)
    for scheme in _POSTGRES_SCHEMES:
        if target.startswith(scheme):
            target = "postgresql+psycopg://" + target[len(scheme):]
    if "://" in target:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(target)
        except (ArgumentError, ValueError) as exc:
            raise StoreError(f"invalid database URL {describe_text(target)!r}: "
                             f"{str(exc).replace(target, describe_text(target))}") from exc
        return target
    return f"sqlite:///{Path(target).expanduser().resolve()}"


def describe_text(target: str) -> str:
    """``target`` with any password replaced by ``***`` (for messages; no SQLAlchemy needed)."""
    scheme, sep, rest = target.partition("://")
    if not sep:
        return target
    creds, at, host = rest.rpartition("@")
    if not at or ":" not in creds:
        return target
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def describe(url: str) -> str:
    """A printable location (a path for SQLite, the URL without password otherwise)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        return parsed.database or ":memory:"
    return parsed.render_as_string(hide_password=True)
