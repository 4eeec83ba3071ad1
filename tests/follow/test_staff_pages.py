"""Staff see followers per status on the dashboard, and a conversation's follow list in its
transcript."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.bot.admin.conftest import STAFF, http_login


async def test_dashboard_and_transcript_show_follows(accounts: TestClient[Any, Any]) -> None:
    for sender, code in [("f1", "000.00.12.H31-261118-0002"), ("f2", "000.00.12.H31-261118-0002"),
                         ("f2", "000.00.12.H31-261110-0003")]:
        answer = await accounts.post("/api/chat", json={"sender": sender,
                                                        "message": f"theo dõi hồ sơ {code}"})
        assert "Đã theo dõi" in (await answer.json())[0]["text"]
    await accounts.post("/api/chat", json={"sender": "f2",
                                           "message": "hủy theo dõi 000.00.12.H31-261110-0003"})
    await http_login(accounts, STAFF)
    page = await (await accounts.get("/admin")).text()
    assert "Hồ sơ đang được theo dõi, theo tình trạng" in page
    assert "Đang xử lý" in page and "Cần bổ sung hồ sơ" not in page
    transcript = await (await accounts.get("/admin/conversations/web%3Af2")).text()
    assert "000.00.12.H31-261118-0002" in transcript and "đang theo dõi đến" in transcript
    assert "đã dừng (người dân hủy)" in transcript
