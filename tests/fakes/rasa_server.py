"""A fake Rasa server on loopback: ``POST /model/parse`` answering like ``rasa run --enable-api``.

Answers have Rasa 3.6's shape (``text``, ``intent``, ``entities`` with ``confidence_entity``,
``extractor`` and ``processors``, ``intent_ranking``, ``text_tokens``). Tests script them per
received text with ``answer()``; any other text gets ``default_intent``. ``mode`` makes it
misbehave: ``slow`` (answers after ``delay`` seconds), ``error`` (HTTP 500), ``malformed``
(a body that is not JSON), ``wrong_shape`` (JSON that is not a parse result). ``stop()``
closes it, so the next request finds nothing listening.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

MODES = ("ok", "slow", "error", "malformed", "wrong_shape")


@dataclass
class FakeRasa:
    """The fake's script and what it received."""

    mode: str = "ok"
    delay: float = 5.0
    default_intent: str = "out_of_scope"
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: list[str] = field(default_factory=list)
    tokens: list[str | None] = field(default_factory=list)
    server: TestServer | None = None

    def answer(self, text: str, intent: str, confidence: float = 0.95,
               entities: tuple[tuple[str, str, str], ...] = ()) -> None:
        """Script the answer to ``text``: entities as (entity, surface in text, value)."""
        found = []
        for entity, surface, value in entities:
            start = text.index(surface)
            found.append({"entity": entity, "start": start, "end": start + len(surface),
                          "confidence_entity": 0.99, "value": value,
                          "extractor": "DIETClassifier",
                          **({"processors": ["EntitySynonymMapper"]} if value != surface
                             else {})})
        self.answers[text] = {"intent": intent, "confidence": confidence, "entities": found}

    def parse_answer(self, text: str) -> dict[str, Any]:
        """What Rasa would answer for ``text``."""
        script = self.answers.get(text, {"intent": self.default_intent, "confidence": 0.9,
                                         "entities": []})
        ranking = [{"name": script["intent"], "confidence": script["confidence"]},
                   {"name": "help", "confidence": round(1 - script["confidence"], 4)}]
        return {
            "text": text,
            "intent": ranking[0],
            "entities": script["entities"],
            "text_tokens": [[m.start(), m.end()] for m in re.finditer(r"\S+", text)],
            "intent_ranking": ranking,
            "response_selector": {"all_retrieval_intents": [], "default": {}},
        }

    async def handle(self, request: web.Request) -> web.Response:
        """``POST /model/parse``."""
        body = await request.json()
        self.received.append(body["text"])
        self.tokens.append(request.query.get("token"))
        if self.mode == "slow":
            await asyncio.sleep(self.delay)
        elif self.mode == "error":
            return web.json_response({"version": "3.6.21", "status": "failure",
                                      "message": "An unexpected error occurred.",
                                      "code": 500}, status=500)
        elif self.mode == "malformed":
            return web.Response(text='{"text": "x", "intent": {"name": ', status=200,
                                content_type="application/json")
        elif self.mode == "wrong_shape":
            return web.json_response(["not", "a", "parse", "result"])
        return web.json_response(self.parse_answer(body["text"]))

    async def start(self) -> str:
        """Listen on a loopback port; returns the base URL."""
        app = web.Application()
        app.router.add_post("/model/parse", self.handle)
        app.router.add_get("/", self.hello)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return str(self.server.make_url("")).rstrip("/")

    @staticmethod
    async def hello(_request: web.Request) -> web.Response:
        """Rasa's root answer."""
        return web.Response(text="Hello from Rasa: 3.6.21")

    async def stop(self) -> None:
        """Stop listening."""
        if self.server is not None:
            await self.server.close()
            self.server = None
