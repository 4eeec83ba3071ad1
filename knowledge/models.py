"""SQLAlchemy tables: the knowledge base (procedures, offices, FAQs, city) and conversations.

Scalar facts are columns; ordered lists of structured items (steps, documents, fees, aliases)
are JSON columns holding exactly what the pydantic schema validated. ``search_text`` is the
accent-folded text the search reads, computed by ``knowledge.search.search_key`` on write.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from knowledge.db import Base


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


class ConversationRow(Base):
    """One citizen's conversation on one channel, with its dialogue state."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # "<channel>:<user id>"
    channel: Mapped[str] = mapped_column(String(32), index=True)
    user_id: Mapped[str] = mapped_column(String(160))
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="bot", index=True)
    unreachable: Mapped[str | None] = mapped_column(String(300))  # e.g. the user blocked the bot
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    # Summaries kept up to date on every save, so staff filters read this table only.
    messages: Mapped[int] = mapped_column(Integer, default=0)  # citizen messages
    intents: Mapped[str] = mapped_column(String(1000), default=" ")  # " greet procedure_fee "
    procedures: Mapped[str] = mapped_column(String(1000), default=" ")  # " ho-chieu "
    fallbacks: Mapped[int] = mapped_column(Integer, default=0)  # misunderstood messages
    min_confidence: Mapped[float | None] = mapped_column(Float)
    handoff: Mapped[bool] = mapped_column(Boolean, default=False)  # ever asked for a person
    feedback_up: Mapped[int] = mapped_column(Integer, default=0)
    feedback_down: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[int | None] = mapped_column(Integer)  # 1-5 after a handoff
    tags: Mapped[str] = mapped_column(String(1000), default=" ")  # " khieu-nai "
    search_text: Mapped[str] = mapped_column(Text, default="")  # folded citizen text, capped
    handoff_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    assigned_to: Mapped[str | None] = mapped_column(String(40))  # the officer who took it


class TurnRow(Base):
    """One message in or out of a conversation; text is masked before it is stored."""

    __tablename__ = "turns"
    __table_args__ = (Index("ix_turns_conversation_at", "conversation_id", "id"),
                      Index("ix_turns_review", "misunderstood", "reviewed", "at"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(4))  # "in" or "out"
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float)
    entities: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    procedure: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(64))
    latency_ms: Mapped[float | None] = mapped_column(Float)
    misunderstood: Mapped[bool] = mapped_column(Boolean, default=False)
    feedback: Mapped[int | None] = mapped_column(Integer)  # +1 / -1 from the citizen
    folded: Mapped[str] = mapped_column(String(500), default="")  # grouping key of "in" turns
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)  # labelled or dismissed
    sender: Mapped[str] = mapped_column(String(40), default="bot")  # bot, or the officer


class InboxRow(Base):
    """An accepted inbound message: stored before it is processed, deduplicated by channel id."""

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("channel", "message_id", name="uq_inbox_channel_message"),
                      Index("ix_inbox_status_id", "status", "id"),
                      Index("ix_inbox_conversation_status", "channel", "user_id", "status"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[str] = mapped_column(String(160))
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # pending -> answered (handled; replies stored with the transcript) -> done (sent)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    processed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    replies: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)


class OutboxRow(Base):
    """A reply waiting to be fetched by a pull channel (the web widget polls for these)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_conversation_id", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reply: Mapped[dict[str, Any]] = mapped_column(JSON)
    sender: Mapped[str] = mapped_column(String(16), default="bot")  # bot | staff


class KeyValueRow(Base):
    """Small named values that must survive restarts (e.g. a channel's rotating token)."""

    __tablename__ = "key_values"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ConversationNoteRow(Base):
    """A support officer's note on a conversation."""

    __tablename__ = "conversation_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    username: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)


class TrainingExampleRow(Base):
    """A message labelled by staff: it becomes NLU training data."""

    __tablename__ = "training_examples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str] = mapped_column(String(64), index=True)
    procedure: Mapped[str | None] = mapped_column(String(64))
    turn_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    username: Mapped[str] = mapped_column(String(40))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class NluModelRow(Base):
    """A trained NLU model version: where its file is, how it scored, whether it serves."""

    __tablename__ = "nlu_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    username: Mapped[str] = mapped_column(String(40))
    examples: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))  # training, active, rejected, retired, failed
    note: Mapped[str] = mapped_column(Text, default="")


class KbDraftRow(Base):
    """An unpublished edit of a knowledge-base entry (new or existing); citizens never see it."""

    __tablename__ = "kb_drafts"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # procedure, faq, office
    entry_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    username: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
