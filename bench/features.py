"""The figures of issue 13's features: ``python -m bench.features --part <name>``.

A small dispatcher: each part lives in its own module, ``bench/features_<name>.py``, with a
``main(argv)`` that prints its figures (and the machine line). Parts are found by their file
name, so adding one needs no change here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path


def parts() -> list[str]:
    """The parts there are modules for."""
    here = Path(__file__).resolve().parent
    return sorted(path.stem.removeprefix("features_") for path in here.glob("features_*.py"))


def main(argv: list[str] | None = None) -> int:
    """Run one part with the remaining arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", required=True, choices=parts())
    args, rest = parser.parse_known_args(argv)
    module = importlib.import_module(f"bench.features_{args.part}")
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
