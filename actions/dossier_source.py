"""What the dossier-status API tells about a dossier, and how a lookup can fail."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol


class DossierState(StrEnum):
    """Status values of the contract."""

    RECEIVED = "received"
    PROCESSING = "processing"
    NEED_SUPPLEMENT = "need_supplement"
    OVERDUE = "overdue"
    DONE = "done"
    RETURNED = "returned"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One step in a dossier's history."""

    at: dt.datetime
    status: str
    note: str


@dataclass(frozen=True, slots=True)
class DossierStatus:
    """A dossier's status. No personal data of the applicant is kept here, by design."""

    code: str
    procedure: str
    status: DossierState
    status_text: str
    received_at: dt.datetime
    due_at: dt.datetime | None
    completed_at: dt.datetime | None
    current_step: str
    agency: str
    history: tuple[HistoryEntry, ...]

    @property
    def changed_at(self) -> dt.datetime:
        """When the dossier last changed: its last history entry, else its reception."""
        return self.history[-1].at if self.history else self.received_at

    @classmethod
    def from_api(cls, data: Any) -> DossierStatus:
        """Read the API's JSON; raises ValueError when it does not follow the contract."""
        if not isinstance(data, dict):
            raise ValueError("the dossier answer is not a JSON object")
        try:
            return cls(
                code=str(data["code"]),
                procedure=str(data.get("procedure") or ""),
                status=DossierState(data["status"]),
                status_text=str(data.get("status_text") or ""),
                received_at=_time(data["received_at"]),
                due_at=_time(data["due_at"]) if data.get("due_at") else None,
                completed_at=_time(data["completed_at"]) if data.get("completed_at") else None,
                current_step=str(data.get("current_step") or ""),
                agency=str(data.get("agency") or ""),
                history=tuple(
                    HistoryEntry(_time(item["at"]), str(item["status"]), str(item.get("note", "")))
                    for item in data.get("history") or []
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"the dossier answer does not follow the contract: {exc}") from exc


def _time(value: Any) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class DossierNotFound(LookupError):
    """The API does not know this code."""


class DossierUnavailable(RuntimeError):
    """The API could not answer (down, slow, refusing our token, or answering nonsense)."""


class DossierSource(Protocol):
    """Anything that can look up a dossier by its canonical code."""

    async def lookup(self, code: str) -> DossierStatus:
        """The dossier's status; raises DossierNotFound or DossierUnavailable."""
        ...
