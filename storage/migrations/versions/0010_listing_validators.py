"""Listing validators: the ETag and Last-Modified each feed, sitemap or section page last answered with.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

The next run asks for the listing with If-None-Match / If-Modified-Since, and a 304 costs nothing more.
A row is written only after every link of that answer was handled (see crawler/spiders/news.py), so a
run that dies midway reads the listing again in full.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "listing_validators",
        sa.Column("url_hash", sa.String(40), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("url_hash", name="pk_listing_validators"),
    )


def downgrade() -> None:
    op.drop_table("listing_validators")
