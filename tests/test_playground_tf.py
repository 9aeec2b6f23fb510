"""The playground's TensorFlow-Playground controls through the JSON API (no browser):
settings that continue training, input features, L1, discretised output, the edge
editor, the backprop animation's stages."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("starlette")

import chainrule as cr
import test_playground_api as api

client, new = api.client, api.new  # the API tests' fixture (a fresh app) and helper


def configure(client, sid, change):
    config = client.app.state.store.get(sid)[0].config
    for part, values in change.items():
        config = {**config, part: {**config[part], **values}}
    r = client.post("/api/config", json={"id": sid, "config": config})
    assert r.status_code == 200, r.text
    return r.json()


def session_of(client, sid):
    return client.app.state.store.get(sid)[0]


def rebuilt_weights(client, sid, tmp_path):
    """Run the exported snippet; return its network's weight matrices."""
    code = client.get("/api/export/snippet.py", params={"id": sid}).text
    script = tmp_path / "snippet.py"
    script.write_text(code + "\ncr.save(net, 'rebuilt.npz')\n")
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    net = cr.load(tmp_path / "rebuilt.npz")
    return [layer.params["W"] for layer in net.layers if isinstance(layer, cr.Dense)]


# ------------------------------------------------------------------ a. continuing settings
def test_learning_rate_regularisation_and_batch_size_continue_training(client, tmp_path):
    sid = new(client, {"network": {"optimizer": "momentum"}})
    client.post("/api/train", json={"id": sid, "steps": 13})
    before = [layer.params["W"].copy() for layer in session_of(client, sid).dense]
    view = configure(client, sid, {"network": {"lr": 0.1, "l2": 0.003, "batch_size": 7}})
    assert view["tick"]["step"] == 13 and len(session_of(client, sid).history) == 2
    for W, layer in zip(before, session_of(client, sid).dense, strict=True):
        assert np.array_equal(W, layer.params["W"])  # the same network goes on
    client.post("/api/train", json={"id": sid, "steps": 9})
    configure(client, sid, {"network": {"batch_size": 25}})
    client.post("/api/train", json={"id": sid, "steps": 30})  # across an epoch's end
    s = session_of(client, sid)
    assert s.steps == 52 and s.changes == [
        (13, {"lr": 0.1, "l2": 0.003, "l1": 0.0, "batch_size": 7}),
        (22, {"lr": 0.1, "l2": 0.003, "l1": 0.0, "batch_size": 25}),
    ]
    # the snippet replays the changes at their steps: the same weights, bit for bit
    for mine, theirs in zip(s.dense, rebuilt_weights(client, sid, tmp_path), strict=True):
        np.testing.assert_array_equal(mine.params["W"], theirs)


@pytest.mark.parametrize(
    "change",
    [
        {"network": {"hidden": [3], "activations": ["tanh"]}},
        {"network": {"optimizer": "sgd"}},
        {"network": {"seed": 5}},
        {"data": {"noise": 0.2}},
    ],
)
def test_architecture_or_data_changes_restart(client, change):
    sid = new(client)
    client.post("/api/train", json={"id": sid, "steps": 5})
    assert configure(client, sid, change)["tick"]["step"] == 0
    assert session_of(client, sid).changes == []


# ------------------------------------------------------------------ b. input features
def fit_like_the_session(session, epochs, **fit_args):
    """``cr.fit`` on the session's data, features and settings, from its initial weights."""
    from chainrule.playground.config import build_network, build_optimizer
    from chainrule.playground.data import input_features

    n, data = session.config["network"], session.data
    Z = input_features(data.X, session.config["data"]["inputs"])
    net, loss, _ = build_network(n, Z.shape[1], session.n_out)
    cr.fit(
        net,
        loss,
        Z[data.train],
        session.T[data.train],
        optimizer=build_optimizer(n),
        epochs=epochs,
        batch_size=n["batch_size"],
        l2=n["l2"],
        rng=n["seed"],
        **fit_args,
    )
    return [layer.params["W"] for layer in net.layers if isinstance(layer, cr.Dense)]


@pytest.mark.parametrize(
    "inputs", [["x1^2", "x2^2"], ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]]
)
def test_the_engine_trains_on_the_chosen_input_features_as_cr_fit_does(client, inputs):
    sid = new(client, {"data": {"inputs": inputs}, "network": {"l2": 0.001}})
    view = client.post("/api/config", json={"id": sid, "config": session_of(client, sid).config})
    assert view.json()["network"]["sizes"] == [len(inputs), 4, 4, 1]
    assert view.json()["network"]["inputs"] == inputs
    assert len(view.json()["network"]["input_tiles"]) == len(inputs)
    for _ in range(3):
        client.post("/api/train", json={"id": sid, "epochs": 1})
    s = session_of(client, sid)
    for mine, theirs in zip(s.dense, fit_like_the_session(s, 3), strict=True):
        np.testing.assert_array_equal(mine.params["W"], theirs)


def test_squares_alone_separate_the_circles_with_no_hidden_layer(client):
    sid = new(
        client,
        {
            "data": {"inputs": ["x1^2", "x2^2"]},
            "network": {"hidden": [], "activations": [], "lr": 0.3},
        },
    )
    for _ in range(10):
        tick = client.post("/api/train", json={"id": sid, "epochs": 1}).json()
    assert tick["last"]["test_accuracy"] > 0.97


def test_inputs_of_x2_are_dropped_for_one_dimensional_data(client, tmp_path):
    sid = new(
        client,
        {
            "data": {"name": "reg1d", "inputs": ["x1", "x2", "sin(x1)", "x1*x2"]},
            "network": {"output": "linear", "loss": "mse"},
        },
    )
    s = session_of(client, sid)
    assert s.config["data"]["inputs"] == ["x1", "sin(x1)"] and s.Z.shape == (400, 2)
    client.post("/api/train", json={"id": sid, "steps": 17})
    for mine, theirs in zip(s.dense, rebuilt_weights(client, sid, tmp_path), strict=True):
        np.testing.assert_array_equal(mine.params["W"], theirs)


@pytest.mark.parametrize("inputs", [[], ["x3"], "x1"])
def test_unknown_inputs_get_a_message(client, inputs):
    sid = new(client)
    config = {"data": {"inputs": inputs}}
    r = client.post("/api/config", json={"id": sid, "config": config})
    assert r.status_code == 400
    assert r.json()["error"] == (
        "inputs must be a list of at least one of x1, x2, x1^2, x2^2, x1*x2, sin(x1), "
        f"sin(x2); got {inputs!r}."
    )


# ------------------------------------------------------------------ c. L1, new sets
def test_l1_is_the_loops_one_penalty_definition():
    from chainrule.training.loop import l2_penalty

    W = [np.array([[1.0, -2.0], [0.5, 0.0]]), np.array([[-3.0]])]
    assert l2_penalty(W, 0.0, l1=0.1) == 0.1 * 6.5
    assert l2_penalty(W, 0.2, 2.0, l1=0.1) == (0.1 * (1 + 4 + 0.25 + 9) + 0.1 * 6.5) / 2
    assert l2_penalty(W, 0.2) == 0.1 * (1 + 4 + 0.25 + 9)


def test_l1_trains_as_the_snippets_numpy_loop_and_continues(client, tmp_path):
    sid = new(client, {"network": {"optimizer": "sgd", "lr": 0.3, "l1": 0.01}})
    client.post("/api/train", json={"id": sid, "steps": 30})
    configure(client, sid, {"network": {"l1": 0.03, "l2": 0.001}})
    client.post("/api/train", json={"id": sid, "steps": 41})
    s = session_of(client, sid)
    assert s.steps == 71 and s.run.l1 == 0.03
    code = client.get("/api/export/snippet.py", params={"id": sid}).text
    assert "layer.grads['W'] += l1 * np.sign(layer.params['W'])" in code
    for mine, theirs in zip(s.dense, rebuilt_weights(client, sid, tmp_path), strict=True):
        np.testing.assert_array_equal(mine.params["W"], theirs)


def test_a_strong_l1_zeroes_weights_that_l2_only_shrinks(client):
    sizes = {}
    for key in ("l1", "l2"):
        sid = new(client, {"network": {"optimizer": "sgd", "lr": 0.1, key: 0.1}})
        for _ in range(10):
            client.post("/api/train", json={"id": sid, "epochs": 1})
        W = np.concatenate([layer.params["W"].ravel() for layer in session_of(client, sid).dense])
        sizes[key] = np.mean(np.abs(W) < 0.01)
    assert sizes["l1"] > 0.3 > sizes["l2"]


@pytest.mark.parametrize("name", ["plane", "gaussians"])
def test_the_new_regression_sets_train_as_cr_fit_does(client, name):
    sid = new(client, {"data": {"name": name}, "network": {"output": "linear", "loss": "mse"}})
    s = session_of(client, sid)
    assert s.data.task == "regression" and s.data.X.shape == (400, 2)
    for _ in range(2):
        client.post("/api/train", json={"id": sid, "epochs": 1})
    for mine, theirs in zip(s.dense, fit_like_the_session(s, 2), strict=True):
        np.testing.assert_array_equal(mine.params["W"], theirs)


def test_the_new_regression_sets_are_their_formulas():
    from chainrule.playground.data import make_toy

    X, y = make_toy("plane", 300, noise=0.0, seed=3)
    np.testing.assert_array_equal(y, 0.5 * (X[:, 0] + X[:, 1]))
    X, y = make_toy("gaussians", 300, noise=0.0, seed=3)
    assert -1 < y.min() < -0.9 and 0.9 < y.max() < 1  # one bump down, one up
    near = np.argmin(np.sum((X - [-0.4, 0.4]) ** 2, axis=1))
    assert y[near] > 0.9


# ------------------------------------------------------------------ d. the edge editor
def test_an_edited_weight_is_where_the_next_step_starts(client, tmp_path):
    sid = new(client, {"network": {"optimizer": "sgd", "lr": 0.1}})
    tick = client.post("/api/train", json={"id": sid, "steps": 5}).json()
    s = session_of(client, sid)
    assert tick["grads"][1] == s.dense[1].grads["W"].round(7).tolist()
    r = client.post("/api/weight", json={"id": sid, "layer": 2, "i": 3, "j": 1, "value": 1.5})
    assert r.status_code == 200 and r.json()["weights"][1]["W"][3][1] == 1.5
    assert s.dense[1].params["W"][3, 1] == 1.5 and r.json()["step"] == 5
    client.post("/api/train", json={"id": sid, "steps": 1})
    # plain SGD: the step went from 1.5 by the gradient of that step
    assert s.dense[1].params["W"][3, 1] == 1.5 - 0.1 * s.dense[1].grads["W"][3, 1]
    client.post("/api/weight", json={"id": sid, "layer": 1, "i": 0, "j": 0, "value": -2})
    client.post("/api/train", json={"id": sid, "steps": 20})
    client.post("/api/weight", json={"id": sid, "layer": 3, "i": 0, "j": 0, "value": 0.25})
    assert s.edits == [(5, 2, 3, 1, 1.5), (6, 1, 0, 0, -2.0), (26, 3, 0, 0, 0.25)]
    # the snippet sets the same weights at the same steps: the same network, bit for bit
    for mine, theirs in zip(s.dense, rebuilt_weights(client, sid, tmp_path), strict=True):
        np.testing.assert_array_equal(mine.params["W"], theirs)


def test_there_is_no_gradient_before_the_first_step(client):
    sid = new(client)
    assert client.post("/api/train", json={"id": sid, "steps": 0}).json()["grads"] is None


@pytest.mark.parametrize(
    "body, message",
    [
        (
            {"layer": 4, "i": 0, "j": 0, "value": 1},
            "layer must be a whole number from 1 to 3, got 4.",
        ),
        ({"layer": 1, "i": 2, "j": 0, "value": 1}, "i must be a whole number from 0 to 1, got 2."),
        ({"layer": 3, "i": 0, "j": 1, "value": 1}, "j must be a whole number from 0 to 0, got 1."),
        (
            {"layer": 1, "i": 0, "j": 0, "value": "1"},
            "the weight must be a number from -100 to 100, got '1'.",
        ),
        (
            {"layer": 1, "i": 0, "j": 0, "value": 1e9},
            "the weight must be a number from -100 to 100, got 1000000000.0.",
        ),
    ],
)
def test_a_bad_edit_gets_a_message(client, body, message):
    sid = new(client)
    r = client.post("/api/weight", json={"id": sid, **body})
    assert r.status_code == 400 and r.json()["error"] == message
