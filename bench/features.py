"""Figures of the features of issue 13, one part at a time: ``python bench/features.py --part
precheck`` (each part is its own module, ``bench/features_<part>.py``, with a ``main(argv)``
returning the exit code; this file only dispatches, so parts added by different changes do not
touch each other's code)."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# part -> its module; a part whose module is not there yet is listed but refused
PARTS = {
    "followers": "bench.features_followers",
    "precheck": "bench.features_precheck",
    "receipts": "bench.features_receipts",
}


def main(argv: list[str] | None = None) -> int:
    """Run one part with the remaining arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=sorted(PARTS), required=True)
    args, rest = parser.parse_known_args(argv)
    module = importlib.import_module(PARTS[args.part])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
