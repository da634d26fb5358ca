"""Free-text columns: run status, skip reason and language become TEXT.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

Scrapy close reasons ("stopped: closespider_itemcount"), skip reasons with their detail and a page's
raw lang attribute outgrew VARCHAR(20/50/16); PostgreSQL refused them and lost the whole write.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

WIDENED = (("crawl_runs", "status", 20), ("seen_urls", "skip_reason", 50), ("articles", "lang", 16))


def upgrade() -> None:
    for table, column, length in WIDENED:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, existing_type=sa.String(length), type_=sa.Text())


def downgrade() -> None:
    for table, column, length in WIDENED:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, existing_type=sa.Text(), type_=sa.String(length))
