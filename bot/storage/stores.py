"""Every store of the service, built once on one sessionmaker (the composition root holds
them; pages, channels and the dispatcher are handed the ones they use)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.batch import WriteBatcher
from bot.storage.conversations import ConversationStore
from bot.storage.feedback import FeedbackStore
from bot.storage.follows import FollowStore
from bot.storage.handoff_queue import HandoffStore
from bot.storage.inbox import Inbox
from bot.storage.key_values import KeyValueStore
from bot.storage.outbox import Outbox
from bot.storage.own_data import PersonalDataStore
from bot.storage.staff import StaffStore
from bot.storage.training import TrainingStore
from bot.storage.transcripts import TranscriptStore
from knowledge.store import KnowledgeStore


@dataclass(frozen=True, slots=True)
class Stores:
    """The database, store by store."""

    sessions: async_sessionmaker[AsyncSession]
    knowledge: KnowledgeStore
    conversations: ConversationStore
    inbox: Inbox
    outbox: Outbox
    key_values: KeyValueStore
    staff: StaffStore
    feedback: FeedbackStore
    training: TrainingStore
    handoff: HandoffStore
    transcripts: TranscriptStore
    personal_data: PersonalDataStore
    follows: FollowStore


def build_stores(knowledge: KnowledgeStore, batcher: WriteBatcher,
                 state_cache_size: int, follows: FollowStore | None = None) -> Stores:
    """Every store on the knowledge store's sessionmaker; hot writes go through ``batcher``.
    ``state_cache_size`` 0 turns the conversation-state cache off (several writers)."""
    sessions = knowledge.sessions
    conversations = ConversationStore(sessions, state_cache_size, batcher)
    return Stores(sessions, knowledge, conversations, Inbox(sessions, batcher), Outbox(sessions),
                  KeyValueStore(sessions), StaffStore(sessions), FeedbackStore(sessions),
                  TrainingStore(sessions), HandoffStore(sessions, conversations),
                  TranscriptStore(sessions), PersonalDataStore(sessions, conversations),
                  follows or FollowStore(sessions))
