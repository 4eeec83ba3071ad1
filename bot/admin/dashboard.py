"""The dashboard: conversations and messages per day and channel, top procedures and intents,
fallback rate, handoffs and their wait times, ratings, and the most frequent unanswered
questions — for the last 7, 14, 30 or 90 days."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from actions.follow import status_name
from bot.admin.charts import shares, stacked_by_day
from bot.admin.intent_titles import intent_title
from bot.admin.web import RUNTIME, render
from bot.storage.stats import figures
from knowledge.clock import VN_TIME

PERIODS = (7, 14, 30, 90)


async def dashboard(request: web.Request) -> web.Response:
    """The figures of the chosen period."""
    try:
        days = int(request.query.get("days", "14"))
    except ValueError:
        days = 14
    if days not in PERIODS:
        days = 14
    runtime = request.app[RUNTIME]
    end = dt.datetime.now(VN_TIME).date()
    start = end - dt.timedelta(days=days - 1)
    data = await figures(runtime.stores.sessions, start, end)
    names = {pid: p.name for pid, p in runtime.pipeline.brain.knowledge.procedures.items()}
    ratings_total = sum(data.ratings.values())
    average = (sum(k * v for k, v in data.ratings.items()) / ratings_total
               if ratings_total else None)
    return render(
        request, "dashboard.html", days=days, periods=PERIODS, data=data,
        conversations_chart=stacked_by_day(data.days, data.conversations_by_day),
        messages_chart=stacked_by_day(data.days, data.messages_by_day),
        procedures=shares([(names.get(pid, pid), n) for pid, n in data.top_procedures]),
        intents=shares([(intent_title(name), n) for name, n in data.top_intents]),
        ratings=shares([(f"{k} ★", data.ratings.get(k, 0)) for k in range(5, 0, -1)]),
        average_rating=average, ratings_total=ratings_total,
        conversations_total=sum(sum(v) for v in data.conversations_by_day.values()),
        followers=shares([(status_name(status), n) for status, n in sorted(
            (await runtime.stores.follows.followers_by_status()).items())]),
        notices=await runtime.stores.follows.notice_counts(),
    )


def add_routes(app: web.Application) -> None:
    """The dashboard is the admin home page, /admin itself ("" is the mount point; a "/" route
    would answer /admin/)."""
    app.router.add_get("", dashboard)
