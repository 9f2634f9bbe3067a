"""A real, private PostgreSQL server for the tests and benchmarks (Debian's ``postgresql`` package).

``initdb`` and ``pg_ctl`` refuse to run as root, so as root they run as the ``postgres`` user
(``runuser``); as any other user they run as that user. The server lives in a temporary directory
(data directory, Unix socket directory, log), listens on no TCP address (``listen_addresses=''``:
nothing on the machine's network, no port clash with other test runs), and :meth:`stop` stops it
and removes the directory -- the fixtures call it in a ``finally``.

Durability settings are off (``fsync``, ``synchronous_commit``, ``full_page_writes``): they matter
when the *machine* crashes, which no test does; a client killed mid-transaction (the kill tests)
is rolled back by the server exactly as with them on.

    server = PostgresServer().start()
    try:
        url = server.create_database("t1")        # postgresql+psycopg://postgres@/t1?host=...
    finally:
        server.stop()
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

PG_ROOT = Path("/usr/lib/postgresql")
PORT = 5432  # only names the socket file (.s.PGSQL.5432) inside the private socket directory


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory, or None."""
    found = [p / "bin" for p in PG_ROOT.glob("*") if (p / "bin" / "initdb").exists()]
    if not found:
        return None
    return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


class PostgresServer:
    """One private PostgreSQL cluster; :meth:`start` it, then always :meth:`stop` it."""

    def __init__(self, base: Path | None = None) -> None:
        binaries = pg_bin()
        if binaries is None:
            raise RuntimeError(f"PostgreSQL is not installed (no {PG_ROOT}/*/bin/initdb; Debian package 'postgresql')")
        self.bin = binaries
        self.base = Path(base) if base else Path(tempfile.mkdtemp(prefix="rtadvisor-pg-"))
        self.data = self.base / "data"
        self.socket_dir = self.base / "sock"
        self.log = self.base / "server.log"
        self.started = False

    def _own(self, *paths: Path) -> None:
        if os.geteuid() == 0:
            for p in paths:
                shutil.chown(p, "postgres", "postgres")

    def start(self, timeout: float = 60.0) -> PostgresServer:
        os.chmod(self.base, 0o755)  # the server user must reach its directories
        self.socket_dir.mkdir(mode=0o755, exist_ok=True)
        self.log.touch()
        self._own(self.base, self.socket_dir, self.log)
        env = {**os.environ, "LC_ALL": "C.UTF-8", "TZ": "UTC"}
        subprocess.run(_as_server_user([str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                                        "-E", "UTF8", "--no-sync", "--no-instructions"]),
                       check=True, capture_output=True, timeout=timeout, env=env)
        options = (f"-k {self.socket_dir} -p {PORT} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=200")
        try:
            subprocess.run(_as_server_user([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                                            "-t", str(int(timeout)), "-o", options, "start"]),
                           check=True, capture_output=True, timeout=timeout + 10, env=env)
        except subprocess.CalledProcessError as exc:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            self.stop()
            raise RuntimeError(f"PostgreSQL did not start: {exc.stderr!r}\n{log}") from exc
        self.started = True
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}&port={PORT}"

    def connect(self, database: str = "postgres", autocommit: bool = True):  # type: ignore[no-untyped-def]
        import psycopg

        return psycopg.connect(host=str(self.socket_dir), port=PORT, user="postgres", dbname=database,
                               autocommit=autocommit)

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; its SQLAlchemy URL."""
        name = name or f"t_{secrets.token_hex(6)}"
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        """Stop the server (fast shutdown, then SIGQUIT/SIGKILL if it hangs) and remove its directory."""
        try:
            if self.data.exists() and self.postmaster_pid():
                try:
                    subprocess.run(_as_server_user([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast",
                                                    "-w", "-t", "30", "stop"]),
                                   check=True, capture_output=True, timeout=40)
                except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                    pid = self.postmaster_pid()
                    for sig in (signal.SIGQUIT, signal.SIGKILL):
                        if pid is None:
                            break
                        try:
                            os.kill(pid, sig)
                        except ProcessLookupError:
                            break
                        time.sleep(1)
        finally:
            self.started = False
            shutil.rmtree(self.base, ignore_errors=True)
