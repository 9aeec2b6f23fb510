"""The playground's TensorFlow-Playground controls in Chromium: each changes what the
engine trains (checked against ``cr.fit`` or the exported model where it applies).

See conftest.py for how the server and Chromium start.
"""

from __future__ import annotations

import numpy as np
from playground_server import shot

import chainrule as cr


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


# ------------------------------------------------------------------ b. input features
def assert_trained_as_cr_fit(page, epochs):
    """The page's weights are ``cr.fit``'s on the same toy set, input features, network
    and settings (a one-output network: a binary set or a regression)."""
    from chainrule.playground.config import build_network, build_optimizer
    from chainrule.playground.data import input_features, make_toy, split

    config = js(page, "window.playground.config")
    n, d = config["network"], config["data"]
    X, y = make_toy(d["name"], d["n_points"], d["noise"], d["seed"])
    train, _ = split(len(X), d["train_ratio"], d["seed"])
    Z = input_features(X, d["inputs"])
    net, loss, _ = build_network(n, Z.shape[1], 1)
    T = y[train].reshape(-1, 1).astype(float)
    cr.fit(
        net,
        loss,
        Z[train],
        T,
        optimizer=build_optimizer(n),
        epochs=epochs,
        batch_size=n["batch_size"],
        rng=n["seed"],
    )
    page_W = js(page, "window.playground.view.tick.weights.map((l) => l.W)")
    fitted = [layer.params["W"] for layer in net.layers if isinstance(layer, cr.Dense)]
    for mine, theirs in zip(page_W, fitted, strict=True):
        np.testing.assert_allclose(mine, theirs.round(5), atol=1e-9)


def test_input_toggles_change_the_engines_columns_and_the_drawing(page, tmp_path):
    page.uncheck("[data-input=x1]")
    page.wait_for_function("window.playground.view.network.sizes[0] === 1")
    page.check("[data-input='x1^2']")
    page.check("[data-input='x2^2']")
    page.uncheck("[data-input=x2]")
    page.wait_for_function("window.playground.view.network.inputs.join() === 'x1^2,x2^2'")
    assert js(page, "window.playground.view.network.sizes") == [2, 4, 4, 1]
    assert page.is_disabled("[data-input='x1^2']") is False
    page.click("#epoch")
    page.wait_for_function("window.playground.view.tick.epoch === 1")
    page.click("#epoch")
    page.wait_for_function("window.playground.view.tick.epoch === 2")
    # the engine trained on (x1^2, x2^2): the same weights as cr.fit on those columns
    assert_trained_as_cr_fit(page, epochs=2)
    # the drawing labels the input column with the chosen features
    assert js(page, "inputsLabel()") == "x₁², x₂²"
    shot(page, "tf-inputs")


# ------------------------------------------------------------------ c. L1, discretize, sets
def test_l1_changes_what_the_engine_trains_as_the_snippet_replays(page, tmp_path):
    import subprocess
    import sys

    page.select_option("#l1", "0.01")
    page.wait_for_function("window.playground.config.network.l1 === 0.01")
    page.click("#epoch")
    page.wait_for_function("window.playground.view.tick.epoch === 1")
    with page.expect_download() as info:
        page.click("#export-snippet")
    script = tmp_path / "snippet.py"
    info.value.save_as(script)
    assert "batch_size, l2, steps = 10, 0.0, 20\nl1 = 0.01\n" in script.read_text()
    script.write_text(script.read_text() + "\ncr.save(net, 'rebuilt.npz')\n")
    subprocess.run([sys.executable, str(script)], cwd=tmp_path, check=True, capture_output=True)
    rebuilt = cr.load(tmp_path / "rebuilt.npz")
    page_W = js(page, "window.playground.view.tick.weights.map((l) => l.W)")
    dense = [layer.params["W"] for layer in rebuilt.layers if isinstance(layer, cr.Dense)]
    for mine, theirs in zip(page_W, dense, strict=True):
        np.testing.assert_allclose(mine, theirs.round(5), atol=1e-9)


DISTINCT = (
    "(() => { const o = window.playground.view.tick.surfaces.output;"
    " const c = surfaceImage(discreteTile(o), o.kind || 'regression');"
    " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
    " const s = new Set();"
    " for (let i = 0; i < d.length; i += 4) s.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]);"
    " return s.size; })()"
)


def test_discretize_output_draws_two_colours(page):
    page.click("#epoch")
    page.wait_for_function("window.playground.view.tick.epoch === 1")
    assert js(page, DISTINCT) > 10
    page.check("#discretize")
    assert js(page, DISTINCT) == 2
    page.select_option("#data-name", "plane")
    page.wait_for_function("window.playground.view.data.name === 'plane'")
    assert js(page, DISTINCT) == 2  # a regression: the sign of the value


def test_the_regression_plane_and_two_gaussians_train_as_cr_fit_does(page):
    for name in ("plane", "gaussians"):
        page.select_option("#data-name", name)
        page.wait_for_function(f"window.playground.view.data.name === '{name}'")
        assert js(page, "window.playground.config.network.loss") == "mse"
        page.click("#epoch")
        page.wait_for_function("window.playground.view.tick.epoch === 1")
        assert_trained_as_cr_fit(page, epochs=1)
    shot(page, "tf-gaussians")


# ------------------------------------------------------------------ d. the edge editor
def click_edge(page, l, i, j):
    """Click the middle of the edge W_l[i, j] on the network drawing."""
    ax, ay, bx, by = js(page, f"edgeEnds({l}, {i}, {j})")
    box = page.locator("#network").bounding_box()
    scale = box["width"] / js(page, "document.getElementById('network').width")
    page.mouse.click(box["x"] + scale * (ax + bx) / 2, box["y"] + scale * (ay + by) / 2)


def test_click_an_edge_shows_w_and_its_gradient_and_sets_w(page):
    page.select_option("#optimizer", "sgd")
    page.wait_for_function("window.playground.config.network.optimizer === 'sgd'")
    click_edge(page, 2, 1, 3)
    assert page.is_visible("#edge-editor")
    assert page.inner_text("#edge-name") == "W2[1, 3]"
    assert page.inner_text("#edge-where") == "from neuron 2 of layer 1 to neuron 4 of layer 2"
    assert page.inner_text("#edge-grad") == "no step yet"
    page.click("#step")
    page.wait_for_function("window.playground.view.tick.step === 1")
    tick = js(page, "window.playground.view.tick")
    assert float(page.inner_text("#edge-w")) == round(tick["weights"][1]["W"][1][3], 5)
    g = tick["grads"][1][1][3]
    assert page.inner_text("#edge-grad") == js(page, f"Number({g}).toPrecision(4)")
    page.fill("#edge-value", "1.5")
    page.click("#edge-set")
    page.wait_for_function("window.playground.view.tick.weights[1].W[1][3] === 1.5")
    assert page.inner_text("#edge-w") == "1.50000"
    page.click("#step")  # the next step starts from w = 1.5: w' = 1.5 - lr * dL/dw
    page.wait_for_function("window.playground.view.tick.step === 2")
    tick = js(page, "window.playground.view.tick")
    lr = js(page, "window.playground.config.network.lr")
    assert abs(tick["weights"][1]["W"][1][3] - (1.5 - lr * tick["grads"][1][1][3])) < 1e-5
    shot(page, "tf-edge")
    click_edge(page, 1, 0, 0)  # an input's edge names the input
    assert page.inner_text("#edge-where") == "from x₁ to neuron 1 of layer 1"
    page.click("#edge-close")
    assert not page.is_visible("#edge-editor")


# ------------------------------------------------------------------ e. legend, cap, server, log
RECORD_TEXT = (
    "(() => { window.texts = []; const f = CanvasRenderingContext2D.prototype.fillText;"
    " CanvasRenderingContext2D.prototype.fillText = function (t, ...a) {"
    " window.texts.push(String(t)); return f.call(this, t, ...a); }; })()"
)


def test_the_output_plot_has_a_class_legend_and_axis_labels(page):
    legend = "[...document.querySelectorAll('#class-legend span')]"
    assert js(page, f"{legend}.map((s) => s.textContent)") == ["class 0", "class 1"]
    colours = js(page, f"{legend}.map((s) => s.querySelector('i').style.background)")
    assert colours == ["rgb(232, 118, 43)", "rgb(31, 119, 180)"]  # the points' colours
    js(page, RECORD_TEXT)
    js(page, "drawSurface()")
    x0, x1, y0, y1 = (f"{v:.1f}" for v in js(page, "window.playground.view.data.extent"))
    assert {"x1 →", "x2 →", x0, x1, y0, y1} <= set(js(page, "window.texts"))
    page.select_option("#data-name", "blobs")
    page.wait_for_function("window.playground.view.data.name === 'blobs'")
    assert page.inner_text("#class-legend").count("class") == 3
    page.select_option("#data-name", "reg1d")
    page.wait_for_function("window.playground.view.data.name === 'reg1d'")
    assert "below 0" in page.inner_text("#class-legend")
    js(page, "(window.texts = [], drawSurface())")
    assert {"x1 →", "y →"} <= set(js(page, "window.texts"))


def test_plus_at_the_neuron_cap_says_why(page):
    js(page, "setConfig((c) => { c.network.hidden[0] = 16; })")
    page.wait_for_function("window.playground.view.network.sizes[1] === 16")
    page.click("button.neurons[data-i='0'][data-d='1']")
    assert page.inner_text("#message") == (
        "at most 16 neurons per layer: the playground's cap, so that a tick of the largest "
        "network (6 layers of 16) stays fast enough to watch; use cr.layers.build_mlp in "
        "Python for larger ones."
    )
    assert js(page, "window.playground.view.network.sizes[1]") == 16


def test_a_stopped_server_says_so(browser):
    from playground_server import start_server, stop_server

    proc, url = start_server()
    context = browser.new_context(bypass_csp=True)
    try:
        tab = context.new_page()
        tab.goto(url)
        tab.wait_for_function("window.playground && window.playground.view !== null")
        stop_server(proc)
        tab.click("#step")
        tab.wait_for_function("!document.getElementById('message').hidden")
        assert tab.inner_text("#message") == (
            "the chainrule server stopped: restart `chainrule playground`"
        )
    finally:
        stop_server(proc)
        context.close()


def test_the_loss_chart_turns_to_a_log_scale_when_the_loss_explodes(page):
    page.click("#step")
    page.wait_for_function("window.playground.view.tick.step === 1")
    assert js(page, "window.playground.lossScale") == "linear"
    js(page, RECORD_TEXT)
    js(
        page,
        "setConfig((c) => { c.data.name = 'plane'; Object.assign(c.network, {output: 'linear',"
        " loss: 'mse', optimizer: 'sgd', lr: 1, hidden: [8, 8],"
        " activations: ['relu', 'relu']}); })",
    )
    page.wait_for_function("window.playground.view.data.name === 'plane'")
    for k in range(1, 4):
        page.click("#step")
        page.wait_for_function(f"window.playground.view.tick.step === {k}")
    assert js(page, "window.playground.view.tick.last.train_loss") > 100
    assert js(page, "window.playground.lossScale") == "log"
    labels = js(page, "window.texts")
    assert "step · loss on a log scale" in labels and {"1", "10", "100"} <= set(labels)
    assert js(page, "[lossLabel(520000), lossLabel(1e-5), lossLabel(0.25), lossLabel(3000)]") == [
        "5.2e5",
        "1e-5",
        "0.25",
        "3000",
    ]
    shot(page, "tf-log-loss")


# ------------------------------------------------------------------ f. the backprop animation
def test_the_backprop_animation_walks_the_step_throughs_gradient_stages(page, tmp_path):
    page.click("#epoch")
    page.wait_for_function("window.playground.view.tick.epoch === 1")
    with page.expect_download() as info:
        page.click("#export-model")
    info.value.save_as(tmp_path / "m.npz")
    net = cr.load(tmp_path / "m.npz")
    page.fill("#st-size", "3")
    js(page, "window.playground.animMs = 250")
    page.click("#st-animate")
    page.wait_for_function("window.playground.animation !== null")
    seen = []
    while js(page, "window.playground.animation !== null"):  # the panel shows the stage drawn
        panel, drawn = js(
            page,
            "[document.getElementById('st-name').textContent,"
            " window.playground.trace.stages[window.playground.stage].name]",
        )
        assert panel == drawn
        seen.append(drawn)
        page.wait_for_timeout(60)
    trace = js(page, "window.playground.trace")
    visited = [trace["stages"][k] for k in js(page, "window.playground.lastAnimation")]
    names = [s["name"] for s in visited]
    assert names == [
        "dZ3",
        "dW3",
        "db3",
        "dA2",
        "dZ2",
        "dW2",
        "db2",
        "dA1",
        "dZ1",
        "dW1",
        "db1",
        "dX",
    ]
    assert set(seen) <= set(names) and len(set(seen)) >= 6
    columns = [s["highlight"]["column"] for s in visited]
    assert columns == sorted(columns, reverse=True)  # backwards, layer by layer
    # the step-through's numbers: cr.explain's on the same network and batch
    config = js(page, "window.playground.config.network")
    steps = cr.explain(
        net, cr.BinaryCrossEntropy(), np.array(trace["X"]), np.array(trace["T"]), lr=config["lr"]
    ).steps
    by_name = {s.name: np.asarray(s.value) for s in steps}
    for s in visited:
        np.testing.assert_allclose(s["value"], by_name[s["name"]], rtol=1e-12, atol=1e-15)


def test_numbers_on_hover_follow_the_stage(page):
    page.click("#st-begin")
    page.wait_for_function("window.playground.stage === 0")
    trace = js(page, "window.playground.trace")
    k = next(i for i, s in enumerate(trace["stages"]) if s["name"] == "dW2")
    js(page, f"(window.playground.stage = {k}, renderStage(), drawNetwork())")
    ax, ay, bx, by = js(page, "edgeEnds(2, 1, 3)")
    box = page.locator("#network").bounding_box()
    scale = box["width"] / js(page, "document.getElementById('network').width")
    page.mouse.move(box["x"] + scale * (ax + bx) / 2, box["y"] + scale * (ay + by) / 2)
    value = trace["stages"][k]["value"][1][3]
    assert page.inner_text("#net-tip") == f"dW2[1, 3] = {js(page, f'fmt({value}, 5)')}"
    k = next(i for i, s in enumerate(trace["stages"]) if s["name"] == "dZ2")
    js(page, f"(window.playground.stage = {k}, renderStage(), drawNetwork())")
    x, y = js(
        page, "[window.playground.netGeom.colX(2) + 17, window.playground.netGeom.nodeY(2, 1) + 17]"
    )
    page.mouse.move(box["x"] + scale * x, box["y"] + scale * y)
    value = trace["stages"][k]["value"][0][1]
    assert page.inner_text("#net-tip") == f"dZ2[:, 1] = {js(page, f'fmt({value}, 4)')}"
