"""The HTML digest in Debian's chromium (headless) at a phone's width: right to left, no overflow, shaped.

The screenshot is kept: under ``$RASID_TEST_ARTIFACTS`` when set, else in the test's tmp folder; its
path is printed (``pytest -rP`` shows it).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config.settings import load_settings
from rasid.digest import preview
from tests.rasid.chromium import Chromium, find_chromium
from tests.rasid.digest_fixtures import labelled_hits, store_hits, write_config

PHONE_WIDTH, PHONE_HEIGHT = 375, 812  # CSS pixels of a common phone

#: Runs in the page: direction, widths, anything sticking out, and the width of an Arabic word
#: written joined against the sum of its letters written alone (equal when the letters are boxes or
#: unshaped; joined forms are much narrower). A Latin word is measured the same way as a control.
PROBE = r"""
(() => {
  const r = {};
  r.direction = getComputedStyle(document.body).direction;
  r.htmlDirection = getComputedStyle(document.documentElement).direction;
  r.lang = document.documentElement.lang;
  r.innerWidth = window.innerWidth;
  r.scrollWidth = document.documentElement.scrollWidth;
  r.overflowing = Array.from(document.querySelectorAll("body *"))
    .filter((e) => {
      const b = e.getBoundingClientRect();
      return b.right > window.innerWidth + 0.5 || b.left < -0.5;
    })
    .map((e) => e.tagName + ": " + (e.textContent || "").trim().slice(0, 40));
  const h1 = document.querySelector("h1").getBoundingClientRect();
  r.headingGapRight = window.innerWidth - h1.right;
  const probe = document.createElement("span");
  probe.style.cssText = "font-size:40px;white-space:nowrap;position:absolute;top:0;visibility:hidden";
  document.body.appendChild(probe);
  const width = (t) => { probe.textContent = t; return probe.getBoundingClientRect().width; };
  const ratio = (word) => width(word) / Array.from(word).reduce((sum, c) => sum + width(c), 0);
  r.arabicRatio = ratio("التعاون");  // "cooperation"
  r.latinRatio = ratio("cooperation");
  probe.remove();
  return r;
})()
"""


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    binary = find_chromium()
    if binary is None:
        pytest.skip("chromium not installed: .ci/run installs it (apt-get install chromium fonts-noto-core)")
    browser = Chromium(binary, tmp_path_factory.mktemp("chromium-profile"))
    yield browser
    browser.close()


def _artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ["RASID_TEST_ARTIFACTS"]) if os.environ.get("RASID_TEST_ARTIFACTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_digest_is_right_to_left_shaped_arabic_within_a_phone_width(
    chromium: Chromium,
    sqlite_url: str,
    shared_data: Path,
    tmp_path: Path,
) -> None:
    store_hits(sqlite_url, labelled_hits(shared_data, 8), datetime.now(UTC))
    settings = load_settings(write_config(tmp_path / "rasid.toml", sqlite_url, 25))
    written = preview(settings, tmp_path / "preview")
    session = chromium.page(PHONE_WIDTH, PHONE_HEIGHT)
    chromium.open(session, written.html.as_uri())
    seen = chromium.evaluate(session, PROBE)
    shot = chromium.screenshot(session, _artifacts(tmp_path) / "digest-phone-375px.png")
    print(f"digest screenshot at {PHONE_WIDTH} px: {shot}")
    assert seen["innerWidth"] == PHONE_WIDTH  # the emulation took: a phone, not a 500 px window
    assert (seen["direction"], seen["htmlDirection"], seen["lang"]) == ("rtl", "rtl", "ar")
    assert seen["scrollWidth"] <= PHONE_WIDTH, seen["overflowing"]
    assert seen["overflowing"] == []
    assert seen["headingGapRight"] < 40  # the heading starts at the right edge, as Arabic does
    assert seen["latinRatio"] > 0.97  # the measure itself: unjoined script keeps its width
    assert seen["arabicRatio"] < 0.85, (
        f"Arabic not shaped (boxes or isolated letters): {seen['arabicRatio']:.2f}"
    )
    width, height = _png_size(shot)
    assert width == PHONE_WIDTH * 2 and height > PHONE_HEIGHT  # device scale 2, the whole page
