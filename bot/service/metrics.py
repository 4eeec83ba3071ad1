"""Every Prometheus metric of the service, in one place, served by ``GET /metrics``.

Code records what happens through the small functions below (``message_in``, ``message_out``,
``duplicate``, ``observe_parse``, ``observe_handle``, ``fallback``, ``handoff``,
``send_retry``). Values that live in objects — the dispatcher's queue, the status-API client's
counters and circuit breaker, the Rasa engine's counters — are not pushed: the objects are
registered once (``watch_queue``, ``watch_status_api``, ``watch_rasa``) and read when
``/metrics`` is scraped.

The metrics have their own ``CollectorRegistry`` (not prometheus_client's global one), created
once per process when this module is imported.

Several worker processes: when ``PROMETHEUS_MULTIPROC_DIR`` names a directory (prometheus_client
reads that variable itself, when it is imported, before any metric exists — set it for the whole
service, and empty the directory when the service starts), every worker writes its values to
files there and ``/metrics`` on any worker answers the sum over all workers. The object-held
values are then copied into those files at every scrape and every ``PUBLISH_INTERVAL`` seconds
(``publisher``, run by the aiohttp app); the queue depth is summed over live workers and the
circuit state is the worst of them. Call ``mark_process_dead(pid)`` when a worker exits so its
gauges stop counting.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    ProcessCollector,
    multiprocess,
    values,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from bot.dossier_api.client import DossierApiClient, DossierApiStats
from bot.service.tasks import stop_task

if TYPE_CHECKING:
    from aiohttp import web

    from nlu.rasa_engine import RasaStats

log = logging.getLogger(__name__)

__all__ = [
    "PUBLISH_INTERVAL", "Metrics", "duplicate", "fallback", "handoff", "mark_process_dead",
    "message_in", "message_out", "metrics", "observe_handle", "observe_parse", "publisher",
    "render", "send_retry", "watch_queue", "watch_rasa", "watch_status_api",
]

PUBLISH_INTERVAL = 1.0
PARSE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                 0.5, 1.0)
HANDLE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CIRCUIT_STATES = {"closed": 0.0, "half-open": 0.5, "open": 1.0}


class QueueSource(Protocol):
    """Something holding accepted messages that are not answered yet (the dispatcher)."""

    @property
    def in_flight(self) -> int:
        """How many."""
        ...


@dataclass(frozen=True, slots=True)
class _Live:
    """A metric whose value lives in objects and is read at scrape time."""

    name: str
    documentation: str
    kind: Literal["counter", "gauge"]
    labels: tuple[str, ...] = ()
    # how workers' values combine in multiprocess mode (gauges only)
    mode: Literal["livesum", "livemax"] = "livesum"


QUEUE_DEPTH = _Live("egovbot_queue_depth",
                    "Messages accepted and not yet answered (summed over live workers).", "gauge")
CIRCUIT_STATE = _Live("egovbot_status_api_circuit_state",
                      "Dossier-status API circuit breaker: 0 closed, 0.5 half-open, 1 open "
                      "(the worst over workers).", "gauge", mode="livemax")
STATUS_LOOKUPS = _Live("egovbot_status_api_lookups", "Dossier lookups asked of the status API.",
                       "counter")
STATUS_FAILED = _Live("egovbot_status_api_failed_lookups",
                      "Dossier lookups that ended without an answer (the citizen was told the "
                      "service is unavailable).", "counter")
STATUS_ERRORS = _Live("egovbot_status_api_errors",
                      "Status-API errors by kind: failed attempts (timeout, network, http_5xx, "
                      "http_429, malformed, unauthorized, http_other) and lookups cut short "
                      "(deadline, circuit_open).", "counter", ("kind",))
RASA_REQUESTS = _Live("egovbot_rasa_requests", "Messages sent to the Rasa NLU server.", "counter")
RASA_ANSWERED = _Live("egovbot_rasa_answered", "Messages the Rasa NLU server parsed.", "counter")
RASA_FALLBACKS = _Live("egovbot_rasa_fallbacks",
                       "Messages the built-in NLU parsed because Rasa failed, by reason.",
                       "counter", ("reason",))
LIVE = (QUEUE_DEPTH, CIRCUIT_STATE, STATUS_LOOKUPS, STATUS_FAILED, STATUS_ERRORS, RASA_REQUESTS,
        RASA_ANSWERED, RASA_FALLBACKS)

Readings = dict[_Live, dict[tuple[str, ...], float]]


def multiprocess_enabled() -> bool:
    """Whether prometheus_client keeps values in PROMETHEUS_MULTIPROC_DIR files (it decides when
    it is imported, from that environment variable)."""
    return bool(getattr(values.ValueClass, "_multiprocess", False))


class _Sources:
    """The objects read at scrape time.

    Objects whose value is a gauge are held weakly (an app that is gone stops counting);
    counter objects are held strongly so a counter never goes down while the process lives.
    """

    def __init__(self) -> None:
        self.queues: weakref.WeakSet[Any] = weakref.WeakSet()
        self.status_clients: weakref.WeakSet[DossierApiClient] = weakref.WeakSet()
        self.status_stats: dict[int, DossierApiStats] = {}
        self.rasa_stats: dict[int, RasaStats] = {}

    def read(self) -> Readings:
        readings: Readings = {live: {} for live in LIVE}
        readings[QUEUE_DEPTH][()] = float(sum(queue.in_flight for queue in list(self.queues)))
        states = [CIRCUIT_STATES[client.breaker.state] for client in list(self.status_clients)]
        if states:
            readings[CIRCUIT_STATE][()] = max(states)
        if self.status_stats:
            stats = list(self.status_stats.values())
            readings[STATUS_LOOKUPS][()] = float(sum(s.lookups for s in stats))
            readings[STATUS_FAILED][()] = float(sum(s.failed for s in stats))
            _add_counts(readings[STATUS_ERRORS], (s.errors for s in stats))
        if self.rasa_stats:
            rasa = list(self.rasa_stats.values())
            readings[RASA_REQUESTS][()] = float(sum(s.requests for s in rasa))
            readings[RASA_ANSWERED][()] = float(sum(s.answered for s in rasa))
            _add_counts(readings[RASA_FALLBACKS], (s.fallbacks for s in rasa))
        return readings


def _add_counts(into: dict[tuple[str, ...], float], counts: Iterable[Mapping[str, int]]) -> None:
    for count in counts:
        for key, value in count.items():
            into[(key,)] = into.get((key,), 0.0) + value


class _LiveCollector:
    """Single-process mode: the object-held values as metric families, read at scrape time."""

    def __init__(self, sources: _Sources) -> None:
        self.sources = sources

    def collect(self) -> Iterable[Metric]:
        """One family per live metric."""
        for live, samples in self.sources.read().items():
            family: CounterMetricFamily | GaugeMetricFamily
            if live.kind == "counter":
                family = CounterMetricFamily(live.name, live.documentation, labels=live.labels)
            else:
                family = GaugeMetricFamily(live.name, live.documentation, labels=live.labels)
            for labels, value in sorted(samples.items()):
                family.add_metric(list(labels), value)
            yield family


class _Publisher:
    """Multiprocess mode: copies the object-held values into this worker's metric files."""

    def __init__(self, sources: _Sources) -> None:
        self.sources = sources
        self.instruments: dict[_Live, Counter | Gauge] = {
            live: Counter(live.name, live.documentation, live.labels, registry=None)
            if live.kind == "counter" else
            Gauge(live.name, live.documentation, live.labels, registry=None,
                  multiprocess_mode=live.mode)
            for live in LIVE
        }
        self.published: dict[tuple[str, tuple[str, ...]], float] = {}

    def publish(self) -> None:
        """Write the current values (counters grow by what they grew since the last time)."""
        for live, samples in self.sources.read().items():
            instrument = self.instruments[live]
            for labels, value in samples.items():
                child = instrument.labels(*labels) if labels else instrument
                if isinstance(child, Gauge):
                    child.set(value)
                    continue
                key = (live.name, labels)
                grown = value - self.published.get(key, 0.0)
                if grown > 0:
                    child.inc(grown)
                    self.published[key] = value


class Metrics:
    """The instruments, the registry they are exposed from, and the watched objects."""

    def __init__(self) -> None:
        self.multiprocess = multiprocess_enabled()
        self.registry = CollectorRegistry()
        own = None if self.multiprocess else self.registry
        self.sources = _Sources()
        self._publisher: _Publisher | None = None
        if self.multiprocess:
            self._collector = multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
                self.registry)
            self._publisher = _Publisher(self.sources)
        else:
            ProcessCollector(registry=self.registry)
            GCCollector(registry=self.registry)
            self.registry.register(_LiveCollector(self.sources))
        self.messages_in = Counter(
            "egovbot_messages_in", "Messages accepted from citizens, by channel.", ["channel"],
            registry=own)
        self.messages_out = Counter(
            "egovbot_messages_out", "Messages delivered to citizens, by channel (a reply "
            "split to the platform's limits counts once per part).", ["channel"], registry=own)
        self.duplicates = Counter(
            "egovbot_duplicate_deliveries", "Repeated deliveries dropped, by channel.",
            ["channel"], registry=own)
        self.parse_seconds = Histogram(
            "egovbot_parse_seconds", "Time to understand one message (the NLU parse).",
            buckets=PARSE_BUCKETS, registry=own)
        self.handle_seconds = Histogram(
            "egovbot_handle_seconds", "Time to handle one message: state, NLU, policy, "
            "action, saving the turn (not sending).", buckets=HANDLE_BUCKETS, registry=own)
        self.fallbacks = Counter(
            "egovbot_fallbacks", "Turns the bot did not understand, by channel.", ["channel"],
            registry=own)
        self.handoffs = Counter(
            "egovbot_handoffs", "Conversations handed to staff (they start waiting), by "
            "channel.", ["channel"], registry=own)
        self.send_retries = Counter(
            "egovbot_send_retries", "Calls to a channel's API tried again, by channel and "
            "reason (429, 5xx, timeout, network, rate_limited, 400).", ["channel", "reason"],
            registry=own)

    def publish(self) -> None:
        """Multiprocess mode: write this worker's object-held values to its files now."""
        if self._publisher is not None:
            self._publisher.publish()

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The exposition (text format, or OpenMetrics when ``accept`` asks) and its type."""
        self.publish()
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type

    def sample_value(self, name: str, labels: Mapping[str, str] | None = None) -> float | None:
        """One sample's current value as ``/metrics`` would show it (None when absent)."""
        self.publish()
        return self.registry.get_sample_value(name, dict(labels or {}))

    def multiprocess_dir(self) -> Path | None:
        """The directory of the metric files in multiprocess mode."""
        if not self.multiprocess:
            return None
        return Path(self._collector._path)


metrics = Metrics()
"""The process's metrics; the functions below record into it."""


def message_in(channel: str) -> None:
    """A citizen's message was accepted (stored, not a repeated delivery)."""
    metrics.messages_in.labels(channel).inc()


def duplicate(channel: str) -> None:
    """A repeated delivery of a message already accepted was dropped."""
    metrics.duplicates.labels(channel).inc()


def message_out(channel: str, count: int = 1) -> None:
    """``count`` messages were delivered to citizens on ``channel``."""
    if count > 0:
        metrics.messages_out.labels(channel).inc(count)


def observe_parse(seconds: float) -> None:
    """One NLU parse took ``seconds``."""
    metrics.parse_seconds.observe(seconds)


def observe_handle(seconds: float) -> None:
    """Handling one message (``Pipeline.process``) took ``seconds``."""
    metrics.handle_seconds.observe(seconds)


def fallback(channel: str) -> None:
    """The bot did not understand a turn."""
    metrics.fallbacks.labels(channel).inc()


def handoff(channel: str) -> None:
    """A conversation started waiting for staff."""
    metrics.handoffs.labels(channel).inc()


def send_retry(channel: str, reason: str) -> None:
    """A call to a channel's API failed for ``reason`` and is tried again."""
    metrics.send_retries.labels(channel, reason).inc()


def watch_queue(source: QueueSource) -> None:
    """Read ``source.in_flight`` as the queue depth at every scrape (held weakly)."""
    metrics.sources.queues.add(source)


def watch_status_api(source: object) -> None:
    """Read the status-API client's counters and circuit state at every scrape.

    Anything else (the in-process simulator) has neither and is ignored.
    """
    if isinstance(source, DossierApiClient):
        metrics.sources.status_clients.add(source)
        metrics.sources.status_stats[id(source.stats)] = source.stats


def watch_rasa(stats: RasaStats) -> None:
    """Read the Rasa engine's counters at every scrape (shared by its reloaded copies)."""
    metrics.sources.rasa_stats[id(stats)] = stats


def render(accept: str | None = None) -> tuple[bytes, str]:
    """What ``GET /metrics`` answers, and its content type."""
    return metrics.render(accept)


def mark_process_dead(pid: int, directory: Path | None = None) -> None:
    """Multiprocess mode: a worker exited; its live gauges (queue depth, circuit) stop counting.

    Counters and histograms keep what the worker counted. ``directory``: the workers' metric
    directory, for a parent process that is not in multiprocess mode itself (default: this
    process's).
    """
    path = directory if directory is not None else metrics.multiprocess_dir()
    if path is not None:
        multiprocess.mark_process_dead(pid, str(path))  # type: ignore[no-untyped-call]


async def publisher(_app: web.Application) -> AsyncIterator[None]:
    """aiohttp cleanup context: in multiprocess mode, publish every ``PUBLISH_INTERVAL`` s so a
    scrape on another worker sees this worker's queue and circuit (a no-op otherwise)."""
    task = asyncio.create_task(_publish_forever()) if metrics.multiprocess else None
    yield
    if task is not None:
        await stop_task(task)
        metrics.publish()


async def _publish_forever() -> None:
    while True:
        try:
            metrics.publish()
        except Exception:  # a broken source must not stop the others from being published
            log.exception("publishing metrics failed")
        await asyncio.sleep(PUBLISH_INTERVAL)
