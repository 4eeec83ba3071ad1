"""The HTTP service on a real loopback port: chat API, parse API, health, dedup, recovery."""

from __future__ import annotations

import datetime as dt
import re
import struct
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.admin.web import STAFF_STORE
from bot.core.messages import IncomingMessage
from bot.service.app import ADMIN_APP, DISPATCHER, RUNTIME, create_app
from bot.service.settings import Settings
from bot.storage.db import make_sessionmaker
from bot.storage.inbox import Inbox
from bot.storage.roles import Role
from nlu.engine import NluModel
from tests.conftest import prepare_data_dir


async def test_chat_answers_in_rasa_rest_shape(service: TestClient[Any, Any]) -> None:
    response = await service.post("/api/chat", json={"sender": "s1", "message": "lam cccd "
                                                     "het bao nhieu tien"})
    assert response.status == 200
    [message] = await response.json()
    assert message["recipient_id"] == "s1"
    assert "Lệ phí thủ tục Cấp thẻ căn cước" in message["text"]
    assert {"title": "Giấy tờ cần chuẩn bị",
            "payload": '/procedure_documents{"procedure":"can-cuoc"}'} in message["buttons"]
    papers = next(b["payload"] for b in message["buttons"] if b["title"] == "Giấy tờ cần chuẩn bị")
    tap = await service.post("/api/chat", json={"sender": "s1", "message": papers})
    assert "Giấy tờ cần chuẩn bị cho thủ tục Cấp thẻ căn cước" in (await tap.json())[0]["text"]


async def test_a_repeated_delivery_is_answered_once(service: TestClient[Any, Any]) -> None:
    body = {"sender": "s2", "message": "chào bạn", "message_id": "m-1"}
    first = await (await service.post("/api/chat", json=body)).json()
    second = await (await service.post("/api/chat", json=body)).json()
    assert first and second == []
    turns = await service.app[RUNTIME].stores.conversations.turns("web:s2")
    assert [t.direction for t in turns] == ["in", "out"]


async def test_bad_requests_get_400_and_change_nothing(service: TestClient[Any, Any]) -> None:
    cases: list[Any] = [
        b"not json", b"[1, 2]", {"sender": "s3"}, {"message": "hi"},
        {"sender": "s3", "message": ""}, {"sender": "s3", "message": 5},
        {"sender": "bad sender!", "message": "hi"}, {"sender": "s3", "message": "a" * 4001},
    ]
    for case in cases:
        if isinstance(case, bytes):
            response = await service.post("/api/chat", data=case)
        else:
            response = await service.post("/api/chat", json=case)
        assert response.status == 400, case
        assert "error" in await response.json()
    assert await service.app[RUNTIME].stores.conversations.load("web:s3") is None


async def test_parse_health_and_readiness(service: TestClient[Any, Any]) -> None:
    parsed = await (await service.post("/model/parse", json={"text": "cho gặp nhân viên"})).json()
    assert parsed["intent"]["name"] == "human_handoff"
    assert (await service.post("/model/parse", json={"txt": 1})).status == 400
    assert (await (await service.get("/healthz")).json())["status"] == "ok"
    assert (await service.get("/readyz")).status == 200


async def test_the_site_has_an_icon(service: TestClient[Any, Any]) -> None:
    response = await service.get("/favicon.ico")
    assert response.status == 200
    assert response.content_type == "image/vnd.microsoft.icon"
    icon = await response.read()
    assert icon[:4] == b"\x00\x00\x01\x00"  # an ICO file: reserved 0, type 1 (icon)
    count = int.from_bytes(icon[4:6], "little")
    assert count >= 1
    for entry in range(count):  # each image it lists lies within the file
        size, offset = struct.unpack_from("<II", icon, 6 + 16 * entry + 8)
        assert offset + size <= len(icon)


async def test_poll_returns_replies_sent_later(service: TestClient[Any, Any]) -> None:
    from actions.base import Reply

    web = service.app[DISPATCHER].channels["web"]
    await web.send("s4", [Reply("Nhân viên trả lời")])
    signed = web.sign("s4")  # polling needs the signed id (tests/security/test_security.py)
    items = await (await service.get("/api/chat/poll", params={"sender": signed})).json()
    assert [i["text"] for i in items] == ["Nhân viên trả lời"]
    later = await (await service.get("/api/chat/poll", params={"sender": signed,
                                                                "after": items[0]["id"]})).json()
    assert later == []
    assert (await service.get("/api/chat/poll", params={"sender": "x y"})).status == 400


@pytest.mark.slow  # over ~2 s
async def test_pending_messages_are_answered_after_a_restart(
        tmp_path: Path, shipped_model: NluModel, simulator: str, database_template: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", dossier_api_token="test-token")
    prepare_data_dir(settings, database_template, shipped_model)
    first = await create_app(settings, simulator)
    inbox = Inbox(make_sessionmaker(first[RUNTIME].engine))
    # accepted, then the process died before handling it
    assert await inbox.accept(IncomingMessage("web", "s5", "làm hộ chiếu bao nhiêu tiền",
                                              "lost-1", dt.datetime.now(dt.UTC)))
    await first[RUNTIME].close()

    app = await create_app(settings, simulator)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        await app[DISPATCHER].drain(5)
        signed = app[DISPATCHER].channels["web"].sign("s5")
        items = await (await client.get("/api/chat/poll", params={"sender": signed})).json()
        assert "Lệ phí thủ tục Cấp hộ chiếu" in items[0]["text"]
        assert await Inbox(make_sessionmaker(app[RUNTIME].engine)).unfinished() == []
    finally:
        await client.close()


@pytest.mark.slow  # over ~2 s
async def test_behind_a_trusted_proxy_forwarded_https_makes_secure_cookies(
        tmp_path: Path, shipped_model: NluModel, simulator: str, database_template: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", dossier_api_token="test-token",
                        trusted_proxies=["127.0.0.1"])
    prepare_data_dir(settings, database_template, shipped_model)
    client = TestClient(TestServer(await create_app(settings, simulator), host="127.0.0.1"))
    await client.start_server()
    proxied = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    try:
        await client.app[ADMIN_APP][STAFF_STORE].add_user("quantri", "mat-khau-dai-1", Role.ADMIN)
        page = await (await client.get("/admin/login", headers=proxied)).text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        response = await client.post("/admin/login", headers=proxied, allow_redirects=False,
                                     data={"username": "quantri", "password": "mat-khau-dai-1",
                                           "csrf_token": token.group(1), "next": "/admin"})
        assert response.status == 303
        cookie = response.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie
        # bypassing the proxy is refused, except for the monitoring paths
        direct = await client.post("/api/chat", json={"sender": "s", "message": "chào"})
        assert direct.status == 400
        assert (await client.get("/healthz")).status == 200
        assert (await client.get("/readyz")).status == 200
    finally:
        await client.close()
