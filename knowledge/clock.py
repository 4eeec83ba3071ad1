"""UTC time, one way for the whole project: the current time, and stored timestamps made
timezone-aware (SQLite hands back naive datetimes; every stored time is UTC)."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """A stored or given time as an aware UTC datetime (a naive one is taken as UTC)."""
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
