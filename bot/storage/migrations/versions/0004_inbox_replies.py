"""Inbox: replies kept with the handled message, and an index for a conversation's pending rows

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

A message's replies are stored in the same transaction as its transcript ('answered') and the
row becomes 'done' once they were sent, so a worker that dies between the two leaves replies
that are sent again rather than a message handled twice. Whoever holds a conversation's lock
answers its pending rows in order, found through the new index.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add inbox.replies and the conversation index."""
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("replies", sa.JSON(), nullable=True))
    op.create_index("ix_inbox_conversation_status", "inbox", ["channel", "user_id", "status"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_inbox_conversation_status", table_name="inbox")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("replies")
