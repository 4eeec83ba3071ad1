"""Reading request bodies, one way for every HTTP route that takes JSON (webhooks, the chat
API, the NLU parse API): a size limit checked before and while reading, and a clear 4xx
instead of an exception for anything that is not a JSON object."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

MAX_BODY_BYTES = 64 * 1024


def bad_request(message: str) -> web.Response:
    """A 400 with a JSON error message."""
    return web.json_response({"error": message}, status=400)


def too_large() -> web.Response:
    """A 413: the body is over the route's limit."""
    return web.json_response({"error": "request body too large"}, status=413)


async def read_body(request: web.Request, limit: int = MAX_BODY_BYTES) -> bytes | web.Response:
    """The whole raw body, or a 413 when it is longer than ``limit`` bytes.

    The service's ``body_deadline`` middleware has already read the body (under a deadline and
    the application's size limit); without it (an app of its own) ``request.read()`` reads it
    here. ``content.read(n)`` is not used: it returns the first chunk that arrived, which cut
    chunked bodies short."""
    if request.content_length is not None and request.content_length > limit:
        return too_large()
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return too_large()
    if len(raw) > limit:
        return too_large()
    return raw


def parse_object(raw: bytes) -> dict[str, Any] | None:
    """The JSON object a body holds, or None when it holds anything else."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # bad UTF-8 or JSON, a huge number, deep nesting
        return None
    return body if isinstance(body, dict) else None


async def read_json(request: web.Request,
                    limit: int = MAX_BODY_BYTES) -> dict[str, Any] | web.Response:
    """The request's JSON object, or the 400/413 response saying what is wrong."""
    raw = await read_body(request, limit)
    if isinstance(raw, web.Response):
        return raw
    body = parse_object(raw)
    if body is None:
        return bad_request("the body must be a JSON object")
    return body
