"""What the follow actions need of the place followed dossiers are kept (the contract; the
store in ``bot/storage/follows.py`` implements it), like ``dossier_source.py`` for lookups."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

FOLLOW_ADDED = "added"
FOLLOW_ALREADY = "already"
FOLLOW_FULL = "full"


class FollowedDossier(Protocol):
    """A dossier a conversation follows, as far as the citizen may see it."""

    @property
    def code(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def due_at(self) -> dt.datetime | None: ...

    @property
    def expires_at(self) -> dt.datetime: ...


class FollowBook(Protocol):
    """Following dossiers for one conversation."""

    limit: int  # dossiers one citizen may follow at once
    days: int  # how long a follow lasts

    async def follow(self, conversation_id: str, code: str, status: str,
                     due_at: dt.datetime | None, changed_at: dt.datetime,
                     now: dt.datetime) -> str:
        """Follow from the current status: ``added``, ``already`` or ``full``."""
        ...

    async def unfollow(self, conversation_id: str, code: str | None = None) -> list[str]:
        """Stop following one dossier (every one when ``code`` is None); the codes stopped."""
        ...

    async def followed(self, conversation_id: str) -> Sequence[FollowedDossier]:
        """The dossiers followed now, oldest first."""
        ...
