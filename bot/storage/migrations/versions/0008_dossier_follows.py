"""Following dossiers: follows, the notices of their changes, pushed event ids

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

Issue 13 part 1 (bot/storage/follows.py, bot/follow/).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create dossier_follows, dossier_notices and dossier_events."""
    op.create_table(
        "dossier_follows",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(160), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("last_status", sa.String(32), nullable=False),
        sa.Column("last_due", WHEN),
        sa.Column("changed_at", WHEN),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("end_reason", sa.String(16)),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("next_poll_at", WHEN, nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.UniqueConstraint("conversation_id", "code",
                            name="uq_dossier_follows_conversation_code"),
    )
    op.create_index("ix_dossier_follows_conversation_id", "dossier_follows",
                    ["conversation_id"])
    op.create_index("ix_dossier_follows_due", "dossier_follows", ["active", "next_poll_at"])
    op.create_index("ix_dossier_follows_code", "dossier_follows", ["code", "active"])
    op.create_table(
        "dossier_notices",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("follow_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(160), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("due_at", WHEN),
        sa.Column("changed_at", WHEN, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("way", sa.String(16)),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", WHEN, nullable=False),
        sa.Column("held_at", WHEN),
        sa.Column("sent_at", WHEN),
        sa.UniqueConstraint("follow_id", "version", name="uq_dossier_notices_change"),
    )
    op.create_index("ix_dossier_notices_conversation_id", "dossier_notices",
                    ["conversation_id"])
    op.create_index("ix_dossier_notices_state", "dossier_notices", ["state", "next_try_at"])
    op.create_table(
        "dossier_events",
        sa.Column("event_id", sa.String(200), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("received_at", WHEN, nullable=False),
    )
    op.create_index("ix_dossier_events_received_at", "dossier_events", ["received_at"])


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("dossier_events")
    op.drop_table("dossier_notices")
    op.drop_table("dossier_follows")
