"""Reading receipts the tests draw: the code from a QR code (plain or a lookup link) or a
Code 128 barcode, under photographed conditions; size and type checked before decoding."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from bot.receipts import ReceiptLimits, Verdict, read_receipt
from bot.receipts.codes import dossier_code_in
from tests.receipts.photos import Conditions, photograph, receipt_page

CODE = "000.00.12.H31-251103-0042"


@pytest.mark.parametrize(("qr", "barcode"), [("code", False), ("url", False), (None, True)])
def test_each_symbol_alone_gives_the_code(qr: str | None, barcode: bool) -> None:
    photo = photograph(receipt_page(CODE, qr=qr, barcode=barcode), Conditions(quality=80))
    reading = read_receipt(photo)
    assert (reading.verdict, reading.code) == (Verdict.CODE, CODE)


@pytest.mark.parametrize("conditions", [
    Conditions(rotation=90), Conditions(rotation=193), Conditions(rotation=-12, scale=0.6),
    Conditions(blur=1.5), Conditions(scale=2.2, quality=40),
])
def test_photographed_conditions(conditions: Conditions) -> None:
    assert read_receipt(photograph(receipt_page(CODE, qr="url"), conditions)).code == CODE


def test_a_link_with_an_encoded_code_and_a_code_in_other_text() -> None:
    assert dossier_code_in(["https://x.vn/tc?ma=000.00.12.H31%2D251103%2D0042"]) == CODE
    assert dossier_code_in(["EAN 8934567890123", "Mã: 000.00.12.h31-251103-0042."]) == CODE
    assert dossier_code_in(["https://x.vn/tin-tuc/123"]) is None


def _bomb_png(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels (the data is never reached)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_a_photo_without_a_code_and_one_of_something_else() -> None:
    blank = _png(Image.new("RGB", (400, 300), (200, 180, 160)))
    assert read_receipt(blank).verdict == Verdict.NO_CODE
    product = zxingcpp.create_barcode("8934567890120", zxingcpp.BarcodeFormat.EAN13)
    page = Image.new("L", (600, 400), 255)
    page.paste(Image.fromarray(np.array(product.to_image(size_hint=400))), (60, 60))
    assert read_receipt(_png(page)).verdict == Verdict.OTHER


def test_too_big_not_an_image_and_a_decompression_bomb_are_refused() -> None:
    photo = photograph(receipt_page(CODE), Conditions())
    assert read_receipt(photo, ReceiptLimits(max_bytes=len(photo) - 1)).verdict == \
        Verdict.REFUSED
    assert read_receipt(b"%PDF-1.7 not an image").verdict == Verdict.REFUSED
    assert read_receipt(b"").verdict == Verdict.REFUSED
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    assert read_receipt(svg).verdict == Verdict.REFUSED
    # a small file claiming a huge picture: its header is enough to refuse it
    assert read_receipt(_bomb_png(20_000, 20_000)).verdict == Verdict.REFUSED  # Pillow's guard
    reading = read_receipt(_bomb_png(6_000, 6_000), ReceiptLimits(max_pixels=20_000_000))
    assert (reading.verdict, reading.detail) == (Verdict.REFUSED,
                                                 "6000x6000 pixels, over 20000000")
