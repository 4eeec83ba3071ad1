"""Staff CSV exports carry masked text only, even for rows stored under older, weaker masking
rules, and every export is in the audit log."""

from __future__ import annotations

import csv
import io
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import update

from bot.admin.web import STAFF_STORE
from bot.service.appkeys import ADMIN_APP, RUNTIME
from bot.storage.conversations import TurnRecord
from bot.storage.tables import TurnRow
from tests.bot.admin.conftest import STAFF, accounts, http_login

__all__ = ["accounts"]  # the fixture, shared with the admin tests

# What the outside test found stored unmasked by the rules of the time.
OLD_ROWS = {
    "Số CCCD của tôi là 001234567802.": "001234567802",
    "sdt0912345602 gọi lại giúp": "0912345602",
    "số tôi (091) 234-5604 nhé": "234-5604",
}


async def test_csv_exports_mask_old_rows_again_and_are_audited(
        accounts: TestClient[Any, Any]) -> None:
    conversations = accounts.app[RUNTIME].stores.conversations
    await conversations.save("telegram:42", "telegram", "42", {}, "bot", [
        TurnRecord("in", f"tin {number}") for number in range(len(OLD_ROWS))])
    async with accounts.app[RUNTIME].engine.begin() as connection:  # as stored long ago
        for number, raw in enumerate(OLD_ROWS):
            await connection.execute(update(TurnRow).where(
                TurnRow.conversation_id == "telegram:42", TurnRow.text == f"tin {number}")
                .values(text=raw))
    await http_login(accounts, STAFF)
    files = {}
    for path in ("/admin/conversations.csv", "/admin/conversations/turns.csv?channel=telegram"):
        response = await accounts.get(path)
        assert response.status == 200
        files[path] = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    texts = [row[5] for row in files["/admin/conversations/turns.csv?channel=telegram"][1:]]
    assert len(texts) == len(OLD_ROWS)
    exported = "\n".join(",".join(row) for rows in files.values() for row in rows)
    for raw, number in OLD_ROWS.items():
        assert number not in exported, raw
    assert "[số định danh …02]" in texts[0]
    log = await accounts.app[ADMIN_APP][STAFF_STORE].audit_log(kind="conversation", entry_id="*")
    assert [(entry.action, entry.username) for entry in log] == [("export", STAFF)] * 2
