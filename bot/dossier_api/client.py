"""The dossier-status API client: timeouts, bounded retries with backoff, a circuit breaker.

A lookup either returns a ``DossierStatus``, raises ``DossierNotFound`` (404), or raises
``DossierUnavailable`` within ``deadline`` seconds whatever the API does (slow, 5xx, a refused
token, malformed JSON, or an open circuit), so the citizen always gets an answer in time.
What went wrong is counted in the client's ``stats`` (read by the service's metrics).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

import aiohttp

from actions.dossier_source import DossierNotFound, DossierStatus, DossierUnavailable

log = logging.getLogger(__name__)


class CircuitBreaker:
    """Opens after ``threshold`` failures in a row; lets one trial call through after
    ``reset_after`` seconds (half-open), and closes again on a success."""

    def __init__(self, threshold: int = 5, reset_after: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.reset_after = reset_after
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None

    @property
    def state(self) -> str:
        """"closed", "open" or "half-open"."""
        if self.opened_at is None:
            return "closed"
        if self.clock() - self.opened_at >= self.reset_after:
            return "half-open"
        return "open"

    def allow(self) -> bool:
        """Whether a call may be made now."""
        return self.state != "open"

    def success(self) -> None:
        """Record a successful call."""
        self.failures = 0
        self.opened_at = None

    def failure(self) -> None:
        """Record a failed call."""
        self.failures += 1
        if self.failures >= self.threshold or self.state == "half-open":
            self.opened_at = self.clock()


@dataclass(slots=True)
class DossierApiStats:
    """Counters of the client, read by the metrics.

    ``lookups``: lookups asked; ``failed``: lookups that raised ``DossierUnavailable``;
    ``errors``: by kind, every failed attempt (``timeout``, ``network``, ``http_5xx``,
    ``http_429``, ``malformed``, ``unauthorized``, ``http_other``) and every lookup cut short
    (``deadline``, ``circuit_open``).
    """

    lookups: int = 0
    failed: int = 0
    errors: Counter[str] = field(default_factory=Counter)


class _Retryable(Exception):
    """A failure worth another attempt."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class DossierApiClient:
    """Looks dossiers up over HTTP, following the contract in DESIGN.md."""

    def __init__(self, base_url: str, token: str, *, attempt_timeout: float = 1.5,
                 deadline: float = 4.0, retries: int = 2, backoff: float = 0.2,
                 breaker: CircuitBreaker | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.attempt_timeout = attempt_timeout
        self.deadline = deadline
        self.retries = retries
        self.backoff = backoff
        self.breaker = breaker or CircuitBreaker()
        self.stats = DossierApiStats()
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=aiohttp.ClientTimeout(total=self.attempt_timeout),
            )
        return self._session

    async def lookup(self, code: str) -> DossierStatus:
        """The status of a dossier by its canonical code."""
        self.stats.lookups += 1
        if not self.breaker.allow():
            self._failed("circuit_open")
            raise DossierUnavailable("the dossier API circuit is open")
        try:
            async with asyncio.timeout(self.deadline):
                result = await self._with_retries(code)
        except TimeoutError as exc:
            self.breaker.failure()
            self._failed("deadline")
            raise DossierUnavailable("the dossier API did not answer in time") from exc
        except DossierUnavailable:
            self.breaker.failure()
            self._failed()
            raise
        self.breaker.success()
        return result

    def _failed(self, kind: str | None = None) -> None:
        self.stats.failed += 1
        if kind is not None:
            self.stats.errors[kind] += 1

    async def _with_retries(self, code: str) -> DossierStatus:
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                return await self._attempt(code)
            except _Retryable as exc:
                last = exc
                self.stats.errors[exc.kind] += 1
                log.info("dossier API attempt %d failed: %s", attempt + 1, exc)
        raise DossierUnavailable(f"the dossier API failed {self.retries + 1} times: {last}")

    async def _attempt(self, code: str) -> DossierStatus:
        url = f"{self.base_url}/dossiers/{quote(code, safe='')}"
        try:
            async with self._http().get(url) as response:
                if response.status == 404:
                    raise DossierNotFound(code)
                if response.status in (401, 403):
                    self.stats.errors["unauthorized"] += 1
                    log.error("the dossier API refused our token (HTTP %d)", response.status)
                    raise DossierUnavailable(f"the dossier API refused the token "
                                             f"({response.status})")
                if response.status >= 500 or response.status == 429:
                    kind = "http_429" if response.status == 429 else "http_5xx"
                    raise _Retryable(f"HTTP {response.status}", kind)
                if response.status != 200:
                    self.stats.errors["http_other"] += 1
                    raise DossierUnavailable(f"unexpected HTTP {response.status}")
                try:
                    payload = await response.json(content_type=None)
                    return DossierStatus.from_api(payload)
                except ValueError as exc:
                    raise _Retryable(f"malformed answer: {exc}", "malformed") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            kind = "timeout" if isinstance(exc, TimeoutError) else "network"
            raise _Retryable(f"{type(exc).__name__}: {exc}", kind) from exc
