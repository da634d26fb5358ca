"""The daemon: which job ran each crawl and how it ended, and a heartbeat row per daemon start.

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-30

Runs from before this revision keep job and outcome empty: they were one-off `rasid crawl` runs.
APScheduler's own job table (``apscheduler_jobs``) is created by its SQLAlchemyJobStore, not here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("crawl_runs") as batch:
        batch.add_column(sa.Column("job", sa.Text(), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(20), nullable=True))
        batch.create_index("ix_crawl_runs_job", ["job"])
    op.create_table(
        "daemons",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("snapshot_url", sa.Text(), nullable=True),
        sa.Column("sources", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_daemons"),
    )


def downgrade() -> None:
    op.drop_table("daemons")
    # In place (SQLite 3.35+ too): a batch copy of crawl_runs would drop the old table, and with foreign keys
    # on, SQLite would set every article's and seen URL's run_id to NULL (as 0011's downgrade explains).
    op.drop_index("ix_crawl_runs_job", table_name="crawl_runs")
    for column in ("outcome", "job"):
        op.execute(f"ALTER TABLE crawl_runs DROP COLUMN {column}")
