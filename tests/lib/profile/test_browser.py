"""``report.html`` in a real headless browser (Playwright driving the system's Chromium):
it loads without console errors and shows the top kernel's name; the screenshot is
docs/profiling.md's (written there when ``PXOS_UPDATE_SCREENSHOT=1``).

Skips when Playwright or Chromium is missing, unless ``PXOS_REQUIRE_BROWSER=1`` (CI
installs both: ``.ci/run``).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import pxos
from tests.conftest import ROOT
from tests.lib.profile.kernels import saxpy, spin

SCREENSHOT = ROOT / "docs" / "images" / "profile-report.png"


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _browser():
    required = os.environ.get("PXOS_REQUIRE_BROWSER") == "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            raise
        pytest.skip("playwright is not installed (pip install 'pxos[profile]')")
    path = _chromium()
    if path is None:
        if required:
            pytest.fail("PXOS_REQUIRE_BROWSER=1 but no chromium on PATH")
        pytest.skip("no chromium on PATH (apt-get install chromium)")
    return sync_playwright, path


def test_report_opens_in_chromium(tmp_path):
    sync_playwright, chromium = _browser()
    x = np.linspace(0, 1, 200_000, dtype=np.float32)
    out = np.empty_like(x)
    with pxos.profile(out=tmp_path / "p") as p:
        for _ in range(4):
            spin(x, out, 200, device="c")
        for _ in range(10):
            saxpy(np.float32(2.0), x, x, out, device="c")
        sum(i * i for i in range(300_000))
    top = json.loads((tmp_path / "p" / "profile.json").read_text())["kernels"][0]["name"]
    assert top == max(p.kernels, key=lambda k: k.total_s).name
    errors = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium,
                                     args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((tmp_path / "p" / "report.html").resolve().as_uri())
        page.wait_for_load_state("load")
        assert errors == []
        table = page.locator("table").first.inner_text()
        assert top in table
        assert page.locator("svg").count() >= 4  # bars, timeline, flame, memory
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=False)
        browser.close()
    assert shot.stat().st_size > 10_000
    if os.environ.get("PXOS_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, SCREENSHOT)
