"""The aiohttp application: channels' routes, the NLU parse API, health, readiness, metrics,
and the staff pages' sub-application mounted at /admin.

``create_app(settings)`` builds the runtime first, then the app, so every route exists before
the server starts. On start, channels open their connections and messages left pending by a
previous run are handled; on SIGTERM the server stops accepting, finishes the messages in hand
and sends their replies, then closes.
"""

from __future__ import annotations

import logging
import os

from aiohttp import web
from aiohttp.typedefs import Middleware
from aiohttp_remotes import XForwardedStrict
from sqlalchemy import text

from actions.base import MAX_TEXT_CHARS
from bot.admin.app import create_admin_app
from bot.channels import ChannelDeps, build_channels
from bot.channels.base import Intake
from bot.channels.http import read_json
from bot.core.dispatcher import Dispatcher
from bot.follow.service import Following
from bot.service import metrics
from bot.service.appkeys import ADMIN_APP, DISPATCHER, RELOADER, RUNTIME
from bot.service.composition import build_runtime
from bot.service.coordination.redis_client import redis_ready
from bot.service.headers import hide_server_software, set_security_headers
from bot.service.reload import Reloader
from bot.service.retention import RetentionJob
from bot.service.settings import Settings
from bot.service.slow_clients import body_deadline
from bot.storage.db import make_sessionmaker
from nlu.rasa_engine import RasaNlu
from nlu.types import parse_async

log = logging.getLogger(__name__)
MAX_REQUEST_BYTES = 4 * 1024 * 1024  # any request body (routes have smaller limits)

# Paths a monitor may ask without going through the reverse proxy.
DIRECT_PATHS = ("/healthz", "/readyz", "/metrics")

__all__ = ["ADMIN_APP", "DISPATCHER", "RELOADER", "RUNTIME", "create_app"]


async def parse(request: web.Request) -> web.Response:
    """Rasa-compatible ``POST /model/parse`` with ``{"text": "..."}``."""
    body = await read_json(request)
    if isinstance(body, web.Response):
        return body
    message = body.get("text")
    if not isinstance(message, str):
        return web.json_response({"error": "'text' must be a string"}, status=400)
    parsed = await parse_async(request.app[RUNTIME].pipeline.brain.nlu, message[:MAX_TEXT_CHARS])
    return web.json_response(parsed.to_dict())


async def healthz(_request: web.Request) -> web.Response:
    """The process is up (and which worker process answered)."""
    return web.json_response({"status": "ok", "pid": os.getpid()})


async def readyz(request: web.Request) -> web.Response:
    """Ready when the database (and Redis, when configured) answer and the server is not
    shutting down."""
    problems = []
    if not request.app[DISPATCHER].accepting:
        problems.append("shutting down")
    try:
        async with request.app[RUNTIME].engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means not ready
        problems.append(f"database: {type(exc).__name__}")
    redis = request.app[RUNTIME].redis
    if redis is not None and (problem := await redis_ready(redis)) is not None:
        problems.append(f"redis: {problem}")
    if problems:
        return web.json_response({"status": "not ready", "problems": problems}, status=503)
    return web.json_response({"status": "ready"})


async def prometheus(request: web.Request) -> web.Response:
    """``GET /metrics``: every metric in Prometheus' text format (OpenMetrics when asked).

    Open like /healthz (no login: only /admin is guarded); keep it off the public internet at
    the load balancer. With several workers it shows the sum over them (bot/service/metrics.py).
    """
    body, content_type = metrics.render(request.headers.get("Accept"))
    return web.Response(body=body, headers={"Content-Type": content_type})


async def create_app(settings: Settings, dossier_api_url: str | None = None) -> web.Application:
    """The whole service as an aiohttp application."""
    runtime = await build_runtime(settings, dossier_api_url)
    stores = runtime.stores
    dispatcher = Dispatcher(runtime.pipeline, stores.inbox,
                            orphan_after=2 * settings.lock_ttl,
                            shared=runtime.redis is not None)
    channels = build_channels(settings, ChannelDeps(
        stores.outbox, stores.conversations, stores.key_values,
        runtime.pipeline.brain.services.limiter))
    reloader = Reloader(runtime, stores.key_values, settings.reload_interval)
    retention = RetentionJob(make_sessionmaker(runtime.engine), settings.retention_days,
                             settings.retention_interval)
    dispatcher.add_channels(channels)
    following = Following(settings, stores.follows, runtime.dossiers, runtime.redis,
                          dispatcher.channels,
                          lambda: runtime.pipeline.brain.knowledge.city.hotline,
                          runtime.pipeline.locks)

    # the admin sub-app has its own guard; this one runs before it for /admin requests too
    middlewares: list[Middleware] = []
    if settings.trusted_proxies:
        proxies = XForwardedStrict([settings.trusted_proxies], white_paths=DIRECT_PATHS)
        middlewares.append(proxies.middleware)
    # a receipt photo may be larger than any other body: its route refuses it politely
    largest = max(MAX_REQUEST_BYTES, settings.receipt_max_bytes + 64 * 1024)
    middlewares.append(body_deadline(settings.body_timeout, largest))
    app = web.Application(client_max_size=largest, middlewares=middlewares)
    app[RUNTIME] = runtime
    app[DISPATCHER] = dispatcher
    app[RELOADER] = reloader
    app.on_response_prepare.append(set_security_headers)  # the sub-app's responses too
    hide_server_software()  # and the parser's own error responses
    app.router.add_post("/model/parse", parse)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", prometheus)
    following.register(app)
    metrics.watch_status_api(runtime.dossiers)
    if isinstance(runtime.pipeline.brain.nlu, RasaNlu):
        metrics.watch_rasa(runtime.pipeline.brain.nlu.stats)
    app.cleanup_ctx.append(metrics.publisher)
    intake = Intake(submit=dispatcher.submit, handle_now=dispatcher.handle_now,
                    accepting=lambda: dispatcher.accepting,
                    city_name=lambda: runtime.pipeline.brain.knowledge.city.name)
    for channel in channels.values():
        channel.register(app, intake)
    admin = create_admin_app(runtime, dispatcher, reloader)
    app.add_subapp("/admin", admin)  # its startup/shutdown/cleanup run with this app's
    app[ADMIN_APP] = admin

    async def on_startup(_app: web.Application) -> None:
        for channel in channels.values():
            await channel.start()
        await dispatcher.start()
        await reloader.start()
        retention.start()
        following.start()

    async def on_shutdown(_app: web.Application) -> None:
        await following.stop()
        await retention.stop()
        await reloader.stop()
        await dispatcher.drain(settings.shutdown_timeout)

    async def on_cleanup(_app: web.Application) -> None:
        for channel in channels.values():
            await channel.stop()
        await runtime.close()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    return app
