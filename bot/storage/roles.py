"""Staff roles, apart from the account tables so that the command line can offer them as
choices without loading SQLAlchemy and Argon2 (bot/cli.py imports it to build its parser)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a staff member may do: staff reads and works inboxes; admin also edits."""

    STAFF = "staff"
    ADMIN = "admin"
