"""An index on articles.fetched_at: the near-duplicate index loads only the articles fetched within its window.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01

Without it every crawl's first batch would read every stored article to find the recent ones.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_articles_fetched_at", "articles", ["fetched_at"])


def downgrade() -> None:
    op.drop_index("ix_articles_fetched_at", table_name="articles")
