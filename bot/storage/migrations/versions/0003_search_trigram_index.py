"""PostgreSQL trigram index for the transcript text search

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

The staff transcript search matches folded citizen text with LIKE '%…%'. PostgreSQL can
answer that from a trigram GIN index; SQLite has no such index and scans (fast enough at
100,000 conversations, see bench/admin.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the index on PostgreSQL."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX IF NOT EXISTS ix_conversations_search_trgm "
                   "ON conversations USING gin (search_text gin_trgm_ops)")


def downgrade() -> None:
    """Drop the index on PostgreSQL."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_conversations_search_trgm")
