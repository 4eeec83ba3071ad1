"""The path every message takes: state → NLU → policy → action → save state and transcript.

``Pipeline.handle(message)`` is what every channel calls; it returns the replies and leaves
rendering and sending to the channel.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from sqlalchemy import Connection

from actions.base import Action, ActionContext, ActionResult, ConversationStatus, Reply, Services
from bot.core.messages import IncomingMessage, clean_text
from bot.core.payloads import parse_payload
from bot.core.policy import Decision, FaqMatch, decide
from bot.core.state import ConversationState
from bot.service import metrics
from bot.service.coordination.locks import ConversationLocks, Locks
from bot.service.logs import conversation_context
from bot.storage.conversations import ConversationStore, TurnRecord
from knowledge.snapshot import KnowledgeSnapshot
from nlu.intents import EntityType
from nlu.types import Parser, ParseResult, parse_async

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HandledMessage:
    """The replies to a message and how the bot got there."""

    replies: list[Reply]
    parse: ParseResult
    decision: Decision
    latency_ms: float


class Pipeline:
    """Handles messages for every channel."""

    def __init__(self, nlu: Parser, services: Services, conversations: ConversationStore,
                 actions: Mapping[str, Action], state_ttl: dt.timedelta,
                 locks: Locks | None = None) -> None:
        self.nlu = nlu
        self.services = services
        self.conversations = conversations
        self.actions = actions
        self.state_ttl = state_ttl
        self.locks: Locks = locks if locks is not None else ConversationLocks()

    def use_knowledge(self, knowledge: KnowledgeSnapshot) -> None:
        """Answer from a new knowledge snapshot from the next message on."""
        self.services = replace(self.services, knowledge=knowledge)

    async def handle(self, message: IncomingMessage) -> list[Reply]:
        """Handle one message and return the replies."""
        return (await self.handle_detailed(message)).replies

    async def handle_detailed(self, message: IncomingMessage) -> HandledMessage:
        """Handle one message under its conversation's lock; also tell how it was understood."""
        async with self.locks.hold(message.conversation_id):
            return await self.process(message)

    async def process(self, message: IncomingMessage,
                      settle: Callable[[list[Reply]], Callable[[Connection], None]] | None = None,
                      ) -> HandledMessage:
        """Handle one message; the caller holds the conversation's lock.

        ``settle(replies)`` gives a write committed in the same transaction as the turn (the
        dispatcher marks the inbox row handled with it); if that write raises, nothing of
        this message is saved and the exception propagates. Log records made meanwhile carry
        the conversation id; the time taken goes to the metrics.
        """
        started = time.perf_counter()
        with conversation_context(message.conversation_id):
            handled = await self._process(message, settle, started)
        metrics.observe_handle(time.perf_counter() - started)
        return handled

    async def _process(self, message: IncomingMessage,
                       settle: Callable[[list[Reply]], Callable[[Connection], None]] | None,
                       started: float) -> HandledMessage:
        text = clean_text(message.text)
        stored = await self.conversations.load(message.conversation_id)
        state, status = ConversationState(), ConversationStatus.BOT
        if stored is not None:
            status = ConversationStatus(stored.status)
            idle = message.received_at - stored.updated_at
            if status != ConversationStatus.BOT or idle <= self.state_ttl:
                state = ConversationState.from_dict(stored.state)

        parse, decision, procedure, result = await self.respond(
            text, state, status, message, self.services, self.nlu)
        latency_ms = (time.perf_counter() - started) * 1000

        new_state = state.updated(result.slots)
        new_state = replace(
            new_state,
            last_intent=decision.intent,
            fallbacks=state.fallbacks + 1 if decision.misunderstood else 0,
        )
        new_status = result.status or status
        replies = list(result.replies)
        turns = [
            TurnRecord(
                "in", text, at=message.received_at, intent=parse.intent.name,
                confidence=round(parse.intent.confidence, 4),
                entities=[e.to_dict() for e in parse.entities],
                procedure=new_state.procedure if decision.action != "with_staff" else procedure,
                action=decision.action, latency_ms=round(latency_ms, 2),
                misunderstood=decision.misunderstood,
            ),
            *(TurnRecord("out", reply.text, action=decision.action) for reply in replies),
        ]
        await self.conversations.save(message.conversation_id, message.channel,
                                      message.user_id, new_state.to_dict(), new_status, turns,
                                      also=settle(replies) if settle is not None else None)
        if decision.misunderstood:
            metrics.fallback(message.channel)
        if new_status == ConversationStatus.WAITING and status != ConversationStatus.WAITING:
            metrics.handoff(message.channel)
        log.debug("conversation %s: %s -> %s (%s)", message.conversation_id,
                  parse.intent.name, decision.action, decision.reason)
        return HandledMessage(replies, parse, decision, latency_ms)

    async def respond(self, text: str, state: ConversationState, status: str,
                      message: IncomingMessage, services: Services, nlu: Parser,
                      ) -> tuple[ParseResult, Decision, str | None, ActionResult]:
        """Understand a cleaned text and run the action it calls for; saves nothing.

        ``process`` uses it with the live knowledge and NLU; the admin preview uses it with a
        draft applied to both, so a preview runs exactly the code citizens get.
        """
        parse = parse_payload(text)
        if parse is None:
            started = time.perf_counter()
            parse = await parse_async(nlu, text)
            metrics.observe_parse(time.perf_counter() - started)
        decision = decide(parse, state, status, self._faq_match(services.knowledge, text, parse),
                          text)
        procedure = decision.procedure
        if procedure is not None and procedure not in services.knowledge.procedures:
            procedure = None
        ctx = ActionContext(
            text=text, parse=parse, intent=decision.intent, procedure=procedure,
            slots=state.to_dict(), services=services,
            conversation_id=message.conversation_id, channel=message.channel,
            now=message.received_at, faq_id=decision.faq_id, options=decision.options,
        )
        return parse, decision, procedure, await self.actions[decision.action].run(ctx)

    @staticmethod
    def _faq_match(knowledge: KnowledgeSnapshot, text: str,
                   parse: ParseResult) -> FaqMatch | None:
        if parse.engine == "payload" or parse.first(EntityType.DOSSIER_CODE) or not text:
            return None
        hits = knowledge.index.search(text, limit=1, kind="faq", whole=True)
        if not hits:
            return None
        faq = knowledge.faqs.get(hits[0].id)
        return FaqMatch(hits[0].id, hits[0].score, faq.procedure if faq else None)
