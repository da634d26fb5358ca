"""An index on articles.fetched_at, and the process that owns each crawl run.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01

The near-duplicate index loads only the articles fetched within its window: without the index every
crawl's first batch would read every stored article to find the recent ones.
A one-off crawl killed, or cut off from its database at its end, leaves its run 'running'; with the
process id, host and owner (boot, pid namespace, start tick: storage/owners.py) recorded, the next run on
that host sees the process is gone and records the run as failed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_articles_fetched_at", "articles", ["fetched_at"])
    with op.batch_alter_table("crawl_runs") as batch:
        batch.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("host", sa.Text(), nullable=True))
        batch.add_column(sa.Column("owner", sa.Text(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+ too): a batch copy of crawl_runs would drop the old
    # table, and with foreign keys on, SQLite would set every article's and seen URL's run_id to NULL.
    for column in ("owner", "host", "pid"):
        op.execute(f"ALTER TABLE crawl_runs DROP COLUMN {column}")
    op.drop_index("ix_articles_fetched_at", table_name="articles")
