"""Receipts the tests draw themselves and the photographed conditions they simulate.

A page like the "Giấy tiếp nhận hồ sơ và hẹn trả kết quả": a heading, the printed dossier code,
a QR code (the code or a lookup link holding it) and a Code 128 barcode of the code, then one
"photo" of it: scaled, rotated, blurred, saved as JPEG. Used by tests and by bench/features.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

import numpy as np
import zxingcpp
from PIL import Image, ImageDraw, ImageFilter, ImageFont

LOOKUP_URL = "https://dichvucong.example.gov.vn/tra-cuu-ho-so?ma={code}"


def _symbol(content: str, fmt: zxingcpp.BarcodeFormat, size: int) -> Image.Image:
    barcode = zxingcpp.create_barcode(content, fmt)
    return Image.fromarray(np.array(barcode.to_image(size_hint=size))).convert("L")


def receipt_page(code: str, *, qr: str | None = "code", barcode: bool = True) -> Image.Image:
    """A white A5-ish page with the receipt's text, a QR code (``qr``: "code", "url" or None)
    and a Code 128 barcode of the code."""
    page = Image.new("L", (1240, 1750), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=34)
    draw.text((80, 80), "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", font=font, fill=0)
    draw.text((80, 160), f"Mã hồ sơ: {code}", font=font, fill=0)
    for line in range(8):
        draw.text((80, 760 + 60 * line), "Nội dung giấy tờ đã nhận ..." * 2, font=font, fill=60)
    if qr is not None:
        content = code if qr == "code" else LOOKUP_URL.format(code=code)
        page.paste(_symbol(content, zxingcpp.BarcodeFormat.QRCode, 320), (840, 240))
    if barcode:
        page.paste(_symbol(code, zxingcpp.BarcodeFormat.Code128, 700), (80, 300))
    return page


@dataclass(frozen=True, slots=True)
class Conditions:
    """How the phone photographed the page."""

    scale: float = 1.0
    rotation: float = 0.0
    blur: float = 0.0
    quality: int = 90


def photograph(page: Image.Image, c: Conditions) -> bytes:
    """The page as a JPEG "photo" under the given conditions."""
    image = page.convert("RGB")
    if c.scale != 1.0:
        image = image.resize((round(image.width * c.scale), round(image.height * c.scale)),
                             Image.Resampling.BILINEAR)
    if c.rotation:
        image = image.rotate(c.rotation, expand=True, fillcolor=(120, 110, 100),
                             resample=Image.Resampling.BILINEAR)
    if c.blur:
        image = image.filter(ImageFilter.GaussianBlur(c.blur))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=c.quality)
    return out.getvalue()


def random_conditions(rng: random.Random) -> Conditions:
    """Conditions drawn from what phone photos of a paper on a desk look like."""
    return Conditions(
        scale=rng.uniform(0.5, 2.5),
        rotation=rng.choice([0, 90, 180, 270]) + rng.uniform(-15, 15),
        blur=rng.uniform(0, 2.0),
        quality=rng.randint(40, 95),
    )


def random_code(rng: random.Random) -> str:
    """A well-formed dossier code with a past date."""
    return (f"000.00.{rng.randint(10, 99)}.H{rng.randint(10, 99)}-"
            f"25{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}-{rng.randint(0, 9999):04d}")
