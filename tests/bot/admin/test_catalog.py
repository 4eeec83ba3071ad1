"""The catalog pages over real HTTP on a real SQLite database seeded with the shipped knowledge
(21 curated procedures, 2,642 national records): search and paging of both tiers, editing a
national record (diff, audit, the bot's answer), promotion, synonyms, inbox labels."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.admin.inbox import RETRAINER
from bot.service.app import RUNTIME
from bot.service.appkeys import ADMIN_APP
from bot.service.settings import Settings
from knowledge.audit import recent_changes
from knowledge.catalog.importer import CATALOG_FILE, read_records
from nlu.intents import EntityType
from nlu.normalize import fold
from tests.bot.admin.conftest import ADMIN, STAFF, http_login
from tests.bot.admin.test_inbox import form, group_of, training
from tests.bot.admin.test_kb import FormReader

pytestmark = pytest.mark.usefixtures("accounts")
Client = TestClient[Any, Any]

BORDER = "1.000110"  # Thủ tục đăng ký khai sinh có yếu tố nước ngoài tại khu vực biên giới
BORDER_ID = "qg-1-000110"
NO_FEE = "1.000005"  # states no fee: cannot be promoted as it is
NEW_STEP = "Mang hồ sơ đến quầy số 7 của Trung tâm Phục vụ hành chính công thành phố."
ALIAS = "giấy zorbo biên giới"


def records() -> dict[str, Any]:
    return read_records(Settings().knowledge_dir / CATALOG_FILE)


def rows(page: str) -> list[str]:
    """The codes of the catalog page's lines, in order."""
    return re.findall(r'<tr class="catalog-row" data-code="([^"]*)"', page)


def total(page: str) -> int:
    found = re.search(r'id="catalog-count"><strong>(\d+)</strong>', page)
    assert found, page[:2000]
    return int(found.group(1))


async def get(client: Client, path: str, status: int = 200) -> str:
    response = await client.get(path)
    text = await response.text()
    assert response.status == status, text[:2000]
    return text


async def record_form(client: Client, code: str) -> list[tuple[str, str]]:
    reader = FormReader(f"/admin/kb/catalog/{code}")
    reader.feed(await get(client, f"/admin/kb/catalog/{code}"))
    return reader.fields


def replace(fields: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    assert any(key == name for key, _ in fields), name
    return [(key, value if key == name else old) for key, old in fields]


def value_of(fields: list[tuple[str, str]], name: str) -> str:
    return next(value for key, value in fields if key == name)


async def chat(client: Client, sender: str, text: str) -> list[dict[str, Any]]:
    response = await client.post("/api/chat", json={"sender": sender, "message": text})
    assert response.status == 200
    replies: list[dict[str, Any]] = await response.json()
    return replies


async def answer(client: Client, sender: str, question: str) -> str:
    """The bot's replies on the web chat, as one text."""
    return " ".join(reply["text"] for reply in await chat(client, sender, question))


def procedure_found(client: Client, text: str) -> list[str]:
    parse = client.app[RUNTIME].pipeline.brain.nlu.parse(text)
    return [e.value for e in parse.entities if e.entity == EntityType.PROCEDURE]


# Search and paging ----------------------------------------------------------------------------


async def test_search_without_diacritics_finds_a_national_record(accounts: Client) -> None:
    await http_login(accounts, ADMIN)
    page = await get(accounts, "/admin/kb/catalog?q=dang+ky+khai+sinh+co+yeu+to+nuoc+ngoai")
    assert BORDER in rows(page)
    words = fold("đăng ký khai sinh có yếu tố nước ngoài").split()
    expected = {code for code, r in records().items()
                if all(w in fold(f"{r.code} {r.name} {r.field}") for w in words)}
    assert set(rows(page)) == expected and total(page) == len(expected) > 2
    assert f'href="/admin/kb/catalog/{BORDER}"' in page
    # a curated procedure links to its own editor; by code too
    curated = await get(accounts, "/admin/kb/catalog?q=khai+sinh")
    assert 'href="/admin/kb/procedure/khai-sinh"' in curated
    assert BORDER in rows(await get(accounts, f"/admin/kb/catalog?q={BORDER}"))


async def test_paging_covers_every_procedure_once(accounts: Client) -> None:
    await http_login(accounts, ADMIN)
    curated = await accounts.app[RUNTIME].stores.knowledge.procedures(published_only=False)
    first = await get(accounts, "/admin/kb/catalog")
    assert total(first) == len(curated) + len(records())
    assert len(rows(first)) == 50 and 'rel="next"' in first and 'rel="prev"' not in first
    second = await get(accounts, "/admin/kb/catalog?page=2")
    assert len(rows(second)) == 50 and 'rel="prev"' in second
    assert not set(rows(first)) & set(rows(second))
    national = sorted(records())
    # the curated ones come first, then the national records by code
    assert rows(second) == national[50 - len(curated):100 - len(curated)]
    pages = -(-total(first) // 50)
    last = await get(accounts, f"/admin/kb/catalog?page={pages}")
    assert 'rel="next"' not in last
    assert rows(last)[-1] == national[-1]
    assert len(rows(last)) == total(first) - 50 * (pages - 1)


async def test_filters_by_tier_and_level(accounts: Client) -> None:
    await http_login(accounts, ADMIN)
    all_records = records()
    national = await get(accounts, "/admin/kb/catalog?tier=national")
    assert total(national) == len(all_records)
    assert "/admin/kb/procedure/" not in national.split("<tbody>")[1]
    verified = await get(accounts, "/admin/kb/catalog?tier=verified")
    curated = await accounts.app[RUNTIME].stores.knowledge.procedures(published_only=False)
    assert total(verified) == len(curated)
    commune = await get(accounts, "/admin/kb/catalog?tier=national&level=C%E1%BA%A5p+x%C3%A3")
    assert total(commune) == sum("Cấp xã" in r.levels for r in all_records.values())
    for code in rows(commune):
        assert "Cấp xã" in all_records[code].levels
    # paging keeps the filters
    assert "tier=national" in unescape(re.search(r'href="([^"]+)" rel="next"', commune)
                                       .group(1))  # type: ignore[union-attr]
    ministry = await get(accounts, "/admin/kb/catalog?level=C%E1%BA%A5p+b%E1%BB%99&q=hai+quan")
    assert rows(ministry) and all("Cấp bộ" in all_records[c].levels for c in rows(ministry))


# One record -----------------------------------------------------------------------------------


async def test_edit_a_record_shows_the_diff_is_audited_and_answered(accounts: Client) -> None:
    csrf = await http_login(accounts, ADMIN)
    page = await get(accounts, f"/admin/kb/catalog/{BORDER}")
    assert "Bản ghi quốc gia nói gì" in page and "dichvucong.gov.vn" in page
    assert "Sửa đổi của thành phố" not in page
    question = ("thủ tục đăng ký khai sinh có yếu tố nước ngoài tại khu vực biên giới "
                "gồm những bước nào")
    assert "quầy số 7" not in await answer(accounts, "c1", question)
    assert BORDER_ID not in procedure_found(accounts, ALIAS)

    fields = await record_form(accounts, BORDER)
    steps = value_of(fields, "steps")
    fields = replace(fields, "steps", NEW_STEP + "\n" + steps)
    fields = replace(fields, "aliases", ALIAS)
    response = await accounts.post(f"/admin/kb/catalog/{BORDER}",
                                   data=[*fields, ("action", "save")], allow_redirects=False)
    assert response.status == 303, await response.text()
    page = await get(accounts, response.headers["Location"])
    assert "Đã lưu sửa đổi" in page
    edits = page.split('id="edits"')[1].split('id="record"')[0]
    assert 'data-field="steps"' in edits and 'data-field="aliases"' in edits
    assert NEW_STEP in edits and ALIAS in edits and "(trống)" in edits
    assert 'data-field="documents"' not in edits  # untouched fields are not edits

    row = await accounts.app[RUNTIME].stores.knowledge.catalog.get(BORDER)
    assert row is not None and set(row.edits) == {"steps", "aliases"}
    [audit] = await recent_changes(accounts.app[RUNTIME].stores.knowledge.sessions,
                                   kind="national", entry_id=BORDER)
    assert audit.username == ADMIN and audit.action == "update"
    assert audit.after is not None and NEW_STEP in audit.after["steps"]
    assert BORDER in await get(accounts, "/admin/kb/audit?kind=national")

    # the bot answers from the edit at once
    assert BORDER_ID in procedure_found(accounts, ALIAS)
    assert "1. Mang hồ sơ đến quầy số 7" in await answer(accounts, "c2", question)
    assert "quầy số 7" in await answer(accounts, "c3", f"thủ tục {ALIAS}")

    # saving the same form again changes nothing
    again = await accounts.post(f"/admin/kb/catalog/{BORDER}",
                                data=[*await record_form(accounts, BORDER), ("action", "save")],
                                allow_redirects=False)
    assert again.headers["Location"].endswith("msg=unchanged")
    assert len(await recent_changes(accounts.app[RUNTIME].stores.knowledge.sessions,
                                    kind="national", entry_id=BORDER)) == 1
    # dropping every edit brings the record back
    reset = await accounts.post(f"/admin/kb/catalog/{BORDER}",
                                data={"csrf_token": csrf, "action": "reset"},
                                allow_redirects=False)
    assert reset.status == 303
    assert BORDER_ID not in procedure_found(accounts, ALIAS)


async def test_an_invalid_edit_shows_a_vietnamese_error_and_changes_nothing(
        accounts: Client) -> None:
    await http_login(accounts, ADMIN)
    fields = await record_form(accounts, BORDER)
    fields = replace(fields, "fees.0.amount_vnd", "mười nghìn")
    fields = replace(fields, "steps", value_of(fields, "steps") + "\n" + NEW_STEP)
    response = await accounts.post(f"/admin/kb/catalog/{BORDER}",
                                   data=[*fields, ("action", "save")])
    page = await response.text()
    assert response.status == 400
    assert "Chưa lưu được" in page and "Phải là số nguyên" in page
    assert 'value="mười nghìn"' in page and NEW_STEP in page  # what they typed is kept
    row = await accounts.app[RUNTIME].stores.knowledge.catalog.get(BORDER)
    assert row is not None and row.edits == {}
    assert not await recent_changes(accounts.app[RUNTIME].stores.knowledge.sessions,
                                    kind="national")


async def test_promotion_refused_until_complete_then_shown(accounts: Client) -> None:
    csrf = await http_login(accounts, ADMIN)
    catalog = accounts.app[RUNTIME].stores.knowledge.catalog
    response = await accounts.post(f"/admin/kb/catalog/{NO_FEE}",
                                   data={"csrf_token": csrf, "action": "promote"})
    page = await response.text()
    assert response.status == 400
    assert "Chưa thể xác minh cho thành phố" in page and "Lệ phí" in page
    row = await catalog.get(NO_FEE)
    assert row is not None and row.promoted_by is None

    fields = await record_form(accounts, NO_FEE)
    fields = replace(fields, "fees.0.name", "Lệ phí hải quan")
    fields = replace(fields, "fees.0.amount_vnd", "20.000")
    fields = replace(fields, "processing_time.text", "8 giờ làm việc")
    saved = await accounts.post(f"/admin/kb/catalog/{NO_FEE}",
                                data=[*fields, ("action", "save")], allow_redirects=False)
    assert saved.status == 303, await saved.text()
    promoted = await accounts.post(f"/admin/kb/catalog/{NO_FEE}",
                                   data={"csrf_token": csrf, "action": "promote"})
    page = await promoted.text()
    assert promoted.status == 200 and "Đã xác minh cho thành phố" in page
    assert re.search(rf"Đã xác minh bởi <strong>{ADMIN}</strong> lúc \d\d/\d\d/\d{{4}}", page)
    live = accounts.app[RUNTIME].pipeline.brain.knowledge.procedures["qg-1-000005"]
    assert live.tier == "verified" and live.checked_by == ADMIN
    assert live.fees[0].amount_vnd == 20000
    assert "quantri" in await get(accounts, "/admin/kb/catalog?tier=verified&q=1.000005")

    demoted = await accounts.post(f"/admin/kb/catalog/{NO_FEE}",
                                  data={"csrf_token": csrf, "action": "demote"})
    assert "Đã bỏ xác minh" in await demoted.text()
    assert accounts.app[RUNTIME].pipeline.brain.knowledge.procedures[
        "qg-1-000005"].tier == "national"
    actions = [r.action for r in await recent_changes(
        accounts.app[RUNTIME].stores.knowledge.sessions, kind="national", entry_id=NO_FEE)]
    assert actions == ["demote", "promote", "update"]


async def test_staff_cannot_edit_the_catalog(accounts: Client) -> None:
    csrf = await http_login(accounts, STAFF)
    assert (await accounts.get("/admin/kb/catalog")).status == 403
    response = await accounts.post(f"/admin/kb/catalog/{BORDER}",
                                   data={"csrf_token": csrf, "action": "promote"})
    assert response.status == 403
    assert (await accounts.get("/admin/kb/synonyms")).status == 403
    await get(accounts, "/admin/kb/catalog/9.999999", 403)


async def test_an_unknown_record_is_not_found(accounts: Client) -> None:
    await http_login(accounts, ADMIN)
    assert "Không có bản ghi quốc gia" in await get(accounts, "/admin/kb/catalog/9.999999", 404)


# Synonyms -------------------------------------------------------------------------------------


def synonym_fields(page: str) -> list[tuple[str, str]]:
    reader = FormReader("/admin/kb/synonyms")
    reader.feed(page)
    return reader.fields


async def test_a_new_synonym_changes_what_procedure_search_finds(accounts: Client) -> None:
    await http_login(accounts, ADMIN)
    word = "quaxilot"
    assert BORDER_ID not in procedure_found(accounts, f"làm {word}")
    fields = synonym_fields(await get(accounts, "/admin/kb/synonyms"))
    stored = await accounts.app[RUNTIME].stores.knowledge.synonyms.all()
    blank = len(stored)  # the first blank row
    fields = replace(fields, f"synonyms.{blank}.phrases", f"{word}, giay quaxilot")
    fields = replace(fields, f"synonyms.{blank}.meaning",
                     "đăng ký khai sinh có yếu tố nước ngoài tại khu vực biên giới")
    response = await accounts.post("/admin/kb/synonyms", data=fields, allow_redirects=False)
    assert response.status == 303, await response.text()
    page = await get(accounts, response.headers["Location"])
    assert "Đã lưu bảng từ đồng nghĩa" in page and "giay quaxilot" in page
    assert BORDER_ID in procedure_found(accounts, f"làm {word}")
    [audit] = await recent_changes(accounts.app[RUNTIME].stores.knowledge.sessions,
                                   kind="synonyms")
    assert audit.username == ADMIN

    # deleting the row takes it back out
    fields = synonym_fields(page)
    fields.append((f"synonyms.{blank}.delete", "1"))
    deleted = await accounts.post("/admin/kb/synonyms", data=fields, allow_redirects=False)
    assert deleted.status == 303
    assert BORDER_ID not in procedure_found(accounts, f"làm {word}")
    assert len(await accounts.app[RUNTIME].stores.knowledge.synonyms.all()) == len(stored)


async def test_invalid_synonyms_show_errors_and_change_nothing(accounts: Client) -> None:
    await http_login(accounts, ADMIN)
    stored = await accounts.app[RUNTIME].stores.knowledge.synonyms.all()
    fields = synonym_fields(await get(accounts, "/admin/kb/synonyms"))
    blank = len(stored)
    fields = replace(fields, f"synonyms.{blank}.phrases", "abcxyz")
    fields = replace(fields, f"synonyms.{blank + 1}.meaning", "giấy phép lái xe")
    fields = replace(fields, "synonyms.0.phrases", "sổ đỏ, " + "x" * 301)
    response = await accounts.post("/admin/kb/synonyms", data=fields)
    page = await response.text()
    assert response.status == 400 and "Chưa lưu được: có 3 chỗ cần sửa" in page
    assert "Bắt buộc phải có" in page or "Không được để trống" in page
    assert "Cần ít nhất một từ thường dùng" in page and "Dài quá" in page
    assert 'value="abcxyz"' in page
    assert await accounts.app[RUNTIME].stores.knowledge.synonyms.all() == stored
    assert not await recent_changes(accounts.app[RUNTIME].stores.knowledge.sessions,
                                    kind="synonyms")


# The inbox: labels with any procedure ---------------------------------------------------------


async def test_procedure_search_api_and_a_national_label(accounts: Client) -> None:
    for sender in ("a", "b"):  # two questions in the inbox: each got a 👎
        await chat(accounts, sender, f"lệ phí {sender} hộ chiếu" if sender == "a"
                   else "thủ tục căn cước")
        await chat(accounts, sender, '/feedback{"value":"down"}')
    csrf = await http_login(accounts, STAFF)
    found = await (await accounts.get(
        "/admin/api/procedures?q=khai+sinh+co+yeu+to+nuoc+ngoai+tai+khu+vuc+bien+gioi")).json()
    assert found["procedures"][0] == {"id": BORDER_ID, "code": BORDER, "name": records()[
        BORDER].name, "tier": "national"}
    curated = await (await accounts.get("/admin/api/procedures?q=ho chieu")).json()
    assert curated["procedures"][0]["id"] == "ho-chieu"
    assert (await (await accounts.get("/admin/api/procedures?q=")).json()) == {"procedures": []}

    first = await group_of(accounts, "lệ phí a hộ chiếu")
    response = await accounts.post("/admin/inbox/label", data=form(
        csrf, first, intent="procedure_overview", procedure=BORDER_ID))
    assert response.status == 200
    assert "Thủ tục đăng ký khai sinh có yếu tố nước ngoài" in await response.text()
    examples = await training(accounts).examples()
    assert {e.procedure for e in examples} == {BORDER_ID}

    second = await group_of(accounts, "thủ tục căn cước")
    refused = await accounts.post("/admin/inbox/label", data=form(
        csrf, second, intent="procedure_overview", procedure="qg-9-999999"))
    assert refused.status == 400 and "chưa được công bố" in await refused.text()
    assert len(await accounts.app[ADMIN_APP][RETRAINER].training.examples()) == len(examples)
