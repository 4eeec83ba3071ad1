"""SQLAlchemy tables of the knowledge base: procedures, offices, FAQs, the city, drafts and
the audit log of administrators' changes; and the declarative base every table shares.

Scalar facts are columns; ordered lists of structured items (steps, documents, fees, aliases)
are JSON columns holding exactly what the pydantic schema validated. ``search_text`` is the
accent-folded text the search reads, computed by ``knowledge.search.search_key`` on write.
Conversation and staff tables (``bot/storage/tables.py``, ``bot/storage/staff.py``) use the
same base, so one Alembic history covers the one database.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Float,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of every table."""


class ProcedureRow(Base):
    """One administrative procedure."""

    __tablename__ = "procedures"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    code: Mapped[str | None] = mapped_column(String(300))
    name: Mapped[str] = mapped_column(String(300))
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    category: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(300))
    agency: Mapped[str] = mapped_column(Text)
    offices: Mapped[list[str]] = mapped_column(JSON, default=list)
    steps: Mapped[list[str]] = mapped_column(JSON)
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    processing_time_text: Mapped[str] = mapped_column(Text)
    processing_working_days: Mapped[float | None] = mapped_column(Float)
    fees: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    online_mode: Mapped[str] = mapped_column(String(16))
    online_link: Mapped[str | None] = mapped_column(String(500))
    online_note: Mapped[str | None] = mapped_column(Text)
    legal_basis: Mapped[list[str]] = mapped_column(JSON, default=list)
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    verified: Mapped[dt.date] = mapped_column(Date)
    unverified: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), index=True)
    search_text: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class OfficeRow(Base):
    """An office citizens go to."""

    __tablename__ = "offices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    address: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(40))
    hours: Mapped[str | None] = mapped_column(String(300))
    map_link: Mapped[str | None] = mapped_column(String(500))
    places: Mapped[list[str]] = mapped_column(JSON, default=list)
    handles: Mapped[list[str]] = mapped_column(JSON, default=list)
    unverified: Mapped[str | None] = mapped_column(String(300))
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class FaqRow(Base):
    """An administrator-written question and answer."""

    __tablename__ = "faqs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    question: Mapped[str] = mapped_column(String(300))
    paraphrases: Mapped[list[str]] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(Text)
    procedure: Mapped[str | None] = mapped_column(String(64), index=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), index=True)
    search_text: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class CityRow(Base):
    """The city profile (one row, id 1)."""

    __tablename__ = "city"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class KbDraftRow(Base):
    """An unpublished edit of a knowledge-base entry (new or existing); citizens never see it."""

    __tablename__ = "kb_drafts"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # procedure, faq, office
    entry_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    username: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class AuditRow(Base):
    """One change made by a staff member: who, when, what, before and after."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    username: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(32))  # procedure, faq, office, user, model …
    entry_id: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(32))  # create, update, delete, publish, undo …
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    summary: Mapped[str] = mapped_column(Text, default="")


class NationalRecordRow(Base):
    """One record of the national procedure catalog, as imported, with the city's own layer:
    an officer's corrections (``edits``, procedure fields laid over the record), local aliases
    among them, and the promotion to the verified tier (who, when). A re-import replaces
    ``record`` and keeps the city's layer."""

    __tablename__ = "national_records"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    field: Mapped[str] = mapped_column(String(300), index=True)
    levels: Mapped[str] = mapped_column(String(300))
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    edits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    promoted_by: Mapped[str | None] = mapped_column(String(40))
    promoted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    captured: Mapped[dt.date] = mapped_column(Date)
    search_text: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class SynonymRow(Base):
    """Everyday words for an official term ("sổ hồng", "sổ đỏ" -> "giấy chứng nhận quyền sử
    dụng đất"): procedure search reads a question with the official term added. Staff edit
    them; they need no retraining."""

    __tablename__ = "kb_synonyms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    phrases: Mapped[list[str]] = mapped_column(JSON)
    meaning: Mapped[str] = mapped_column(String(300))
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
