"""Failed-login throttling by address and by name from an address

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05

Replaces the account lock an anonymous caller could trigger (bot/storage/login_throttle.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create login_attempts."""
    op.create_table(
        "login_attempts",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop login_attempts."""
    op.drop_table("login_attempts")
