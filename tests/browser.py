"""Headless Debian chromium for browser tests, driven by playwright (never downloads a browser)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@asynccontextmanager
async def launch_chromium() -> AsyncIterator[Browser]:
    """A headless chromium; a clear failure when Debian's package is not installed."""
    executable = CHROMIUM if CHROMIUM.exists() else Path(shutil.which("chromium") or CHROMIUM)
    if not executable.exists():
        pytest.fail("Debian's chromium is not installed: run `make test`, which installs the "
                    "chromium package for the browser tests")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(executable),
                                                   args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()
