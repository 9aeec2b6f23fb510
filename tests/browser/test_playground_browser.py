"""The playground in a real browser: load, play, step through, rebuild, upload, export.

Each test opens its own tab (its own server session); the ``page`` fixture fails a test
that logged any console error. See conftest.py for how the server and Chromium start.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, unquote

import numpy as np
import pytest
from playground_server import shot, start_server, stop_server

import chainrule as cr
from chainrule.playground.session import GRID

LOSSES = {
    "cross_entropy": cr.CrossEntropy,
    "bce": cr.BinaryCrossEntropy,
    "mse": cr.MeanSquaredError,
}


def js(tab, expression: str):
    return tab.evaluate(f"() => {expression}")


def test_page_loads_and_draws(page):
    assert page.title() == "chainrule playground"
    assert page.inner_text("#step-count") == "0"
    assert float(page.inner_text("#train-loss")) > 0.5  # untrained: near ln 2
    assert js(page, "window.playground.view.network.sizes") == [2, 4, 4, 1]
    # the surface is drawn: not a blank canvas
    blank = js(
        page,
        "(() => { const c = document.getElementById('surface');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " return d.every((v, i) => i % 4 === 3 || v === d[0]); })()",
    )
    assert not blank
    shot(page, "01-start")


def test_play_on_circles_drives_the_test_loss_down(page):
    page.check("#show-test")
    page.click("#play")
    page.wait_for_function(
        "window.playground.view.tick.last.test_loss < 0.15", timeout=60_000, polling=200
    )
    page.click("#play")  # pause
    page.wait_for_function("!window.playground.playing && !window.playground.busy")
    assert float(page.inner_text("#test-loss")) < 0.15
    assert float(page.inner_text("#test-metric")) > 0.9
    assert int(page.inner_text("#epoch-count")) >= 1
    shot(page, "02-trained")


def _download(page, selector, path):
    with page.expect_download() as info:
        page.click(selector)
    info.value.save_as(path)
    return path


def test_step_through_shows_cr_explain_numbers(page, tmp_path):
    page.click("#epoch")  # train a little first, so the weights are not the initial ones
    page.wait_for_function("window.playground?.view?.tick.epoch === 1")
    net = cr.load(_download(page, "#export-model", tmp_path / "m.npz"))
    page.fill("#st-start", "7")
    page.fill("#st-size", "3")
    page.click("#st-begin")
    page.wait_for_function("window.playground.stage === 0")
    trace_js = js(page, "window.playground.trace")
    config = js(page, "window.playground.config.network")
    X, T = np.array(trace_js["X"]), np.array(trace_js["T"])
    expected = cr.explain(net, LOSSES[config["loss"]](), X, T, lr=config["lr"])
    assert len(trace_js["stages"]) == len(expected.steps)
    for i, step in enumerate(expected.steps):
        if i:
            page.click("#st-next")
        assert page.inner_text("#st-name") == step.name
        assert page.inner_text("#st-text") == step.text
        # the same equation typeset by the vendored KaTeX, without a parse error
        assert page.locator("#st-latex .katex").count() == 1
        assert page.locator("#st-latex .katex-error").count() == 0
        assert page.inner_text("#st-progress") == f"stage {i + 1} of {len(expected.steps)}"
        shown = [float(t) for t in page.locator("#st-value td").all_inner_texts()]
        np.testing.assert_allclose(shown, np.ravel(step.value), atol=5.1e-5, rtol=0)
        if step.name == "dW2":
            shot(page, "03-step-through")
    assert page.is_disabled("#st-next")
    losses = page.inner_text("#st-losses")
    assert f"{expected.loss_value:.6f}" in losses and f"{expected.loss_after:.6f}" in losses


def test_adding_a_layer_and_changing_the_activation_rebuild(page):
    page.click("#step")
    page.wait_for_function("window.playground?.view?.tick.step === 1")
    page.click("#add-layer")
    page.wait_for_function("window.playground?.view?.network.sizes.length === 5")
    assert js(page, "window.playground.view.network.sizes") == [2, 4, 4, 4, 1]
    assert page.inner_text("#step-count") == "0"  # a new network
    page.locator("select.activation").nth(2).select_option("relu")
    page.wait_for_function("window.playground.config.network.activations[2] === 'relu'")
    assert js(page, "window.playground.view.network.layers") == [
        "Dense",
        "Tanh",
        "Dense",
        "Tanh",
        "Dense",
        "ReLU",
        "Dense",
    ]
    page.locator("button.neurons[data-i='0'][data-d='1']").click()
    page.wait_for_function("window.playground?.view?.network.sizes[1] === 5")
    page.select_option("#output", "softmax")  # softmax + BCE: chainrule's pairing warning
    page.wait_for_selector("#pairing-warning:not([hidden])")
    assert "applies the softmax/sigmoid itself" in page.inner_text("#pairing-warning")
    shot(page, "04-rebuilt")


def test_a_bad_csv_shows_a_message_and_a_good_one_loads(page):
    page.expected_errors.append("the server responded with a status of 400")
    page.set_input_files(
        "#csv-file",
        files=[{"name": "broken.csv", "mimeType": "text/csv", "buffer": b"a,b\n1,2,3\n"}],
    )
    page.wait_for_selector("#message:not([hidden])")
    text = page.inner_text("#message")
    assert "could not read 'broken.csv' as CSV" in text and "Traceback" not in text
    rng = np.random.default_rng(1)
    rows = ["u,v,w,kind"] + [
        f"{a:.3f},{b:.3f},{c:.3f},{'left' if a < 0 else 'right'}"
        for a, b, c in rng.normal(size=(80, 3))
    ]
    page.set_input_files(
        "#csv-file",
        files=[{"name": "mine.csv", "mimeType": "text/csv", "buffer": "\n".join(rows).encode()}],
    )
    page.wait_for_function("window.playground.config.data.name === 'upload'")
    assert "mine.csv loaded" in page.inner_text("#message")
    assert js(page, "window.playground.view.data.classes") == ["left", "right"]
    page.check("#use-pca")
    page.wait_for_function("window.playground.config.data.features === 'pca'")
    assert js(page, "window.playground.view.data.features") == ["PC1", "PC2"]
    shot(page, "05-csv")


def test_export_gives_a_model_cr_load_reads_with_identical_predictions(page, tmp_path):
    page.click("#epoch")
    page.wait_for_function("window.playground?.view?.tick.epoch === 1")
    net = cr.load(_download(page, "#export-model", tmp_path / "model.npz"))
    x0, x1, y0, y1 = js(page, "window.playground.view.data.extent")
    gx, gy = np.meshgrid(np.linspace(x0, x1, GRID), np.linspace(y1, y0, GRID))
    out = net.predict(np.c_[gx.ravel(), gy.ravel()])
    P = 0.5 * (1 + np.tanh(0.5 * out[:, 0]))  # sigmoid: the page's output is sigmoid + BCE
    # the page's surface (P quantised to bytes 0..255), byte for byte, from the reloaded model
    shown = np.frombuffer(
        base64.b64decode(js(page, "window.playground.view.tick.surfaces.output.b64")), np.uint8
    )
    assert np.array_equal(shown, np.rint(P * 255.0).astype(np.uint8))
    history = _download(page, "#export-history", tmp_path / "h.csv").read_text().splitlines()
    assert history[0].startswith("step,epoch,train_loss,test_loss") and len(history) == 3
    snippet = _download(page, "#export-snippet", tmp_path / "s.py").read_text()
    assert "batch_size, l2, steps = 10, 0.0, 20" in snippet and "optimizer.step(net)" in snippet


@pytest.fixture
def iris_server():
    proc, url = start_server("--data", "iris")
    yield url
    stop_server(proc)


def test_data_from_the_command_line_is_on_the_page(browser, iris_server):
    tab = browser.new_page()
    errors = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.goto(iris_server)  # a function predicate: the page's CSP forbids eval of a string
    tab.wait_for_function("() => window.playground && window.playground.view !== null")
    assert js(tab, "window.playground.config.data.name") == "file"
    assert "iris: 150 rows" in tab.inner_text("#table-describe")
    assert js(tab, "window.playground.view.network.sizes") == [2, 4, 4, 3]
    tab.close()
    assert errors == []


@pytest.mark.parametrize(
    ("data", "output", "loss"),
    [("blobs", "softmax", "cross_entropy"), ("reg2d", "linear", "mse"), ("reg1d", "linear", "mse")],
)
def test_other_tasks_draw_and_typeset_every_stage(page, data, output, loss):
    page.select_option("#data-name", data)  # the page picks the output and loss that suit it
    page.wait_for_function(f"window.playground.view.data.name === '{data}'")
    assert js(page, "window.playground.config.network.output") == output
    assert js(page, "window.playground.config.network.loss") == loss
    assert page.is_hidden("#pairing-warning")
    page.click("#epoch")
    page.wait_for_function("window.playground?.view?.tick.epoch === 1")
    page.click("#st-begin")
    page.wait_for_function("window.playground.stage === 0")
    n = len(js(page, "window.playground.trace.stages"))
    for i in range(n):
        if i:
            page.click("#st-next")
        assert page.locator("#st-latex .katex-error").count() == 0, page.inner_text("#st-text")
    shot(page, f"06-{data}")


def test_the_address_holds_the_state(page, server):
    config = {"network": {"hidden": [3], "activations": ["relu"], "optimizer": "sgd"}}
    page.goto("about:blank")  # a new document: only the address's #state differs
    page.goto(server + "#" + quote(json.dumps(config)))
    page.wait_for_function("window.playground?.view?.network.sizes.length === 3")
    assert js(page, "window.playground.view.network.sizes") == [2, 3, 1]
    assert page.input_value("#optimizer") == "sgd"
    saved = json.loads(unquote(js(page, "location.hash").lstrip("#")))
    assert saved == js(page, "window.playground.config")
    page.expected_errors.append("the server responded with a status of 400")
    page.goto("about:blank")
    page.goto(
        server + "#" + quote(json.dumps({"network": {"hidden": [99], "activations": ["relu"]}}))
    )
    page.wait_for_selector("#message:not([hidden])")
    assert "could not be used (hidden layer 1 must have 1 to 16 neurons" in page.inner_text(
        "#message"
    )


def test_clicking_a_training_point_steps_through_it(page):
    data = js(page, "window.playground.view.data")
    row = data["train"][11]
    x0, x1, y0, y1 = data["extent"]
    box = page.locator("#surface").bounding_box()
    x, y = data["X"][row]
    page.mouse.click(
        box["x"] + (x - x0) / (x1 - x0) * box["width"],
        box["y"] + (y1 - y) / (y1 - y0) * box["height"],
    )
    page.wait_for_function("window.playground.stage === 0")
    assert js(page, "window.playground.trace.rows") == [row]
    assert page.input_value("#st-start") == "11"


def test_no_hidden_layer_is_logistic_regression(page):
    page.click("#remove-layer")
    page.wait_for_function("window.playground?.view?.network.sizes.length === 3")
    page.click("#remove-layer")
    page.wait_for_function("window.playground?.view?.network.sizes.length === 2")
    assert page.is_disabled("#remove-layer")
    assert js(page, "window.playground.view.network.layers") == ["Dense"]
    page.click("#epoch")
    page.wait_for_function("window.playground?.view?.tick.epoch === 1")
    assert js(page, "window.playground.view.tick.surfaces.hidden") == []
    page.click("#st-begin")
    page.wait_for_function("window.playground.stage === 0")
    names = [s["name"] for s in js(page, "window.playground.trace.stages")]
    # explain() starts with what a student needs to redo the step (X, W1, b1) and
    # shows T and P before the loss
    assert names == ["X", "W1", "b1", "Z1", "T", "P", "L", "dZ1", "dW1", "db1", "dX",
                     "W1_new", "b1_new"]  # fmt: skip
