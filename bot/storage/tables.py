"""SQLAlchemy tables of conversations: state, turns, the inbox and outbox, key-values, staff
notes, training labels and NLU model versions (the knowledge base's own are in
``knowledge/tables.py``; staff accounts in ``bot/storage/staff.py``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from knowledge.tables import Base


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
    # text, or a kind the bot answers with a fixed notice (actions.base.MessageKind)
    kind: Mapped[str] = mapped_column(String(16), default="text", server_default="text")
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


class LoginAttemptRow(Base):
    """Staff login attempts counted under one key ("addr:…" or "name:…|addr:…") in a window
    (``bot/storage/login_throttle.py``)."""

    __tablename__ = "login_attempts"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class DossierFollowRow(Base):
    """A citizen following a dossier: where to tell them, what they were last told, when the
    status API is asked next (``bot/storage/follows.py``, ``bot/follow/``)."""

    __tablename__ = "dossier_follows"
    __table_args__ = (UniqueConstraint("conversation_id", "code",
                                       name="uq_dossier_follows_conversation_code"),
                      Index("ix_dossier_follows_due", "active", "next_poll_at"),
                      Index("ix_dossier_follows_code", "code", "active"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(200), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(160))
    code: Mapped[str] = mapped_column(String(64))
    last_status: Mapped[str] = mapped_column(String(32))
    last_due: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=0)  # one per change told
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    end_reason: Mapped[str | None] = mapped_column(String(16))  # unfollowed, final, expired
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    next_poll_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    failures: Mapped[int] = mapped_column(Integer, default=0)  # polls failed in a row


class DossierNoticeRow(Base):
    """A change of a followed dossier to tell the citizen: one row per (follow, change), so a
    change seen twice (two pollers, poll and push) is told once."""

    __tablename__ = "dossier_notices"
    __table_args__ = (UniqueConstraint("follow_id", "version", name="uq_dossier_notices_change"),
                      Index("ix_dossier_notices_state", "state", "next_try_at"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    follow_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    version: Mapped[int] = mapped_column(Integer)
    conversation_id: Mapped[str] = mapped_column(String(200), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(160))
    code: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))  # the dossier's
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))  # learnt by us
    # pending -> sent; held (Zalo, outside the reply window) -> pending (late) once they write
    state: Mapped[str] = mapped_column(String(16), default="pending")
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    way: Mapped[str | None] = mapped_column(String(16))  # message, transaction, late
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    held_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class DossierEventRow(Base):
    """An event a one-stop-shop system pushed (``POST /api/dossier-events``), kept by its id
    so a retried push is applied once."""

    __tablename__ = "dossier_events"

    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
