"""GET /metrics: what the service counts, read through a real loopback server.

The metrics are one set per process (bot/service/metrics.py), so every test compares a scrape taken
before with one taken after. Multiprocess mode runs in subprocesses, with
PROMETHEUS_MULTIPROC_DIR set before prometheus_client is imported, as in production.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from actions.base import Reply
from bot.channels.zalo.channel import ZaloChannel
from bot.dossier_api.client import DossierApiClient
from bot.service import metrics
from bot.service.app import DISPATCHER, RUNTIME
from nlu.engine import NluModel
from nlu.rasa_engine import RasaStats
from tests.bot.channels.test_telegram import channel_of, serve, telegram_settings
from tests.bot.channels.test_zalo import start_bot, zalo_settings
from tests.conftest import prepare_data_dir, set_simulator_mode
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.zalo_api import FakeZalo

ROOT = Path(__file__).resolve().parents[3]
DOSSIER = "000.00.12.H31-261120-0001"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
Client = TestClient[Any, Any]


def parse(text: str) -> Samples:
    """Every sample of an exposition, by name and labels."""
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


async def scrape(client: Client) -> Samples:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.content_type == "text/plain"
    return parse(await response.text())


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def chat(client: Client, sender: str, text: str) -> list[dict[str, Any]]:
    response = await client.post("/api/chat", json={"sender": sender, "message": text})
    assert response.status == 200
    answer: list[dict[str, Any]] = await response.json()
    return answer


async def test_metrics_are_served_without_a_login(service: Client) -> None:
    response = await service.get("/metrics", allow_redirects=False)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    text = await response.text()
    assert "# TYPE egovbot_handle_seconds histogram" in text
    assert "# TYPE egovbot_queue_depth gauge" in text
    openmetrics = await service.get("/metrics",
                                    headers={"Accept": "application/openmetrics-text"})
    assert openmetrics.headers["Content-Type"].startswith("application/openmetrics-text")
    assert (await openmetrics.text()).endswith("# EOF\n")
    assert (await service.get("/admin", allow_redirects=False)).status == 303  # still guarded


async def test_chat_turns_move_latency_fallback_handoff_and_reply_counters(
        service: Client) -> None:
    before = await scrape(service)
    understood = await chat(service, "m1", "lam cccd het bao nhieu tien")
    not_understood = await chat(service, "m1", "qwxz plop brrr")
    handed = await chat(service, "m1", "cho gặp nhân viên")
    again = await chat(service, "m1", "cho gặp nhân viên")  # already waiting: not a new handoff
    after = await scrape(service)

    replies = len(understood) + len(not_understood) + len(handed) + len(again)
    assert replies >= 3
    assert moved(before, after, "egovbot_messages_out_total", channel="web") == replies
    assert moved(before, after, "egovbot_handle_seconds_count") == 4
    assert moved(before, after, "egovbot_handle_seconds_bucket", le="+Inf") == 4
    assert moved(before, after, "egovbot_handle_seconds_sum") > 0
    assert moved(before, after, "egovbot_parse_seconds_count") == 4
    assert moved(before, after, "egovbot_parse_seconds_bucket", le="1.0") == 4
    assert moved(before, after, "egovbot_fallbacks_total", channel="web") == 1
    assert moved(before, after, "egovbot_handoffs_total", channel="web") == 1

    tap = understood[0]["buttons"][0]["payload"]  # a button payload: no NLU parse
    await chat(service, "m2", tap)
    last = await scrape(service)
    assert moved(after, last, "egovbot_handle_seconds_count") == 1
    assert moved(after, last, "egovbot_parse_seconds_count") == 0


async def test_staff_replies_sent_later_count_as_messages_out(service: Client) -> None:
    before = await scrape(service)
    await service.app[DISPATCHER].channels["web"].send("m3", [Reply("a"), Reply("b")])
    assert moved(before, await scrape(service), "egovbot_messages_out_total", channel="web") == 2


async def test_accepted_and_repeated_deliveries_are_counted(service: Client) -> None:
    before = await scrape(service)
    body = {"sender": "m4", "message": "chào bạn", "message_id": "metrics-1"}
    assert await (await service.post("/api/chat", json=body)).json()
    assert await (await service.post("/api/chat", json=body)).json() == []
    after = await scrape(service)
    assert moved(before, after, "egovbot_messages_in_total", channel="web") == 1
    assert moved(before, after, "egovbot_duplicate_deliveries_total", channel="web") == 1


async def test_status_api_errors_and_circuit_state(service: Client, simulator: str) -> None:
    client = service.app[RUNTIME].dossiers
    assert isinstance(client, DossierApiClient)
    client.backoff = 0.0
    client.breaker.threshold = 1
    before = await scrape(service)
    assert value(before, "egovbot_status_api_circuit_state") == 0.0

    await set_simulator_mode(simulator, "fail")
    try:
        assert await chat(service, "m5", f"tra cứu hồ sơ {DOSSIER}")  # an apology
        opened = await scrape(service)
        attempts = client.retries + 1
        assert moved(before, opened, "egovbot_status_api_errors_total", kind="http_5xx") \
            == attempts
        assert moved(before, opened, "egovbot_status_api_lookups_total") == 1
        assert moved(before, opened, "egovbot_status_api_failed_lookups_total") == 1
        assert value(opened, "egovbot_status_api_circuit_state") == 1.0

        await chat(service, "m6", f"tra cứu hồ sơ {DOSSIER}")  # refused by the open circuit
        refused = await scrape(service)
        assert moved(opened, refused, "egovbot_status_api_errors_total", kind="circuit_open") \
            == 1
        assert moved(opened, refused, "egovbot_status_api_errors_total", kind="http_5xx") == 0
    finally:
        await set_simulator_mode(simulator, "normal")

    client.breaker.reset_after = 0.0  # time to let one trial call through
    assert value(await scrape(service), "egovbot_status_api_circuit_state") == 0.5
    await chat(service, "m7", f"tra cứu hồ sơ {DOSSIER}")
    closed = await scrape(service)
    assert value(closed, "egovbot_status_api_circuit_state") == 0.0
    assert moved(refused, closed, "egovbot_status_api_failed_lookups_total") == 0
    assert moved(refused, closed, "egovbot_status_api_lookups_total") == 1


@pytest.mark.slow  # over ~2 s
async def test_telegram_send_retries_by_reason_and_messages_out(
        tmp_path: Path, shipped_model: NluModel, simulator: str,
        telegram_api: FakeTelegramApi) -> None:
    client = await serve(telegram_settings(tmp_path, telegram_api), shipped_model, simulator)
    try:
        chat_id = 5512340001
        before = await scrape(client)
        telegram_api.fail("sendMessage", 502, chat_id=chat_id, times=2)
        telegram_api.fail("sendMessage", 429, retry_after=1, chat_id=chat_id)
        await channel_of(client).send(str(chat_id), [Reply("một"), Reply("hai")])
        after = await scrape(client)
        assert [c.status for c in telegram_api.calls_of("sendMessage", chat_id)] \
            == [502, 502, 429, 200, 200]
        assert moved(before, after, "egovbot_send_retries_total", channel="telegram",
                     reason="5xx") == 2
        assert moved(before, after, "egovbot_send_retries_total", channel="telegram",
                     reason="429") == 1
        assert moved(before, after, "egovbot_messages_out_total", channel="telegram") == 2
    finally:
        await client.close()


@pytest.mark.slow  # over ~2 s
async def test_zalo_send_retries_by_reason_and_messages_out(
        tmp_path: Path, shipped_model: NluModel, simulator: str, database_template: Path) -> None:
    fake = FakeZalo()
    await fake.start()
    settings = zalo_settings(tmp_path, fake)
    prepare_data_dir(settings, database_template, shipped_model)
    bot = await start_bot(settings, fake, simulator)
    try:
        channel = bot.app[DISPATCHER].channels["zalo"]
        assert isinstance(channel, ZaloChannel)
        before = await scrape(bot.client)
        fake.fail_next(1, status=502)
        fake.fail_next(1, error=-32)  # rate limited
        await channel.send("2468013579", [Reply("một")])
        fake.fail_next(1, delay=1.0)  # longer than the 0.5 s timeout
        await channel.send("2468013579", [Reply("hai")])
        after = await scrape(bot.client)
        for reason in ("5xx", "rate_limited", "timeout"):
            assert moved(before, after, "egovbot_send_retries_total", channel="zalo",
                         reason=reason) == 1, reason
        assert moved(before, after, "egovbot_messages_out_total", channel="zalo") == 2
    finally:
        await bot.client.close()
        await fake.close()


class FakeQueue:
    def __init__(self, in_flight: int) -> None:
        self.in_flight = in_flight


@pytest.mark.slow  # over ~2 s
async def test_queue_depth_and_rasa_counters_are_read_at_scrape_time(service: Client) -> None:
    gc.collect()
    before = await scrape(service)
    queue = FakeQueue(3)
    metrics.watch_queue(queue)
    stats = RasaStats(requests=5, answered=3)
    stats.fallbacks["timeout"] += 2
    metrics.watch_rasa(stats)
    first = await scrape(service)
    assert moved(before, first, "egovbot_queue_depth") == 3
    assert moved(before, first, "egovbot_rasa_requests_total") == 5
    assert moved(before, first, "egovbot_rasa_fallbacks_total", reason="timeout") == 2

    queue.in_flight = 1
    stats.requests += 1
    second = await scrape(service)
    assert moved(before, second, "egovbot_queue_depth") == 1
    assert moved(first, second, "egovbot_rasa_requests_total") == 1

    del queue
    gc.collect()
    assert value(await scrape(service), "egovbot_queue_depth") == value(before,
                                                                        "egovbot_queue_depth")


def test_the_test_process_is_not_in_multiprocess_mode() -> None:
    assert not metrics.multiprocess_enabled()
    assert metrics.metrics.multiprocess_dir() is None


WORKER = """
import json, os, sys
from bot.service import metrics

class Queue:
    in_flight = int(sys.argv[1])

queue = Queue()
metrics.watch_queue(queue)
for _ in range(int(sys.argv[2])):
    metrics.message_in("telegram")
metrics.message_out("telegram", 2)
metrics.observe_handle(0.02)
metrics.observe_parse(0.0003)
metrics.send_retry("zalo", "5xx")
metrics.metrics.publish()
print(json.dumps({"pid": os.getpid(), "multiprocess": metrics.multiprocess_enabled()}))
"""

READER = """
import sys
from bot.service import metrics
for pid in sys.argv[1:]:
    metrics.mark_process_dead(int(pid))
body, content_type = metrics.render()
sys.stdout.write(body.decode())
"""


def run(code: str, directory: Path, *args: str) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory),
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_multiprocess_mode_sums_the_workers(tmp_path: Path) -> None:
    directory = tmp_path / "prometheus"
    directory.mkdir()
    first = json.loads(run(WORKER, directory, "3", "5"))
    second = json.loads(run(WORKER, directory, "4", "2"))
    assert first["multiprocess"] and second["multiprocess"]
    assert list(directory.glob("counter_*.db"))

    both = parse(run(READER, directory))
    assert value(both, "egovbot_messages_in_total", channel="telegram") == 7
    assert value(both, "egovbot_messages_out_total", channel="telegram") == 4
    assert value(both, "egovbot_send_retries_total", channel="zalo", reason="5xx") == 2
    assert value(both, "egovbot_handle_seconds_count") == 2
    assert value(both, "egovbot_handle_seconds_bucket", le="0.025") == 2
    assert value(both, "egovbot_parse_seconds_bucket", le="0.0005") == 2
    assert value(both, "egovbot_queue_depth") == 7  # livesum over both workers

    one_left = parse(run(READER, directory, str(first["pid"])))
    assert value(one_left, "egovbot_queue_depth") == 4  # a dead worker's queue stops counting
    assert value(one_left, "egovbot_messages_in_total", channel="telegram") == 7  # counts stay
