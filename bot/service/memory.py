"""Handing memory back to the system after loading the knowledge base.

Loading the national catalog reads every record, converts it and throws the temporaries
away; CPython frees them, but glibc keeps most of the pages for later, so a server that
loads once and then answers questions would sit on a hundred megabytes it never uses again.
``release_freed_memory`` asks glibc to return them (``malloc_trim``); elsewhere (musl, macOS)
it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def release_freed_memory() -> None:
    """Give freed heap pages back to the operating system (what reference counting freed;
    a full garbage collection would cost a third of a second in a large process)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
