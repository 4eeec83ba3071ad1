"""python-telegram-bot's HTTP transport over aiohttp (the stack the server already runs on).

PTB's default ``HTTPXRequest`` works, but httpx's connection pool costs about 2 ms of CPU per
request once a couple of hundred sends are in flight (its pool is scanned per request), which is
most of a message's budget on a 2-core machine; aiohttp's client costs a fraction of that.
PTB keeps doing everything else: building the request, reading the ``{"ok", "result"}``
envelope and mapping HTTP statuses to ``RetryAfter``, ``Forbidden``, ``BadRequest``, ...
"""

from __future__ import annotations

import json

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_DefaultValue = type(BaseRequest.DEFAULT_NONE)  # PTB's "not given" marker class
JSON_HEADERS = {"Content-Type": "application/json"}


class AiohttpRequest(BaseRequest):
    """One aiohttp ``ClientSession`` per PTB request object (PTB uses two: calls, getUpdates)."""

    __slots__ = ("_connect_timeout", "_connections", "_pool_timeout", "_read_timeout",
                 "_session", "_write_timeout")

    def __init__(self, connections: int = 256, connect_timeout: float = 5.0,
                 read_timeout: float = 10.0, write_timeout: float = 10.0,
                 pool_timeout: float = 10.0) -> None:
        self._connections = connections
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """Seconds to wait for an answer (PTB adds the long-poll time for getUpdates)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        """Close the session."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    @staticmethod
    def _given(value: object, default: float) -> float | None:
        if isinstance(value, _DefaultValue):
            return default
        return value if isinstance(value, int | float) else None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one Bot API request; (HTTP status, body)."""
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        connect = self._given(connect_timeout, self._connect_timeout)
        pool = self._given(pool_timeout, self._pool_timeout)
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=(connect or 0) + (pool or 0) or None,  # waiting for a pooled connection too
            sock_connect=connect,
            sock_read=self._given(read_timeout, self._read_timeout),
        )
        data: aiohttp.FormData | bytes | None = None
        headers: dict[str, str] | None = None
        if request_data is not None:
            if request_data.contains_files:
                form = aiohttp.FormData(request_data.json_parameters)
                for name, (filename, content, mime) in request_data.multipart_data.items():
                    form.add_field(name, content, filename=filename, content_type=mime)
                data = form
            else:
                # one JSON body (the Bot API takes application/json): url-encoding every
                # field of every sendMessage cost about a fifth of a millisecond per update
                data = json.dumps(request_data.parameters).encode()
                headers = JSON_HEADERS
        try:
            async with self._session.request(method, url, data=data, headers=headers,
                                             timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc
