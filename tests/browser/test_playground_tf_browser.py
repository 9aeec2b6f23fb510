"""The playground's TensorFlow-Playground controls in Chromium: each changes what the
engine trains (checked against ``cr.fit`` or the exported model where it applies).

See conftest.py for how the server and Chromium start.
"""

from __future__ import annotations


def js(tab, expression: str):
    return tab.evaluate(f"() => {expression}")


def idle(tab):
    tab.wait_for_function("!window.playground.busy")


# ------------------------------------------------------------------ a. continuing settings
def test_changing_the_learning_rate_while_playing_continues_training(page):
    page.click("#play")
    page.wait_for_function("window.playground.view.tick.step >= 30")
    page.select_option("#lr", "0.1")
    page.wait_for_function("window.playground.config.network.lr === 0.1")
    step = js(page, "window.playground.view.tick.step")
    assert step >= 30 and js(page, "window.playground.playing")  # not reset, still playing
    page.wait_for_function(f"window.playground.view.tick.step >= {step + 20}")
    page.click("#play")
    idle(page)
    page.fill("#batch-size", "3")
    page.dispatch_event("#batch-size", "change")
    page.wait_for_function("window.playground.config.network.batch_size === 3")
    assert js(page, "window.playground.view.tick.step") >= step + 20
    page.select_option("#optimizer", "sgd")  # not a continuing setting: a restart
    page.wait_for_function("window.playground.view.tick.step === 0")
