"""Time, one way for the whole project: the current time and stored timestamps in UTC (SQLite
hands back naive datetimes; every stored time is UTC), and Vietnam time for what citizens and
officers read (dates, office hours, the dashboard's days)."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


VN_TIME = dt.timezone(dt.timedelta(hours=7), "ICT")  # Vietnam keeps +07:00 all year


def as_utc(value: dt.datetime) -> dt.datetime:
    """A stored or given time as an aware UTC datetime (a naive one is taken as UTC)."""
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def in_vietnam(value: dt.datetime) -> dt.datetime:
    """A time as read in Vietnam (a naive one is taken as UTC)."""
    return as_utc(value).astimezone(VN_TIME)
