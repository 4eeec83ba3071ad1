"""The registry of channels: which ones run is decided here, from settings, and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass

from actions.base import RateLimiter
from bot.channels.base import Channel
from bot.channels.images import receipt_limits
from bot.channels.telegram.channel import TelegramChannel
from bot.channels.web.channel import WebChannel
from bot.channels.zalo.channel import ZaloChannel
from bot.service.settings import Settings
from bot.storage.conversations import ConversationStore
from bot.storage.key_values import KeyValueStore
from bot.storage.outbox import Outbox


@dataclass(frozen=True, slots=True)
class ChannelDeps:
    """Stores channels may use."""

    outbox: Outbox
    conversations: ConversationStore
    key_values: KeyValueStore
    limiter: RateLimiter | None = None  # counts the web chat's dossier lookups per address


def build_channels(settings: Settings, deps: ChannelDeps) -> dict[str, Channel]:
    """Every enabled channel by name: the web channel always, the others when configured."""
    channels: list[Channel] = [WebChannel(
        deps.outbox, deps.key_values, allow_unsigned=settings.web_allow_unsigned_senders,
        limiter=deps.limiter, lookups_per_address=settings.dossier_lookups_per_address,
        receipt_limits=receipt_limits(settings))]
    if settings.telegram_token:
        channels.append(TelegramChannel(settings, deps.conversations, deps.key_values))
    if settings.zalo_app_id:
        channels.append(ZaloChannel(settings, deps.conversations, deps.key_values))
    return {channel.name: channel for channel in channels}
