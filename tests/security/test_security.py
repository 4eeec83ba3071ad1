"""Security probes: forged webhooks, reading another citizen's conversation, admin pages without
a login, SQL and HTML/script injection in citizen messages and admin forms."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, text

from actions import texts
from bot.channels.telegram.channel import SECRET_HEADER
from bot.channels.web.channel import WebChannel
from bot.service.app import DISPATCHER, RUNTIME
from bot.storage.db import make_sessionmaker
from bot.storage.tables import ConversationRow, InboxRow, TurnRow
from knowledge.tables import FaqRow
from nlu.engine import NluModel
from tests.bot.admin.conftest import ADMIN, accounts, http_login
from tests.bot.admin.test_kb import edit_form, post, with_values
from tests.conftest import prepare_data_dir
from tests.fakes.telegram_api import text_update
from tests.security.live import TELEGRAM_SECRET, LiveService

__all__ = ["accounts"]  # the fixture, shared with the admin tests

Client = TestClient[Any, Any]
SCRIPT = '<script>alert("xss")</script><img src=x onerror=alert(1)>'
SQL = ["'; DROP TABLE turns; --", "Robert'); DELETE FROM conversations; --",
       "' OR 1=1 --", '" OR ""="', "1; UPDATE faqs SET answer='pwned'"]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, shipped_model: NluModel
         ) -> Iterator[LiveService]:
    service = LiveService(Path(tmp_path_factory.mktemp("security")) / "var",
                          shipped_model).start()
    yield service
    service.stop()


def web_channel(app: web.Application) -> WebChannel:
    channel = app[DISPATCHER].channels["web"]
    assert isinstance(channel, WebChannel)
    return channel


# --- forged webhooks ------------------------------------------------------------------------


def test_telegram_updates_without_the_secret_are_refused_and_change_nothing(
        live: LiveService, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    assert live.telegram is not None
    before = live.run(live.counts())
    secrets: list[str | None] = [None, "", "wrong", TELEGRAM_SECRET[:-1], TELEGRAM_SECRET + "x",
                                 TELEGRAM_SECRET.upper(), f"{TELEGRAM_SECRET}\t1"]

    async def deliver(secret: str | None) -> int:
        headers = {} if secret is None else {SECRET_HEADER: secret}
        response = await live.client.post("/webhooks/telegram", headers=headers,
                                          json=text_update(777, "chào bạn"))
        return response.status

    assert [live.run(deliver(secret)) for secret in secrets] == [403] * len(secrets)
    assert live.run(live.counts()) == before
    assert live.telegram.calls_of("sendMessage") == []
    refusals = [r for r in caplog.records if r.name == "bot.channels.telegram.channel"
                and r.levelno == logging.WARNING and "secret" in r.getMessage()]
    assert len(refusals) == len(secrets)
    # the right secret is accepted (so the refusals above were about the secret)
    assert live.run(deliver(TELEGRAM_SECRET)) == 200
    assert live.run(live.counts())["inbox"] == before["inbox"] + 1


def test_zalo_events_with_a_bad_signature_are_refused_and_change_nothing(
        live: LiveService, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    zalo = live.zalo
    assert zalo is not None
    event = zalo.text_event("4311209876543210987", "cho tôi hỏi thủ tục khai sinh")
    raw = json.dumps(event, ensure_ascii=False).encode("utf-8")
    good = zalo.sign(raw, event)
    tampered = raw.replace(b"khai sinh", "kết hôn".encode())
    before = live.run(live.counts())

    async def deliver(body: bytes, signature: str | None) -> int:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-ZEvent-Signature"] = signature
        response = await live.client.post("/webhooks/zalo", data=body, headers=headers)
        return response.status

    one_off = good[:-1] + ("1" if good.endswith("0") else "0")  # always differs from good
    forged = [(raw, None), (raw, ""), (raw, "0" * 64), (raw, one_off),
              (tampered, good), (raw, zalo.sign(raw, {**event, "timestamp": "1"}))]
    assert [live.run(deliver(b, s)) for b, s in forged] == [401] * len(forged)
    assert live.run(live.counts()) == before
    assert zalo.sent == []
    refusals = [r for r in caplog.records if r.name == "bot.channels.zalo.channel"
                and r.levelno == logging.WARNING and "signature" in r.getMessage()]
    assert len(refusals) == len(forged)
    assert live.run(deliver(raw, good)) == 200
    assert live.run(live.counts())["inbox"] == before["inbox"] + 1


# --- malformed bodies ------------------------------------------------------------------------

MALFORMED = {
    "deep nesting": b"[" * 5000 + b"]" * 5000,
    "a 5,000-digit number": b'{"update_id": ' + b"7" * 5000 + b"}",
    "not UTF-8": b'{"text": "\xff\xfe"}',
}


@pytest.mark.parametrize("path", ["/api/chat", "/model/parse", "/webhooks/telegram",
                                  "/webhooks/zalo"])
@pytest.mark.parametrize("kind", MALFORMED)
def test_malformed_json_gets_a_400_and_changes_nothing(live: LiveService, path: str,
                                                       kind: str) -> None:
    before = live.run(live.counts())

    async def deliver() -> int:
        response = await live.client.post(path, data=MALFORMED[kind], headers={
            "Content-Type": "application/json", SECRET_HEADER: TELEGRAM_SECRET})
        return response.status

    assert live.run(deliver()) == 400
    assert live.run(live.counts()) == before


def test_a_signed_zalo_event_of_an_odd_shape_is_ignored_not_a_500(live: LiveService) -> None:
    zalo = live.zalo
    assert zalo is not None
    before = live.run(live.counts())
    for odd in (["user_send_text"], {"name": "user_send_text"}, 7, None):
        event = {**zalo.text_event("4311209876543210001", "chào"), "event_name": odd}
        raw = json.dumps(event).encode("utf-8")

        async def deliver(body: bytes = raw, signed: str = zalo.sign(raw, event)) -> int:
            response = await live.client.post("/webhooks/zalo", data=body, headers={
                "Content-Type": "application/json", "X-ZEvent-Signature": signed})
            return response.status

        assert live.run(deliver()) == 200
    assert live.run(live.counts()) == before


async def test_odd_staff_inputs_get_a_400_not_a_500(accounts: Client) -> None:
    from tests.bot.admin.test_kb import upload
    client = accounts
    sender = await new_sender(client)
    await client.post("/api/chat", json={"sender": sender, "message": "cho gặp nhân viên"})
    conversation = f"web:{web_channel(client.app).verified(sender)}"
    await http_login(client, ADMIN)
    turns = f"/admin/handoff/{quote(conversation, safe='')}/turns"
    for after in ("99999999999999999999999", "-5", "x"):
        response = await client.get(turns, params={"after": after})
        assert response.status == 400, after
    assert (await client.get(turns, params={"after": "0"})).status == 200
    deep = await upload(client, "/admin/kb/import", "kb.yaml", b"[" * 5000 + b"]" * 5000)
    page = await deep.text()
    assert deep.status == 400 and "không đúng cú pháp YAML" in page


async def test_unreadable_forms_get_a_400_not_a_500(accounts: Client) -> None:
    client = accounts
    garbage = b"|\xaeY\x08\x8a\x89!0\xfe\xdbX%zz&\xe3}"  # bad UTF-8 and percent-encoding
    broken_multipart = b"--b\r\nContent-Disposition: form-data\r\n\r\nx"
    kinds = [("application/x-www-form-urlencoded", garbage),
             ("multipart/form-data; boundary=b", broken_multipart)]
    for content_type, body in kinds:  # anonymous, on the login form
        response = await client.post("/admin/login", data=body,
                                      headers={"Content-Type": content_type})
        assert response.status == 400, content_type
    await http_login(client, ADMIN)
    for path in ("/admin/logout", "/admin/kb/import", "/admin/inbox/review"):
        for content_type, body in kinds:
            response = await client.post(path, data=body, headers={"Content-Type": content_type})
            assert response.status == 400, (path, content_type)
    assert (await client.get("/admin", allow_redirects=False)).status == 200  # still in


def test_a_lone_surrogate_in_a_message_is_dropped_not_a_500(live: LiveService) -> None:
    body = b'{"sender": "surrogate-1", "message": "\\ud800 ch\\u00e0o b\\u1ea1n"}'

    async def deliver() -> tuple[int, Any]:
        response = await live.client.post("/api/chat", data=body,
                                          headers={"Content-Type": "application/json"})
        return response.status, await response.json()

    status, replies = live.run(deliver())
    assert status == 200 and replies and replies[0]["text"]


# --- one citizen cannot read another's conversation -------------------------------------


MARKER = "victim-secret-4242-bi-mat"  # ASCII: JSON answers escape other characters


async def new_sender(client: Client) -> str:
    response = await client.post("/api/chat/session")
    assert response.status == 200
    sender: str = (await response.json())["sender"]
    return sender


async def test_the_widget_gets_a_signed_unguessable_sender(service: Client) -> None:
    senders = {await new_sender(service) for _ in range(20)}
    assert len(senders) == 20
    for sender in senders:
        conversation, _, signature = sender.partition(".")
        assert re.fullmatch(r"w[0-9a-f]{32}", conversation)  # 128 random bits
        assert len(signature) >= 22
        assert web_channel(service.app).verified(sender) == conversation
    # the browser's requests carry no credentials (the widget can be embedded anywhere)
    preflight = await service.options("/api/chat/session", headers={
        "Origin": "https://portal.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status == 204
    assert "Access-Control-Allow-Credentials" not in preflight.headers


async def victim(client: Client) -> tuple[str, str]:
    """A widget conversation holding MARKER in its turns and in a staff reply; its signed
    sender id and its conversation id (``web:<id>``, what staff see and logs show)."""
    sender = await new_sender(client)
    response = await client.post("/api/chat", json={
        "sender": sender, "message": f"tôi là {MARKER}, cho gặp nhân viên"})
    assert response.status == 200
    channel = web_channel(client.app)
    conversation = channel.verified(sender)
    assert conversation is not None
    from actions.base import Reply
    await channel.send(conversation, [Reply(f"Chào {MARKER}, em là nhân viên")])
    own = await client.get("/api/chat/poll", params={"sender": sender})
    assert MARKER in await own.text()  # the owner can read it
    return sender, conversation


def probes(path: str, conversation: str) -> Iterator[tuple[str, dict[str, str], Any]]:
    """Ways an attacker who knows the conversation's id may ask a route for it."""
    short = conversation
    full = f"web:{conversation}"
    forged = [short, full, f"{short}.AAAAAAAAAAAAAAAAAAAAAAAA", f"{short}.", f"{full}.x",
              short.upper(), f" {short}", f"{short}\x00"]
    for guess in forged:
        yield path, {"sender": guess, "after": "0"}, {"sender": guess, "message": "lịch sử",
                                                      "text": guess}
        yield path, {"sender": guess, "after": "-1", "conversation": full, "id": full}, None


async def test_no_citizen_route_reveals_another_conversation(service: Client) -> None:
    _sender, conversation = await victim(service)
    app = service.app
    routes = [(r.method, r.resource.canonical) for r in app.router.routes()
              if r.resource is not None]
    citizen = [(m, p) for m, p in routes if not p.startswith("/admin")]
    assert ("GET", "/api/chat/poll") in citizen and ("POST", "/api/chat") in citizen
    attacker = TestClient(service.server)  # another browser: own cookies, nothing shared
    try:
        tried = 0
        for method, template in citizen:
            path = template.replace("{filename}", quote(conversation))
            path = re.sub(r"\{[^}]*\}", quote(f"web:{conversation}", safe=""), path)
            for url, query, body in probes(path, conversation):
                for as_json in (True, False):
                    kwargs: dict[str, Any] = {"params": query, "allow_redirects": False}
                    if method in ("POST", "PUT", "PATCH") and body is not None:
                        kwargs["json" if as_json else "data"] = body
                    response = await attacker.request(method, url, **kwargs)
                    answer = await response.read()
                    tried += 1
                    assert MARKER.encode() not in answer, (method, url, query, body)
                    assert MARKER not in answer.decode("utf-8", "replace"), (method, url)
        assert tried > 50
        # the chat API refuses the victim's id without its signature (it is an issued id)
        refused = await attacker.post("/api/chat", json={"sender": conversation,
                                                         "message": "lịch sử"})
        assert refused.status == 403
        poll = await attacker.get("/api/chat/poll", params={"sender": conversation})
        assert poll.status == 403
    finally:
        await attacker.session.close()


async def test_static_files_cannot_reach_outside_their_folder(service: Client) -> None:
    for path in ("/static/../channel.py", "/static/%2e%2e/channel.py",
                 "/static/..%2fchannel.py", "/static/%2e%2e%2f%2e%2e%2fchannel.py",
                 "/static//etc/passwd", "/static/....//channel.py"):
        response = await service.get(path, allow_redirects=False)
        body = await response.text()
        assert response.status in (403, 404), path
        assert "class WebChannel" not in body and "root:" not in body


async def test_unsigned_senders_are_refused_by_default(tmp_path: Path, shipped_model: NluModel,
                                                       simulator: str,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       database_template: Path) -> None:
    # a client-chosen id would let whoever knows it act in that conversation (pull a
    # waiting citizen out of the handoff queue, write to staff as them)
    from aiohttp.test_utils import TestServer

    from bot.service.app import create_app
    from bot.service.settings import Settings
    monkeypatch.delenv("EGOVBOT_WEB_ALLOW_UNSIGNED_SENDERS")  # set for the other tests
    settings = Settings(data_dir=tmp_path / "var")
    assert not settings.web_allow_unsigned_senders
    prepare_data_dir(settings, database_template, shipped_model)
    client: Client = TestClient(TestServer(await create_app(settings, simulator),
                                           host="127.0.0.1"))
    await client.start_server()
    try:
        refused = await client.post("/api/chat", json={"sender": "c1", "message": "chào"})
        assert refused.status == 403
        sender = await new_sender(client)
        allowed = await client.post("/api/chat", json={"sender": sender, "message": "chào"})
        assert allowed.status == 200
        assert (await allowed.json())[0]["recipient_id"] == sender
    finally:
        await client.close()


# --- admin pages need a login ---------------------------------------------------------------


def concrete(template: str) -> str:
    return (template.replace("{kind:procedure|faq|office}", "procedure")
            .replace("{action:enable|disable}", "disable"))


async def test_every_admin_route_needs_a_login(service: Client) -> None:
    routes = [(r.method, r.resource.canonical) for r in service.app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith("/admin")]
    assert len(routes) > 30
    forged_cookies = [{}, {"egovbot_session": "forged"}, {"egovbot_session": "' OR 1=1 --"}]
    for method, template in routes:
        path = re.sub(r"\{[^}:]*(:[^}]*)?\}", "x", concrete(template))
        if path == "/admin/login":
            continue
        for cookies in forged_cookies:
            client = TestClient(service.server, cookies=cookies)
            try:
                for accept in ("text/html", "application/json"):
                    response = await client.request(
                        method, path, allow_redirects=False, headers={"Accept": accept},
                        data={"csrf_token": "x", "username": ADMIN, "text": "x"})
                    body = await response.text()
                    assert response.status in (401, 403, 303), (method, path, response.status)
                    if response.status == 303:
                        assert response.headers["Location"].startswith("/admin/login")
                    assert "csrf_token" not in body or "/admin/login" in body
            finally:
                await client.session.close()


async def test_logging_in_needs_the_login_forms_csrf_token(accounts: Client) -> None:
    from tests.bot.admin.conftest import PASSWORD
    response = await accounts.post("/admin/login", data={
        "username": ADMIN, "password": PASSWORD, "next": "/admin"}, allow_redirects=False)
    assert response.status != 303
    assert (await accounts.get("/admin", allow_redirects=False)).status == 303


# --- injection ------------------------------------------------------------------------------


async def table_state(client: Client) -> tuple[list[str], dict[str, int], list[str]]:
    """Table names, row counts of the main tables, and every FAQ answer."""
    engine = client.app[RUNTIME].engine
    async with engine.connect() as connection:
        names = sorted((await connection.execute(text(
            "SELECT name FROM sqlite_master WHERE type='table'"))).scalars())
    async with make_sessionmaker(engine)() as session:
        counts = {row.__tablename__: int(await session.scalar(
            select(func.count()).select_from(row)) or 0)
            for row in (ConversationRow, TurnRow, InboxRow, FaqRow)}
        answers = sorted((await session.scalars(select(FaqRow.answer))).all())
    return names, counts, answers


async def test_sql_and_script_in_messages_are_stored_literally_and_shown_escaped(
        accounts: Client) -> None:
    client = accounts
    tables, counts, answers = await table_state(client)
    sender = await new_sender(client)
    formula = '=HYPERLINK("http://evil.example","bấm vào")'
    messages = [*SQL, SCRIPT, formula]
    for message in messages:
        response = await client.post("/api/chat", json={"sender": sender, "message": message})
        assert response.status == 200, await response.text()
    after_tables, after_counts, after_answers = await table_state(client)
    assert after_tables == tables and after_answers == answers
    assert after_counts["faqs"] == counts["faqs"]
    assert after_counts["conversations"] == counts["conversations"] + 1
    assert after_counts["turns"] >= counts["turns"] + len(messages)
    conversation = f"web:{web_channel(client.app).verified(sender)}"
    async with make_sessionmaker(client.app[RUNTIME].engine)() as session:
        stored = set((await session.scalars(select(TurnRow.text).where(
            TurnRow.conversation_id == conversation, TurnRow.direction == "in"))).all())
    assert set(messages) <= stored

    await http_login(client, ADMIN)
    pages = ["/admin", "/admin/conversations", f"/admin/conversations/{quote(conversation, '')}",
             "/admin/inbox", "/admin/conversations?q=" + quote("script alert")]
    for page in pages:
        response = await client.get(page)
        assert response.status == 200, page
        body = await response.text()
        assert "<script>alert" not in body and "<img src=x" not in body, page
    # exports are CSV, never HTML, and a spreadsheet must not run a citizen's "formula"
    export = await client.get("/admin/conversations/turns.csv")
    assert export.status == 200 and export.content_type == "text/csv"
    rows = (await export.text()).splitlines()
    assert not any(row.split(",")[5:6] == ['"=HYPERLINK(""http://evil.example""'] for row in rows)
    assert any("'=HYPERLINK" in row for row in rows)
    detail = await (await client.get(f"/admin/conversations/{quote(conversation, '')}")).text()
    assert "&lt;script&gt;alert(" in detail
    assert "DROP TABLE turns" in detail


async def test_search_fields_do_not_run_sql(accounts: Client) -> None:
    client = accounts
    sender = await new_sender(client)
    assert (await client.post("/api/chat", json={"sender": sender,
                                                  "message": "làm hộ chiếu"})).status == 200
    await http_login(client, ADMIN)
    link = re.compile(r'href="/admin/conversations/([^"/?]*%3A[^"/?]*)"')
    everything = link.findall(await (await client.get("/admin/conversations")).text())
    assert everything  # the list shows conversations, so a search that leaked would too
    for probe in [*SQL, "%", "_", "\\", "' OR 'a'='a", "*) OR (1=1"]:
        for field in ("q", "tag", "intent", "procedure", "channel"):
            response = await client.get("/admin/conversations", params={field: probe})
            assert response.status in (200, 400), (field, probe)
            found = link.findall(await response.text())
            assert found == [], (field, probe, found)
    inbox = await client.get("/admin/inbox", params={"q": SQL[2]})
    assert inbox.status in (200, 400)
    tables, _, _ = await table_state(client)
    assert {"turns", "conversations", "faqs"} <= set(tables)


async def test_admin_forms_store_script_literally_and_escape_it(accounts: Client) -> None:
    client = accounts
    sender = await new_sender(client)
    assert (await client.post("/api/chat", json={"sender": sender,
                                                  "message": "chào bạn"})).status == 200
    conversation = f"web:{web_channel(client.app).verified(sender)}"
    token = await http_login(client, ADMIN)
    url = f"/admin/conversations/{quote(conversation, safe='')}"
    note = await client.post(f"{url}/notes", data={"csrf_token": token,
                                                   "text": f"{SCRIPT} {SQL[0]}"},
                             allow_redirects=False)
    assert note.status == 303, await note.text()
    tags = await client.post(f"{url}/tags", data={"csrf_token": token,
                                                  "tags": "<b>x</b>, ' OR 1=1 --"},
                             allow_redirects=False)
    assert tags.status in (303, 400)
    page = await (await client.get(url)).text()
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>x</b>" not in page
    assert "&lt;script&gt;alert(" in page

    fields = await edit_form(client, "/admin/kb/new/faq")
    fields = with_values(fields, id="kiem-tra-an-toan", question=f"Câu hỏi {SCRIPT}",
                         paraphrases=SQL[0], answer=f"Trả lời {SCRIPT} {SQL[1]}",
                         procedure="ho-chieu")
    created = await post(client, "/admin/kb/new/faq", fields, "publish")
    assert created.status == 303, await created.text()
    async with make_sessionmaker(client.app[RUNTIME].engine)() as session:
        row = await session.get(FaqRow, "kiem-tra-an-toan")
    assert row is not None and row.answer == f"Trả lời {SCRIPT} {SQL[1]}"
    tables, counts, _ = await table_state(client)
    assert counts["turns"] > 0 and "turns" in tables and counts["conversations"] > 0
    for page_url in ("/admin/kb", "/admin/kb/faq/kiem-tra-an-toan", "/admin/kb/audit"):
        response = await client.get(page_url)
        assert response.status == 200, page_url
        body = await response.text()
        assert "<script>alert" not in body and "<img src=x" not in body, page_url


async def test_a_post_from_another_site_is_refused_even_with_the_token(accounts: Client) -> None:
    client = accounts
    token = await http_login(client, ADMIN)
    own = f"http://{client.server.host}:{client.server.port}"
    form = {"csrf_token": token, "text": "ghi chú"}
    foreign = await client.post("/admin/logout", data=form, allow_redirects=False,
                                headers={"Origin": "https://evil.example"})
    assert foreign.status == 403
    login_elsewhere = await client.post("/admin/login", data={"username": ADMIN},
                                        headers={"Origin": "null"}, allow_redirects=False)
    assert login_elsewhere.status == 403
    still_in = await client.get("/admin", allow_redirects=False)
    assert still_in.status == 200  # the forged logout did nothing
    same = await client.post("/admin/logout", data=form, allow_redirects=False,
                             headers={"Origin": own})
    assert same.status in (302, 303)


async def test_dossier_lookups_from_one_address_are_limited_whatever_the_senders(
        tmp_path: Path, shipped_model: NluModel, simulator: str, database_template: Path) -> None:
    from aiohttp.test_utils import TestServer

    from bot.service.app import create_app
    from bot.service.settings import Settings
    settings = Settings(data_dir=tmp_path / "var", dossier_api_token="test-token",
                        dossier_lookups_per_address=5)
    prepare_data_dir(settings, database_template, shipped_model)
    client: Client = TestClient(TestServer(await create_app(settings, simulator),
                                           host="127.0.0.1"))
    await client.start_server()
    try:
        answers = []
        for number in range(1, 9):  # a fresh sender id for every try, as an enumerator would
            code = f"000.00.12.H31-261120-{number:04d}"
            response = await client.post("/api/chat", json={"sender": await new_sender(client),
                                                            "message": code})
            answers.append((await response.json())[0]["text"])
        limited = [a for a in answers if a == texts.DOSSIER_ADDRESS_LIMITED]
        assert len(limited) == 3 and answers[-1] == texts.DOSSIER_ADDRESS_LIMITED
        # other questions from that address are answered as before
        other = await client.post("/api/chat", json={"sender": await new_sender(client),
                                                      "message": "lệ phí hộ chiếu"})
        assert "hộ chiếu" in (await other.json())[0]["text"]
    finally:
        await client.close()
