"""A dossier-status API simulator: seeded dossiers in every status, and switches to misbehave.

``create_simulator_app(token)`` is an aiohttp app serving the contract in DESIGN.md.
``POST /_control`` with ``{"mode": "normal" | "slow" | "fail" | "malformed", "delay": s}``
makes it slow, answer 500, or answer broken JSON, so the bot's handling of each can be seen.
``POST /_dossiers/{code}`` with ``{"status", "due_at"?, "note"?}`` changes a dossier's status
(creating it when unknown) as a one-stop-shop system would, so following can be shown and tested.
``SimulatedDossiers`` serves the same data in-process, for the console with no API at all.
All data is fictional; the ``applicant`` field exists so tests can check it is never shown.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from actions.dossier_source import DossierNotFound, DossierStatus
from knowledge.clock import VN_TIME
from nlu.dossier_code import canonical_dossier_code


def _at(day: str, hour: int = 9) -> str:
    return dt.datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=VN_TIME).isoformat()


def _dossier(code: str, procedure: str, status: str, status_text: str, received: str,
             due: str | None, completed: str | None, step: str, agency: str,
             history: list[tuple[str, str, str]]) -> dict[str, Any]:
    return {
        "code": code,
        "procedure": procedure,
        "status": status,
        "status_text": status_text,
        "received_at": _at(received),
        "due_at": _at(due, 17) if due else None,
        "completed_at": _at(completed, 15) if completed else None,
        "current_step": step,
        "agency": agency,
        "history": [{"at": _at(day, hour), "status": s, "note": note}
                    for day, hour, s, note in ((h[0], 9 + i, h[1], h[2])
                                               for i, h in enumerate(history))],
        "applicant": {"name": "Nguyễn Văn Mẫu", "phone": "0912345678",
                      "id_number": "031095001234"},
    }


SEEDED: tuple[dict[str, Any], ...] = (
    _dossier("000.00.12.H31-261120-0001", "khai-sinh", "received", "Đã tiếp nhận",
             "2026-11-20", "2026-11-21", None, "Chờ công chức hộ tịch thẩm tra",
             "TTPVHCC phường Ngô Quyền",
             [("2026-11-20", "received", "Tiếp nhận hồ sơ tại quầy")]),
    _dossier("000.00.12.H31-261118-0002", "thuong-tru", "processing", "Đang xử lý",
             "2026-11-18", "2026-11-27", None, "Công an phường đang thẩm định hồ sơ",
             "Công an phường Hồng Bàng",
             [("2026-11-18", "received", "Tiếp nhận trực tuyến qua VNeID"),
              ("2026-11-19", "processing", "Chuyển thẩm định")]),
    _dossier("000.00.12.H31-261110-0003", "gpxd-nha-o", "need_supplement", "Cần bổ sung hồ sơ",
             "2026-11-10", "2026-11-25", None, "Chờ người nộp bổ sung giấy tờ",
             "TTPVHCC phường Lê Thanh Nghị",
             [("2026-11-10", "received", "Tiếp nhận hồ sơ"),
              ("2026-11-14", "need_supplement",
               "Bổ sung bản vẽ mặt bằng công trình trên lô đất và bản sao giấy chứng nhận "
               "quyền sử dụng đất")]),
    _dossier("000.00.12.H31-261020-0004", "so-do-lan-dau", "overdue", "Quá hạn xử lý",
             "2026-10-20", "2026-11-17", None, "Đang chờ kết quả đo đạc thực địa",
             "TTPVHCC xã Tiên Lãng",
             [("2026-10-20", "received", "Tiếp nhận hồ sơ"),
              ("2026-10-23", "processing", "Chuyển văn phòng đăng ký đất đai")]),
    _dossier("000.00.12.H31-261105-0005", "ho-chieu", "done", "Đã có kết quả",
             "2026-11-05", "2026-11-17", "2026-11-16", "Đã trả kết quả qua bưu chính",
             "Công an thành phố Hải Phòng",
             [("2026-11-05", "received", "Tiếp nhận trực tuyến"),
              ("2026-11-06", "processing", "Xét duyệt"),
              ("2026-11-16", "done", "Hộ chiếu đã được gửi qua bưu chính")]),
    _dossier("000.00.12.H31-261112-0006", "ho-kinh-doanh", "returned", "Đã trả lại hồ sơ",
             "2026-11-12", "2026-11-17", "2026-11-13", "Hồ sơ đã được trả lại người nộp",
             "TTPVHCC phường Ngô Quyền",
             [("2026-11-12", "received", "Tiếp nhận hồ sơ"),
              ("2026-11-13", "returned",
               "Tên hộ kinh doanh trùng với tên đã đăng ký trong xã; đề nghị chọn tên khác")]),
    _dossier("000.00.12.H31-261101-0007", "ly-lich-tu-phap", "rejected", "Từ chối giải quyết",
             "2026-11-01", "2026-11-15", "2026-11-08", "Đã có văn bản từ chối",
             "Công an thành phố Hải Phòng",
             [("2026-11-01", "received", "Tiếp nhận trực tuyến"),
              ("2026-11-08", "rejected",
               "Thông tin nhân thân trong tờ khai không khớp với cơ sở dữ liệu dân cư")]),
    _dossier("000.00.12.H31-261124-0008", "can-cuoc", "processing", "Đang xử lý",
             "2026-11-24", "2026-12-03", None, "Đang sản xuất thẻ căn cước",
             "Công an phường Ngô Quyền",
             [("2026-11-24", "received", "Thu nhận sinh trắc học"),
              ("2026-11-25", "processing", "Chuyển sản xuất thẻ")]),
)


def seeded_by_code() -> dict[str, dict[str, Any]]:
    """The seeded dossiers by canonical code."""
    return {item["code"]: item for item in SEEDED}


@dataclass
class SimulatorControl:
    """How the simulator behaves right now."""

    mode: str = "normal"  # normal | slow | fail | malformed
    delay: float = 10.0


CONTROL_KEY = web.AppKey("control", SimulatorControl)
DOSSIERS_KEY = web.AppKey("dossiers", dict)
STATUS_TEXTS = {"received": "Đã tiếp nhận", "processing": "Đang xử lý",
                "need_supplement": "Cần bổ sung hồ sơ", "overdue": "Quá hạn xử lý",
                "done": "Đã có kết quả", "returned": "Đã trả lại hồ sơ",
                "rejected": "Từ chối giải quyết"}
FINISHED = ("done", "returned", "rejected")
TOKEN_KEY = web.AppKey("token", str)
MODES = ("normal", "slow", "fail", "malformed")


async def _get_dossier(request: web.Request) -> web.StreamResponse:
    control = request.app[CONTROL_KEY]
    if request.headers.get("Authorization") != f"Bearer {request.app[TOKEN_KEY]}":
        return web.json_response({"error": "unauthorized"}, status=401)
    if control.mode == "slow":
        await asyncio.sleep(control.delay)
    if control.mode == "fail":
        return web.json_response({"error": "internal error"}, status=500)
    if control.mode == "malformed":
        return web.Response(text='{"code": "000.00', content_type="application/json")
    code = canonical_dossier_code(request.match_info["code"])
    dossier = request.app[DOSSIERS_KEY].get(code or "")
    if dossier is None:
        return web.json_response({"error": "not found"}, status=404)
    return web.json_response(dossier)


def change_dossier(dossiers: dict[str, dict[str, Any]], code: str, status: str,
                   due_at: str | None = None, note: str = "",
                   at: dt.datetime | None = None) -> dict[str, Any]:
    """Move a dossier to ``status`` (a new history entry at ``at``), creating it when unknown."""
    when = (at or dt.datetime.now(dt.UTC)).astimezone(VN_TIME).isoformat()
    dossier = dossiers.get(code)
    if dossier is None:
        dossier = {"code": code, "procedure": "", "status": "received",
                   "status_text": STATUS_TEXTS["received"], "received_at": when, "due_at": None,
                   "completed_at": None, "current_step": "", "agency": "", "history": [],
                   "applicant": {"name": "Nguyễn Văn Mẫu"}}
        dossiers[code] = dossier
    dossier["status"] = status
    dossier["status_text"] = STATUS_TEXTS[status]
    if due_at is not None:
        dossier["due_at"] = due_at
    dossier["completed_at"] = when if status in FINISHED else None
    dossier["history"] = [*dossier["history"], {"at": when, "status": status, "note": note}]
    return dossier


async def _change(request: web.Request) -> web.Response:
    code = canonical_dossier_code(request.match_info["code"])
    try:
        body = await request.json()
        status = str(body["status"])
        due = body.get("due_at")
        note = str(body.get("note", ""))
        if due is not None:
            dt.datetime.fromisoformat(str(due))
    except (ValueError, KeyError, AttributeError, TypeError):
        return web.json_response({"error": "expected {\"status\", \"due_at\"?, \"note\"?}"},
                                 status=400)
    if code is None or status not in STATUS_TEXTS:
        return web.json_response({"error": "unknown code form or status"}, status=400)
    dossier = change_dossier(request.app[DOSSIERS_KEY], code, status,
                             str(due) if due is not None else None, note)
    return web.json_response(dossier)


async def _control(request: web.Request) -> web.Response:
    try:
        body = await request.json()
        mode = str(body.get("mode", "normal"))
        delay = float(body.get("delay", request.app[CONTROL_KEY].delay))
    except (ValueError, AttributeError, TypeError):
        return web.json_response({"error": "expected {\"mode\": ..., \"delay\": ...}"},
                                 status=400)
    if mode not in MODES:
        return web.json_response({"error": f"mode must be one of {', '.join(MODES)}"},
                                 status=400)
    request.app[CONTROL_KEY].mode = mode
    request.app[CONTROL_KEY].delay = delay
    return web.json_response({"mode": mode, "delay": delay})


async def _health(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "dossiers": len(SEEDED)})


def create_simulator_app(token: str) -> web.Application:
    """The simulator as an aiohttp application."""
    app = web.Application()
    app[CONTROL_KEY] = SimulatorControl()
    app[TOKEN_KEY] = token
    app[DOSSIERS_KEY] = {code: dict(item) for code, item in seeded_by_code().items()}
    app.router.add_get("/dossiers/{code}", _get_dossier)
    app.router.add_post("/_dossiers/{code}", _change)
    app.router.add_post("/_control", _control)
    app.router.add_get("/healthz", _health)
    return app


class SimulatedDossiers:
    """The simulator's data served in-process (the console needs no server)."""

    async def lookup(self, code: str) -> DossierStatus:
        """The seeded dossier with this canonical code."""
        dossier = seeded_by_code().get(code)
        if dossier is None:
            raise DossierNotFound(code)
        return DossierStatus.from_api(dossier)
