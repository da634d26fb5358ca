"""Digest delivery: a digest keeps its Message-ID, its rendered message and the state of its attempts.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

A digest is claimed (its hits attached, its message and Message-ID fixed) in one transaction before
any SMTP is spoken, so a send interrupted at any point is resent as the same message with the same
hits (see docs/ARCHITECTURE.md, "The digest: each hit mailed once").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COLUMNS = (
    ("message_id", sa.Text()),
    ("subject", sa.Text()),
    ("message", sa.Text()),
    ("hits", sa.Integer()),
    ("stories", sa.Integer()),
    ("attempts", sa.Integer()),
    ("attempt_started_at", sa.DateTime(timezone=True)),
    ("last_error", sa.Text()),
)


def upgrade() -> None:
    with op.batch_alter_table("digests") as batch:
        for name, type_ in COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
        batch.create_index("ix_digests_status", ["status"])
        batch.create_index("ix_digests_message_id", ["message_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("digests") as batch:
        batch.drop_index("ix_digests_message_id")
        batch.drop_index("ix_digests_status")
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
