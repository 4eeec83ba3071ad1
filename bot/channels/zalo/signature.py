"""Checking a Zalo webhook delivery's signature, per the configured scheme (Zalo's documentation
leaves it uncertain, so it is a setting)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from bot.service.settings import Settings


def expected_signature(settings: Settings, raw: bytes, body: Mapping[str, Any],
                       headers: Mapping[str, str]) -> str | None:
    """The signature a genuine delivery carries, per the configured scheme (None: can't tell)."""
    key = (settings.zalo_oa_secret if settings.zalo_signature_key == "oa_secret"
           else settings.zalo_app_secret)
    if not key:
        return None
    if settings.zalo_signature_scheme == "hmac-sha256":
        return hmac.new(key.encode("utf-8"), raw, hashlib.sha256).hexdigest()
    app_id = body.get("app_id")
    timestamp = (headers.get(settings.zalo_signature_timestamp_header)
                 if settings.zalo_signature_timestamp_header else body.get("timestamp"))
    if app_id is None or timestamp is None:
        return None
    data = str(app_id).encode("utf-8") + raw + str(timestamp).encode("utf-8") + key.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def signature_ok(settings: Settings, raw: bytes, body: Mapping[str, Any],
                 headers: Mapping[str, str]) -> bool:
    """Whether the delivery's signature header matches (``mac=`` prefix and case ignored)."""
    got = headers.get(settings.zalo_signature_header, "").strip()
    if got[:4].lower() == "mac=":
        got = got[4:].strip()
    expected = expected_signature(settings, raw, body, headers)
    if not got or expected is None:
        return False
    return hmac.compare_digest(got.lower().encode("utf-8"), expected.encode("utf-8"))
