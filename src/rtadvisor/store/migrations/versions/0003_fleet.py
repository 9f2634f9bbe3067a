"""Schema version 3: what a fleet report asks for, cheaply.

* ``results.error``: why a usable backend failed (version 2 kept it only inside the JSON document,
  mixed into ``reason``), so the fleet report can tell "not installed" from "failed" without
  parsing every document; backfilled from the documents.
* indexes for the newest run per node and per pool (``runs(node_name, created)``, ``runs(pool)``),
  and the per-run indexes of ``results``/``measurements`` for stores whose history lacked them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

results = sa.table("results", sa.column("id", sa.Integer), sa.column("available", sa.Boolean),
                   sa.column("data", sa.JSON), sa.column("error", sa.Text))
schema_version = sa.table("schema_version", sa.column("version", sa.Integer))


def upgrade() -> None:
    op.add_column("results", sa.Column("error", sa.Text()))
    conn = op.get_bind()
    failed = [(row.id, str(row.data["error"])) for row in
              conn.execute(sa.select(results.c.id, results.c.data).where(results.c.available.is_(True))).all()
              if isinstance(row.data, dict) and row.data.get("error")]
    for row_id, error in failed:
        conn.execute(results.update().where(results.c.id == row_id).values(error=error))
    op.create_index("ix_runs_node_created", "runs", ["node_name", "created"])
    op.create_index("ix_runs_pool", "runs", ["pool"])
    op.create_index("ix_results_run_id", "results", ["run_id"], if_not_exists=True)
    op.create_index("ix_measurements_run_id", "measurements", ["run_id"], if_not_exists=True)
    op.execute(schema_version.update().values(version=3))


def downgrade() -> None:
    op.drop_index("ix_runs_pool", table_name="runs")
    op.drop_index("ix_runs_node_created", table_name="runs")
    with op.batch_alter_table("results") as batch:
        batch.drop_column("error")
    op.execute(schema_version.update().values(version=2))
