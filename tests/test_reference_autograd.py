"""Gradients compared with autograd (a reference autodiff library), float64, to 1e-7.

The reference functions below are the textbook formulas written naively; autograd
differentiates them mechanically, so agreement means the hand-derived backward passes
compute the same derivatives.
"""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

import chainrule as cr
from helpers import rel_error

TOL = 1e-7


def _sigmoid(x):
    return 1 / (1 + anp.exp(-x))


def _softmax(x):
    e = anp.exp(x - anp.max(x, axis=1, keepdims=True))
    return e / anp.sum(e, axis=1, keepdims=True)


ACTIVATIONS = [
    (cr.Identity(), lambda x: x),
    (cr.Sigmoid(), _sigmoid),
    (cr.Tanh(), anp.tanh),
    (cr.ReLU(), lambda x: anp.where(x > 0, x, 0.0)),
    (cr.LeakyReLU(0.05), lambda x: anp.where(x > 0, x, 0.05 * x)),
    (cr.ELU(0.8), lambda x: anp.where(x > 0, x, 0.8 * (anp.exp(anp.minimum(x, 0)) - 1))),
    (cr.Softmax(), _softmax),
]


@pytest.mark.parametrize("layer,ref", ACTIVATIONS, ids=lambda a: type(a).__name__)
@pytest.mark.parametrize("shape", [(1, 3), (5, 4)])
def test_activations_against_autograd(layer, ref, shape):
    rng = np.random.default_rng(7)
    X, R = rng.normal(size=shape), rng.normal(size=shape)
    Y, backward = layer.forward(X, training=True)
    np.testing.assert_allclose(Y, ref(X), rtol=1e-12, atol=1e-15)
    expected = grad(lambda x: anp.sum(R * ref(x)))(X)
    assert rel_error(backward(R), expected) < TOL


@pytest.mark.parametrize("shape", [(1, 2, 3), (6, 4, 2)])
def test_dense_against_autograd(shape):
    n, n_in, n_out = shape
    rng = np.random.default_rng(8)
    layer = cr.Dense(n_in, n_out, rng=rng)
    W, b = layer.params["W"], layer.params["b"]
    b[:] = rng.normal(size=n_out)
    X, R = rng.normal(size=(n, n_in)), rng.normal(size=(n, n_out))
    layer.zero_grad()
    _, backward = layer.forward(X, training=True)
    dX = backward(R)

    def f(X, W, b):
        return anp.sum(R * (anp.dot(X, W) + b))

    assert rel_error(dX, grad(f, 0)(X, W, b)) < TOL
    assert rel_error(layer.grads["W"], grad(f, 1)(X, W, b)) < TOL
    assert rel_error(layer.grads["b"], grad(f, 2)(X, W, b)) < TOL


def _bce_naive(p, t):
    return -anp.mean(t * anp.log(p) + (1 - t) * anp.log(1 - p))


def _huber(r, d):
    a = anp.abs(r)
    return anp.mean(anp.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d)))


def _cases(rng):
    Y = rng.normal(size=(5, 3))
    T = rng.normal(size=(5, 3))
    t01 = rng.integers(0, 2, size=(5, 3)).astype(float)
    idx = np.array([0, 2, 1, 1, 2])
    onehot = np.eye(3)[idx]
    return [
        ("mse", cr.MeanSquaredError(), Y, T, lambda y: anp.mean((y - T) ** 2)),
        ("mae", cr.MeanAbsoluteError(), Y, T, lambda y: anp.mean(anp.abs(y - T))),
        ("huber", cr.Huber(0.7), Y, T, lambda y: _huber(y - T, 0.7)),
        ("bce-logits", cr.BinaryCrossEntropy(), Y, t01, lambda z: _bce_naive(_sigmoid(z), t01)),
        (
            "bce-probs",
            cr.BinaryCrossEntropy(from_logits=False),
            1 / (1 + np.exp(-Y)),
            t01,
            lambda p: _bce_naive(p, t01),
        ),
        (
            "ce-logits",
            cr.CrossEntropy(),
            Y,
            idx,
            lambda z: -anp.mean(anp.sum(onehot * anp.log(_softmax(z)), axis=1)),
        ),
        (
            "ce-probs",
            cr.CrossEntropy(from_logits=False),
            np.exp(Y) / np.exp(Y).sum(1, keepdims=True),
            onehot,
            lambda p: -anp.mean(anp.sum(onehot * anp.log(p), axis=1)),
        ),
    ]


@pytest.mark.parametrize("case", range(7))
def test_losses_against_autograd(case):
    name, loss, Y, T, ref = _cases(np.random.default_rng(9))[case]
    value, dY = loss(Y, T)
    assert value == pytest.approx(float(ref(Y)), rel=1e-12), name
    assert rel_error(dY, grad(ref)(Y)) < TOL, name


def test_whole_network_against_autograd():
    rng = np.random.default_rng(10)
    net = cr.Sequential(
        cr.Dense(4, 6, rng=rng), cr.Tanh(), cr.Dense(6, 5, rng=rng), cr.ELU(),
        cr.Dense(5, 3, rng=rng),
    )  # fmt: skip
    X = rng.normal(size=(7, 4))
    y = rng.integers(0, 3, size=7)
    net.zero_grad()
    Y, backward = net.forward(X, training=True)
    _, dY = cr.CrossEntropy()(Y, y)
    dX = backward(dY)
    params = [p for _, _, p, _ in net.parameters()]

    def f(X, W1, b1, W2, b2, W3, b3):
        A1 = anp.tanh(anp.dot(X, W1) + b1)
        Z2 = anp.dot(A1, W2) + b2
        A2 = anp.where(Z2 > 0, Z2, anp.exp(anp.minimum(Z2, 0)) - 1)
        P = _softmax(anp.dot(A2, W3) + b3)
        return -anp.mean(anp.log(P[np.arange(7), y]))

    assert rel_error(dX, grad(f, 0)(X, *params)) < TOL
    for i, (_, _, _, g) in enumerate(net.parameters()):
        assert rel_error(g, grad(f, i + 1)(X, *params)) < TOL
