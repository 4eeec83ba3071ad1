"""What the following tests share: dossiers whose status a test changes, a sender that
records what it was asked to send, and two workers' pollers and notifiers on one database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from actions.base import Reply
from actions.dossier_source import DossierNotFound, DossierStatus, DossierUnavailable
from bot.core.delivery import DeliveryFailed
from bot.dossier_api.simulator import change_dossier, seeded_by_code
from bot.follow.budget import RequestBudget, Slots
from bot.follow.notifier import Notifier
from bot.follow.poller import Poller
from bot.storage.follows import FollowStore

CODE = "000.00.12.H31-261118-0002"  # processing in the simulator
OTHER = "000.00.12.H31-261120-0001"  # received


@dataclass
class ChangingDossiers:
    """The simulator's dossiers in-process, changed by the test; counts lookups."""

    data: dict[str, dict] = field(default_factory=lambda: {
        c: dict(d) for c, d in seeded_by_code().items()})
    lookups: int = 0
    failing: bool = False

    async def lookup(self, code: str) -> DossierStatus:
        self.lookups += 1
        if self.failing:
            raise DossierUnavailable("down")
        if code not in self.data:
            raise DossierNotFound(code)
        return DossierStatus.from_api(self.data[code])

    def change(self, code: str, status: str, due_at: str | None = None) -> DossierStatus:
        return DossierStatus.from_api(change_dossier(self.data, code, status, due_at))


@dataclass
class RecordingSender:
    """A channel that records what it sends (and can fail for a while)."""

    sent: list[tuple[str, Reply]] = field(default_factory=list)
    fail_temporarily: int = 0

    async def send(self, user_id: str, replies: Sequence[Reply]) -> None:
        if self.fail_temporarily:
            self.fail_temporarily -= 1
            raise DeliveryFailed("down", temporary=True)
        self.sent.extend((user_id, reply) for reply in replies)


def worker(store: FollowStore, dossiers: ChangingDossiers, sender: RecordingSender,
           slots: Slots | None = None, per_second: float = 1000.0
           ) -> tuple[Poller, Notifier]:
    budget = RequestBudget(per_second, slots)
    poller = Poller(store, dossiers, budget, tick=0.05, retry_after=1.0)
    notifier = Notifier(store, {"web": sender, "telegram": sender, "zalo": sender},
                        lambda: "1900 1234", tick=0.05, window_hours=48, transactions=False)
    return poller, notifier


def later(seconds: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
