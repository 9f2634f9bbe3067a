"""Schema version 2: node identity on every run, typed (version-2) bench documents.

``runs`` gains node_name, pool, document_version, finished, wall_s and digest; every stored
version-1 document is upgraded to the typed form (its figures unchanged, see
``rtadvisor.store.documents.upgrade_v1``) and its measurement rows are recomputed -- version 1
filed the micro-VM's figures as Kata's, version 2 keeps a stand-in under its own name.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The tables as this revision leaves them (a migration never reads the current code's tables).
runs = sa.table("runs", sa.column("id", sa.String), sa.column("created", sa.String), sa.column("hostname", sa.String),
                sa.column("host", sa.JSON), sa.column("options", sa.JSON), sa.column("node_name", sa.String),
                sa.column("pool", sa.String), sa.column("document_version", sa.Integer),
                sa.column("finished", sa.String), sa.column("wall_s", sa.Float), sa.column("digest", sa.String))
results = sa.table("results", sa.column("id", sa.Integer), sa.column("run_id", sa.String),
                   sa.column("runtime", sa.String), sa.column("available", sa.Boolean), sa.column("reason", sa.Text),
                   sa.column("data", sa.JSON))
measurements = sa.table("measurements", sa.column("run_id", sa.String), sa.column("runtime", sa.String),
                        sa.column("kb_runtime", sa.String), sa.column("metric", sa.String),
                        sa.column("value", sa.Float), sa.column("unit", sa.String), sa.column("n", sa.Integer),
                        sa.column("method", sa.Text), sa.column("emulated", sa.Boolean))
schema_version = sa.table("schema_version", sa.column("version", sa.Integer))


def upgrade() -> None:
    for name, kind in (("node_name", sa.String(255)), ("pool", sa.String(255)), ("document_version", sa.Integer()),
                       ("finished", sa.String(40)), ("wall_s", sa.Float()), ("digest", sa.String(64))):
        op.add_column("runs", sa.Column(name, kind))
    _upgrade_documents()
    op.execute(schema_version.update().values(version=2))


def _upgrade_documents() -> None:
    from rtadvisor.store.documents import read_bench_run
    from rtadvisor.store.records import extract_measurements

    conn = op.get_bind()
    for row in conn.execute(sa.select(runs.c.id, runs.c.host, runs.c.options)).all():
        data = conn.execute(sa.select(results.c.data).where(results.c.run_id == row.id)
                            .order_by(results.c.id)).scalars().all()
        document = {"run_id": row.id, "host": row.host or {}, "options": row.options or {}, "results": list(data)}
        run = read_bench_run(document, source=f"stored run {row.id}")
        typed = run.model_dump(mode="json")
        conn.execute(measurements.delete().where(measurements.c.run_id == row.id))
        conn.execute(results.delete().where(results.c.run_id == row.id))
        conn.execute(runs.update().where(runs.c.id == row.id).values(
            created=run.started, finished=run.finished, wall_s=run.wall_s, hostname=run.node.hostname,
            node_name=run.node.node_name, pool=run.node.pool, host=typed["node"], options=typed["options"],
            document_version=run.schema_version,
            digest=hashlib.sha256(json.dumps(typed, sort_keys=True, separators=(",", ":")).encode()).hexdigest()))
        for result, doc in zip(run.results, typed["results"], strict=True):
            conn.execute(results.insert().values(run_id=row.id, runtime=result.runtime, available=result.available,
                                                 reason=result.reason or result.error, data=doc))
            for m in extract_measurements(result):
                conn.execute(measurements.insert().values(run_id=row.id, runtime=result.runtime,
                                                          kb_runtime=result.kb_runtime, emulated=result.emulated, **m))


def downgrade() -> None:
    raise NotImplementedError("schema 2 -> 1: the typed documents cannot be turned back into version 1; "
                              "restore a backup of the store instead")
