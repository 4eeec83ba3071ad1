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
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe
from bot.storage.redact import mask_personal_data

SET = Path(__file__).resolve().parent / "data" / "masking_heldout.yaml"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="print every miss")
    args = parser.parse_args()
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
    print(describe())
    print(f"{len(messages)} messages: recall {100 * (secrets - missed) / secrets:.1f} % "
          f"({secrets - missed} of {secrets} secrets masked; target >= 99 %), false masks "
          f"{100 * altered / kept:.1f} % ({altered} of {kept} ordinary numbers altered; "
          f"target <= 1 %)")
    if args.misses:
        print("\n".join(misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
