"""Knowledge-base editing over real HTTP: drafts, preview, publish, undo, audit, upload."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp.test_utils import TestClient

from bot.service.app import RUNTIME
from knowledge.files import read_document
from tests.bot.admin.conftest import ADMIN, STAFF, http_login

pytestmark = pytest.mark.usefixtures("accounts")


class FormReader(HTMLParser):
    """The fields a browser would submit from the page's main form (the one posting to
    ``action``): text inputs, checked boxes, textareas and selected options."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._textarea: str | None = None
        self._text = ""
        self._select: str | None = None
        self._first_option: str | None = None
        self._selected = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("file",):
            if a.get("type") == "checkbox" and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value", "")))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""
        elif tag == "select":
            self._select, self._first_option, self._selected = a["name"], None, False
        elif tag == "option" and self._select is not None:
            if self._first_option is None:
                self._first_option = a.get("value", "")
            if "selected" in a:
                self.fields.append((self._select, a.get("value", "")))
                self._selected = True

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, self._text))
            self._textarea = None
        elif tag == "select" and self._select is not None:
            if not self._selected:
                self.fields.append((self._select, self._first_option or ""))
            self._select = None


async def edit_form(client: TestClient[Any, Any], path: str) -> list[tuple[str, str]]:
    """The fields of an edit page's form, as a browser would post them."""
    response = await client.get(path)
    assert response.status == 200, await response.text()
    reader = FormReader(path)
    reader.feed(await response.text())
    return reader.fields


def with_values(fields: list[tuple[str, str]], **changes: str) -> list[tuple[str, str]]:
    """The fields with some values replaced (keys use __ for dots)."""
    named = {key.replace("__", "."): value for key, value in changes.items()}
    return [(name, named.get(name, value)) for name, value in fields]


async def ask(client: TestClient[Any, Any], text: str, sender: str = "citizen") -> str:
    response = await client.post("/api/chat", json={"sender": sender, "message": text})
    assert response.status == 200
    return "\n".join(m["text"] for m in await response.json())


async def post(client: TestClient[Any, Any], path: str,
               fields: list[tuple[str, str]] | dict[str, str], action: str | None = None,
               **extra: str) -> aiohttp.ClientResponse:
    data = list(fields.items()) if isinstance(fields, dict) else list(fields)
    if action is not None:
        data.append(("action", action))
    data.extend(extra.items())
    return await client.post(path, data=data, allow_redirects=False)


FEE_QUESTION = "lệ phí làm hộ chiếu"
FEE = "Lệ phí cấp hộ chiếu phổ thông: {} đồng"  # how the bot states the first fee
PASSPORT = "/admin/kb/procedure/ho-chieu"


async def test_fee_edit_draft_preview_publish_undo(accounts: TestClient[Any, Any]) -> None:
    client = accounts
    await http_login(client, ADMIN)
    assert FEE.format("200.000") in await ask(client, FEE_QUESTION)
    fields = with_values(await edit_form(client, PASSPORT), fees__0__amount_vnd="250.000")

    saved = await post(client, PASSPORT, fields, "save")
    assert saved.status == 303 and saved.headers["Location"].endswith("?msg=saved")
    # a draft is invisible to citizens
    reply = await ask(client, FEE_QUESTION)
    assert FEE.format("200.000") in reply and "250.000" not in reply
    listing = await (await client.get("/admin/kb")).text()
    assert "Bản nháp chờ xuất bản" in listing and "có bản nháp" in listing

    # preview: the real bot with the draft applied, nothing saved
    runtime = client.app[RUNTIME]
    preview = await post(client, PASSPORT, with_values(fields, question=FEE_QUESTION),
                         "preview")
    page = await preview.text()
    assert preview.status == 200
    draft_part = page.split('data-preview="draft"')[1].split('data-preview="current"')[0]
    current_part = page.split('data-preview="current"')[1]
    assert FEE.format("250.000") in draft_part
    assert FEE.format("200.000") in current_part and "250.000" not in current_part
    assert await runtime.stores.conversations.load(f"preview:{ADMIN}") is None
    assert "250.000" not in await ask(client, FEE_QUESTION)

    published = await post(client, PASSPORT, fields, "publish")
    assert published.status == 303 and published.headers["Location"].endswith("msg=published")
    assert FEE.format("250.000") in await ask(client, FEE_QUESTION)  # live, no restart
    assert "Bản nháp chờ xuất bản" not in await (await client.get("/admin/kb")).text()

    audit = await (await client.get("/admin/kb/audit")).text()
    assert ADMIN in audit and "Xuất bản" in audit and "ho-chieu" in audit
    assert re.search(r'class="add">\+ .*amount_vnd: 250000', audit)
    assert re.search(r'class="del">− .*amount_vnd: 200000', audit)
    assert "Hoàn tác" in audit

    undone = await client.post(f"{PASSPORT}/undo", data={"csrf_token": await csrf(client)},
                               allow_redirects=False)
    assert undone.status == 303
    reply = await ask(client, FEE_QUESTION)
    assert FEE.format("200.000") in reply and "250.000" not in reply
    rows = await client.app[RUNTIME].stores.knowledge.entry("procedure", "ho-chieu")
    assert rows is not None and rows.fees[0].amount_vnd == 200000
    assert "Hoàn tác" in await (await client.get("/admin/kb/audit?entry=ho-chieu")).text()


async def csrf(client: TestClient[Any, Any]) -> str:
    page = await (await client.get("/admin/kb")).text()
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


async def test_a_new_alias_is_understood_after_publishing(
        accounts: TestClient[Any, Any]) -> None:
    client = accounts
    await http_login(client, ADMIN)
    runtime = client.app[RUNTIME]
    question = "làm sổ thông hành mất bao lâu"
    assert runtime.pipeline.brain.nlu.parse(question).first("procedure") != "ho-chieu"
    fields = await edit_form(client, PASSPORT)
    aliases = dict(fields)["aliases"] + "\nsổ thông hành\nso thong hanh"
    fields = with_values(fields, aliases=aliases, question=question)
    # the preview already understands the draft's alias; citizens do not yet
    page = await (await post(client, PASSPORT, fields, "preview")).text()
    draft_part = page.split('data-preview="draft"')[1].split('data-preview="current"')[0]
    assert "Cấp hộ chiếu phổ thông" in draft_part
    assert "Cấp hộ chiếu phổ thông" not in page.split('data-preview="current"')[1]
    assert runtime.pipeline.brain.nlu.parse(question).first("procedure") != "ho-chieu"
    response = await post(client, PASSPORT, fields, "publish")
    assert response.status == 303
    entity = runtime.pipeline.brain.nlu.parse(question).first("procedure")
    assert entity is not None and entity == "ho-chieu"
    assert "Cấp hộ chiếu" in await ask(client, question)


async def test_invalid_input_shows_the_field_message_and_changes_nothing(
        accounts: TestClient[Any, Any]) -> None:
    client = accounts
    await http_login(client, ADMIN)
    runtime = client.app[RUNTIME]
    before = await runtime.stores.knowledge.export_bundle()
    fields = await edit_form(client, PASSPORT)

    negative = await post(client, PASSPORT, with_values(fields, fees__0__amount_vnd="-5000"),
                          "publish")
    page = await negative.text()
    assert negative.status == 400
    assert re.search(r'id="err-fees\.0\.amount_vnd"[^>]*>Phải lớn hơn hoặc bằng 0', page)
    assert 'value="-5000"' in page  # the form keeps what was typed

    no_steps = await post(client, PASSPORT, with_values(fields, steps="  \n"), "save")
    assert no_steps.status == 400
    assert re.search(r'id="err-steps"[^>]*>Cần ít nhất một mục', await no_steps.text())

    unknown_office = await post(client, PASSPORT, [*fields, ("offices", "khong-co-noi-nay")],
                                "save")
    assert unknown_office.status == 400
    assert re.search(r'id="err-offices"[^>]*>Không có nơi tiếp nhận mã «khong-co-noi-nay»',
                     await unknown_office.text())

    new_fields = with_values(fields, id="Thu Tuc Moi!", name="Thủ tục mới")
    bad_slug = await post(client, "/admin/kb/new/procedure", new_fields, "save")
    assert bad_slug.status == 400
    assert re.search(r'id="err-id"[^>]*>Mã không hợp lệ', await bad_slug.text())

    taken = await post(client, "/admin/kb/new/procedure", fields, "save")
    assert taken.status == 400 and "đã được dùng" in await taken.text()

    not_number = await post(client, PASSPORT, with_values(fields, fees__1__amount_vnd="nhiều"),
                            "save")
    assert "Phải là số nguyên" in await not_number.text()

    assert await runtime.stores.knowledge.export_bundle() == before
    assert "Bản nháp chờ xuất bản" not in await (await client.get("/admin/kb")).text()
    assert "Chưa có thay đổi nào" in await (await client.get("/admin/kb/audit")).text()
    assert FEE.format("200.000") in await ask(client, FEE_QUESTION)


async def test_new_faq_hide_and_delete_rules(accounts: TestClient[Any, Any]) -> None:
    client = accounts
    await http_login(client, ADMIN)
    fields = await edit_form(client, "/admin/kb/new/faq")
    fields = with_values(fields, id="gio-lam-viec-cuoi-tuan",
                         question="Thứ Bảy có làm việc không?",
                         paraphrases="thu bay co lam viec khong\nthứ 7 có nhận hồ sơ không",
                         answer="Một số nơi nhận hồ sơ sáng thứ Bảy; hãy gọi trước.",
                         procedure="ho-chieu")
    created = await post(client, "/admin/kb/new/faq", fields, "publish")
    assert created.status == 303, await created.text()
    assert "sáng thứ Bảy" in await ask(client, "thứ bảy có làm việc không")

    token = await csrf(client)
    hidden = await client.post("/admin/kb/faq/gio-lam-viec-cuoi-tuan/hide",
                               data={"csrf_token": token}, allow_redirects=False)
    assert hidden.status == 303
    assert "sáng thứ Bảy" not in await ask(client, "thứ bảy có làm việc không", "other")

    # a procedure that an FAQ and offices still refer to cannot be deleted
    refused = await client.post("/admin/kb/procedure/ho-chieu/delete",
                                data={"csrf_token": token})
    assert refused.status == 400
    assert "«gio-lam-viec-cuoi-tuan» vẫn dùng mã «ho-chieu»" in await refused.text()
    assert await client.app[RUNTIME].stores.knowledge.entry("procedure", "ho-chieu") is not None

    deleted = await client.post("/admin/kb/faq/gio-lam-viec-cuoi-tuan/delete",
                                data={"csrf_token": token}, allow_redirects=False)
    assert deleted.status == 303
    assert await client.app[RUNTIME].stores.knowledge.entry("faq", "gio-lam-viec-cuoi-tuan") is None
    restored = await client.post("/admin/kb/faq/gio-lam-viec-cuoi-tuan/undo",
                                 data={"csrf_token": token}, allow_redirects=False)
    assert restored.status == 303
    knowledge = client.app[RUNTIME].stores.knowledge
    assert await knowledge.entry("faq", "gio-lam-viec-cuoi-tuan") is not None


async def upload(client: TestClient[Any, Any], path: str, name: str,
                 data: bytes) -> aiohttp.ClientResponse:
    form = aiohttp.FormData()
    form.add_field("csrf_token", await csrf(client))
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    return await client.post(path, data=form)


async def test_a_broken_upload_changes_nothing_and_lists_every_problem(
        accounts: TestClient[Any, Any]) -> None:
    client = accounts
    await http_login(client, ADMIN)
    runtime = client.app[RUNTIME]
    before = await runtime.stores.knowledge.export_bundle()
    exported = await client.get("/admin/kb/export.yaml")
    assert exported.status == 200 and "attachment" in exported.headers["Content-Disposition"]
    text = await exported.text()
    assert read_document(text) == before

    broken_yaml = await upload(client, "/admin/kb/import", "kb.yaml",
                               b"city: {name: [unclosed\nprocedures: []\n")
    page = await broken_yaml.text()
    assert broken_yaml.status == 400 and "không đúng cú pháp YAML (dòng" in page
    assert "chưa có gì bị thay đổi" in page

    data = yaml.safe_load(text)
    passport = next(p for p in data["procedures"] if p["id"] == "ho-chieu")
    passport["fees"][0]["amount_vnd"] = -1
    data["faqs"][0]["id"] = "Sai Mã"
    bad_fields = await upload(client, "/admin/kb/import", "kb.yaml",
                              yaml.safe_dump(data, allow_unicode=True).encode())
    page = await bad_fields.text()
    assert bad_fields.status == 400
    assert ("thủ tục «ho-chieu» › trường Lệ phí › dòng 1 › Số tiền (đồng) "
            "(fees.0.amount_vnd): Phải lớn hơn hoặc bằng 0") in page
    assert "câu hỏi thường gặp «Sai Mã» › trường Mã định danh (id): Mã không hợp lệ" in page

    data = yaml.safe_load(text)
    passport = next(p for p in data["procedures"] if p["id"] == "ho-chieu")
    passport["offices"] = ["khong-co-noi-nay"]
    passport["fees"][0]["amount_vnd"] = 999000
    dangling = await upload(client, "/admin/kb/import", "kb.yaml",
                            yaml.safe_dump(data, allow_unicode=True).encode())
    page = await dangling.text()
    assert dangling.status == 400
    assert "thủ tục «ho-chieu» › trường Nơi tiếp nhận (offices): Không có nơi tiếp nhận mã " \
           "«khong-co-noi-nay»" in page

    not_a_bundle = await upload(client, "/admin/kb/import", "kb.yaml", b"- just a list\n")
    assert not_a_bundle.status == 400 and "Tệp phải có các phần" in await not_a_bundle.text()

    assert await runtime.stores.knowledge.export_bundle() == before
    assert "999.000" not in await ask(client, FEE_QUESTION)


async def test_a_good_upload_loads_and_is_audited(accounts: TestClient[Any, Any]) -> None:
    client = accounts
    await http_login(client, ADMIN)
    data = yaml.safe_load(await (await client.get("/admin/kb/export.yaml")).text())
    passport = next(p for p in data["procedures"] if p["id"] == "ho-chieu")
    passport["fees"][0]["amount_vnd"] = 321000
    loaded = await upload(client, "/admin/kb/import", "sua-le-phi.yaml",
                          yaml.safe_dump(data, allow_unicode=True).encode())
    page = await loaded.text()
    assert loaded.status == 200, page
    assert "Đã nạp tệp sua-le-phi.yaml" in page and "cập nhật 1" in page
    assert FEE.format("321.000") in await ask(client, FEE_QUESTION)
    audit = await (await client.get("/admin/kb/audit")).text()
    assert "Nạp tệp" in audit and "sua-le-phi.yaml" in audit and "amount_vnd: 321000" in audit
    undone = await client.post(f"{PASSPORT}/undo", data={"csrf_token": await csrf(client)},
                               allow_redirects=False)
    assert undone.status == 303
    assert FEE.format("200.000") in await ask(client, FEE_QUESTION, "again")


async def test_faq_csv_round_trip_and_a_bad_row(accounts: TestClient[Any, Any]) -> None:
    client = accounts
    await http_login(client, ADMIN)
    runtime = client.app[RUNTIME]
    response = await client.get("/admin/kb/faqs.csv")
    body = await response.read()
    assert response.status == 200 and body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["id", "question", "paraphrases", "answer", "procedure", "tags"]
    faqs = await runtime.stores.knowledge.faqs(published_only=False)
    assert len(rows) == len(faqs) + 1
    assert rows[1][2] == " | ".join(faqs[0].paraphrases)

    rows[1][3] = "Câu trả lời đã sửa qua Excel."
    rows.append(["hoi-moi", "Câu hỏi mới?", "cau hoi moi | câu hỏi mới nhé", "Trả lời mới.",
                 "ho-chieu", "moi"])
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    loaded = await upload(client, "/admin/kb/faqs.csv", "faqs.csv",
                          out.getvalue().encode("utf-8-sig"))
    assert loaded.status == 200, await loaded.text()
    assert "thêm 1, cập nhật 1 câu hỏi" in await loaded.text()
    new = await runtime.stores.knowledge.entry("faq", "hoi-moi")
    assert new is not None and new.paraphrases == ["cau hoi moi", "câu hỏi mới nhé"]
    edited = await runtime.stores.knowledge.entry("faq", rows[1][0])
    assert edited is not None and edited.answer == "Câu trả lời đã sửa qua Excel."
    again = await (await client.get("/admin/kb/faqs.csv")).read()
    downloaded = list(csv.reader(io.StringIO(again.decode("utf-8-sig"))))
    assert {tuple(r) for r in downloaded[1:]} == {tuple(r) for r in rows[1:]}

    before = await runtime.stores.knowledge.export_bundle()
    bad = [rows[0], ["Sai Ma", "Hỏi?", "", "Đáp.", "", ""],
           ["hoi-khac", "Hỏi?", "", "", "khong-co-thu-tuc", ""]]
    out = io.StringIO()
    csv.writer(out).writerows(bad)
    refused = await upload(client, "/admin/kb/faqs.csv", "sai.csv",
                           out.getvalue().encode("utf-8-sig"))
    page = await refused.text()
    assert refused.status == 400
    assert "Dòng 2, cột id: Mã không hợp lệ" in page
    assert "Dòng 3, cột answer: Không được để trống" in page
    assert await runtime.stores.knowledge.export_bundle() == before

    dangling = [rows[0], ["hoi-khac", "Hỏi?", "", "Đáp.", "khong-co-thu-tuc", ""]]
    out = io.StringIO()
    csv.writer(out).writerows(dangling)
    refused = await upload(client, "/admin/kb/faqs.csv", "sai.csv",
                           out.getvalue().encode("utf-8-sig"))
    assert "Dòng 2, cột procedure: Không có thủ tục mã «khong-co-thu-tuc»" in await refused.text()
    assert await runtime.stores.knowledge.export_bundle() == before


KB_PAGES = ["/admin/kb", "/admin/kb/audit", "/admin/kb/export.yaml", "/admin/kb/import",
            "/admin/kb/faqs.csv", "/admin/kb/new/procedure", PASSPORT,
            "/admin/kb/faq/tra-cuu-ho-so-theo-ma", "/admin/kb/office/ttpvhcc-thanh-pho"]
KB_POSTS = ["/admin/kb/import", "/admin/kb/faqs.csv", "/admin/kb/new/faq", PASSPORT,
            f"{PASSPORT}/hide", f"{PASSPORT}/show", f"{PASSPORT}/delete", f"{PASSPORT}/undo"]


async def test_staff_is_refused_everywhere(accounts: TestClient[Any, Any]) -> None:
    client = accounts
    token = await http_login(client, STAFF)
    for path in KB_PAGES:
        response = await client.get(path, allow_redirects=False)
        assert response.status == 403, path
    for path in KB_POSTS:
        response = await client.post(path, data={"csrf_token": token, "action": "publish"},
                                     allow_redirects=False)
        assert response.status == 403, path
    assert await client.app[RUNTIME].stores.knowledge.entry("procedure", "ho-chieu") is not None


async def test_logged_out_is_sent_to_the_login(accounts: TestClient[Any, Any]) -> None:
    for path in KB_PAGES:
        response = await accounts.get(path, allow_redirects=False)
        assert response.status == 303, path
        assert response.headers["Location"].startswith("/admin/login"), path
    for path in KB_POSTS:
        response = await accounts.post(path, data={"action": "publish"}, allow_redirects=False)
        assert response.status == 303, path
