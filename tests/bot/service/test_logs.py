"""Structured logs: JSON lines with the conversation id, and no citizen text above DEBUG."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pydantic
import pytest
from aiohttp.test_utils import TestClient

from bot.service.logs import configure_logging, conversation_context, current_conversation
from bot.service.settings import Settings
from tests.conftest import set_simulator_mode

SECRET = "Nguyễn Thị Bí Mật nhà số 42 hẻm Hoa Sữa"
DOSSIER = "000.00.12.H31-261118-0002"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Logging configured like the service does, into a buffer; restored afterwards."""
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    handler = configure_logging(logging.DEBUG, "json", stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_the_conversation_id_while_one_is_handled(
        captured: io.StringIO) -> None:
    stream = captured
    log = logging.getLogger("egovbot.test")
    log.info("before")
    with conversation_context("telegram:42"):
        assert current_conversation() == "telegram:42"
        log.warning("during %d", 1)
        with conversation_context("web:x"):
            log.info("nested")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
    log.info("after")
    assert current_conversation() is None

    before, during, nested, failed, after = lines(stream)
    assert set(before) == {"time", "level", "logger", "message"}
    assert before["level"] == "INFO" and before["logger"] == "egovbot.test"
    assert before["time"].endswith("+00:00")
    assert (during["message"], during["conversation_id"]) == ("during 1", "telegram:42")
    assert nested["conversation_id"] == "web:x"
    assert failed["conversation_id"] == "telegram:42"
    assert "ValueError: boom" in failed["exception"]
    assert "conversation_id" not in after


def test_text_format_names_the_conversation() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(logging.INFO, "text", stream)
    try:
        with conversation_context("zalo:7"):
            logging.getLogger("egovbot.test").info("hello")
        logging.getLogger("egovbot.test").info("bye")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    first, second = stream.getvalue().splitlines()
    assert first.endswith("INFO egovbot.test [zalo:7]: hello")
    assert second.endswith("INFO egovbot.test: bye")


def test_configure_logging_replaces_its_own_handler_only() -> None:
    root = logging.getLogger()
    level, others = root.level, list(root.handlers)
    first = configure_logging(logging.INFO, "text", io.StringIO())
    second = configure_logging(logging.INFO, "json", io.StringIO())
    try:
        assert first not in root.handlers and second in root.handlers
        assert [h for h in root.handlers if h is not second] == others
        with pytest.raises(ValueError, match="log format"):
            configure_logging(logging.INFO, "xml")
    finally:
        root.removeHandler(second)
        root.setLevel(level)


def test_the_log_format_setting() -> None:
    assert Settings.model_fields["log_format"].default == "text"
    assert Settings(log_format="json").log_format == "json"
    with pytest.raises(pydantic.ValidationError):
        Settings(log_format="xml")


async def test_citizen_text_stays_out_of_logs_above_debug(
        service: TestClient[Any, Any], simulator: str,
        captured: io.StringIO) -> None:
    stream = captured
    await set_simulator_mode(simulator, "fail")  # the status API fails: INFO lines are logged
    try:
        for text in (f"{SECRET} tra cứu hồ sơ {DOSSIER}", f"{SECRET} chào bạn"):
            response = await service.post("/api/chat", json={"sender": "log1", "message": text})
            assert response.status == 200
    finally:
        await set_simulator_mode(simulator, "normal")

    records = lines(stream)
    handled = [r for r in records if r.get("conversation_id") == "web:log1"]
    assert any(r["logger"] == "bot.dossier_api.client" and r["level"] == "INFO"
               for r in handled), records
    assert any(r["logger"] == "bot.core.pipeline" and r["level"] == "DEBUG" for r in handled)
    loud = [r for r in records if r["level"] != "DEBUG"]
    assert loud
    for record in loud:
        text = json.dumps(record, ensure_ascii=False)
        assert "Bí Mật" not in text and "Hoa Sữa" not in text, record
