"""De-duplication and stories: content hash, story link, near-copy link, stored MinHash signatures.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

Articles stored before this revision get no story; `rasid reclassify` leaves them alone and a crawl
never revisits them, which is acceptable because 0001 never shipped a release with data to keep.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stories"),
    )
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("content_hash", sa.String(40), nullable=True))
        batch.add_column(sa.Column("story_id", BigId, nullable=True))
        batch.add_column(sa.Column("duplicate_of", BigId, nullable=True))
        batch.create_foreign_key("fk_articles_story_id_stories", "stories", ["story_id"], ["id"])
        batch.create_foreign_key("fk_articles_duplicate_of_articles", "articles", ["duplicate_of"], ["id"])
        batch.create_index("ix_articles_content_hash", ["content_hash"])
        batch.create_index("ix_articles_story_id", ["story_id"])
    op.create_table(
        "signatures",
        sa.Column("article_id", BigId, nullable=False),
        sa.Column("hashvalues", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name="fk_signatures_article_id_articles", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("article_id", name="pk_signatures"),
    )


def downgrade() -> None:
    op.drop_table("signatures")
    with op.batch_alter_table("articles") as batch:
        batch.drop_index("ix_articles_story_id")
        batch.drop_index("ix_articles_content_hash")
        batch.drop_constraint("fk_articles_duplicate_of_articles", type_="foreignkey")
        batch.drop_constraint("fk_articles_story_id_stories", type_="foreignkey")
        batch.drop_column("duplicate_of")
        batch.drop_column("story_id")
        batch.drop_column("content_hash")
    op.drop_table("stories")
