"""Slow clients and chunked bodies against the real service on a loopback port, over raw
sockets: a request head that never ends is cut off, a body that trickles gets 408, and a
chunked JSON body is read whole (and size-limited) like one with a Content-Length."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bot.service.app import create_app
from bot.service.settings import Settings
from bot.service.slow_clients import runner_options
from nlu.engine import NluModel
from tests.conftest import prepare_data_dir

WAIT = 20.0  # the longest a test waits for the server before failing (not a measure)


@pytest.fixture
async def server(tmp_path: Path, shipped_model: NluModel, simulator: str,
                 database_template: Path) -> AsyncIterator[TestServer]:
    settings = Settings(data_dir=tmp_path / "var", dossier_api_token="test-token",
                        header_timeout=0.5, body_timeout=0.5)
    prepare_data_dir(settings, database_template, shipped_model)
    server = TestServer(await create_app(settings, simulator), host="127.0.0.1")
    await server.start_server(**runner_options(settings))
    yield server
    await server.close()


async def connect(server: TestServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    assert server.port is not None
    return await asyncio.open_connection("127.0.0.1", server.port)


async def read_all(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection."""
    return await asyncio.wait_for(reader.read(), WAIT)


def status_and_body(raw: bytes) -> tuple[int, Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        body = dechunk(body)
    return status, json.loads(body) if body else None


def dechunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        out, body = out + body[:size], body[size + 2:]
    return out


def chunked(payload: bytes, size: int) -> list[bytes]:
    parts = [payload[i:i + size] for i in range(0, len(payload), size)]
    return [b"%x\r\n%s\r\n" % (len(part), part) for part in parts] + [b"0\r\n\r\n"]


HEAD = ("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Connection: close\r\n")


@pytest.mark.slow
async def test_a_request_head_that_never_ends_is_cut_off(server: TestServer) -> None:
    reader, writer = await connect(server)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and no end of the head
    await writer.drain()
    for _ in range(3):  # a header line now and then, as slowloris does
        await asyncio.sleep(0.2)
        writer.write(b"X-Slow: 1\r\n")
        await writer.drain()
    assert await read_all(reader) == b""  # closed without an answer
    writer.close()
    idle_reader, idle_writer = await connect(server)  # a connection sending nothing at all
    assert await read_all(idle_reader) == b""
    idle_writer.close()


@pytest.mark.slow
async def test_a_trickling_body_gets_408_and_the_connection_closes(server: TestServer) -> None:
    reader, writer = await connect(server)
    writer.write((HEAD.format(path="/api/chat") + "Content-Length: 200\r\n\r\n").encode())
    writer.write(b'{"sender": "slow", ')
    await writer.drain()
    raw = await read_all(reader)
    writer.close()
    assert status_and_body(raw) == (408, {"error": "request body too slow"})


@pytest.mark.slow
async def test_chunked_json_is_read_whole_and_limited(server: TestServer) -> None:
    async def send(path: str, payload: bytes, size: int) -> tuple[int, Any]:
        reader, writer = await connect(server)
        writer.write((HEAD.format(path=path) + "Transfer-Encoding: chunked\r\n\r\n").encode())
        for part in chunked(payload, size):
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(0)  # separate segments: the server sees them one by one
        raw = await read_all(reader)
        writer.close()
        return status_and_body(raw)

    message = json.dumps({"sender": "chunky", "message": "lệ phí làm hộ chiếu " * 5},
                         ensure_ascii=False).encode()
    status, answers = await send("/api/chat", message, 7)
    assert status == 200 and "hộ chiếu" in answers[0]["text"]
    status, parsed = await send("/model/parse", json.dumps({"text": "xin chào"}).encode(), 3)
    assert status == 200 and parsed["text"] == "xin chào"
    big = json.dumps({"sender": "big", "message": "a" * 200_000}).encode()  # > the route's 64 KB
    assert await send("/api/chat", big, 16_384) == (413, {"error": "request body too large"})
    huge = json.dumps({"text": "a" * 5_000_000}).encode()  # > the service's 4 MB
    assert await send("/model/parse", huge, 65_536) == (413, {"error": "request body too large"})
