"""The same store code on SQLite and on a real PostgreSQL server: round trip, idempotent and racing
saves, the migrations (fresh, from a version-1 store, from before Alembic, down and up again),
concurrent first use, refusals, an unreachable server, and the lazy import."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text
from test_store import bench_run, measured, v1_document

from rtadvisor.errors import StoreError, StoreUnavailable
from rtadvisor.store import SCHEMA_VERSION, ResultStore, resolve_url
from rtadvisor.store import migrate as migrations
from rtadvisor.store.database import metadata


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_url"))


def test_round_trip_on_both(store_url: str) -> None:
    with ResultStore.open(store_url) as store:
        first = bench_run()
        later = bench_run(run_id="20260201T000000Z-bbbbbbbbbbbb", started="2026-02-01T00:00:00+00:00",
                          results=(measured("runsc", 150.0), measured("runc", 40.0),
                                   measured("microvm", 4400.0, emulated=True),
                                   measured("crun", 12.0, error="crun exited with 1")),
                          pool="edge", node_name="k8s-node-7")
        store.save(first)
        store.save(later)
        assert store.load_run(first.run_id) == first and store.load_run("latest") == later
        assert [r.id for r in store.runs()] == [later.run_id, first.run_id]
        assert store.runs(limit=1)[0].runtimes == ("runsc", "runc", "microvm", "crun")
        latest = store.latest_results()
        assert set(latest) == {"runsc", "runc", "microvm"}  # the failed crun is no measurement
        evidence = store.evidence()
        cold = evidence.get("gvisor", "cold_start_ms")
        assert cold is not None and cold.value == 150.0
        assert evidence.get("kata", "cold_start_ms") is None
        with store.engine.connect() as conn:
            errors = dict(conn.execute(text("SELECT runtime, error FROM results WHERE run_id = :r"),
                                       {"r": later.run_id}).all())
        assert errors == {"runsc": None, "runc": None, "microvm": None, "crun": "crun exited with 1"}


def test_racing_saves_of_one_run_store_it_once(store_url: str) -> None:
    """Agents retrying the same upload at the same moment: one row set, no error."""
    ResultStore.open(store_url).close()
    run = bench_run(results=tuple(measured(n, 10.0 + i) for i, n in enumerate(("runc", "crun", "runsc"))))
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def save() -> None:
        try:
            with ResultStore.open(store_url) as store:
                barrier.wait()
                store.save(run)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=save) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    with ResultStore.open(store_url) as store, store.engine.connect() as conn:
        counts = [conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in ("runs", "results", "measurements")]
    assert counts == [1, 3, 18]


def _diff(url: str) -> list[Any]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), metadata)  # type: ignore[no-any-return]
    finally:
        engine.dispose()


def test_migrations_create_exactly_the_schema_the_code_uses(store_url: str) -> None:
    ResultStore.open(store_url).close()
    assert _diff(store_url) == []
    engine = create_engine(store_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == migrations.HEAD
        assert conn.execute(text("SELECT version FROM schema_version")).scalars().all() == [SCHEMA_VERSION]
    engine.dispose()


def test_the_revisions_are_the_ones_the_code_knows() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", migrations.SCRIPT_LOCATION)
    script = ScriptDirectory.from_config(config)
    assert script.get_heads() == [migrations.HEAD]
    chain = [r.revision for r in script.walk_revisions()][::-1]
    assert tuple(chain) == migrations.REVISIONS and len(chain) == SCHEMA_VERSION


def _version_1_store(url: str, *, with_alembic: bool) -> None:
    """A store as rtadvisor 1 left it: schema 1 (via revision 0001) and a version-1 document."""
    engine = create_engine(url)
    with engine.begin() as conn:
        migrations.upgrade(conn, "0001")
        if not with_alembic:
            conn.execute(text("DROP TABLE alembic_version"))
        doc = v1_document()
        conn.execute(text("INSERT INTO runs (id, created, hostname, host, options) "
                          "VALUES ('old-run', '2026-01-01T00:00:00+00:00', 'node-a', :h, :o)"),
                     {"h": json.dumps(doc["host"]), "o": json.dumps(doc["options"])})
        for r in doc["results"]:
            conn.execute(text("INSERT INTO results (run_id, runtime, available, reason, data) "
                              "VALUES ('old-run', :rt, :av, :re, :d)"),
                         {"rt": r["runtime"], "av": r["available"], "re": r.get("reason"), "d": json.dumps(r)})
        conn.execute(text("INSERT INTO measurements (run_id, runtime, kb_runtime, metric, value, unit, n, method, "
                          "emulated) VALUES ('old-run', 'microvm', 'kata', 'cold_start_ms', 4400, 'ms', 30, 'x', :e)"),
                     {"e": True})
    engine.dispose()


@pytest.mark.parametrize("with_alembic", [False, True], ids=["before-alembic", "alembic-0001"])
def test_a_version_1_store_is_upgraded_to_the_current_schema(store_url: str, with_alembic: bool) -> None:
    _version_1_store(store_url, with_alembic=with_alembic)
    with ResultStore.open(store_url, create=False) as store:
        run = store.load_run("old-run")
        assert run.result("runsc") is not None and run.node.runtime_versions == {"runsc": "runsc 20221219"}
        evidence = store.evidence()
        assert evidence.get("gvisor", "cold_start_ms") is not None
        assert evidence.get("kata", "cold_start_ms") is None  # version 1 filed the micro-VM as Kata
    assert _diff(store_url) == []


def test_downgrade_and_upgrade_again_keep_the_data(store_url: str) -> None:
    with ResultStore.open(store_url) as store:
        store.save(bench_run(results=(measured("runsc", 140.0), measured("crun", 9.0, error="boom"))))
    engine = create_engine(store_url)
    if engine.dialect.name == "sqlite":
        from rtadvisor.store.database import _transactional_sqlite

        _transactional_sqlite(engine)
    with engine.begin() as conn:
        migrations.downgrade(conn, "0002")
    with engine.connect() as conn:
        assert "error" not in {c["name"] for c in inspect(conn).get_columns("results")}
        assert conn.execute(text("SELECT version FROM schema_version")).scalar() == 2
    engine.dispose()
    with ResultStore.open(store_url) as store:  # 0002 -> 0003 again, with the backfill
        assert store.load_run("latest").result("runsc") is not None
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT error FROM results WHERE runtime = 'crun'")).scalar() == "boom"
    assert _diff(store_url) == []


def test_newer_stores_are_refused(store_url: str) -> None:
    ResultStore.open(store_url).close()
    engine = create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(StoreError, match=r"schema revision '0099', which this rtadvisor does not know"):
        ResultStore.open(store_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :h"), {"h": migrations.HEAD})
        conn.execute(text("UPDATE schema_version SET version = :v"), {"v": SCHEMA_VERSION + 1})
    engine.dispose()
    with pytest.raises(StoreError, match=rf"schema version {SCHEMA_VERSION + 1}, newer than"):
        ResultStore.open(store_url)


_OPEN_AND_SAVE = """
import sys
from rtadvisor.model import BenchResult, BenchRun, NodeInfo
from rtadvisor.store import ResultStore
run = BenchRun(run_id="run-" + sys.argv[2], started="2026-01-01T00:00:00+00:00",
               node=NodeInfo(hostname="h", node_name="node-" + sys.argv[2]),
               results=(BenchResult(runtime="native", available=False, reason="test"),))
with ResultStore.open(sys.argv[1]) as store:
    store.save(run)
"""


def test_concurrent_first_use_creates_the_schema_once(store_url: str) -> None:
    """Six processes open the same *fresh* store at the same moment and each saves a run."""
    procs = [subprocess.Popen([sys.executable, "-c", _OPEN_AND_SAVE, store_url, str(i)],
                              stderr=subprocess.PIPE, text=True) for i in range(6)]
    outcomes = [(p.wait(timeout=180), p.stderr.read() if p.stderr else "") for p in procs]
    for p in procs:
        if p.stderr:
            p.stderr.close()
    assert all(code == 0 for code, _ in outcomes), outcomes
    with ResultStore.open(store_url) as store:
        assert sorted(r.node_name or "" for r in store.runs()) == [f"node-{i}" for i in range(6)]
    assert _diff(store_url) == []


def test_an_unreachable_server_is_store_unavailable(tmp_path: Path) -> None:
    url = f"postgresql://postgres@/nothing?host={tmp_path}&port=5432"  # no server at that socket
    with pytest.raises(StoreUnavailable, match=r"cannot open result store postgresql\+psycopg://.*OperationalError"):
        ResultStore.open(url)


def test_urls() -> None:
    assert resolve_url("postgresql://u:pw@db.example/rt") == "postgresql+psycopg://u:pw@db.example/rt"
    assert resolve_url("postgres://db.example/rt") == "postgresql+psycopg://db.example/rt"
    assert resolve_url("postgresql+psycopg://db/rt") == "postgresql+psycopg://db/rt"
    with pytest.raises(StoreError) as info:
        resolve_url("postgresql://u:secret@db:notaport/rt")
    assert "secret" not in str(info.value)


def test_recommend_path_does_not_import_the_database_machinery(tmp_path: Path) -> None:
    code = ("import sys; from rtadvisor.store import try_load_evidence; "
            f"assert try_load_evidence({str(tmp_path / 'none.db')!r}) is None; "
            "print(sorted(m for m in ('sqlalchemy', 'alembic', 'psycopg') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
    assert not (tmp_path / "none.db").exists()
