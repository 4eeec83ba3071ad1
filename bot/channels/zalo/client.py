"""The Zalo OA Open API client: the access token and consultation ("cs") messages.

Tokens (OAuth v4). ``POST {oauth}/v4/oa/access_token`` with the form fields ``refresh_token``,
``app_id``, ``grant_type=refresh_token`` and the *app* secret in a ``secret_key`` header gives
``{"access_token", "refresh_token", "expires_in": "<seconds, a string>"}``. A refresh token works
once: the answer carries the next one, and losing it means authorizing the app again by hand. So
the pair lives in the database (``KeyValueStore``) and is only ever replaced by compare-and-set:

1. read the record; a valid access token that is not the one Zalo just rejected is used as is;
2. otherwise take a *lease* on the record (compare-and-set), so no other worker refreshes at the
   same time; a worker that finds a live lease waits and reads again;
3. call OAuth with the stored refresh token, then store the new pair (compare-and-set against the
   leased version) before using it.

The refresh token from settings seeds the record only when none is stored, or when the operator
puts a *different* one in settings (after authorizing the app again): the record remembers a hash
of the settings token it was seeded from.

Messages (OpenAPI v3). ``POST {api}/v3.0/oa/message/cs`` with the access token in a header named
``access_token``. Zalo answers most failures with HTTP 200 and ``{"error": <non-zero>}``.
Network errors, 5xx and rate-limit codes are retried with backoff a bounded number of times;
token codes refresh the token once and retry; "outside the reply window" codes are not retried.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from bot.service import metrics
from bot.service.settings import Settings
from bot.storage.key_values import KeyValueStore, Versioned

log = logging.getLogger(__name__)

OAUTH_PATH = "/v4/oa/access_token"
CS_PATH = "/v3.0/oa/message/cs"
TRANSACTION_PATH = "/v3.0/oa/message/transaction"  # proactive, on the OA's quota
DEFAULT_EXPIRES_IN = 3600.0  # when Zalo leaves out expires_in (older behaviour)
LEASE_POLL_SECONDS = 0.05
AUTH_FAILURE_PAUSE = 30.0  # after Zalo refused the refresh token, don't hammer OAuth
REAUTHORIZE_CODES = frozenset({-14014, -14020})  # refresh token invalid / expired or used


class ZaloError(Exception):
    """A Zalo API call failed."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"Zalo error {code}: {message}")
        self.code = code
        self.message = message


class ZaloAuthError(ZaloError):
    """No usable access token (the refresh token was refused, or none is configured)."""


class ZaloWindowError(ZaloError):
    """The user cannot be messaged now (outside the reply window, not a follower)."""


class ZaloRejected(ZaloError):
    """Zalo refused the request itself (bad parameters, unsupported message); not retried."""


class ZaloUnavailable(ZaloError):
    """Network errors, timeouts, 5xx or rate limiting outlasted the retries."""


def error_code(answer: dict[str, Any]) -> int:
    """The ``error`` field of a Zalo answer as an int (0 when absent)."""
    try:
        return int(answer.get("error") or 0)
    except (TypeError, ValueError):
        return -1


def error_text(answer: dict[str, Any]) -> str:
    """Zalo's description of an error, whichever field carries it."""
    for key in ("message", "error_description", "error_name"):
        value = answer.get(key)
        if isinstance(value, str) and value:
            return value[:300]
    return "no description"


def _usable(value: dict[str, Any], until: float) -> bool:
    """The record holds an access token valid until at least ``until``."""
    expires_at = value.get("expires_at")
    return (bool(value.get("access_token")) and isinstance(expires_at, int | float)
            and expires_at > until)


class ZaloClient:
    """Calls the Zalo OpenAPI and OAuth endpoints for one OA."""

    def __init__(self, settings: Settings, key_values: KeyValueStore,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.key_values = key_values
        self.clock = clock
        self.token_key = f"zalo:token:{settings.zalo_app_id}"
        self._seed = (hashlib.sha256(settings.zalo_refresh_token.encode("utf-8")).hexdigest()[:16]
                      if settings.zalo_refresh_token else "")
        self._owner = uuid.uuid4().hex
        self._lock = asyncio.Lock()
        self._cached: Versioned | None = None
        self._session: aiohttp.ClientSession | None = None
        self._auth_failed_until = 0.0
        # a worker holding a lease may take this long (all OAuth attempts) before others step in
        self.lease_seconds = settings.zalo_attempts * (settings.zalo_timeout
                                                       + 4 * settings.zalo_retry_backoff) + 5.0

    # --- HTTP -----------------------------------------------------------------------------

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.zalo_timeout))
        return self._session

    async def download(self, url: str, max_bytes: int) -> bytes | None:
        """An attachment's content (a citizen's image), or None: unreachable, not 200, or over
        ``max_bytes`` (read no further than that). The caller checks the host first."""
        timeout = aiohttp.ClientTimeout(total=self.settings.receipt_download_timeout)
        try:
            async with self._http().get(url, timeout=timeout, allow_redirects=False) as response:
                if response.status != 200 or (response.content_length or 0) > max_bytes:
                    return None
                data = await response.content.read(max_bytes + 1)
                return data if len(data) <= max_bytes else None
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("zalo attachment not downloaded: %s", exc)
            return None

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _retrying(self, what: str,
                        call: Callable[[], Awaitable[tuple[int, dict[str, Any]]]]
                        ) -> tuple[int, dict[str, Any]]:
        """Run ``call`` until it gets an answer that is not a network error, 5xx or rate limit."""
        attempts = self.settings.zalo_attempts
        problem = ""
        for attempt in range(attempts):
            try:
                status, answer = await call()
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                problem = type(exc).__name__
                reason = "timeout" if isinstance(exc, TimeoutError) else "network"
            else:
                code = error_code(answer)
                if status >= 500 or status == 429:
                    problem = f"HTTP {status}"
                    reason = "429" if status == 429 else "5xx"
                elif code in self.settings.zalo_rate_limit_error_codes:
                    problem = f"rate limited ({code})"
                    reason = "rate_limited"
                else:
                    return status, answer
            if attempt + 1 < attempts:
                metrics.send_retry("zalo", reason)
                delay = self.settings.zalo_retry_backoff * 2 ** attempt
                log.info("zalo %s failed (%s); retry %d/%d in %.2fs", what, problem,
                         attempt + 1, attempts - 1, delay)
                await asyncio.sleep(delay * random.uniform(1.0, 1.25))
        raise ZaloUnavailable(0, f"{what} failed {attempts} times, last: {problem}")

    @staticmethod
    async def _read(response: aiohttp.ClientResponse) -> tuple[int, dict[str, Any]]:
        """Status and JSON object of a response ({} for a non-object error body)."""
        try:
            answer = await response.json(content_type=None)
        except ValueError:
            if response.status < 300:
                raise  # a 2xx that is not JSON: treat like a network error
            answer = None
        return response.status, answer if isinstance(answer, dict) else {}

    # --- tokens ---------------------------------------------------------------------------

    def _reseeded(self, stored: Versioned | None) -> bool:
        """True when the settings' refresh token must be used (nothing stored, or a new one)."""
        if stored is None:
            return True
        return bool(self._seed) and stored.value.get("seed") != self._seed

    async def access_token(self, within: float | None = None) -> str:
        """A valid access token, refreshed first if it expires within ``within`` seconds."""
        margin = self.settings.zalo_token_margin if within is None else within
        until = self.clock() + margin
        if self._cached is not None and _usable(self._cached.value, until):
            return str(self._cached.value["access_token"])
        stored = await self.key_values.get(self.token_key)
        if stored is not None and not self._reseeded(stored) and _usable(stored.value, until):
            self._cached = stored
            return str(stored.value["access_token"])
        return await self.refresh(within=margin)

    async def refresh(self, rejected: str | None = None, within: float | None = None) -> str:
        """A new access token (unless another caller already got one that is not ``rejected``)."""
        margin = self.settings.zalo_token_margin if within is None else within
        async with self._lock:
            waited_since = self.clock()
            while True:
                now = self.clock()
                if now - waited_since > self.lease_seconds:
                    raise ZaloAuthError(0, "no token: another worker holds the lease too long")
                stored = await self.key_values.get(self.token_key)
                reseed = self._reseeded(stored)
                value = stored.value if stored is not None and not reseed else {}
                if (_usable(value, now + margin) and value["access_token"] != rejected):
                    assert stored is not None
                    self._cached = stored
                    return str(value["access_token"])
                lease_until = value.get("lease_until") or 0.0
                if value.get("lease_owner") not in (None, "", self._owner) and lease_until > now:
                    await asyncio.sleep(LEASE_POLL_SECONDS)
                    continue  # another worker is refreshing: wait for its result
                if now < self._auth_failed_until:
                    raise ZaloAuthError(0, "Zalo refused the refresh token a moment ago")
                refresh_token = (self.settings.zalo_refresh_token if reseed
                                 else str(value.get("refresh_token") or ""))
                if not refresh_token:
                    raise ZaloAuthError(0, "no refresh token: authorize the app and set "
                                           "EGOVBOT_ZALO_REFRESH_TOKEN")
                leased = {**value, "refresh_token": refresh_token, "seed": self._seed,
                          "lease_owner": self._owner, "lease_until": now + self.lease_seconds}
                expected = stored.version if stored is not None else None
                if not await self.key_values.compare_and_set(self.token_key, leased, expected):
                    continue  # somebody changed the record since we read it: read again
                return await self._refresh_leased(leased, (expected or 0) + 1)

    async def _refresh_leased(self, leased: dict[str, Any], version: int) -> str:
        """Call OAuth under our lease and store the new pair before anybody uses it."""
        refresh_token = str(leased["refresh_token"])
        try:
            answer = await self._oauth(refresh_token)
        except ZaloError as exc:
            released = {**leased, "lease_owner": "", "lease_until": 0.0}
            await self.key_values.compare_and_set(self.token_key, released, version)
            if isinstance(exc, ZaloAuthError):
                self._auth_failed_until = self.clock() + AUTH_FAILURE_PAUSE
            raise
        try:
            expires_in = float(answer.get("expires_in") or DEFAULT_EXPIRES_IN)
        except (TypeError, ValueError):
            expires_in = DEFAULT_EXPIRES_IN
        fresh = {"access_token": str(answer["access_token"]),
                 "refresh_token": str(answer["refresh_token"]),
                 "expires_at": self.clock() + expires_in, "seed": self._seed,
                 "lease_owner": "", "lease_until": 0.0}
        expected = version
        for _ in range(5):
            if await self.key_values.compare_and_set(self.token_key, fresh, expected):
                self._cached = Versioned(fresh, expected + 1)
                log.info("zalo access token refreshed; valid for %.0f s", expires_in)
                return str(fresh["access_token"])
            # Our lease ran out and another worker took over. It can only have used the
            # refresh token we consumed (refused by Zalo), so ours is the live pair: keep it,
            # unless it stored a pair of its own from a newer refresh token.
            current = await self.key_values.get(self.token_key)
            if current is None:
                expected = 0  # pragma: no cover - the row is never deleted
                continue
            if current.value.get("refresh_token") not in (refresh_token, fresh["refresh_token"]):
                log.warning("zalo token stored by another worker kept; ours used once")
                return str(fresh["access_token"])
            expected = current.version
        raise ZaloAuthError(0, "could not store the new Zalo token")

    async def _oauth(self, refresh_token: str) -> dict[str, Any]:
        """Exchange a refresh token for a new pair (the old refresh token dies)."""
        url = self.settings.zalo_oauth_url.rstrip("/") + OAUTH_PATH
        form = {"refresh_token": refresh_token, "app_id": self.settings.zalo_app_id,
                "grant_type": "refresh_token"}
        headers = {"secret_key": self.settings.zalo_app_secret}

        async def call() -> tuple[int, dict[str, Any]]:
            async with self._http().post(url, data=form, headers=headers) as response:
                return await self._read(response)

        status, answer = await self._retrying("token refresh", call)
        if (status < 300 and isinstance(answer.get("access_token"), str)
                and isinstance(answer.get("refresh_token"), str)):
            return answer
        code = error_code(answer)
        hint = (" - authorize the app again and set EGOVBOT_ZALO_REFRESH_TOKEN"
                if code in REAUTHORIZE_CODES else "")
        log.error("zalo token refresh refused: HTTP %d, error %d (%s)%s", status, code,
                  error_text(answer), hint)
        raise ZaloAuthError(code, error_text(answer))

    # --- messages -------------------------------------------------------------------------

    async def send_cs(self, recipient: dict[str, str], message: dict[str, Any]) -> dict[str, Any]:
        """Send one consultation message; Zalo's ``data`` (message id, quota) on success."""
        return await self._send(CS_PATH, recipient, message)

    async def send_transaction(self, recipient: dict[str, str],
                               message: dict[str, Any]) -> dict[str, Any]:
        """Send one transaction message (outside the reply window, on the OA's quota)."""
        return await self._send(TRANSACTION_PATH, recipient, message)

    async def _send(self, path: str, recipient: dict[str, str],
                    message: dict[str, Any]) -> dict[str, Any]:
        url = self.settings.zalo_api_url.rstrip("/") + path
        body = {"recipient": recipient, "message": message}
        token = await self.access_token()
        for refreshed in (False, True):
            headers = {"access_token": token}

            async def call(headers: dict[str, str] = headers) -> tuple[int, dict[str, Any]]:
                async with self._http().post(url, json=body, headers=headers) as response:
                    return await self._read(response)

            status, answer = await self._retrying("send", call)
            code = error_code(answer)
            if status == 401 or code in self.settings.zalo_token_error_codes:
                if refreshed:
                    raise ZaloAuthError(code, error_text(answer))
                log.info("zalo refused the access token (HTTP %d, error %d); refreshing",
                         status, code)
                token = await self.refresh(rejected=token)
                continue
            if code in self.settings.zalo_window_error_codes:
                raise ZaloWindowError(code, error_text(answer))
            if status >= 300 or code != 0:
                raise ZaloRejected(code or -status, error_text(answer))
            data = answer.get("data")
            return data if isinstance(data, dict) else {}
        raise AssertionError("unreachable")  # pragma: no cover
