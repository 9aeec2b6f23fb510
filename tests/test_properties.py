"""Property-based tests (hypothesis): for random shapes, dtypes and values,

* every layer's and every loss's gradient equals central differences (float64),
* softmax rows are probabilities that sum to 1, at any logits,
* losses are non-negative,
* float32 in gives float32 out (forward, backward, gradients, losses, fit),
* ``save``/``load`` round-trips exactly.

The gradients are compared with tests/helpers.py's own central differences, not with
chainrule.gradient_check. Values are bounded and kept a little away from kinks (ReLU at
0, MAE at a zero residual, Huber at |r| = delta), where a derivative does not exist.
``derandomize=True`` makes every run draw the same examples.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
from helpers import layer_grads, numeric_grad, probe_loss

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True, database=None)

sizes = st.integers(1, 4)
# values in [-3, 3], at least 0.05 away from 0 (the kinks of ReLU, LeakyReLU, ELU)
away_from_zero = st.one_of(st.floats(-3.0, -0.05), st.floats(0.05, 3.0))
bounded = st.floats(-3.0, 3.0)


def matrices(n, k, elements=bounded, dtype=np.float64):
    return hnp.arrays(dtype, (n, k), elements=elements)


def assert_gradient(analytic, numeric, what):
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7, err_msg=what)


# ---------------------------------------------------------------------- layer gradients
LAYERS = {
    "Dense": lambda d, n_in, n_out: cr.Dense(n_in, n_out, rng=d.draw(st.integers(0, 99))),
    "Identity": lambda d, n_in, n_out: cr.Identity(),
    "Sigmoid": lambda d, n_in, n_out: cr.Sigmoid(),
    "Tanh": lambda d, n_in, n_out: cr.Tanh(),
    "ReLU": lambda d, n_in, n_out: cr.ReLU(),
    "LeakyReLU": lambda d, n_in, n_out: cr.LeakyReLU(d.draw(st.floats(0.0, 1.0))),
    "ELU": lambda d, n_in, n_out: cr.ELU(d.draw(st.floats(0.1, 2.0))),
    "Softmax": lambda d, n_in, n_out: cr.Softmax(),
    "Dropout": lambda d, n_in, n_out: cr.Dropout(d.draw(st.floats(0.0, 0.9)), rng=0),
}


@pytest.mark.parametrize("name", list(LAYERS))
@SETTINGS
@given(data=st.data(), n=sizes, n_in=sizes, n_out=sizes)
def test_every_layer_gradient_matches_central_differences(name, data, n, n_in, n_out):
    layer = LAYERS[name](data, n_in, n_out)
    X = data.draw(matrices(n, n_in, away_from_zero), label="X")
    if isinstance(layer, cr.Dense):
        layer.params["b"][:] = data.draw(hnp.arrays(np.float64, n_out, elements=bounded))
    if isinstance(layer, cr.Dropout):
        layer.fixed_mask = data.draw(hnp.arrays(bool, X.shape), label="mask")
    width = n_out if isinstance(layer, cr.Dense) else n_in
    R = data.draw(matrices(n, width), label="R")  # L = sum(R * Y): dL/dY = R
    dX, grads = layer_grads(layer, X, R)
    assert_gradient(dX, numeric_grad(lambda: probe_loss(layer, X, R), X), f"{name}: dX")
    for key, param in layer.params.items():
        numeric = numeric_grad(lambda: probe_loss(layer, X, R), param)
        assert_gradient(grads[key], numeric, f"{name}: d{key}")


def test_a_deep_network_gradient_matches_central_differences():
    # the chain rule through several layers at once, at one fixed draw
    rng = np.random.default_rng(0)
    net = cr.Sequential(cr.Dense(3, 5, rng=rng), cr.ELU(0.7), cr.Dense(5, 4, rng=rng),
                        cr.Tanh(), cr.Dense(4, 3, rng=rng))  # fmt: skip
    report = cr.gradient_check(net, cr.CrossEntropy(), rng.normal(size=(6, 3)), [0, 1, 2] * 2)
    assert report.verdict == "excellent", str(report)


# ---------------------------------------------------------------------- loss gradients
def _targets(data, loss, Y):
    n, k = Y.shape
    if isinstance(loss, cr.CrossEntropy):
        if data.draw(st.booleans(), label="indices"):
            return data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, k - 1)))
        rows = data.draw(matrices(n, k, st.floats(0.0, 1.0)))
        rows[:, 0] += 0.1  # no all-zero row
        return rows / rows.sum(axis=1, keepdims=True)  # probability rows
    if isinstance(loss, cr.BinaryCrossEntropy):
        return data.draw(matrices(n, k, st.floats(0.0, 1.0)))  # soft labels
    T = data.draw(matrices(n, k))
    if isinstance(loss, cr.MeanAbsoluteError):
        assume(np.all(np.abs(Y - T) > 1e-3))
    if isinstance(loss, cr.Huber):
        assume(np.all(np.abs(np.abs(Y - T) - loss.delta) > 1e-3))
    return T


def _outputs(data, loss, n, k):
    if not loss.from_logits and isinstance(loss, (cr.CrossEntropy, cr.BinaryCrossEntropy)):
        return data.draw(matrices(n, k, st.floats(0.05, 0.95)), label="P")  # probabilities
    return data.draw(matrices(n, k), label="Y")


LOSSES = [
    cr.MeanSquaredError(),
    cr.MeanAbsoluteError(),
    cr.Huber(0.7),
    cr.BinaryCrossEntropy(),
    cr.BinaryCrossEntropy(from_logits=False),
    cr.CrossEntropy(),
    cr.CrossEntropy(from_logits=False),
]


@pytest.mark.parametrize("loss", LOSSES, ids=repr)
@SETTINGS
@given(data=st.data(), n=sizes, k=sizes, weighted=st.booleans())
def test_every_loss_gradient_matches_central_differences(loss, data, n, k, weighted):
    Y = _outputs(data, loss, n, k)
    T = _targets(data, loss, Y)
    w = data.draw(hnp.arrays(np.float64, n, elements=st.floats(0.1, 2.0))) if weighted else None
    value, dY = loss(Y, T, w)
    numeric = numeric_grad(lambda: loss(Y, T, w)[0], Y)
    assert_gradient(dY, numeric, repr(loss))
    assert value >= 0


# ---------------------------------------------------------------------- softmax, losses
@SETTINGS
@given(
    Z=hnp.arrays(
        st.sampled_from([np.float32, np.float64]),
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
        elements=st.floats(-1e4, 1e4, width=32),
    )
)
def test_softmax_rows_are_probabilities_that_sum_to_one(Z):
    P = cr.Softmax()(Z)
    assert P.dtype == Z.dtype
    assert np.all((P >= 0) & (P <= 1))
    tol = 1e-5 if Z.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=tol)
    for z, p in zip(Z, P, strict=True):  # monotone: a larger logit, no smaller a probability
        assert np.all(np.diff(p[np.argsort(z, kind="stable")]) >= 0)


@pytest.mark.parametrize("loss", LOSSES, ids=repr)
@SETTINGS
@given(data=st.data(), n=sizes, k=sizes, scale=st.sampled_from([1.0, 30.0, 1e4]))
def test_losses_are_non_negative(loss, data, n, k, scale):
    Y = _outputs(data, loss, n, k)
    if loss.from_logits or not isinstance(loss, (cr.CrossEntropy, cr.BinaryCrossEntropy)):
        Y = Y * scale  # logits and values of any size
    assume(not isinstance(loss, (cr.MeanAbsoluteError, cr.Huber)) or scale == 1.0)
    T = _targets(data, loss, Y)
    value, dY = loss(Y, T)
    assert value >= 0 and np.isfinite(value) and np.isfinite(dY).all()


# ---------------------------------------------------------------------- float32 stays float32
@SETTINGS
@given(data=st.data(), n=sizes, n_in=sizes, n_out=sizes, name=st.sampled_from(list(LAYERS)))
def test_float32_in_gives_float32_out(data, n, n_in, n_out, name):
    layer = LAYERS[name](data, n_in, n_out).astype(np.float32)
    X = data.draw(matrices(n, n_in, dtype=np.float32, elements=st.floats(-3, 3, width=32)))
    if isinstance(layer, cr.Dropout):
        layer.fixed_mask = data.draw(hnp.arrays(bool, X.shape))
    Y, backward = layer.forward(X, training=True)
    dX = backward(np.ones_like(Y))
    assert Y.dtype == dX.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())
    loss = data.draw(st.sampled_from(LOSSES))
    if not loss.from_logits and isinstance(loss, (cr.CrossEntropy, cr.BinaryCrossEntropy)):
        Y = cr.Softmax()(Y) if isinstance(loss, cr.CrossEntropy) else cr.Sigmoid()(Y)
    T = _targets(data, loss, Y.astype(np.float64))  # float64 or integer targets
    assert loss(Y, T)[1].dtype == np.float32


@SETTINGS
@given(data=st.data(), n=st.integers(2, 12), epochs=st.integers(1, 3))
def test_fit_keeps_float32(data, n, epochs):
    rng = np.random.default_rng(data.draw(st.integers(0, 99)))
    net = cr.Sequential(cr.Dense(3, 4, rng=rng), cr.Tanh(), cr.Dense(4, 2, rng=rng))
    net.astype(np.float32)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    history = cr.fit(net, cr.CrossEntropy(), X, rng.integers(0, 2, n), optimizer=cr.Adam(0.01),
                     epochs=epochs, batch_size=data.draw(st.integers(1, n)), rng=0)  # fmt: skip
    assert all(p.dtype == np.float32 for _, _, p, _ in net.parameters())
    assert net.predict(X).dtype == np.float32 and len(history) == epochs


# ---------------------------------------------------------------------- save and load
ACTIVATIONS = {
    "Identity": lambda d: cr.Identity(),
    "Sigmoid": lambda d: cr.Sigmoid(),
    "Tanh": lambda d: cr.Tanh(),
    "ReLU": lambda d: cr.ReLU(),
    "LeakyReLU": lambda d: cr.LeakyReLU(d.draw(st.floats(0.0, 1.0))),
    "ELU": lambda d: cr.ELU(d.draw(st.floats(0.0, 3.0))),
    "Softmax": lambda d: cr.Softmax(),
    "Dropout": lambda d: cr.Dropout(d.draw(st.floats(0.0, 0.95))),
}


@SETTINGS
@given(
    data=st.data(),
    widths=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_save_and_load_round_trip_exactly(data, widths, dtype):
    rng = np.random.default_rng(data.draw(st.integers(0, 999)))
    layers, n_in = [], data.draw(st.integers(1, 4))
    for width in widths:
        dense = cr.Dense(n_in, width, init=data.draw(st.sampled_from(["glorot", "he", "normal"])),
                         rng=rng, dtype=dtype)  # fmt: skip
        dense.params["b"][:] = rng.normal(size=width)
        layers += [dense, ACTIVATIONS[data.draw(st.sampled_from(list(ACTIVATIONS)))](data)]
        n_in = width
    net = cr.Sequential(*layers)
    if data.draw(st.booleans(), label="nested"):
        net = cr.Sequential(net, cr.Dense(n_in, 2, rng=rng, dtype=dtype))
    with tempfile.TemporaryDirectory() as folder:
        loaded = cr.load(cr.save(net, Path(folder) / "m"))
    assert repr(loaded) == repr(net)
    pairs = zip(net.parameters(), loaded.parameters(), strict=True)
    for (_, name, p, _), (_, name2, q, g) in pairs:
        assert name == name2 and p.dtype == q.dtype == g.dtype and p.shape == q.shape
        assert p.tobytes() == q.tobytes() and p is not q
    X = rng.normal(size=(3, layers[0].n_in)).astype(dtype)
    assert net.predict(X).tobytes() == loaded.predict(X).tobytes()
