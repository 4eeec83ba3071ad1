"""The floor: a minimal Telegram echo bot, run by the benchmarks next to egovbot.

Every performance figure of egovbot is printed as a ratio to this bot under the same load in
the same run (issue 16): the machines' speed moves too much for absolute targets. It does what
any Telegram webhook bot in Python must do and nothing more: aiohttp receives the update,
checks the secret, parses the JSON, answers 200, and posts ``sendMessage`` (the text echoed)
with aiohttp's client to the Bot API. No NLU, no storage, no retries, no python-telegram-bot.

Run as its own process so its CPU time can be read from /proc like egovbot's:
``python bench/echo_floor.py --port P --api-url http://127.0.0.1:Q/bot --token T --secret S``;
it prints ``ready`` once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import sys
from typing import Any

import aiohttp
from aiohttp import web

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class EchoFloor:
    """Webhook in, sendMessage out."""

    def __init__(self, api_url: str, token: str, secret: str) -> None:
        self.send_url = f"{api_url}{token}/sendMessage"
        self.secret = secret.encode("ascii")
        self.session: aiohttp.ClientSession | None = None
        self.pending: set[asyncio.Task[None]] = set()

    async def start(self, _app: web.Application) -> None:
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))

    async def stop(self, _app: web.Application) -> None:
        if self.pending:
            await asyncio.wait(self.pending, timeout=10)
        if self.session is not None:
            await self.session.close()

    async def webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode("utf-8", "replace"), self.secret):
            return web.Response(status=403)
        try:
            update: dict[str, Any] = json.loads(await request.read())
            message = update["message"]
            chat_id, text = message["chat"]["id"], message.get("text") or "?"
        except (ValueError, KeyError, TypeError):
            return web.Response()
        task = asyncio.create_task(self.send(chat_id, text))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)
        return web.Response()

    async def send(self, chat_id: int, text: str) -> None:
        assert self.session is not None
        try:
            async with self.session.post(self.send_url,
                                         json={"chat_id": chat_id, "text": text}) as response:
                await response.read()
        except aiohttp.ClientError as exc:
            print(f"sendMessage failed: {exc}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-url", required=True, help="Bot API base, e.g. http://host/bot")
    parser.add_argument("--token", required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    floor = EchoFloor(args.api_url, args.token, args.secret)
    app = web.Application()
    app.router.add_post("/webhooks/telegram", floor.webhook)
    app.router.add_get("/readyz", lambda _request: _ready())
    app.on_startup.append(floor.start)
    app.on_cleanup.append(floor.stop)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


async def _ready() -> web.Response:
    return web.Response(text="ready")


if __name__ == "__main__":
    main()
