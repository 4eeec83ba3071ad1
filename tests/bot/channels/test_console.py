"""The console chat, scripted through stdin, and the pipeline's memory across restarts."""

from __future__ import annotations

import datetime as dt
import io
import sys
from pathlib import Path

import pytest

from bot.channels.console.chat import chat
from bot.core.messages import IncomingMessage
from bot.core.payloads import parse_payload
from bot.service.composition import Runtime, build_runtime
from bot.service.settings import Settings
from nlu.engine import NluModel
from tests.conftest import prepare_data_dir


async def test_scripted_console_with_numbered_buttons(runtime: Runtime) -> None:
    stdin = io.StringIO("làm hộ chiếu cần giấy tờ gì\n3\n/quit\nkhông đọc tới đây\n")
    stdout = io.StringIO()
    await chat(runtime.pipeline, "u1", stdin, stdout)
    out = stdout.getvalue()
    assert "bạn> làm hộ chiếu cần giấy tờ gì" in out
    assert "[1] Xem thêm" in out and "[3] Lệ phí" in out
    assert "Lệ phí thủ tục Cấp hộ chiếu" in out
    assert "không đọc tới đây" not in out


@pytest.mark.slow  # over ~2 s
async def test_state_survives_a_restart_and_expires(tmp_path: Path, shipped_model: NluModel,
                                                    database_template: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", state_ttl_minutes=30)
    prepare_data_dir(settings, database_template, shipped_model)
    first = await build_runtime(settings)
    await first.pipeline.handle(IncomingMessage("console", "u", "làm hộ chiếu cần gì"))
    await first.close()
    second = await build_runtime(settings)
    try:
        replies = (await second.pipeline.handle(
            IncomingMessage("console", "u", "bao nhiêu tiền"))).replies
        assert "Cấp hộ chiếu" in replies[0].text
        later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
        replies = (await second.pipeline.handle(
            IncomingMessage("console", "u", "bao nhiêu tiền", received_at=later))).replies
        assert "thủ tục nào" in replies[0].text
    finally:
        await second.close()


@pytest.mark.parametrize(
    ("text", "intent", "entities"),
    [
        ('/procedure_fee{"procedure":"ho-chieu"}', "procedure_fee", {"procedure": "ho-chieu"}),
        ("/help", "help", {}),
        ("/start", "greet", {}),
        ("/tracuu", "dossier_status", {}),
    ],
)
def test_payloads(text: str, intent: str, entities: dict[str, str]) -> None:
    result = parse_payload(text)
    assert result is not None and result.intent.name == intent
    assert {e.entity: e.value for e in result.entities} == entities


@pytest.mark.parametrize("text", ["/nonsense", "/procedure_fee{bad json", "hello", "/x"])
def test_non_payloads(text: str) -> None:
    assert parse_payload(text) is None


async def test_odd_input_gets_a_polite_answer(runtime: Runtime) -> None:
    for text in ["\x00\x01\x02", "a" * 10000, "🙂🙂🙂", "<script>alert(1)</script>"]:
        replies = (await runtime.pipeline.handle(IncomingMessage("test", "odd", text))).replies
        assert replies and replies[0].text


@pytest.mark.slow
def test_cli_chat_reads_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    monkeypatch.setenv("EGOVBOT_DATA_DIR", str(tmp_path / "var"))
    lines = "chào bạn\ntra cứu hồ sơ 000.00.12.H31-261105-0005\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    assert main(["chat", "--user", "cli"]) == 0
    out = capsys.readouterr().out
    assert "Xin chào" in out and "Đã có kết quả" in out
