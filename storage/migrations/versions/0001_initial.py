"""Initial schema: sources, crawl runs, seen URLs, articles, verdicts, digests.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("first_seen", When, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_sources"),
    )
    op.create_table(
        "crawl_runs",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("started_at", When, nullable=False),
        sa.Column("finished_at", When, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("sources", sa.Text(), nullable=False),
        sa.Column("snapshot", sa.Boolean(), nullable=False),
        sa.Column("pages_fetched", sa.Integer(), nullable=False),
        sa.Column("articles_extracted", sa.Integer(), nullable=False),
        sa.Column("articles_stored", sa.Integer(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("per_source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_crawl_runs"),
    )
    op.create_table(
        "seen_urls",
        sa.Column("url_hash", sa.String(40), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("run_id", BigId, nullable=True),
        sa.Column("skip_reason", sa.String(50), nullable=True),
        sa.Column("seen_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["crawl_runs.id"], name="fk_seen_urls_run_id_crawl_runs", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["source"], ["sources.name"], name="fk_seen_urls_source_sources"),
        sa.PrimaryKeyConstraint("url_hash", name="pk_seen_urls"),
    )
    op.create_table(
        "digests",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("sent_at", When, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_digests"),
    )
    op.create_table(
        "articles",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("canonical_hash", sa.String(40), nullable=False),
        sa.Column("canonical_url", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("published", When, nullable=True),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("lang", sa.String(16), nullable=True),
        sa.Column("fetched_at", When, nullable=False),
        sa.Column("run_id", BigId, nullable=True),
        sa.Column("digest_id", BigId, nullable=True),
        sa.ForeignKeyConstraint(
            ["digest_id"], ["digests.id"], name="fk_articles_digest_id_digests", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["crawl_runs.id"], name="fk_articles_run_id_crawl_runs", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["source"], ["sources.name"], name="fk_articles_source_sources"),
        sa.PrimaryKeyConstraint("id", name="pk_articles"),
        sa.UniqueConstraint("canonical_hash", name="uq_articles_canonical_hash"),
    )
    op.create_index("ix_articles_source", "articles", ["source"])
    op.create_index("ix_articles_published", "articles", ["published"])
    op.create_index("ix_articles_digest_id", "articles", ["digest_id"])
    op.create_table(
        "verdicts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("article_id", BigId, nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("is_hit", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("classifier_version", sa.String(80), nullable=False),
        sa.Column("matches", sa.Text(), nullable=False),
        sa.Column("partners", sa.Text(), nullable=False),
        sa.Column("sectors", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name="fk_verdicts_article_id_articles", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_verdicts"),
    )
    op.create_index("ix_verdicts_current", "verdicts", ["article_id", "is_current"])
    op.create_index("ix_verdicts_is_hit", "verdicts", ["is_hit"])


def downgrade() -> None:
    for table in ("verdicts", "articles", "digests", "seen_urls", "crawl_runs", "sources"):
        op.drop_table(table)
