"""The analyst's judgements from the web view: right, wrong, or missed, with who and when.

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-30

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.Text(), nullable=False),
        sa.Column("judgement", sa.String(10), nullable=False),
        sa.Column("story_id", BigId, nullable=True),
        sa.Column("article_id", BigId, nullable=True),
        sa.Column("label", sa.Boolean(), nullable=False),
        sa.Column("verdict_hit", sa.Boolean(), nullable=True),
        sa.Column("classifier_version", sa.String(80), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name="fk_feedback_story_id_stories", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name="fk_feedback_article_id_articles", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
    )
    op.create_index("ix_feedback_created_at", "feedback", ["created_at"])
    op.create_index("ix_feedback_story_id", "feedback", ["story_id"])
    op.create_index("ix_feedback_article_id", "feedback", ["article_id"])


def downgrade() -> None:
    op.drop_table("feedback")
