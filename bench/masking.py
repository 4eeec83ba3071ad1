"""Masking benchmark: how much personal data survives ``mask_personal_data``, and how many
ordinary numbers it wrongly hides, on a held-out set of citizen messages.

Run ``python bench/masking.py`` (``--misses`` lists every miss). The set,
``bench/data/masking_heldout.yaml``, is written by hand as citizens type (ID, passport, phone
and bank account numbers, e-mails, house numbers) and is never used to tune the patterns.
It prints recall (share of secrets gone after masking; target >= 99 %) and false masks (share
of fees, dates, dossier codes and other ordinary numbers altered; target <= 1 %), with the
machine line. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe
from bot.storage.redact import mask_personal_data

SET = Path(__file__).resolve().parent / "data" / "masking_heldout.yaml"


@dataclass(frozen=True)
class MaskingFigures:
    """What masking the held-out set gave."""

    messages: int
    secrets: int
    missed: int
    kept: int
    altered: int
    misses: list[str]

    @property
    def recall(self) -> float:
        return 100 * (self.secrets - self.missed) / self.secrets

    @property
    def false_masks(self) -> float:
        return 100 * self.altered / self.kept

    def summary(self) -> str:
        return (f"{self.messages} messages: recall {self.recall:.1f} % "
                f"({self.secrets - self.missed} of {self.secrets} secrets masked; target >= 99 %), "
                f"false masks {self.false_masks:.1f} % ({self.altered} of {self.kept} ordinary "
                f"numbers altered; target <= 1 %)")


def measure() -> MaskingFigures:
    """Mask every held-out message and count what was left and what was wrongly hidden."""
    messages = yaml.safe_load(SET.read_text(encoding="utf-8"))["messages"]
    secrets = kept = missed = altered = 0
    misses: list[str] = []
    for message in messages:
        masked = mask_personal_data(message["text"])
        for secret in message.get("secrets", []):
            secrets += 1
            if secret in masked:
                missed += 1
                misses.append(f"  LEFT {secret!r} in {masked!r}")
        for ordinary in message.get("keep", []):
            kept += 1
            if ordinary not in masked:
                altered += 1
                misses.append(f"  HID  {ordinary!r}: {masked!r}")
    return MaskingFigures(len(messages), secrets, missed, kept, altered, misses)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="print every miss")
    args = parser.parse_args()
    figures = measure()
    print(describe())
    print(figures.summary())
    if args.misses:
        print("\n".join(figures.misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
