"""The misunderstood inbox and the NLU model versions: staff teach the bot.

* ``GET /admin/inbox``: questions the bot was unsure of, fell back on, or whose answer got a 👎,
  that the citizen asked again right after the answer, or a small sample of confident answers
  nobody gave a 👍 (``bot/storage/training.py``), grouped (the same question asked many ways
  appears once), each with why it is there. For each, the officer picks the right intent and,
  optionally, the procedure ("Lưu nhãn"; what the bot understood is pre-selected), or
  dismisses it ("Bỏ qua"). The
  procedure is any one the bot answers from, curated or national: typed as its id (the
  curated ones are suggested), or found with the search box the page's script adds, which
  asks ``GET /admin/api/procedures?q=`` (``bot/admin/catalog.py``).
* ``GET /admin/inbox/export.yml``: every labelled example as a Rasa NLU YAML file.
* ``GET /admin/models``: model versions with their figures, the running one marked;
  "Huấn luyện lại" (retrain in the background; the page follows the job and shows the figures
  before and after) and "Khôi phục" (serve an older version again).
* ``GET /admin/api/models/job``: the job's progress as JSON.

Roles: both staff and admins label, retrain and restore. Retraining cannot make the bot worse
on the held-out test file (a worse model is never activated), a restore only brings back a
version that passed that check when it was trained, and every step is in the audit log; the
issue gives labelling to staff, and labelling without being able to apply it would leave the
officers who work the inbox waiting on an administrator.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from bot.admin.intent_titles import LABEL_TITLES
from bot.admin.web import RELOADER, RUNTIME, STAFF_STORE, current_session, render
from bot.learning.retrain import (
    Retrainer,
    RetrainRefused,
    builtin_engine,
    entity_finder,
    export_yaml,
)
from bot.storage.training import STATUS_TRAINING, InboxError, ModelVersion, TrainingStore

log = logging.getLogger(__name__)

RETRAINER = web.AppKey("retrainer", Retrainer)
# Why a question is in the inbox: InboxGroup's count field -> the label staff read.
REASON_LABELS: dict[str, str] = {
    "unsure": "Bot không hiểu",
    "disliked": "Bị đánh giá 👎",
    "rephrased": "Người dân hỏi lại ngay sau câu trả lời",
    "sampled": "Kiểm tra ngẫu nhiên: bot trả lời chắc chắn, chưa được 👍",
}
CHANNEL_LABELS = {"web": "Web", "telegram": "Telegram", "zalo": "Zalo"}
MODEL_STATUS_LABELS = {
    "training": "Đang huấn luyện",
    "active": "Đang dùng",
    "rejected": "Không áp dụng",
    "retired": "Đã thay thế",
    "failed": "Lỗi",
}
MODEL_STATUS_PILLS = {"training": "warn", "active": "ok", "rejected": "bad", "failed": "bad"}


def pct(value: Any) -> str:
    """A share as a Vietnamese percentage ("98,2%"); a dash when unknown."""
    if value is None:
        return "—"
    return f"{float(value) * 100:.1f}%".replace(".", ",")


def model_name(model: ModelVersion) -> str:
    """How a version is named on the page."""
    return "Mô hình gốc" if model.baseline else model.version


def _training(request: web.Request) -> TrainingStore:
    return request.app[RETRAINER].training


async def _procedures(request: web.Request) -> list[tuple[str, str]]:
    """Published curated procedures as (id, name), by name: the choices offered without a
    search (any procedure of either tier can be found through ``/admin/api/procedures``)."""
    procedures = await request.app[RUNTIME].stores.knowledge.procedures()
    return sorted(((p.id, p.name) for p in procedures), key=lambda item: item[1])


def _live_procedures(request: web.Request) -> dict[str, str]:
    """Every procedure citizens are answered from now (both tiers), id -> name."""
    return {p.id: p.name for p in request.app[RUNTIME].pipeline.brain.knowledge.procedures
            .values()}


async def inbox_page(request: web.Request, flash: str | None = None,
                     flash_error: bool = False, status: int = 200) -> web.Response:
    """The waiting questions with a labelling form each."""
    training = _training(request)
    page = await training.inbox()
    return render(request, "inbox.html", status=status, page=page,
                  intents=LABEL_TITLES, procedures=await _procedures(request),
                  reasons=REASON_LABELS, procedure_names=_live_procedures(request),
                  channel_labels=CHANNEL_LABELS, labelled=await training.count_examples(),
                  flash=flash, flash_error=flash_error)


async def _keys(request: web.Request) -> list[str]:
    form = await request.post()
    return [value for value in form.getall("key", []) if isinstance(value, str)]


async def label(request: web.Request) -> web.Response:
    """Store a group's wordings as training examples with the chosen intent and procedure."""
    form = await request.post()
    intent = str(form.get("intent", "")).strip()
    procedure = str(form.get("procedure", "")).strip()
    if intent not in LABEL_TITLES:
        return await inbox_page(request, "Vui lòng chọn ý định đúng của câu hỏi.",
                                flash_error=True, status=400)
    names = _live_procedures(request)
    if procedure and procedure not in names:
        return await inbox_page(request, "Thủ tục đã chọn không có hoặc chưa được công bố.",
                                flash_error=True, status=400)
    me = current_session(request).user
    keys = await _keys(request)
    try:
        stored = await _training(request).label(keys, intent, procedure or None, me.username)
    except InboxError as exc:
        return await inbox_page(request, str(exc), flash_error=True, status=409)
    choice = LABEL_TITLES[intent] + (f" — {names[procedure]}" if procedure else "")
    await request.app[STAFF_STORE].audit(
        me.username, "training_example", keys[0][:200], "label", None,
        {"keys": keys, "intent": intent, "procedure": procedure or None, "examples": stored},
        f"Gán nhãn «{choice}» cho {stored} cách hỏi")
    return await inbox_page(request, f"Đã lưu nhãn «{choice}» cho {stored} cách hỏi. "
                                     "Bấm «Huấn luyện lại» để bot học.")


async def dismiss(request: web.Request) -> web.Response:
    """Take a group off the inbox without a label."""
    me = current_session(request).user
    keys = await _keys(request)
    try:
        marked = await _training(request).dismiss(keys)
    except InboxError as exc:
        return await inbox_page(request, str(exc), flash_error=True, status=409)
    await request.app[STAFF_STORE].audit(me.username, "training_example", keys[0][:200],
                                         "dismiss", None, {"keys": keys, "messages": marked},
                                         f"Bỏ qua {marked} tin nhắn")
    return await inbox_page(request, f"Đã bỏ qua {marked} tin nhắn.")


async def export(request: web.Request) -> web.Response:
    """Every labelled example as Rasa NLU YAML, for download."""
    examples = await _training(request).examples()
    nlu = builtin_engine(request.app[RUNTIME].pipeline.brain.nlu)
    return web.Response(
        text=export_yaml(examples, entity_finder(nlu)), content_type="application/x-yaml",
        headers={"Content-Disposition": 'attachment; filename="egovbot-labelled-nlu.yml"',
                 "Cache-Control": "no-store"})


def _running_identity(request: web.Request) -> dict[str, Any]:
    return request.app[RETRAINER].serving()


def _is_running(model: ModelVersion, serving: dict[str, Any]) -> bool:
    return all(model.metrics.get(key) == value for key, value in serving.items())


async def models_page(request: web.Request, flash: str | None = None,
                      flash_error: bool = False, status: int = 200) -> web.Response:
    """Model versions, the latest retraining's figures before and after, and the buttons."""
    retrainer = request.app[RETRAINER]
    models = await retrainer.training.models()
    serving = _running_identity(request)
    training = [m for m in models if m.status == STATUS_TRAINING and not m.stale]
    latest = next((m for m in models if not m.baseline), None)
    before = None
    if latest is not None and "before" in latest.metrics:
        before_version = latest.metrics["before"].get("version")
        found = next((m for m in models if m.version == before_version), None)
        before = model_name(found) if found else before_version
    job = retrainer.job if retrainer.job is not None and latest is not None \
        and retrainer.job.version == latest.version else None
    return render(
        request, "models.html", status=status, models=models, latest=latest,
        before_name=before, job=job, busy=bool(training),
        running_any=any(_is_running(m, serving) for m in models),
        is_running=lambda m: _is_running(m, serving), model_name=model_name, pct=pct,
        status_labels=MODEL_STATUS_LABELS, status_pills=MODEL_STATUS_PILLS,
        serving_model=request.app[RUNTIME].pipeline.brain.nlu.model,
        labelled=await retrainer.training.count_examples(),
        rasa=request.app[RUNTIME].settings.nlu_engine == "rasa",
        flash=flash, flash_error=flash_error)


async def retrain(request: web.Request) -> web.Response:
    """Start retraining in the background and follow it on the models page."""
    me = current_session(request).user
    try:
        await request.app[RETRAINER].start(me.username)
    except RetrainRefused as exc:
        return await models_page(request, str(exc), flash_error=True, status=409)
    log.info("%s started retraining the NLU", me.username)
    raise web.HTTPSeeOther("/admin/models")


async def restore(request: web.Request) -> web.Response:
    """Serve an older model version again."""
    me = current_session(request).user
    version = request.match_info["version"]
    try:
        restored = await request.app[RETRAINER].restore(version, me.username)
    except RetrainRefused as exc:
        return await models_page(request, str(exc), flash_error=True, status=409)
    log.info("%s restored NLU model %s", me.username, version)
    return await models_page(request, f"Đã khôi phục mô hình {model_name(restored)}; "
                                      "bot dùng mô hình này từ bây giờ.")


async def job_status(request: web.Request) -> web.Response:
    """The retraining job of this worker and the active version, as JSON."""
    retrainer = request.app[RETRAINER]
    active = await retrainer.training.active_model()
    return web.json_response({
        "running": retrainer.running,
        "job": retrainer.job.to_dict() if retrainer.job is not None else None,
        "active": active.version if active is not None else None,
    })


def add_routes(app: web.Application) -> None:
    """Inbox and model routes; the app must already hold the runtime and the reloader."""
    retrainer = Retrainer(app[RUNTIME], app[RELOADER], app[STAFF_STORE])
    app[RETRAINER] = retrainer

    async def stop_job(_app: web.Application) -> None:
        await retrainer.close()

    app.on_shutdown.append(stop_job)
    app.router.add_get("/inbox", inbox_page)
    app.router.add_post("/inbox/label", label)
    app.router.add_post("/inbox/dismiss", dismiss)
    app.router.add_get("/inbox/export.yml", export)
    app.router.add_get("/models", models_page)
    app.router.add_post("/models/retrain", retrain)
    app.router.add_post("/models/{version}/restore", restore)
    app.router.add_get("/api/models/job", job_status)
