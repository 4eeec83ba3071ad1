"""Deadlines for slow clients, so a few connections that trickle bytes cannot hold the
service's sockets and memory for ever (the "slowloris" attacks).

Two deadlines, both settings:

- ``header_timeout``: a connection must send a complete request head within this many seconds
  of opening (or of its previous response). aiohttp's keep-alive timer already closes a
  connection that is waiting for a request when it fires, and it is armed when the connection
  opens; its timeout is therefore our header deadline (``runner_options``). An idle keep-alive
  connection is closed after the same time, which costs a browser one new connection.
- ``body_timeout``: a request body must arrive within this many seconds; the ``body_deadline``
  middleware reads it into memory under that deadline (bounded by the application's size
  limit) and answers 408 and closes the connection otherwise. The handlers then read the body
  from memory, so a chunked body is read whole, like one with a Content-Length.

Multipart forms are not read ahead (aiohttp parses them from the stream): only staff send
them, and the admin guard reads nothing before it has checked the staff session.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bot.service.settings import Settings

log = logging.getLogger(__name__)

STREAMED_TYPES = ("multipart/form-data",)
LINGERING_SECONDS = 1.0


def runner_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``web.AppRunner`` (or ``TestServer.start_server``) carrying the
    header deadline; the rest of a body left unread after an early answer (408, 413) is
    drained for at most ``LINGERING_SECONDS`` (aiohttp's default, 10 s, would let a client
    that stopped sending hold the connection that long)."""
    return {"keepalive_timeout": settings.header_timeout, "lingering_time": LINGERING_SECONDS}


def body_deadline(seconds: float, max_bytes: int) -> Middleware:
    """A middleware reading each request body within ``seconds`` (408 when slower) and at most
    ``max_bytes`` long (413 when longer)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.body_exists or request.content_type in STREAMED_TYPES:
            return await handler(request)
        if request.content_length is not None and request.content_length > max_bytes:
            return _closing(web.json_response({"error": "request body too large"}, status=413))
        try:
            async with asyncio.timeout(seconds):
                await request.read()  # kept by the request: handlers read it from memory
        except TimeoutError:
            log.warning("closed %s %s from %s: body not sent within %.0f s", request.method,
                        request.path, request.remote, seconds)
            return _closing(web.json_response({"error": "request body too slow"}, status=408))
        except web.HTTPRequestEntityTooLarge:
            return _closing(web.json_response({"error": "request body too large"}, status=413))
        return await handler(request)

    return middleware


def _closing(response: web.Response) -> web.Response:
    """``response``, sent with the connection closed after it (the rest of the body is not
    read)."""
    response.force_close()
    return response
