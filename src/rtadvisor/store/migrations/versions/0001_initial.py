"""Schema version 1: runs, one row per backend result, the headline figures as measurement rows.

This is the schema rtadvisor created before the store had migrations; a store of that age has a
``schema_version`` row 1 and no ``alembic_version``, and is stamped with this revision.

Revision ID: 0001
Revises:
Create Date: 2026-11-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    version = op.create_table("schema_version", sa.Column("version", sa.Integer(), nullable=False))
    op.create_table(
        "runs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("created", sa.String(40), nullable=False),
        sa.Column("hostname", sa.String(255)),
        sa.Column("host", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
    )
    op.create_table(
        "results",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("runtime", sa.String(64), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_results_run_id", "results", ["run_id"])
    op.create_table(
        "measurements",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("runtime", sa.String(64), nullable=False),
        sa.Column("kb_runtime", sa.String(64)),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("emulated", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_measurements_run_id", "measurements", ["run_id"])
    op.bulk_insert(version, [{"version": 1}])


def downgrade() -> None:
    for table in ("measurements", "results", "runs", "schema_version"):
        op.drop_table(table)
