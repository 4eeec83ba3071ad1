"""Receipt photos (issue 13 part 2): how many generated photos give their dossier code, and
the time per photo.

Each photo is a receipt page the tests draw (``tests/receipts/photos.py``: the printed code,
a QR code holding the code or a lookup link, a Code 128 barcode) photographed under random
conditions: scale 0.5-2.5, rotation by a right angle plus up to 15 degrees, Gaussian blur up
to 2 px, JPEG quality 40-95. Seeded, so a rerun makes the same photos.

Side by side, the baseline: one plain ``zxingcpp.read_barcodes`` call on the same decoded
image (no retry on smaller copies). The bot's reader is timed whole, from the JPEG bytes
(checks, decoding the JPEG, zxing-cpp, retries, finding the code).

    python -m bench.features --part receipts [--photos 200] [--seed 13]
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import time

import zxingcpp
from PIL import Image

from bench.machine import describe
from bot.receipts import read_receipt
from bot.receipts.codes import dossier_code_in
from tests.receipts.photos import photograph, random_code, random_conditions, receipt_page


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of the values lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def main(argv: list[str] | None = None) -> int:
    """Print the decode rate and the time per photo, with the baseline's."""
    parser = argparse.ArgumentParser(description="receipt photo figures")
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    ours: list[float] = []
    base: list[float] = []
    read = base_read = 0
    sizes: list[int] = []
    misses: list[str] = []
    for _ in range(args.photos):
        code = random_code(rng)
        qr = rng.choice(["code", "url"])
        conditions = random_conditions(rng)
        photo = photograph(receipt_page(code, qr=qr), conditions)
        sizes.append(len(photo))
        started = time.perf_counter()
        reading = read_receipt(photo)
        ours.append(time.perf_counter() - started)
        read += reading.code == code
        if reading.code != code:
            misses.append(f"{conditions} -> {reading.verdict}")
        image = Image.open(io.BytesIO(photo)).convert("L")
        started = time.perf_counter()
        texts = [r.text for r in zxingcpp.read_barcodes(image)]
        base.append(time.perf_counter() - started)
        base_read += dossier_code_in(texts) == code
    n = args.photos
    print(f"machine: {describe()}")
    print(f"photos: {n} (seed {args.seed}), JPEG median {statistics.median(sizes) / 1024:.0f} kB")
    print(f"decode rate: {read / n:.1%} ({read}/{n})  baseline one zxing pass: "
          f"{base_read / n:.1%} ({base_read}/{n})")
    print(f"time per photo (ms): p50 {1000 * percentile(ours, 0.5):.0f}  "
          f"p95 {1000 * percentile(ours, 0.95):.0f}  max {1000 * max(ours):.0f}")
    print(f"baseline one zxing pass (ms, image already decoded): "
          f"p50 {1000 * percentile(base, 0.5):.0f}  p95 {1000 * percentile(base, 0.95):.0f}")
    print(f"ratio ours/baseline: p50 {percentile(ours, 0.5) / percentile(base, 0.5):.2f}  "
          f"p95 {percentile(ours, 0.95) / percentile(base, 0.95):.2f}")
    for miss in misses:
        print(f"  missed: {miss}")
    return 0
