"""The dashboard in a real headless Chromium (Debian's, driven by Playwright; no browser
is downloaded), over a real `switchboard serve`, a real coordinator process and a real
`opencode serve` with the scripted model: a task added in the page runs, and its result
appears without a reload. The coordinator's hook delivery posts the ending too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from switchboard.hooks.signing import verify
from switchboard.runners import Runners
from tests.test_hooks import Receiver
from tests.web_fixtures import served  # noqa: F401 - a fixture

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCRIPT = [{"name": "echo", "match": r"^echo (.+)", "reply": "echoed: {1}"}]

pytestmark = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason="no Debian chromium: run `make setup`")


@pytest.fixture
def coordinator(home: Path, attach: str) -> Iterator[None]:
    """`switchboard coordinator start` in the background, attached to the shared OpenCode server."""
    subprocess.run(
        [sys.executable, "-m", "switchboard", "coordinator", "start", "--attach", attach, "--no-memory", "--json"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    yield
    subprocess.run([sys.executable, "-m", "switchboard", "coordinator", "stop"], capture_output=True, timeout=90)


@pytest.fixture
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def test_a_task_added_in_the_page_runs_and_its_result_appears_live(
    settings,
    workdir: Path,
    coordinator,
    served,  # noqa: ANN001, F811
    browser,
) -> None:
    Runners.open(settings).create("echoer", "echoes", workdir=workdir)
    receiver = Receiver()
    try:
        hook = json.loads(
            subprocess.run(
                [sys.executable, "-m", "switchboard", "hook", "add", receiver.url, "--on", "done", "--json"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        server = served("--no-auth")
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server.url + "/")
        page.wait_for_selector("#live.ok")  # the event stream is connected
        page.evaluate("window.notReloaded = true")

        page.fill("#add-task textarea[name=prompt]", "echo hello from the dashboard")
        page.select_option("#add-task select[name=runner]", "echoer")
        page.click("#add-task button[type=submit]")
        page.wait_for_selector("#add-result.ok")
        row = page.wait_for_selector("#tasks-done tr:has-text('echoed: hello from the dashboard')", timeout=90_000)

        assert page.evaluate("window.notReloaded") is True
        task_id = int(row.get_attribute("data-id"))
        row.click()
        page.wait_for_selector("#detail:not([hidden]) [data-field=result]:has-text('echoed')")
        assert page.text_content("#detail [data-field=status]") == "done"
        assert page.text_content("#detail [data-field=session]").startswith("ses")
        assert page.text_content("#detail [data-field=runner]") == "echoer"
        page.wait_for_selector("[data-count=done]:text-is('1')")
        assert "idle" in page.text_content("#runners-body tr[data-runner=echoer] .busy")
        assert errors == []

        deadline = time.monotonic() + 30
        while not receiver.posts and time.monotonic() < deadline:
            time.sleep(0.1)
        (post,) = receiver.posts
        verify(hook["secret"], post["headers"], post["body"])
        event = json.loads(post["body"])
        assert (event["event"], event["task"]["id"]) == ("done", task_id)
        assert event["task"]["result"] == "echoed: hello from the dashboard"
    finally:
        receiver.close()


def test_the_page_refuses_bad_input_in_place(settings, served, browser, tmp_path: Path) -> None:  # noqa: ANN001, F811
    Runners.open(settings).create("echoer", "echoes", workdir=tmp_path)
    server = served("--no-auth")
    page = browser.new_page()
    page.goto(server.url + "/")
    page.fill("#add-task textarea[name=prompt]", "   ")
    page.evaluate("document.querySelector('#add-task textarea').removeAttribute('required')")
    page.click("#add-task button[type=submit]")
    page.wait_for_selector("#add-result.warn")
    assert page.text_content("#add-result") == "task prompt is empty"
    assert page.query_selector_all("#tasks tr[data-id]") == []
