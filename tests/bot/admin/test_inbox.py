"""The misunderstood inbox and retraining, over real HTTP against the whole service.

Misunderstood turns are made by chatting with the bot through ``POST /api/chat``; a 👎 is the
citizen tapping the 👎 button (its payload). Retraining really trains and evaluates models.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import expect
from sqlalchemy import select

from bot.admin.inbox import RETRAINER
from bot.admin.web import STAFF_STORE
from bot.service.app import create_app
from bot.service.appkeys import ADMIN_APP, RUNTIME
from bot.service.settings import Settings
from bot.storage.roles import Role
from bot.storage.tables import TrainingExampleRow, TurnRow
from bot.storage.training import InboxGroup, TrainingStore
from nlu.engine import NluModel
from nlu.normalize import fold
from nlu.rasa_data import load_training_data
from tests.bot.admin.conftest import ADMIN, PASSWORD, STAFF, LoginAs, http_login

Client = TestClient[Any, Any]

ASK_THIS = ["cho hỏi cái này với", "cho hoi cai nay voi", "Cho hỏi cái này với!!",
            "cho hỏi cái này với ạ"]
WEATHER = ["thời tiết", "thoi tiet"]
UNDERSTOOD = "lệ phí làm hộ chiếu"
# what the retraining tests teach ASK_THIS to be (the shipped model now guesses "help", weakly)
TAUGHT = "thank"
JOB_WAIT = 90.0  # seconds; one retraining takes a few seconds on a busy 2-core machine


async def chat(client: Client, sender: str, text: str) -> list[dict[str, Any]]:
    response = await client.post("/api/chat", json={"sender": sender, "message": text})
    assert response.status == 200, await response.text()
    result: list[dict[str, Any]] = await response.json()
    return result


async def ask_misunderstood(client: Client) -> None:
    """Four spellings of one unclear question, two of the weather, one understood question."""
    for index, text in enumerate([*ASK_THIS, *WEATHER, UNDERSTOOD]):
        await chat(client, f"citizen{index}", text)


def training(client: Client) -> TrainingStore:
    return client.app[ADMIN_APP][RETRAINER].training


async def group_of(client: Client, text: str) -> InboxGroup:
    page = await training(client).inbox()
    found = [g for g in page.groups if fold(text) in g.keys]
    assert len(found) == 1, page.groups
    return found[0]


def form(csrf: str, group: InboxGroup, **fields: str) -> list[tuple[str, str]]:
    return [("csrf_token", csrf), *(("key", key) for key in group.keys), *fields.items()]


async def parse_intent(client: Client, text: str) -> str:
    answer = await (await client.post("/model/parse", json={"text": text})).json()
    return str(answer["intent"]["name"])


async def wait_for_job(client: Client) -> dict[str, Any]:
    """Poll the job endpoint until the retraining ends (bounded)."""
    deadline = time.monotonic() + JOB_WAIT
    while time.monotonic() < deadline:
        state = await (await client.get("/admin/api/models/job")).json()
        if not state["running"]:
            job: dict[str, Any] = state["job"]
            return job
        await asyncio.sleep(0.2)
    raise AssertionError("retraining did not finish in time")


async def retrain(client: Client, csrf: str) -> dict[str, Any]:
    response = await client.post("/admin/models/retrain", data={"csrf_token": csrf},
                                 allow_redirects=False)
    assert response.status == 303, await response.text()
    return await wait_for_job(client)


# The inbox ---------------------------------------------------------------------------------


async def test_the_same_question_asked_many_ways_is_one_group(accounts: Client) -> None:
    await ask_misunderstood(accounts)
    await chat(accounts, "xss", "<script>alert(1)</script>")
    await http_login(accounts, STAFF)
    page = await (await accounts.get("/admin/inbox")).text()

    ask = await group_of(accounts, ASK_THIS[0])
    assert ask.count == 4 and ask.unsure == 4 and ask.channels == ("web",)
    assert set(ask.keys) == {"cho hoi cai nay voi", "cho hoi cai nay voi a"}
    assert ask.intent and ask.confidence is not None
    weather = await group_of(accounts, "thoi tiet")
    assert weather.count == 2
    assert page.count('class="card inbox-group"') == 3  # ask, weather, the script
    assert "Được hỏi <strong class=\"count\">4</strong> lần" in page
    assert UNDERSTOOD not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "Lưu nhãn" in page and "Bỏ qua" in page and "Cấp hộ chiếu" in page


async def test_a_thumbs_down_puts_the_question_in_the_inbox(accounts: Client) -> None:
    answer = await chat(accounts, "unhappy", UNDERSTOOD)
    assert "👎" in str(answer)
    assert not (await training(accounts).inbox()).groups
    await chat(accounts, "unhappy", '/feedback{"value":"down"}')

    group = await group_of(accounts, UNDERSTOOD)
    assert group.count == 1 and group.unsure == 0
    assert group.intent == "procedure_fee"
    await http_login(accounts, STAFF)
    assert "Bị đánh giá 👎: 1" in await (await accounts.get("/admin/inbox")).text()


async def test_labelling_stores_examples_and_empties_the_group(accounts: Client) -> None:
    await ask_misunderstood(accounts)
    csrf = await http_login(accounts, STAFF)
    group = await group_of(accounts, ASK_THIS[0])

    response = await accounts.post("/admin/inbox/label", data=form(csrf, group, intent="help"))
    assert response.status == 200
    assert "Đã lưu nhãn «Bot giúp được gì?» cho 2 cách hỏi" in await response.text()
    examples = await training(accounts).examples()
    assert {(e.text, e.intent, e.procedure, e.username) for e in examples} == {
        ("Cho hỏi cái này với!!", "help", None, STAFF),
        ("cho hỏi cái này với ạ", "help", None, STAFF)}
    assert all(e.turn_id for e in examples)
    page = await training(accounts).inbox()
    assert [g.text for g in page.groups] == ["thoi tiet"]
    async with accounts.app[RUNTIME].stores.knowledge.sessions() as session:
        reviewed = (await session.scalars(select(TurnRow.reviewed).where(
            TurnRow.folded.in_(group.keys)))).all()
    assert len(reviewed) == 4 and all(reviewed)
    [audit] = await accounts.app[ADMIN_APP][STAFF_STORE].audit_log(kind="training_example")
    assert audit.username == STAFF and audit.action == "label"

    again = await accounts.post("/admin/inbox/label", data=form(csrf, group, intent="greet"))
    assert again.status == 409 and "đã được xử lý" in await again.text()
    assert len(await training(accounts).examples()) == 2


async def test_bad_labels_change_nothing(accounts: Client) -> None:
    await ask_misunderstood(accounts)
    csrf = await http_login(accounts, STAFF)
    weather = await group_of(accounts, "thoi tiet")
    cases = [
        ({"intent": ""}, "Vui lòng chọn ý định"),
        ({"intent": "weather_report"}, "Vui lòng chọn ý định"),
        ({"intent": "procedure_fee", "procedure": "khong-co"}, "chưa được công bố"),
    ]
    for fields, message in cases:
        response = await accounts.post("/admin/inbox/label", data=form(csrf, weather, **fields))
        assert response.status == 400 and message in await response.text()
    nothing = await accounts.post("/admin/inbox/label", data={"csrf_token": csrf,
                                                               "intent": "greet"})
    assert nothing.status == 409
    forged = await accounts.post("/admin/inbox/label",
                                 data=form("forged", weather, intent="out_of_scope"))
    assert forged.status == 403
    assert await training(accounts).count_examples() == 0
    assert len((await training(accounts).inbox()).groups) == 2


async def test_dismissing_removes_the_group_without_a_label(accounts: Client) -> None:
    await ask_misunderstood(accounts)
    csrf = await http_login(accounts, ADMIN)
    weather = await group_of(accounts, "thoi tiet")
    response = await accounts.post("/admin/inbox/dismiss", data=form(csrf, weather))
    assert response.status == 200 and "Đã bỏ qua 2 tin nhắn" in await response.text()
    assert [g.text for g in (await training(accounts).inbox()).groups] == ["Cho hỏi cái này với!!"]
    assert await training(accounts).count_examples() == 0
    # asked again later, the question comes back
    await chat(accounts, "later", "thời tiết")
    assert (await group_of(accounts, "thời tiết")).count == 1


async def test_export_is_rasa_yaml_with_the_procedure_annotated(accounts: Client,
                                                                tmp_path: Path) -> None:
    await ask_misunderstood(accounts)
    await chat(accounts, "unhappy", UNDERSTOOD)
    await chat(accounts, "unhappy", '/feedback{"value":"down"}')
    csrf = await http_login(accounts, STAFF)
    passport = await group_of(accounts, UNDERSTOOD)
    weather = await group_of(accounts, "thoi tiet")
    for group, fields in ((passport, {"intent": "procedure_fee", "procedure": "ho-chieu"}),
                          (weather, {"intent": "out_of_scope"})):
        response = await accounts.post("/admin/inbox/label", data=form(csrf, group, **fields))
        assert response.status == 200

    response = await accounts.get("/admin/inbox/export.yml")
    assert response.status == 200
    assert "attachment" in response.headers["Content-Disposition"]
    text = await response.text()
    assert yaml.safe_load(text)["version"] == "3.1"
    assert 'hộ chiếu]{"entity": "procedure", "value": "ho-chieu"}' in text
    path = tmp_path / "labelled.yml"
    path.write_text(text, encoding="utf-8")
    data = load_training_data([path])
    by_text = {e.text: e for e in data.examples}
    assert set(by_text) == {UNDERSTOOD, "thoi tiet"}
    passport_example = by_text[UNDERSTOOD]
    assert passport_example.intent == "procedure_fee"
    [entity] = passport_example.entities
    assert (entity.entity, entity.value) == ("procedure", "ho-chieu")
    assert UNDERSTOOD[entity.start:entity.end].endswith("hộ chiếu")  # the NLU's own span
    assert by_text["thoi tiet"].intent == "out_of_scope" and not by_text["thoi tiet"].entities


async def test_pages_need_a_login(accounts: Client) -> None:
    for path in ("/admin/inbox", "/admin/models", "/admin/inbox/export.yml"):
        response = await accounts.get(path, allow_redirects=False)
        assert response.status == 303 and "/admin/login" in response.headers["Location"]
    assert (await accounts.get("/admin/api/models/job")).status == 401
    assert (await accounts.post("/admin/models/retrain", allow_redirects=False)).status == 303
    assert not await training(accounts).models()


# Retraining --------------------------------------------------------------------------------


@pytest.mark.slow
async def test_retraining_activates_a_model_that_is_not_worse_and_restore_goes_back(
        accounts: Client) -> None:
    await ask_misunderstood(accounts)
    csrf = await http_login(accounts, STAFF)
    old_guess = await parse_intent(accounts, ASK_THIS[0])
    assert old_guess != TAUGHT
    group = await group_of(accounts, ASK_THIS[0])
    await accounts.post("/admin/inbox/label", data=form(csrf, group, intent=TAUGHT))

    started = await accounts.post("/admin/models/retrain", data={"csrf_token": csrf},
                                  allow_redirects=False)
    assert started.status == 303
    busy = await accounts.post("/admin/models/retrain", data={"csrf_token": csrf})
    assert busy.status == 409 and "Đang có một lần huấn luyện lại chạy" in await busy.text()
    # the service keeps answering citizens while it trains
    assert await chat(accounts, "meanwhile", "chào bạn")
    job = await wait_for_job(accounts)
    assert job["status"] == "active", job

    models = {m.version: m for m in await training(accounts).models()}
    new = models[job["version"]]
    [baseline] = [m for m in models.values() if m.baseline]
    assert new.status == "active" and baseline.status == "retired"
    assert Path(new.path).exists() and Path(new.path).name == f"nlu-{new.version}.pkl"
    assert Path(baseline.path).exists()
    before, after = new.metrics["before"]["test"], new.metrics["test"]
    assert after["intent_accuracy"] >= before["intent_accuracy"] > 0.9
    assert after["procedure_accuracy"] >= before["procedure_accuracy"] > 0.9
    assert new.metrics["labelled"]["intent_accuracy"] == 1.0
    assert new.metrics["before"]["labelled"]["intent_accuracy"] == 0.0
    assert new.metrics["before"]["version"] == baseline.version

    # the running service now understands what it was taught
    assert await parse_intent(accounts, ASK_THIS[1]) == TAUGHT
    await chat(accounts, "taught", "cho hỏi cái này với")
    [question, *_] = await accounts.app[RUNTIME].stores.conversations.turns("web:taught")
    assert question.intent == TAUGHT and not question.misunderstood

    page = await (await accounts.get("/admin/models")).text()
    assert "Mô hình cũ (Mô hình gốc)" in page and "Mô hình mới" in page
    assert "Bộ câu kiểm tra: nhận diện đúng ý định" in page
    assert f"{before['intent_accuracy'] * 100:.1f}%".replace(".", ",") in page
    assert "Đã áp dụng mô hình mới" in page and "Đang chạy" in page
    actions = [(a.action, a.username) for a in
               await accounts.app[ADMIN_APP][STAFF_STORE].audit_log(kind="model")]
    assert actions == [("activate", STAFF), ("retrain", STAFF)]

    restored = await accounts.post(f"/admin/models/{baseline.version}/restore",
                                   data={"csrf_token": csrf})
    assert restored.status == 200 and "Đã khôi phục mô hình Mô hình gốc" in await restored.text()
    assert await parse_intent(accounts, ASK_THIS[0]) == old_guess
    statuses = {m.version: m.status for m in await training(accounts).models()}
    assert statuses == {baseline.version: "active", new.version: "retired"}
    entries = await accounts.app[ADMIN_APP][STAFF_STORE].audit_log(kind="model")
    assert entries[0].action == "restore"
    again = await accounts.post(f"/admin/models/{baseline.version}/restore",
                                data={"csrf_token": csrf})
    assert again.status == 409 and "đang được dùng" in await again.text()


@pytest.mark.slow
async def test_a_worse_model_is_not_activated(accounts: Client) -> None:
    """Officers label held-out questions with the wrong intents: the new model would be worse
    on the test file, so it is refused and the bot keeps its model."""
    settings = accounts.app[RUNTIME].settings
    held_out = load_training_data([settings.nlu_test_file]).examples
    intents = sorted({e.intent for e in held_out})
    wrong = [(e.text, intents[(intents.index(e.intent) + 1) % len(intents)], None)
             for e in held_out[:6]]
    await training(accounts).add_examples(wrong, STAFF)
    serving = accounts.app[RUNTIME].pipeline.brain.nlu.model
    csrf = await http_login(accounts, ADMIN)

    job = await retrain(accounts, csrf)

    assert job["status"] == "rejected", job
    assert "kém hơn" in job["message"] and "ý định" in job["message"]
    assert accounts.app[RUNTIME].pipeline.brain.nlu.model is serving
    rejected = await training(accounts).model(job["version"])
    assert rejected is not None and rejected.status == "rejected"
    assert not Path(rejected.path).exists()
    assert rejected.metrics["test"]["intent_accuracy"] < \
        rejected.metrics["before"]["test"]["intent_accuracy"]
    active = await training(accounts).active_model()
    assert active is not None and active.baseline
    page = await (await accounts.get("/admin/models")).text()
    assert "Không áp dụng" in page and "kém hơn" in page
    entries = await accounts.app[ADMIN_APP][STAFF_STORE].audit_log(kind="model")
    assert entries[0].action == "reject"


@asynccontextmanager
async def running_service(settings: Settings, simulator: str) -> AsyncIterator[Client]:
    """The whole service on a loopback port, started and stopped by the test."""
    client = TestClient(TestServer(await create_app(settings, simulator), host="127.0.0.1"))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


def own_settings(tmp_path: Path, model: NluModel, **overrides: Any) -> Settings:
    settings = Settings(data_dir=tmp_path / "var", dossier_api_token="test-token",
                        dossier_api_timeout=0.3, dossier_api_deadline=1.0, **overrides)
    model.save(settings.model_path)
    return settings


@pytest.mark.slow
async def test_the_active_model_is_served_after_a_restart(
        tmp_path: Path, shipped_model: NluModel, simulator: str) -> None:
    settings = own_settings(tmp_path, shipped_model)
    async with running_service(settings, simulator) as service:
        await service.app[ADMIN_APP][STAFF_STORE].add_user(ADMIN, PASSWORD, Role.ADMIN)
        await training(service).add_examples([(ASK_THIS[0], TAUGHT, None)], ADMIN)
        job = await retrain(service, await http_login(service, ADMIN))
        assert job["status"] == "active"
        trained = service.app[RUNTIME].pipeline.brain.nlu.model.trained_at
    async with running_service(settings, simulator) as service:
        assert service.app[RUNTIME].pipeline.brain.nlu.model.trained_at == trained
        assert await parse_intent(service, ASK_THIS[0]) == TAUGHT
        baseline = next(m for m in await training(service).models() if m.baseline)
        restored = await service.post(f"/admin/models/{baseline.version}/restore",
                                      data={"csrf_token": await http_login(service, ADMIN)})
        assert restored.status == 200
    async with running_service(settings, simulator) as service:
        assert service.app[RUNTIME].pipeline.brain.nlu.model.data_hash == shipped_model.data_hash
        assert await parse_intent(service, ASK_THIS[0]) != TAUGHT


@pytest.mark.slow  # over ~2 s
async def test_a_failing_evaluation_fails_the_job_and_changes_nothing(
        tmp_path: Path, shipped_model: NluModel, simulator: str) -> None:
    broken = tmp_path / "broken-test.yml"
    broken.write_text("nlu:\n- intent: greet\n  examples: not a list\n", encoding="utf-8")
    settings = own_settings(tmp_path, shipped_model, nlu_test_file=broken)
    async with running_service(settings, simulator) as service:
        await service.app[ADMIN_APP][STAFF_STORE].add_user(STAFF, PASSWORD, Role.STAFF)
        serving = service.app[RUNTIME].pipeline.brain.nlu.model
        job = await retrain(service, await http_login(service, STAFF))
        assert job["status"] == "failed" and "broken-test.yml" in job["message"]
        assert service.app[RUNTIME].pipeline.brain.nlu.model is serving
        [failed] = await training(service).models()
        assert failed.status == "failed"
        assert await training(service).active_model() is None
        page = await (await service.get("/admin/models")).text()
        assert "Lỗi" in page and "Huấn luyện thất bại" in page
        # and a new retraining may start after a failure
        entries = await service.app[ADMIN_APP][STAFF_STORE].audit_log(kind="model")
        assert entries[0].action == "fail"


async def test_labelled_rows_keep_the_latest_label(accounts: Client) -> None:
    """A wording labelled again (asked again later) keeps only its newest label."""
    await chat(accounts, "a", "thời tiết")
    csrf = await http_login(accounts, STAFF)
    group = await group_of(accounts, "thời tiết")
    await accounts.post("/admin/inbox/label", data=form(csrf, group, intent="out_of_scope"))
    await chat(accounts, "b", "thời tiết")
    group = await group_of(accounts, "thời tiết")
    await accounts.post("/admin/inbox/label", data=form(csrf, group, intent="help"))
    async with accounts.app[RUNTIME].stores.knowledge.sessions() as session:
        rows = (await session.scalars(select(TrainingExampleRow))).all()
    assert [(r.text, r.intent) for r in rows] == [("thời tiết", "help")]


# In a browser ------------------------------------------------------------------------------


async def test_label_and_retrain_in_a_browser(accounts: Client, login_as: LoginAs) -> None:
    await ask_misunderstood(accounts)
    page = await login_as(STAFF)
    await page.get_by_role("link", name="Cần dạy lại").click()
    await page.wait_for_url("**/admin/inbox")
    card = page.locator(".inbox-group").filter(has_text="Được hỏi 4 lần")
    await card.get_by_label("Ý định đúng").select_option("help")
    await card.get_by_role("button", name="Lưu nhãn").click()
    await expect(page.get_by_role("status")).to_contain_text("Đã lưu nhãn")
    await expect(page.locator(".inbox-group")).to_have_count(1)

    await page.get_by_role("link", name="Mô hình và huấn luyện lại").click()
    await page.get_by_role("button", name="Huấn luyện lại").click()
    figures = page.locator("table.figures")
    await expect(figures).to_be_visible(timeout=JOB_WAIT * 1000)
    await expect(figures).to_contain_text("Mô hình cũ (Mô hình gốc)")
    await expect(figures).to_contain_text("Câu đã gán nhãn: nhận diện đúng ý định")
    await expect(page.locator("#latest")).to_contain_text("Đã áp dụng mô hình mới")
    assert await parse_intent(accounts, ASK_THIS[0]) == "help"
    await page.context.close()
