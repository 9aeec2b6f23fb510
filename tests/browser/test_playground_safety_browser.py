"""The playground in Chromium, as a classroom uses it: reloads and more tabs never lock a
student out, a reload brings the tab's network back, and other pages cannot use or frame
it. Unlike the ``page`` fixture these tabs run under the page's real Content-Security-Policy
(Playwright's predicates are passed as functions, which the CSP allows)."""

from __future__ import annotations

import json
import urllib.request

import pytest
from playground_server import shot, start_static_server, stop_server

READY = "() => window.playground && window.playground.view !== null"


def _tab(browser, url, context=None):
    """A tab on the playground under its real CSP (in a new window, or a new tab of
    ``context``); its console errors in ``tab.errors``."""
    context = context or browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.errors = []
    tab.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: tab.errors.append(str(e)))
    tab.goto(url)
    tab.wait_for_function(READY)
    return tab


def _id(tab) -> str:
    return tab.evaluate("() => window.playground.id")


def _session(url: str, sid: str) -> dict:
    """Ask the server, as a non-browser client (no Origin), for the session ``sid``."""
    request = urllib.request.Request(
        url + "api/session",
        data=json.dumps({"id": sid}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as r:
        return json.load(r)


def test_reloads_and_a_second_tab_never_lock_out_and_a_reload_restores_the_network(browser, server):
    tab = _tab(browser, server)
    sid = _id(tab)
    tab.click("#add-layer")
    tab.wait_for_function("() => window.playground.view.network.sizes.length === 5")
    tab.click("#epoch")
    tab.wait_for_function("() => window.playground.view.tick.epoch === 1")
    sizes = tab.evaluate("() => window.playground.view.network.sizes")
    step = tab.evaluate("() => window.playground.view.tick.step")
    assert step > 0
    for _ in range(20):  # the cap is 16: before issue 23 the 17th reload was refused
        tab.reload()
        tab.wait_for_function(READY)
        assert _id(tab) == sid
    assert tab.evaluate("() => window.playground.view.network.sizes") == sizes
    assert tab.evaluate("() => window.playground.view.tick.step") == step
    assert tab.inner_text("#step-count") == str(step)
    assert tab.locator("#message").is_hidden()
    other = _tab(browser, server, tab.context)  # a second tab: its own session
    assert _id(other) != sid and other.evaluate("() => window.playground.view.tick.step") == 0
    tab.click("#st-begin")  # the step-through typesets with KaTeX under the CSP
    tab.wait_for_function("() => window.playground.stage === 0")
    assert tab.locator(".katex").count() > 0
    shot(tab, "safety-after-20-reloads")
    assert tab.errors == [] and other.errors == []
    tab.context.close()


@pytest.fixture
def other_site(tmp_path):
    """A second local server, on another port: the pages of another web site."""
    proc, site = start_static_server(tmp_path)
    yield tmp_path, site
    stop_server(proc)


def test_another_site_cannot_create_or_change_a_session(browser, server, other_site):
    folder, site = other_site
    victim = _tab(browser, server)
    sid = _id(victim)
    (folder / "attack.html").write_text(
        f"""<!doctype html><script>
        (async () => {{
          const opts = (body) => ({{method: "POST", mode: "no-cors",
            headers: {{"Content-Type": "text/plain"}}, body: JSON.stringify(body)}});
          for (let i = 0; i < 20; i++) await fetch("{server}api/session", opts({{}}));
          await fetch("{server}api/train", opts({{id: "{sid}", steps: 200}}));
          navigator.sendBeacon("{server}api/close", JSON.stringify({{id: "{sid}"}}));
          document.title = "done";
        }})();
        </script>"""
    )
    attacker = browser.new_context().new_page()
    attacker.goto(site + "attack.html")
    attacker.wait_for_function("() => document.title === 'done'")
    attacker.wait_for_timeout(500)  # let the beacon land
    # 20 new sessions would have pushed the victim's out of the 16; 200 steps would show
    view = _session(server, sid)
    assert (view["id"], view["resumed"], view["tick"]["step"]) == (sid, True, 0)
    attacker.context.close()
    victim.context.close()


def test_a_framing_page_cannot_frame_the_playground(browser, server, other_site):
    folder, site = other_site
    (folder / "frame.html").write_text(
        f'<!doctype html><iframe id="f" src="{server}" width="800" height="600"></iframe>'
    )
    tab = browser.new_context().new_page()
    errors = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.goto(site + "frame.html")
    tab.wait_for_timeout(1500)
    frame = next(f for f in tab.frames if f != tab.main_frame)
    assert frame.url != server  # Chromium shows its error page instead
    assert any("frame-ancestors" in e or "X-Frame-Options" in e for e in errors), errors
    shot(tab, "safety-framing-refused")
    tab.context.close()
