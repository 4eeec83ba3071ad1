"""Button payloads as Telegram callback data: short ones as they are, longer ones as a stored id
(callback data holds 64 bytes)."""

from __future__ import annotations

import base64
import hashlib
from collections import OrderedDict

from bot.storage.key_values import KeyValueStore

MAX_CALLBACK_BYTES = 64


MAX_BUTTONS = 100


CALLBACK_PREFIX = "#"


CALLBACK_KEY = "telegram:callback:"


class CallbackCodec:
    """Button payloads as ``callback_data`` of at most 64 bytes.

    A payload that is a Rasa-style ``/intent{...}`` and fits in 64 UTF-8 bytes is sent as it is.
    Anything else becomes ``#`` plus 16 characters of its SHA-256: deterministic, so the same
    button always gets the same id and the store holds each payload once, and stored in the
    key-value table, so buttons sent before a restart (or by another worker) still work.
    """

    def __init__(self, store: KeyValueStore, cache_size: int = 4096) -> None:
        self.store = store
        self.cache_size = cache_size
        self._known: OrderedDict[str, str] = OrderedDict()

    @staticmethod
    def short_id(payload: str) -> str:
        """The deterministic short id of a payload."""
        digest = hashlib.sha256(payload.encode("utf-8")).digest()[:12]
        return CALLBACK_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")

    def _remember(self, data: str, payload: str) -> None:
        self._known[data] = payload
        self._known.move_to_end(data)
        while len(self._known) > self.cache_size:
            self._known.popitem(last=False)

    async def encode(self, payload: str) -> str:
        """The ``callback_data`` for a payload."""
        if payload.startswith("/") and len(payload.encode("utf-8")) <= MAX_CALLBACK_BYTES:
            return payload
        data = self.short_id(payload)
        if data not in self._known:
            # False when it is stored already (same payload, same id): nothing to do
            await self.store.compare_and_set(CALLBACK_KEY + data[1:], {"payload": payload}, None)
        self._remember(data, payload)
        return data

    async def decode(self, data: str | None) -> str | None:
        """The payload a button stands for; None when the id is unknown or expired."""
        if not data:
            return None
        if not data.startswith(CALLBACK_PREFIX):
            return data
        if data in self._known:
            return self._known[data]
        stored = await self.store.get(CALLBACK_KEY + data[1:])
        payload = stored.value.get("payload") if stored is not None else None
        if not isinstance(payload, str):
            return None
        self._remember(data, payload)
        return payload
