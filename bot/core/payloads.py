"""Button payloads: ``/intent{"entity": "value"}`` is understood exactly as the text it stands for.

A payload parses to the intent it names with full confidence and the entities it carries, so
tapping "Lệ phí" under a passport answer is the same as typing "lệ phí làm hộ chiếu".
"""

from __future__ import annotations

import json
import re

from nlu.intents import Intent
from nlu.types import Entity, IntentScore, ParseResult

PAYLOAD_PATTERN = re.compile(r"^/(?P<intent>[a-z_]{2,40})(?P<entities>\{.{0,200}\})?$", re.DOTALL)
EXTRA_INTENTS = frozenset({"resume_bot", "feedback", "rate"})  # buttons only, not NLU
KNOWN_INTENTS = frozenset(i.value for i in Intent) | EXTRA_INTENTS
COMMAND_ALIASES = {"start": Intent.GREET.value, "tracuu": Intent.DOSSIER_STATUS.value}


def parse_payload(text: str) -> ParseResult | None:
    """The parse a payload stands for, or None when the text is not a known payload."""
    match = PAYLOAD_PATTERN.match(text.strip())
    if match is None:
        return None
    intent = COMMAND_ALIASES.get(match.group("intent"), match.group("intent"))
    if intent not in KNOWN_INTENTS:
        return None
    entities: list[Entity] = []
    if match.group("entities"):
        try:
            data = json.loads(match.group("entities"))
        except json.JSONDecodeError:
            return None
        if not isinstance(data, dict):
            return None
        entities = [Entity(str(k), str(v), 0, 0, 1.0, str(v), "payload")
                    for k, v in data.items() if isinstance(v, str | int)]
    score = IntentScore(intent, 1.0)
    return ParseResult(text, score, (score,), tuple(entities), "payload")
