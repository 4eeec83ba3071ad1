"""Which webhook updates take the fast text path (read from the JSON) and which go through
PTB's ``Update`` with its checks (issue 16)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.channels.telegram.updates import plain_text
from tests.fakes.telegram_api import callback_update, photo_update, text_update

CHAT = 424242


def test_a_text_message_from_a_person_is_read_from_the_json() -> None:
    assert plain_text(text_update(CHAT, "xin chào")) == (CHAT, "xin chào")


def _bot_sender() -> dict[str, Any]:
    update = text_update(CHAT, "tôi là bot")
    update["message"]["from"]["is_bot"] = True
    return update


def _chat_id_text() -> dict[str, Any]:
    update = text_update(CHAT, "x")
    update["message"]["chat"]["id"] = "424242"
    return update


def _number_text() -> dict[str, Any]:
    update = text_update(CHAT, "x")
    update["message"]["text"] = 7
    return update


def _edited() -> dict[str, Any]:
    update = text_update(CHAT, "sửa")
    update["edited_message"] = update.pop("message")
    return update


@pytest.mark.parametrize("build", [_bot_sender, _chat_id_text, _number_text, _edited,
                                   lambda: photo_update(CHAT),
                                   lambda: callback_update(CHAT, "/start")])
def test_anything_else_goes_through_ptb(build: Any) -> None:
    assert plain_text(build()) is None
