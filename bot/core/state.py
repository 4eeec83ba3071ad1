"""What the bot remembers about a conversation between messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from actions.conditions import Conditions, merged
from actions.precheck import PRECHECK_DAYS


@dataclass(frozen=True, slots=True)
class ConversationState:
    """Slots of one conversation."""

    procedure: str | None = None  # the procedure under discussion
    last_intent: str | None = None
    awaiting: str | None = None  # "procedure", "dossier_code", "dossier_retry" or "place"
    place: str | None = None  # the citizen's xã/phường/đặc khu once said (a unit's name)
    pending_intent: str | None = None  # the question waiting for its procedure
    fallbacks: int = 0  # misunderstandings in a row
    reminded: bool = False  # told once that staff will answer
    erase_token: str | None = None  # the one-time token of the pending "delete my data?"
    # The procedures a "which procedure?" offered, so a typed answer naming one of them (or
    # a question that still fits one) resolves against them as a tap would.
    options: tuple[str, ...] = ()
    # what the citizen said of their case: age, who files, lost/damaged/expired
    # (actions/conditions.py), so a follow-up is answered for the same case
    conditions: dict[str, Any] | None = None
    # the walk through a procedure's papers (actions/precheck.py), kept for days
    precheck: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConversationState:
        """Read saved slots, ignoring unknown or mistyped ones."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known}).sanitised()

    def sanitised(self) -> ConversationState:
        """Coerce saved values to their types (state written by an older version)."""
        return replace(
            self,
            fallbacks=self.fallbacks if isinstance(self.fallbacks, int) else 0,
            reminded=bool(self.reminded),
            place=self.place if isinstance(self.place, str) else None,
            options=_ids(self.options),
            precheck=self.precheck if isinstance(self.precheck, dict) else None,
            conditions=Conditions.from_dict(self.conditions).to_dict(),
        )

    def after_idle(self, idle: dt.timedelta) -> ConversationState:
        """What survives a pause longer than the dialogue's: an unfinished check of papers,
        for ``PRECHECK_KEPT``, so the citizen can resume it another day."""
        if self.precheck is not None and idle <= PRECHECK_KEPT:
            return ConversationState(precheck=self.precheck)
        return ConversationState()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready slots (every field is a plain value)."""
        return {name: list(value) if isinstance(value, tuple) else value
                for name in _FIELD_NAMES for value in (getattr(self, name),)}

    def heard(self, slots: Mapping[str, Any], place: str | None,
              said: Conditions | None = None) -> dict[str, Any]:
        """An action's slot changes with the citizen's unit said in the message (``place``,
        a unit's name) and the conditions it states (``said``, merged with the earlier
        ones) remembered, unless the action set them itself."""
        heard = dict(slots)
        if place is not None and "place" not in slots:
            heard["place"] = place
        if said and "conditions" not in slots:
            heard["conditions"] = merged(Conditions.from_dict(self.conditions), said).to_dict()
        return heard

    def updated(self, slots: Mapping[str, Any]) -> ConversationState:
        """A copy with the action's slot changes applied (None clears a slot)."""
        defaults: dict[str, Any] = {f.name: f.default for f in fields(self)}
        data = self.to_dict()
        for key, value in slots.items():
            if key in defaults:
                data[key] = defaults[key] if value is None else value
        return ConversationState(**data).sanitised()


def _ids(value: Any) -> tuple[str, ...]:
    """Saved procedure ids as a tuple of strings (anything else: none)."""
    if not isinstance(value, list | tuple):
        return ()
    return tuple(item for item in value if isinstance(item, str))


PRECHECK_KEPT = dt.timedelta(days=PRECHECK_DAYS)  # an unfinished check of papers is kept
_FIELD_NAMES = tuple(f.name for f in fields(ConversationState))
