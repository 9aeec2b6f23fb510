"""explain(): the trace's numbers are the engine's own, and it reads well."""

import copy

import numpy as np
import pytest

import chainrule as cr


def setup(task):
    rng = np.random.default_rng(0)
    if task == "classification":
        net = cr.Sequential(cr.Dense(2, 3, rng=rng), cr.Sigmoid(), cr.Dense(3, 2, rng=rng))
        return net, cr.CrossEntropy(), rng.normal(size=(4, 2)), np.array([0, 1, 1, 0])
    net = cr.Sequential(cr.Dense(2, 3, rng=rng), cr.Tanh(), cr.Dense(3, 1, rng=rng))
    return net, cr.MeanSquaredError(), rng.normal(size=(4, 2)), rng.normal(size=4)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_trace_numbers_equal_what_the_layers_compute(task):
    net, loss, X, y = setup(task)
    original = copy.deepcopy(net)
    e = cr.explain(net, loss, X, y, lr=0.1)

    # Forward values, layer by layer.
    Z1 = X @ net.layers[0].params["W"] + net.layers[0].params["b"]
    np.testing.assert_array_equal(e["Z1"], Z1)
    A1 = net.layers[1](Z1)
    np.testing.assert_array_equal(e["A1"], A1)
    Y, backward = net.forward(X, training=True)
    np.testing.assert_array_equal(e["Z2"], Y)

    # Loss and every gradient, against one ordinary backward pass.
    value, dY = loss(Y, y)
    assert e.loss_value == value
    np.testing.assert_array_equal(e["dZ2"], dY)
    net.zero_grad()
    dX = backward(dY)
    np.testing.assert_array_equal(e["dW2"], net.layers[2].grads["W"])
    np.testing.assert_array_equal(e["db2"], net.layers[2].grads["b"])
    np.testing.assert_array_equal(e["dW1"], net.layers[0].grads["W"])
    np.testing.assert_array_equal(e["dX"], dX)

    # The update is W - lr * dW, and the loss after it is the updated network's.
    W1_new = net.layers[0].params["W"] - 0.1 * net.layers[0].grads["W"]
    np.testing.assert_allclose(e["W1_new"], W1_new, rtol=1e-15)
    assert e.loss_after < e.loss_value  # a small step downhill lowers the loss

    # explain() works on a copy: the network passed in is unchanged.
    for (_, _, p, _), (_, _, q, _) in zip(net.parameters(), original.parameters(), strict=True):
        np.testing.assert_array_equal(p, q)


def test_text_and_markdown():
    e = cr.explain(*setup("classification"))
    text = str(e)
    for words in ("FORWARD PASS", "LOSS", "BACKWARD PASS", "UPDATE", "Z1 = X @ W1 + b1",
                  "dZ1 = dA1 * A1 * (1 - A1)", "dW2 = A1.T @ dZ2", "shape (3, 2)"):  # fmt: skip
        assert words in text, words
    md = e._repr_markdown_()
    assert "### Backward" in md and r"\partial W_2 = A_{1}^\top \partial Z_{2}" in md
    with pytest.raises(KeyError, match="no step named 'dW9'"):
        e["dW9"]


def test_long_batches_are_abbreviated():
    net, loss, _, _ = setup("classification")
    rng = np.random.default_rng(1)
    e = cr.explain(net, loss, rng.normal(size=(10, 2)), rng.integers(0, 2, 10), max_rows=3)
    assert "(7 more rows)" in str(e)


def test_probability_path_and_bad_arguments():
    rng = np.random.default_rng(2)
    net = cr.Sequential(cr.Dense(2, 2, rng=rng), cr.Softmax())
    e = cr.explain(net, cr.CrossEntropy(from_logits=False), rng.normal(size=(3, 2)), [0, 1, 1])
    assert "dA1 = -T / A1 / n" in str(e)
    with pytest.raises(ValueError, match="lr must be a positive number"):
        cr.explain(net, cr.CrossEntropy(), np.zeros((1, 2)), [0], lr=-1)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_everything_needed_to_redo_the_step_by_hand(task):
    net, loss, X, y = setup(task)
    e = cr.explain(net, loss, X, y)
    # The input and the initial parameters, under the notebooks' names.
    np.testing.assert_array_equal(e["X"], X)
    for l, dense in ((1, net.layers[0]), (2, net.layers[2])):
        np.testing.assert_array_equal(e[f"W{l}"], dense.params["W"])
        np.testing.assert_array_equal(e[f"b{l}"], dense.params["b"])
    assert [s.name for s in e.steps if s.phase == "start"] == ["X", "W1", "b1", "W2", "b2"]
    text = str(e)
    assert "A0" not in text and "dX = dZ1 @ W1.T" in text
    # The targets T and, for softmax + cross-entropy, the probabilities P.
    Z2 = e["Z2"]
    if task == "classification":
        np.testing.assert_array_equal(e["T"], np.eye(2)[y])
        P = np.exp(Z2) / np.exp(Z2).sum(axis=1, keepdims=True)
        np.testing.assert_allclose(e["P"], P, rtol=1e-12)
        np.testing.assert_allclose(e["dZ2"], (P - e["T"]) / len(y), rtol=1e-12)
    else:
        np.testing.assert_array_equal(e["T"], y.reshape(-1, 1))
        with pytest.raises(KeyError):
            e["P"]
    # One entry of each dW written out as its sum over the samples, with the numbers.
    A1 = e["A1"]
    dW2 = next(s for s in e.steps if s.name == "dW2")
    terms = " + ".join(
        f"{a:.4g}" if a >= 0 else f"({a:.4g})" for a in A1[:, 0]
    )  # the A1 factors, in order
    assert dW2.detail.startswith("dW2[0, 0] = sum_i A1[i, 0] * dZ2[i, 0] = ")
    for factor in terms.split(" + "):
        assert factor + "*" in dW2.detail
    assert dW2.detail.endswith(f"= {e['dW2'][0, 0]:.6g}")
    assert "one entry by hand: dW1[0, 0] = sum_i X[i, 0] * dZ1[i, 0]" in text


def test_long_sums_are_abbreviated():
    net, loss, _, _ = setup("classification")
    rng = np.random.default_rng(3)
    e = cr.explain(net, loss, rng.normal(size=(7, 2)), rng.integers(0, 2, 7))
    assert "... (3 more) = " in next(s for s in e.steps if s.name == "dW1").detail


def test_binary_cross_entropy_shows_the_sigmoid_probabilities():
    rng = np.random.default_rng(4)
    net = cr.Sequential(cr.Dense(2, 3, rng=rng), cr.Tanh(), cr.Dense(3, 1, rng=rng))
    X, y = rng.normal(size=(4, 2)), np.array([0, 1, 1, 0])
    e = cr.explain(net, cr.BinaryCrossEntropy(), X, y)
    np.testing.assert_allclose(e["P"], 1 / (1 + np.exp(-e["Z2"])), rtol=1e-12)
    np.testing.assert_allclose(e["dZ2"], (e["P"] - e["T"]) / 4, rtol=1e-12)
