"""The path every message takes: state → brain (NLU → policy → action) → state and transcript
saved.

``Pipeline.handle(message, unit)`` is the one entry point: it loads the conversation, asks
the current brain (``bot/core/brain.py``) for the turn, and commits state, status and
transcript, reading and writing through a unit of work (``bot/storage/turns.py``; the
dispatcher's also marks the inbox row answered, in the same transaction). Rendering and
sending are the channel's. The caller holds the conversation's lock when others may touch the
conversation (the dispatcher and the handoff desk do).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, replace

from actions.base import ConversationStatus, Reply
from bot.core.brain import Brain, answer
from bot.core.messages import IncomingMessage
from bot.core.policy import Decision
from bot.core.state import ConversationState
from bot.service import metrics
from bot.service.coordination.locks import ConversationLocks, Locks
from bot.service.logs import conversation_context
from bot.storage.conversations import ConversationStore, TurnRecord
from bot.storage.turns import AnsweredTurn, TurnTransaction
from nlu.types import ParseResult

log = logging.getLogger(__name__)

@dataclass(frozen=True, slots=True)
class HandledMessage:
    """The replies to a message and how the bot got there."""

    replies: list[Reply]
    parse: ParseResult
    decision: Decision
    latency_ms: float


class Pipeline:
    """Handles messages for every channel, answering from ``brain`` (swapped whole on
    reload)."""

    def __init__(self, brain: Brain, conversations: ConversationStore,
                 state_ttl: dt.timedelta, locks: Locks | None = None) -> None:
        self.brain = brain
        self.conversations = conversations
        self.state_ttl = state_ttl
        self.locks: Locks = locks if locks is not None else ConversationLocks()

    async def handle(self, message: IncomingMessage,
                     unit: TurnTransaction | None = None) -> HandledMessage:
        """Handle one message: the replies, and how it was understood.

        The turn is committed through ``unit`` (by default one that saves the conversation
        alone); if the commit raises, nothing of this message is saved and the exception
        propagates. Log records made meanwhile carry the conversation id; the time taken goes
        to the metrics.
        """
        started = time.perf_counter()
        with conversation_context(message.conversation_id):
            handled = await self._handle(message, unit or TurnTransaction(self.conversations),
                                         started)
        metrics.observe_handle(time.perf_counter() - started)
        return handled

    async def _handle(self, message: IncomingMessage, unit: TurnTransaction,
                      started: float) -> HandledMessage:
        stored = await unit.load(message.conversation_id)
        state, status = ConversationState(), ConversationStatus.BOT
        if stored is not None:
            status = ConversationStatus(stored.status)
            idle = message.received_at - stored.updated_at
            state = ConversationState.from_dict(stored.state)
            if status == ConversationStatus.BOT and idle > self.state_ttl:
                state = state.after_idle(idle)

        turn = await answer(self.brain, state, status, message)
        parse, decision, result = turn.parse, turn.decision, turn.result
        latency_ms = (time.perf_counter() - started) * 1000

        new_state = state if decision.keeps_state else replace(
            state.updated(result.slots),
            last_intent=decision.intent,
            fallbacks=state.fallbacks + 1 if decision.misunderstood else 0,
        )
        new_status = result.status or status
        if result.erase:  # the conversation starts again: no state, nobody waiting
            new_state = ConversationState(last_intent=decision.intent)
            new_status = ConversationStatus.BOT
        replies = list(result.replies)
        turns = [
            TurnRecord(
                "in", message.text, at=message.received_at, intent=parse.intent.name,
                confidence=round(parse.intent.confidence, 4),
                entities=[e.to_dict() for e in parse.entities],
                procedure=(new_state.procedure if decision.action != "with_staff"
                           else turn.procedure),
                action=decision.action, latency_ms=round(latency_ms, 2),
                misunderstood=decision.misunderstood,
            ),
            *(TurnRecord("out", reply.text, action=decision.action) for reply in replies),
        ]
        await unit.commit(AnsweredTurn(message, new_state.to_dict(), new_status, turns,
                                       replies, erase=result.erase))
        if decision.misunderstood:
            metrics.fallback(message.channel)
        if new_status == ConversationStatus.WAITING and status != ConversationStatus.WAITING:
            metrics.handoff(message.channel)
        log.debug("conversation %s: %s -> %s (%s)", message.conversation_id,
                  parse.intent.name, decision.action, decision.reason)
        return HandledMessage(replies, parse, decision, latency_ms)
