"""Inbox: the kind of each message (text, or media, a text too long, an expired button)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

Messages the bot cannot read now go through the inbox and the pipeline like text, so their
notice is sent once, in order, and recorded in the transcript; the row says which kind it is.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add inbox.kind ('text' for every existing row)."""
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False,
                                   server_default="text"))


def downgrade() -> None:
    """Drop it."""
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("kind")
