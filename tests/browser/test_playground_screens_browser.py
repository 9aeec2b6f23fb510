"""The playground on a phone, a tablet and a laptop (Chromium): no sideways scrolling,
every panel reachable by scrolling down, under the page's real CSP. The screenshots are in
tests/browser/screenshots/screen-*.png."""

from __future__ import annotations

import pytest
from playground_server import shot

PANELS = ["#data-panel", "#network-panel", "#output-panel", "#step-panel"]


@pytest.mark.parametrize("width, height", [(390, 844), (768, 1024), (1280, 800)])
def test_every_screen_shows_every_panel_without_sideways_scrolling(browser, server, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    tab = context.new_page()
    errors = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.goto(server)
    tab.wait_for_function("() => window.playground && window.playground.view !== null")
    tab.click("#st-begin")  # the step-through's formulas and matrices must fit too
    tab.wait_for_function("() => window.playground.stage === 0")
    assert tab.evaluate("() => document.documentElement.scrollWidth") <= width
    for panel in PANELS:
        box = tab.locator(panel).bounding_box()
        assert box["width"] > 0 and box["height"] > 0, panel
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (panel, box)
        tab.locator(panel).scroll_into_view_if_needed()
        assert tab.locator(panel).is_visible()
    surface = tab.locator("#surface").bounding_box()  # drawn square, not squashed
    assert abs(surface["width"] - surface["height"]) <= 2
    shot(tab, f"screen-{width}x{height}")
    assert errors == []
    context.close()
