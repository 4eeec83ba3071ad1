"""Staff delete a citizen's data on request: admins only, after a confirmation page, with the
CSRF token, recorded in the audit log (a real aiohttp server on loopback, real SQLite)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest
from aiohttp.test_utils import TestClient

from bot.admin.transcripts import conversation_url
from bot.admin.web import STAFF_STORE
from bot.service.appkeys import ADMIN_APP, RUNTIME
from tests.bot.admin.conftest import ADMIN, STAFF, http_login
from tests.security.test_own_data import rows_left

Client = TestClient[Any, Any]
CID = "web:xoa1"


@pytest.mark.slow  # two logins (Argon2id) and a full service
async def test_only_an_admin_erases_a_conversation_and_it_is_audited(accounts: Client) -> None:
    for text in ("lệ phí làm hộ chiếu", "số của tôi 031099001234"):
        response = await accounts.post("/api/chat", json={"sender": "xoa1", "message": text})
        assert response.status == 200
    runtime = accounts.app[RUNTIME]
    await runtime.stores.transcripts.add_note(CID, STAFF, "gọi lại sau")
    url = conversation_url(CID, "/erase")

    staff_token = await http_login(accounts, STAFF)
    page = await (await accounts.get(conversation_url(CID))).text()
    assert "Xóa dữ liệu…" not in page  # the action is not offered to staff
    assert (await accounts.get(url)).status == 403
    refused = await accounts.post(url, data={"csrf_token": staff_token, "confirm": "yes"},
                                  allow_redirects=False)
    assert refused.status == 403 and "Chỉ quản trị viên" in await refused.text()
    assert (await rows_left(runtime.engine, CID))["turns"] == 4

    token = await http_login(accounts, ADMIN)
    assert "Xóa dữ liệu…" in await (await accounts.get(conversation_url(CID))).text()
    confirm = await (await accounts.get(url)).text()
    assert "Tin nhắn trong lịch sử: 4" in confirm and "Ghi chú của nhân viên: 1" in confirm
    no_csrf = await accounts.post(url, data={"confirm": "yes"}, allow_redirects=False)
    assert no_csrf.status == 403
    unconfirmed = await accounts.post(url, data={"csrf_token": token}, allow_redirects=False)
    assert unconfirmed.status == 303 and unquote(unconfirmed.headers["Location"]) == unquote(url)
    assert (await rows_left(runtime.engine, CID))["turns"] == 4  # nothing deleted yet

    done = await accounts.post(url, data={"csrf_token": token, "confirm": "yes"},
                               allow_redirects=False)
    assert done.status == 303
    listing = await (await accounts.get(done.headers["Location"])).text()
    assert "Đã xóa dữ liệu của hội thoại" in listing
    assert set((await rows_left(runtime.engine, CID)).values()) == {0}
    [entry] = await accounts.app[ADMIN_APP][STAFF_STORE].audit_log("conversation", CID)
    assert (entry.username, entry.action) == (ADMIN, "erase")
    assert entry.after == {"deleted": {"turns": 4, "conversation_notes": 1,
                                       "conversations": 1, "inbox": 2}}
    assert (await accounts.get(url)).status == 404  # nothing left to delete
