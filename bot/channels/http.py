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
    """The raw body, or a 413 when it is longer than ``limit`` bytes (never read past it)."""
    if request.content_length is not None and request.content_length > limit:
        return too_large()
    chunks: list[bytes] = []
    size = 0
    while size <= limit:  # one read may return less than asked: a large body needs several
        chunk = await request.content.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        return too_large()
    return b"".join(chunks)


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
