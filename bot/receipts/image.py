"""Checking an uploaded file before decoding it: a byte limit, real image formats only, and a
pixel-count limit read from the header (so a decompression bomb is refused before it is
decompressed)."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image

# The formats a phone or a scanner produces; anything else (SVG, PDF, TIFF, ...) is refused.
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")


class ImageRefused(ValueError):
    """The file is too big, not an image, or an image with too many pixels."""


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """How much the bot agrees to read."""

    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000


def open_image(data: bytes, limits: ImageLimits) -> Image.Image:
    """The decoded image as 8-bit grey, or ``ImageRefused`` saying why not."""
    if len(data) > limits.max_bytes:
        raise ImageRefused(f"{len(data)} bytes, over {limits.max_bytes}")
    if not data:
        raise ImageRefused("empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)  # reads the header only
            width, height = image.size
            if width * height > limits.max_pixels:
                raise ImageRefused(f"{width}x{height} pixels, over {limits.max_pixels}")
            image.draft("L", (4000, 4000))  # JPEG: decode at a reduced scale when huge
            return image.convert("L")
    except ImageRefused:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise ImageRefused(f"not a readable image: {type(exc).__name__}") from exc
