"""From image bytes to a verdict: decode every QR code and barcode (zxing-cpp), retrying on a
smaller copy when a large photo yields nothing, and look for a dossier code in the results."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import zxingcpp
from PIL import Image

from bot.receipts.codes import dossier_code_in
from bot.receipts.image import ImageLimits, ImageRefused, open_image

ReceiptLimits = ImageLimits
# Longest side of the copies tried after the full image (phone photos are often 4000 px and
# more; a smaller copy both speeds up decoding and smooths the sensor noise).
_RETRY_SIDES = (1600, 1000)


class Verdict(StrEnum):
    """What the channel does with the photo."""

    CODE = "code"  # a dossier code: answer it as if typed
    OTHER = "other"  # codes were read, none a dossier code: a photo of something else
    NO_CODE = "no_code"  # nothing readable: ask the citizen to type the code
    REFUSED = "refused"  # too big, not an image, too many pixels


@dataclass(frozen=True, slots=True)
class ReceiptReading:
    """The verdict, the code when there is one, and why (for the log)."""

    verdict: Verdict
    code: str | None = None
    detail: str = ""


def read_receipt(data: bytes, limits: ReceiptLimits | None = None) -> ReceiptReading:
    """Read a receipt photo (CPU-bound: callers run it in a thread)."""
    try:
        image = open_image(data, limits or ReceiptLimits())
    except ImageRefused as exc:
        return ReceiptReading(Verdict.REFUSED, detail=str(exc))
    texts = decode_all(image)
    code = dossier_code_in(texts)
    if code is not None:
        return ReceiptReading(Verdict.CODE, code, f"{len(texts)} symbol(s)")
    if texts:
        return ReceiptReading(Verdict.OTHER, detail=f"{len(texts)} symbol(s), no dossier code")
    return ReceiptReading(Verdict.NO_CODE, detail="no symbol decoded")


def decode_all(image: Image.Image) -> list[str]:
    """The texts of every symbol found, trying smaller copies until one holds a code."""
    texts = _decode(image)
    if dossier_code_in(texts) is not None:
        return texts
    for side in _RETRY_SIDES:
        if max(image.size) <= side:
            continue
        smaller = image.copy()
        smaller.thumbnail((side, side), Image.Resampling.LANCZOS)
        more = _decode(smaller)
        texts += [t for t in more if t not in texts]
        if dossier_code_in(texts) is not None:
            break
    return texts


def _decode(image: Image.Image) -> list[str]:
    results = zxingcpp.read_barcodes(image, try_rotate=True, try_downscale=True)
    return [r.text for r in results if r.valid and r.text]
