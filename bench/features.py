"""The figures of issue 13's features, one part at a time: ``python bench/features.py --part
followers`` (other parts: ``receipts``, ``precheck``, each in its own ``bench/features_<part>.py``
module with a ``main(argv)``). Prints the machine line first."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PARTS = ("followers", "receipts", "precheck")


def main() -> None:
    """Run one part with the rest of the command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part", required=True, choices=PARTS)
    args, rest = parser.parse_known_args()
    module = importlib.import_module(f"bench.features_{args.part}")
    module.main(rest)


if __name__ == "__main__":
    main()
