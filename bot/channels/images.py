"""What every channel does with an image a citizen sends: read the receipt in it (in a thread,
it is CPU work) and make the message the pipeline answers - the dossier code as if typed, or
the notice that fits. The bytes are dropped when this returns; nothing stores them."""

from __future__ import annotations

import asyncio
import logging

from actions import texts
from actions.base import MessageKind
from bot.core.messages import IncomingMessage
from bot.receipts import ReceiptLimits, Verdict, read_receipt
from bot.service.settings import Settings

log = logging.getLogger(__name__)

_KINDS = {
    Verdict.OTHER: MessageKind.MEDIA,  # symbols read, none a dossier code: something else
    Verdict.NO_CODE: MessageKind.RECEIPT_NO_CODE,
    Verdict.REFUSED: MessageKind.IMAGE_REFUSED,
}


def receipt_limits(settings: Settings) -> ReceiptLimits:
    """The size limits of the settings."""
    return ReceiptLimits(max_bytes=settings.receipt_max_bytes,
                         max_pixels=settings.receipt_max_pixels)


def notice_message(channel: str, user_id: str, message_id: str | None,
                   kind: MessageKind) -> IncomingMessage:
    """A notice of ``kind``, named rather than written."""
    return IncomingMessage(channel, user_id, texts.NOTICE_TRANSCRIPT[kind],
                           message_id=message_id, kind=kind)


async def image_message(channel: str, user_id: str, message_id: str | None, data: bytes,
                        limits: ReceiptLimits) -> IncomingMessage:
    """The message an image stands for: its dossier code as text, or a notice."""
    reading = await asyncio.to_thread(read_receipt, data, limits)
    log.info("%s image from %s: %s (%s)", channel, user_id, reading.verdict, reading.detail)
    if reading.verdict is Verdict.CODE and reading.code is not None:
        return IncomingMessage(channel, user_id, reading.code, message_id=message_id)
    return notice_message(channel, user_id, message_id, _KINDS[reading.verdict])
