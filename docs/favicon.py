"""Draws the site icon, ``bot/channels/web/static/favicon.ico`` (served at ``/favicon.ico``).

Run ``.venv/bin/python docs/favicon.py`` after changing the drawing. A white speech bubble with
three dots on the widget's blue (#0b5cad), 16 and 32 pixels, anti-aliased by supersampling,
written as PNG images inside an ICO container with the standard library only.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "bot" / "channels" / "web" / "static" / "favicon.ico"
BLUE = (0x0B, 0x5C, 0xAD)
WHITE = (0xFF, 0xFF, 0xFF)
SAMPLES = 4  # per pixel side
Shape = Callable[[float, float], bool]  # in units of a 32-pixel icon


def rounded_rect(left: float, top: float, right: float, bottom: float, radius: float) -> Shape:
    def inside(x: float, y: float) -> bool:
        if not (left <= x <= right and top <= y <= bottom):
            return False
        cx = min(max(x, left + radius), right - radius)
        cy = min(max(y, top + radius), bottom - radius)
        return (x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2
    return inside


def triangle(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> Shape:
    def side(p: tuple[float, float], q: tuple[float, float], x: float, y: float) -> float:
        return (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0])

    def inside(x: float, y: float) -> bool:
        d1, d2, d3 = side(a, b, x, y), side(b, c, x, y), side(c, a, x, y)
        return not ((d1 < 0 or d2 < 0 or d3 < 0) and (d1 > 0 or d2 > 0 or d3 > 0))
    return inside


def circle(cx: float, cy: float, r: float) -> Shape:
    return lambda x, y: (x - cx) ** 2 + (y - cy) ** 2 <= r * r


TILE = rounded_rect(0, 0, 32, 32, 7)
BUBBLE = [rounded_rect(5, 6, 27, 22, 5), triangle((9, 20), (9, 27), (16, 20))]
DOTS = [circle(11, 14, 2), circle(16, 14, 2), circle(21, 14, 2)]


def colour(x: float, y: float) -> tuple[int, int, int, int]:
    if any(dot(x, y) for dot in DOTS) or not any(part(x, y) for part in BUBBLE):
        return (*BLUE, 255) if TILE(x, y) else (0, 0, 0, 0)
    return (*WHITE, 255)


def pixels(size: int) -> bytes:
    """RGBA rows, each prefixed with PNG filter byte 0."""
    scale = 32 / size
    rows = bytearray()
    for py in range(size):
        rows.append(0)
        for px in range(size):
            total = [0, 0, 0, 0]
            for sy in range(SAMPLES):
                for sx in range(SAMPLES):
                    r, g, b, a = colour((px + (sx + 0.5) / SAMPLES) * scale,
                                        (py + (sy + 0.5) / SAMPLES) * scale)
                    total = [total[0] + r * a, total[1] + g * a, total[2] + b * a, total[3] + a]
            alpha = total[3]
            rgb = [round(c / alpha) if alpha else 0 for c in total[:3]]
            rows.extend([*rgb, round(alpha / SAMPLES ** 2)])
    return bytes(rows)


def png(size: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(pixels(size), 9)) + chunk(b"IEND", b""))


def ico(sizes: list[int]) -> bytes:
    images = [png(size) for size in sizes]
    offset = 6 + 16 * len(images)
    directory = b""
    for size, image in zip(sizes, images, strict=True):
        directory += struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(image), offset)
        offset += len(image)
    return struct.pack("<HHH", 0, 1, len(images)) + directory + b"".join(images)


if __name__ == "__main__":
    OUT.write_bytes(ico([16, 32]))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
