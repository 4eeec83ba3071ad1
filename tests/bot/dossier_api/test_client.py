"""The dossier-status client against the simulator on a real loopback port."""

from __future__ import annotations

import time

import pytest

from actions.dossier_source import DossierNotFound, DossierState, DossierUnavailable
from bot.dossier_api.client import CircuitBreaker, DossierApiClient
from tests.conftest import set_simulator_mode

CODE = "000.00.12.H31-261110-0003"


def client_for(url: str, token: str = "test-token", **kwargs: float) -> DossierApiClient:
    options = {"attempt_timeout": 0.3, "deadline": 1.0, "backoff": 0.01, **kwargs}
    return DossierApiClient(url, token, **options)  # type: ignore[arg-type]


async def test_found_not_found(simulator: str) -> None:
    client = client_for(simulator)
    try:
        dossier = await client.lookup(CODE)
        assert dossier.status == DossierState.NEED_SUPPLEMENT
        assert dossier.procedure == "gpxd-nha-o"
        assert "bản vẽ" in dossier.history[-1].note
        assert not hasattr(dossier, "applicant")
        with pytest.raises(DossierNotFound):
            await client.lookup("000.00.12.H31-261110-9999")
    finally:
        await client.close()


async def test_bad_token_is_unavailable_without_retrying(simulator: str) -> None:
    client = client_for(simulator, token="wrong")
    try:
        with pytest.raises(DossierUnavailable, match="refused the token"):
            await client.lookup(CODE)
    finally:
        await client.close()


@pytest.mark.parametrize("mode", ["fail", "malformed"])
async def test_errors_are_retried_then_unavailable(simulator: str, mode: str) -> None:
    await set_simulator_mode(simulator, mode)
    client = client_for(simulator)
    try:
        with pytest.raises(DossierUnavailable, match="failed 3 times"):
            await client.lookup(CODE)
    finally:
        await client.close()


async def test_a_hanging_api_gives_up_by_the_deadline(simulator: str) -> None:
    await set_simulator_mode(simulator, "slow", delay=10)
    client = client_for(simulator, attempt_timeout=5.0, deadline=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(DossierUnavailable, match="in time"):
            await client.lookup(CODE)
    finally:
        await client.close()
    assert time.monotonic() - started < 3.0


async def test_recovers_when_the_api_comes_back(simulator: str) -> None:
    client = client_for(simulator)
    try:
        await set_simulator_mode(simulator, "fail")
        with pytest.raises(DossierUnavailable):
            await client.lookup(CODE)
        await set_simulator_mode(simulator, "normal")
        assert (await client.lookup(CODE)).code == CODE
    finally:
        await client.close()


async def test_unreachable_api_is_unavailable() -> None:
    client = client_for("http://127.0.0.1:9")
    try:
        with pytest.raises(DossierUnavailable):
            await client.lookup(CODE)
    finally:
        await client.close()


def test_circuit_breaker_opens_and_half_opens() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=2, reset_after=10, clock=lambda: now[0])
    breaker.failure()
    assert breaker.allow()
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 11
    assert breaker.state == "half-open" and breaker.allow()
    breaker.failure()
    assert breaker.state == "open"
    now[0] = 22
    breaker.success()
    assert breaker.state == "closed"


async def test_open_circuit_answers_at_once(simulator: str) -> None:
    client = client_for(simulator)
    client.breaker = CircuitBreaker(threshold=1, reset_after=60)
    try:
        await set_simulator_mode(simulator, "fail")
        with pytest.raises(DossierUnavailable):
            await client.lookup(CODE)
        await set_simulator_mode(simulator, "normal")
        with pytest.raises(DossierUnavailable, match="circuit is open"):
            await client.lookup(CODE)
    finally:
        await client.close()


async def test_simulator_control_rejects_bad_modes(simulator: str) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.post(f"{simulator}/_control", json={"mode": "explode"}) as response:
            assert response.status == 400
        async with session.post(f"{simulator}/_control", data=b"{nope") as response:
            assert response.status == 400
