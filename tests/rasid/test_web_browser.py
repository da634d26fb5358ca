"""A real browser (Debian's chromium through /usr/bin/chromedriver) uses `rasid web` as an analyst would.

Opens the stories page, filters by a partner, opens a story, marks it wrong; the judgement is then in the
database and in `rasid feedback export`. Screenshots at 1280 and 375 px wide are kept under var/artifacts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.db import make_engine
from storage.repository import Repository

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = ROOT / "var" / "artifacts" / "web"


def _browser_missing() -> str | None:
    for tool in (CHROMIUM, CHROMEDRIVER):
        if not tool.is_file():
            return f"{tool} not installed (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium not installed (pip install -e '.[test]')"
    return None


@pytest.fixture
def server(crawled_url: str) -> Iterator[str]:
    """`rasid web --port 0` as a child process: a real uvicorn server; yields the URL it prints."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RASID_WEB__")}
    process = subprocess.Popen(
        [sys.executable, "-m", "rasid.cli", "web", "--port", "0", "--db", crawled_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "COLUMNS": "200"},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if "serving on" not in line:
        process.kill()
        pytest.fail(f"rasid web did not start: {line}{process.stderr.read() if process.stderr else ''}")
    yield line.rsplit(" ", 1)[-1].strip().rstrip("/")
    process.terminate()
    process.wait(10)


@pytest.fixture
def chrome(tmp_path: Path):
    missing = _browser_missing()
    if missing:
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-quic",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _screenshot(driver, width: int, name: str) -> Path:
    """The page at ``width`` CSS pixels (a phone at 375), full height of the first screen."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    driver.refresh()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    return path


def test_an_analyst_filters_opens_a_story_and_marks_it_wrong_in_chromium(
    chrome,
    server: str,
    crawled_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    engine_name = "postgresql" if crawled_url.startswith("postgresql") else "sqlite"
    repository = Repository(make_engine(crawled_url))
    chrome.get(server + "/")
    assert chrome.execute_script("return getComputedStyle(document.documentElement).direction") == "rtl"
    assert chrome.execute_script("return getComputedStyle(document.body).direction") == "rtl"
    wide = _screenshot(chrome, 1280, f"stories-1280-{engine_name}.png")
    narrow = _screenshot(chrome, 375, f"stories-375-{engine_name}.png")
    # At phone width nothing overflows sideways: the page is as wide as the screen.
    assert chrome.execute_script("return document.documentElement.scrollWidth") <= 375
    chrome.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    with capsys.disabled():
        print(f"\nscreenshots of the stories page: {wide} and {narrow}")

    partners = [p for s in repository.stories() for p in s.partners]
    partner = max(set(partners), key=partners.count)
    Select(chrome.find_element(By.NAME, "partner")).select_by_value(partner)
    _navigate(
        chrome, lambda: chrome.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    )
    links = chrome.find_elements(By.CSS_SELECTOR, "li.story a.title")
    expected = repository.stories(partner=partner)
    assert [link.text for link in links] == [s.title for s in expected]
    story = expected[0]

    _navigate(chrome, links[0].click)
    assert chrome.find_element(By.TAG_NAME, "h1").text == story.title
    assert chrome.current_url.endswith(f"/stories/{story.story_id}")
    phone = _screenshot(chrome, 375, f"story-375-{engine_name}.png")
    assert chrome.execute_script("return document.documentElement.scrollWidth") <= 375
    chrome.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    with capsys.disabled():
        print(f"screenshot of the story page on a phone: {phone}")
    note = f"ليس عن التعاون {uuid.uuid4().hex[:6]}"
    form = chrome.find_element(By.CSS_SELECTOR, f"form.judge[action='/stories/{story.story_id}/judge']")
    form.find_element(By.NAME, "note").send_keys(note)
    _navigate(chrome, form.find_element(By.CSS_SELECTOR, "button[value=wrong]").click)
    assert note in chrome.find_element(By.ID, "judgements").find_element(By.XPATH, "..").text

    stored = [j for j in repository.judgements(story.story_id) if j.note == note]
    assert [(j.judgement, j.author, j.label) for j in stored] == [("wrong", "local", False)]
    target = tmp_path / "judged.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "rasid.cli", "feedback", "export", str(target), "--db", crawled_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    exported = {r["id"]: r for r in map(json.loads, target.read_text(encoding="utf-8").splitlines())}
    _, articles = repository.story(story.story_id)
    for article in articles:
        assert exported[f"feedback-article-{article.article_id}"]["label"] is False
    repository.engine.dispose()


def _navigate(chrome, action) -> None:
    """Click something that loads a new page and wait until the old page is gone (else its elements go stale)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    old = chrome.find_element(By.TAG_NAME, "html")
    action()
    WebDriverWait(chrome, 20).until(lambda _: _is_gone(old))
    WebDriverWait(chrome, 20).until(lambda c: c.execute_script("return document.readyState") == "complete")


def _is_gone(element) -> bool:
    """The element's page has been replaced: chromedriver says so as a stale reference, or as a node that
    "does not belong to the document" (a plain WebDriverException), depending on when it is asked."""
    from selenium.common.exceptions import WebDriverException

    try:
        element.tag_name  # noqa: B018 - any call on the element asks the browser whether it still exists
    except WebDriverException:
        return True
    return False
