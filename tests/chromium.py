"""Debian's Chromium driven by Playwright, for the tests that look at pages as a person
would (viewer, security headers, reports): one place that finds it, launches it
(software WebGL where a page draws a map) and closes it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
GL_ARGS = ["--use-gl=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist"]


@contextlib.contextmanager
def launched(args: list[str] | None = None) -> Iterator:
    """A launched Chromium browser; the test is skipped when Chromium or Playwright is
    not installed."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Debian chromium is not installed ({CHROMIUM} is missing)")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="the playwright package (test extra) is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args or [])
        yield browser
        browser.close()
