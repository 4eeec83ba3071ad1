"""A fake Telegram Bot API on loopback, spoken to by python-telegram-bot itself.

It behaves like the real service as described in ``shared/reference/channels.md`` section 1:

* routes ``/bot<token>/<method>`` (GET or POST, method names case-insensitive), a wrong token
  gets 401 and an unknown method 404, like Telegram;
* bodies may be form-encoded (PTB sends strings as they are and everything else JSON-encoded),
  multipart, JSON, or a query string;
* answers ``{"ok": true, "result": ...}`` with realistic objects (``getMe``'s User, the sent
  ``Message``), and failures with the real HTTP status and ``{"ok": false, "error_code",
  "description"}`` plus ``parameters.retry_after`` for 429;
* validates what Telegram validates: text 1-4,096 characters after entity parsing, HTML that
  only uses Telegram's tags and escapes every other ``< > &``, ``callback_data`` of 1-64 *bytes*,
  URL buttons, ``answerCallbackQuery`` text of at most 200 characters, the webhook secret's
  alphabet, and 409 for ``getUpdates`` while a webhook is set;
* serves ``getUpdates`` with ``offset`` confirmation, ``limit`` and a blocking ``timeout``.

Tests script it: ``fail(method, status, ...)`` queues failures (per chat if wanted),
``block(chat_id)`` makes every send to a chat fail with 403 "bot was blocked by the user",
``push_update`` feeds ``getUpdates``, ``wait_for`` waits for calls, and ``listeners`` see every
call as it arrives (the benchmark times replies with them). Update builders are at the bottom.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

TOKEN = "7000000001:AAFakeTokenForTests_0123456789abcdef"
BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "DVC Hải Phòng",
            "username": "dvc_haiphong_test_bot", "can_join_groups": True,
            "can_read_all_group_messages": False, "supports_inline_queries": False}
JSON_FIELDS = frozenset({
    "chat_id", "reply_markup", "offset", "limit", "timeout", "allowed_updates", "show_alert",
    "cache_time", "drop_pending_updates", "max_connections", "link_preview_options",
    "entities", "disable_notification", "protect_content", "reply_parameters", "message_id",
    "disable_web_page_preview", "message_thread_id",
})
HTML_TAGS = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span",
                       "tg-spoiler", "a", "code", "pre", "blockquote", "tg-emoji"})
TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*)?)>")
ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
DESCRIPTIONS = {
    400: "Bad Request: message is too long",
    403: "Forbidden: bot was blocked by the user",
    409: "Conflict: terminated by other getUpdates request",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class ApiError(Exception):
    """An error answer: HTTP status, description and optional ResponseParameters."""

    def __init__(self, status: int, description: str,
                 parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


@dataclass
class ApiCall:
    """One request the fake received, and the HTTP status it answered."""

    method: str  # canonical spelling, e.g. "sendMessage"
    params: dict[str, Any]
    at: float  # time.perf_counter() on arrival
    status: int = 200
    result: Any = None  # what it answered on success (a sent Message: its parsed plain text)


@dataclass
class Failure:
    """A scripted failure for the next matching call."""

    method: str  # lower case
    status: int
    description: str
    retry_after: int | None = None
    chat_id: int | None = None


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts."""
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str) -> str:
    """The plain text of a Telegram HTML message; ApiError 400 where Telegram would refuse it."""
    out: list[str] = []
    stack: list[str] = []
    index = 0
    while index < len(text):
        ch = text[index]
        if ch == "<":
            match = TAG.match(text, index)
            if match is None or match.group(2).lower() not in HTML_TAGS:
                raise ApiError(400, "Bad Request: can't parse entities: Unsupported start tag "
                                    f"at byte offset {len(text[:index].encode())}")
            closing, name = match.group(1), match.group(2).lower()
            if closing:
                if not stack or stack.pop() != name:
                    raise ApiError(400, "Bad Request: can't parse entities: Unmatched end tag "
                                        f"at byte offset {len(text[:index].encode())}")
            else:
                stack.append(name)
            index = match.end()
        elif ch == "&":
            match = ENTITY.match(text, index)
            if match is None:
                raise ApiError(400, "Bad Request: can't parse entities: Character '&' is "
                                    "reserved and must be escaped with the preceding '&amp;'")
            out.append(html.unescape(match.group(0)))
            index = match.end()
        elif ch == ">":
            raise ApiError(400, "Bad Request: can't parse entities: Character '>' is reserved "
                                "and must be escaped with the preceding '&gt;'")
        else:
            out.append(ch)
            index += 1
    if stack:
        raise ApiError(400, "Bad Request: can't parse entities: Can't find end tag "
                            f"corresponding to start tag \"{stack[-1]}\"")
    return "".join(out)


def check_keyboard(markup: Any) -> None:
    """Validate an inline keyboard like Telegram does."""
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(400, "Bad Request: can't parse inline keyboard button: "
                            "InlineKeyboardMarkup must be an Array of Arrays")
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
            kinds = [key for key in ("callback_data", "url", "web_app", "switch_inline_query",
                                     "login_url", "copy_text", "pay") if key in button]
            if len(kinds) != 1:
                raise ApiError(400, "Bad Request: can't parse inline keyboard button: "
                                    "exactly one of the optional fields must be used")
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if "url" in button and not str(button["url"]).startswith(
                    ("http://", "https://", "tg://")):
                raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")


@dataclass
class FakeTelegramApi:
    """The fake Bot API; ``await start()``, then give PTB ``api_url`` as its ``base_url``."""

    token: str = TOKEN
    default_retry_after: int = 1
    calls: list[ApiCall] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    blocked: set[int] = field(default_factory=set)
    updates: list[dict[str, Any]] = field(default_factory=list)
    webhook: dict[str, Any] | None = None
    listeners: list[Callable[[ApiCall], None]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # file_id -> content (getFile)

    def __post_init__(self) -> None:
        self._message_ids = itertools.count(1000)
        self._update_ids = itertools.count(900_000_001)
        self._changed = asyncio.Event()
        self._closing = False
        self._server: TestServer | None = None
        self.url = ""
        self._methods: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
            name.lower(): (name, handler) for name, handler in (
                ("getMe", self._get_me),
                ("sendMessage", self._send_message),
                ("answerCallbackQuery", self._answer_callback_query),
                ("setWebhook", self._set_webhook),
                ("deleteWebhook", self._delete_webhook),
                ("getWebhookInfo", self._get_webhook_info),
                ("editMessageReplyMarkup", self._edit_reply_markup),
                ("editMessageText", self._edit_text),
                ("sendChatAction", lambda _params: True),
                ("close", lambda _params: True),
                ("getFile", self._get_file),
            )
        }

    # -- running ---------------------------------------------------------------------------

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        return app

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self._server = TestServer(self.app(), host="127.0.0.1")
        await self._server.start_server()
        self.url = str(self._server.make_url("")).rstrip("/")

    async def close(self) -> None:
        """Wake long polls and stop listening."""
        self._closing = True
        self._wake()
        if self._server is not None:
            await self._server.close()

    @property
    def api_url(self) -> str:
        """The Bot API base to configure (the token is appended)."""
        return f"{self.url}/bot"

    # -- scripting -------------------------------------------------------------------------

    def fail(self, method: str, status: int, description: str | None = None, *,
             retry_after: int | None = None, chat_id: int | None = None, times: int = 1) -> None:
        """Fail the next ``times`` calls of ``method`` (to ``chat_id``, if given)."""
        if status == 429 and retry_after is None:
            retry_after = self.default_retry_after
        text = description or DESCRIPTIONS.get(status, f"Error {status}")
        text = text.format(retry_after=retry_after)
        for _ in range(times):
            self.failures.append(Failure(method.lower(), status, text, retry_after, chat_id))

    def add_file(self, content: bytes) -> str:
        """Hold a file citizens "uploaded"; its file_id for an update (``photo_update``)."""
        file_id = f"AgACAgQAAxkBAAI{len(self.files):04d}"
        self.files[file_id] = content
        return file_id

    def block(self, chat_id: int) -> None:
        """Every send to this chat fails with 403, as when the user blocked the bot."""
        self.blocked.add(chat_id)

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for ``getUpdates`` (an ``update_id`` is given if missing)."""
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        self.updates.append(update)
        self._wake()
        return update

    def calls_of(self, method: str, chat_id: int | None = None,
                 ok_only: bool = False) -> list[ApiCall]:
        """Calls of one method, in arrival order."""
        return [call for call in self.calls
                if call.method.lower() == method.lower()
                and (chat_id is None or call.params.get("chat_id") == chat_id)
                and (not ok_only or call.status == 200)]

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Parameters of every sendMessage that succeeded."""
        return [call.params for call in self.calls_of("sendMessage", chat_id, ok_only=True)]

    async def wait_for(self, method: str, count: int = 1, *, chat_id: int | None = None,
                       ok_only: bool = True, timeout: float = 10.0) -> list[ApiCall]:
        """Wait until ``count`` calls of a method arrived; return them."""
        deadline = time.monotonic() + timeout
        while True:
            calls = self.calls_of(method, chat_id, ok_only)
            if len(calls) >= count:
                return calls
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{len(calls)} {method} call(s) after {timeout} s, "
                                     f"expected {count}: {self.calls}")
            await self._wait_change(min(remaining, 0.5))

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self, timeout: float) -> None:
        event = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    # -- HTTP ------------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except json.JSONDecodeError as exc:
                    raise ApiError(400, "Bad Request: invalid JSON") from exc
                if not isinstance(body, dict):
                    raise ApiError(400, "Bad Request: parameters must be a JSON object")
                return {**params, **body}
            form = await request.post()
            params.update({key: value for key, value in form.items() if isinstance(value, str)})
        for key in JSON_FIELDS & params.keys():
            if isinstance(params[key], str):
                with contextlib.suppress(json.JSONDecodeError):  # e.g. "@channelname"
                    params[key] = json.loads(params[key])
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        method_name = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return self._error(ApiError(401, "Unauthorized"))
        known = self._methods.get(method_name.lower())
        if known is None and method_name.lower() != "getupdates":
            return self._error(ApiError(404, "Not Found: method not found"))
        name = known[0] if known else "getUpdates"
        try:
            params = await self._params(request)
        except ApiError as exc:
            return self._error(exc)
        call = ApiCall(name, params, time.perf_counter())
        self.calls.append(call)
        try:
            self._scripted(name.lower(), params)
            if known is None:
                result = await self._get_updates(params)
            else:
                result = known[1](params)
        except ApiError as exc:
            call.status = exc.status
            response = self._error(exc)
        else:
            call.result = result
            response = web.json_response({"ok": True, "result": result})
        for listener in self.listeners:
            listener(call)
        self._wake()
        return response

    @staticmethod
    def _error(error: ApiError) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": error.status,
                                "description": error.description}
        if error.parameters:
            body["parameters"] = error.parameters
        return web.json_response(body, status=error.status)

    def _scripted(self, method: str, params: dict[str, Any]) -> None:
        chat_id = params.get("chat_id")
        if method == "sendmessage" and chat_id in self.blocked:
            raise ApiError(403, DESCRIPTIONS[403])
        for failure in self.failures:
            if failure.method == method and failure.chat_id in (None, chat_id):
                self.failures.remove(failure)
                parameters = ({"retry_after": failure.retry_after}
                              if failure.retry_after is not None else None)
                raise ApiError(failure.status, failure.description, parameters)

    # -- methods ---------------------------------------------------------------------------

    def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = params.get("file_id")
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {"file_id": file_id, "file_unique_id": f"u{file_id}",
                "file_size": len(self.files[file_id]), "file_path": f"photos/{file_id}.jpg"}

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        name = request.match_info["path"].removeprefix("photos/").removesuffix(".jpg")
        if name not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[name], content_type="image/jpeg")

    def _get_me(self, _params: dict[str, Any]) -> dict[str, Any]:
        return dict(BOT_USER)

    @staticmethod
    def _chat(chat_id: Any) -> dict[str, Any]:
        if isinstance(chat_id, bool) or not isinstance(chat_id, int | str) or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if isinstance(chat_id, str):
            if not chat_id.startswith("@"):
                raise ApiError(400, "Bad Request: chat not found")
            return {"id": -1001000000001, "type": "channel", "username": chat_id[1:]}
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "Lan"}
        return {"id": chat_id, "type": "supergroup", "title": "Nhóm thử"}

    @staticmethod
    def _text(params: dict[str, Any]) -> str:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        mode = str(params.get("parse_mode") or "").lower()
        if mode == "html":
            text = parse_html(text)
        elif mode:
            raise ApiError(400, f"Bad Request: unsupported parse_mode {mode} in this fake")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return text

    def _message(self, chat: dict[str, Any], text: str,
                 markup: dict[str, Any] | None) -> dict[str, Any]:
        message: dict[str, Any] = {"message_id": next(self._message_ids),
                                   "date": int(time.time()), "chat": chat,
                                   "from": {k: BOT_USER[k] for k in
                                            ("id", "is_bot", "first_name", "username")},
                                   "text": text}
        if markup:
            message["reply_markup"] = markup
        return message

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params.get("chat_id"))
        text = self._text(params)
        markup = params.get("reply_markup")
        if markup is not None:
            check_keyboard(markup)
        return self._message(chat, text, markup)

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        if not params.get("callback_query_id"):
            raise ApiError(400, "Bad Request: query is too old and response timeout expired "
                                "or query ID is invalid")
        if len(str(params.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            self.webhook = None
            return True
        if not url.startswith("https://"):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for "
                                "webhook")
        secret = params.get("secret_token")
        if secret is not None and not SECRET.match(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        self.webhook = {"url": url, "secret_token": secret,
                        "allowed_updates": params.get("allowed_updates"),
                        "max_connections": params.get("max_connections", 40)}
        if params.get("drop_pending_updates"):
            self.updates.clear()
        return True

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self.updates.clear()
        return True

    def _get_webhook_info(self, _params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {"url": "", "has_custom_certificate": False,
                                "pending_update_count": len(self.updates)}
        if self.webhook:
            info.update(url=self.webhook["url"], max_connections=self.webhook["max_connections"])
            if self.webhook["allowed_updates"]:
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    def _edit_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params.get("chat_id"))
        if params.get("reply_markup") is not None:
            check_keyboard(params["reply_markup"])
        return {**self._message(chat, "…", params.get("reply_markup")),
                "message_id": params.get("message_id")}

    def _edit_text(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params.get("chat_id"))
        return {**self._message(chat, self._text(params), params.get("reply_markup")),
                "message_id": params.get("message_id")}

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                "active; use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = max(0.0, float(params.get("timeout") or 0))
        if offset < 0:
            del self.updates[: max(0, len(self.updates) + offset)]
        elif offset:
            self.updates[:] = [u for u in self.updates if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        while not self.updates and not self._closing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            await self._wait_change(remaining)
        return self.updates[:limit]


# ---------------------------------------------------------------------------------------------
# Update builders (Telegram's JSON shapes)

_ids = itertools.count(604_000_001)


def user(chat_id: int, first_name: str = "Lan") -> dict[str, Any]:
    """A citizen's User object."""
    return {"id": chat_id, "is_bot": False, "first_name": first_name, "language_code": "vi"}


def message(chat_id: int, **content: Any) -> dict[str, Any]:
    """A private-chat Message with the given content fields."""
    return {"message_id": next(_ids) % 1_000_000, "date": int(time.time()),
            "from": user(chat_id), "chat": {"id": chat_id, "type": "private",
                                            "first_name": "Lan"}, **content}


def text_update(chat_id: int, text: str, update_id: int | None = None) -> dict[str, Any]:
    """An update with a text message (commands get their bot_command entity)."""
    content: dict[str, Any] = {"text": text}
    if text.startswith("/"):
        length = len(text.split(maxsplit=1)[0]) if text.strip() else 1
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return {"update_id": update_id or next(_ids), "message": message(chat_id, **content)}


def photo_update(chat_id: int, update_id: int | None = None, file_id: str = "AgACAgQAAxkBAAIB",
                 file_size: int = 1200) -> dict[str, Any]:
    """An update with a photo (a small thumbnail and the full size, as Telegram sends them)."""
    sizes = [{"file_id": "AgACAgQAAxkBthumb", "file_unique_id": "AQADbq4xGt", "width": 90,
              "height": 90, "file_size": 900},
             {"file_id": file_id, "file_unique_id": "AQADbq4xG", "width": 1280,
              "height": 1280, "file_size": file_size}]
    return {"update_id": update_id or next(_ids), "message": message(chat_id, photo=sizes)}


def document_update(chat_id: int, file_id: str, mime_type: str, file_size: int,
                    update_id: int | None = None) -> dict[str, Any]:
    """An update with a file sent as a document."""
    document = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": "giay.jpg",
                "mime_type": mime_type, "file_size": file_size}
    return {"update_id": update_id or next(_ids), "message": message(chat_id, document=document)}


def sticker_update(chat_id: int, update_id: int | None = None) -> dict[str, Any]:
    """An update with a sticker."""
    sticker = {"file_id": "CAACAgIAAxkBAAIC", "file_unique_id": "AgADYQADr8ZRGg", "type":
               "regular", "width": 512, "height": 512, "is_animated": False,
               "is_video": False}
    return {"update_id": update_id or next(_ids), "message": message(chat_id, sticker=sticker)}


def callback_update(chat_id: int, data: str, update_id: int | None = None,
                    query_id: str | None = None) -> dict[str, Any]:
    """An update with a button tap on one of the bot's messages."""
    bot_message = {"message_id": 17, "date": int(time.time()),
                   "from": {k: BOT_USER[k] for k in ("id", "is_bot", "first_name", "username")},
                   "chat": {"id": chat_id, "type": "private"}, "text": "Mời bạn chọn:"}
    return {"update_id": update_id or next(_ids),
            "callback_query": {"id": query_id or str(next(_ids) * 1000 + 7),
                               "from": user(chat_id), "chat_instance": "-6170000000000000001",
                               "message": bot_message, "data": data}}


def blocked_update(chat_id: int, status: str = "kicked",
                   update_id: int | None = None) -> dict[str, Any]:
    """A my_chat_member update: the user blocked ("kicked") or unblocked ("member") the bot."""
    bot = {k: BOT_USER[k] for k in ("id", "is_bot", "first_name", "username")}
    member = {"user": bot, "status": "member"}
    kicked = {"user": bot, "status": "kicked", "until_date": 0}
    old, new = (member, kicked) if status == "kicked" else (kicked, member)
    return {"update_id": update_id or next(_ids),
            "my_chat_member": {
                "chat": {"id": chat_id, "type": "private", "first_name": "Lan"},
                "from": user(chat_id), "date": int(time.time()),
                "old_chat_member": old, "new_chat_member": new}}
