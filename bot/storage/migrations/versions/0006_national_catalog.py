"""The national procedure catalog and the staff-edited synonym table

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

National records sit beside the curated procedures as a second tier, with the city's own
layer (edits, local aliases, promotion) kept across re-imports. Synonyms map everyday words
onto official terms for procedure search.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create national_records and kb_synonyms."""
    op.create_table(
        "national_records",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("field", sa.String(300), nullable=False),
        sa.Column("levels", sa.String(300), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("edits", sa.JSON(), nullable=False),
        sa.Column("promoted_by", sa.String(40), nullable=True),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("captured", sa.Date(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
    )
    op.create_index("ix_national_records_field", "national_records", ["field"])
    op.create_table(
        "kb_synonyms",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("phrases", sa.JSON(), nullable=False),
        sa.Column("meaning", sa.String(300), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("kb_synonyms")
    op.drop_index("ix_national_records_field", "national_records")
    op.drop_table("national_records")
