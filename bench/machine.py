"""The machine a benchmark ran on, printed with every figure."""

from __future__ import annotations

import gc
import os
import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager


def loop_ms() -> float:
    """Milliseconds for a fixed pure-Python loop (5 million additions), best of three: how
    fast this machine runs Python right now, so figures from different machines compare."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(5_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return best * 1000


@contextmanager
def no_gc_pauses() -> Iterator[None]:
    """No garbage collection in the measuring process while a run is timed.

    The load generator and the fake API that timestamps replies live in the benchmark's own
    process; a full collection there (over 200 ms once it holds a run's records) stopped the
    clock-keeping and showed up as a tail latency of the service. Memory grows by a run's
    records only."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def describe() -> str:
    """One line: CPU model, core count, memory, Python, and the speed of a Python loop."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as info:
            kib = int(info.readline().split()[1])
            memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{cpu}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}, "
            f"reference loop {loop_ms():.0f} ms")
