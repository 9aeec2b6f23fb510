"""End-to-end tests of ``chainrule playground`` in Debian's headless Chromium (Playwright).

The server runs in a subprocess (``python -m chainrule playground --no-browser``) bound to
127.0.0.1 on a free port, and is stopped by its own pid (playground_server.py). Playwright
drives the system's ``chromium`` (never a browser of its own download). Without chromium
or playwright the tests are skipped with the reason. Screenshots go to
tests/browser/screenshots/ (git-ignored; CI keeps them as artifacts).
"""

from __future__ import annotations

import shutil

import pytest
from playground_server import CHROMIUM_ARGS, start_server, stop_server


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    exe = shutil.which("chromium")
    if exe is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def server():
    proc, url = start_server()
    yield url
    stop_server(proc)


@pytest.fixture
def page(browser, server):
    """A fresh tab on the playground; fails the test on any console error.

    A test that provokes an error on purpose lists it in ``tab.expected_errors``
    (substrings); the browser logs every 4xx answer as a console error.
    """
    context = browser.new_context(  # bypass_csp: Playwright evaluates string predicates
        viewport={"width": 1400, "height": 1000}, accept_downloads=True, bypass_csp=True
    )  # (test_playground_safety_browser.py runs the page under its real CSP)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.expected_errors = []
    tab.goto(server)
    tab.wait_for_function("window.playground && window.playground.view !== null")
    yield tab
    context.close()
    unexpected = [e for e in errors if not any(x in e for x in tab.expected_errors)]
    assert unexpected == [], f"console errors: {unexpected}"
