"""Every layer's backward pass against central differences, in float64.

Each layer is probed with L = sum(R * Y) for a random R, so dL/dY = R is an arbitrary
upstream gradient and every entry of the Jacobian takes part.
"""

import numpy as np
import pytest

import chainrule as cr
from helpers import ACTIVATIONS, layer_grads, numeric_grad, probe_loss, rel_error

SHAPES = [(1, 1, 1), (1, 4, 3), (5, 3, 2), (8, 6, 7)]  # (n, n_in, n_out), batch 1 included


@pytest.mark.parametrize("n,n_in,n_out", SHAPES)
@pytest.mark.parametrize("init", ["glorot", "he", "normal"])
def test_dense_gradients(n, n_in, n_out, init):
    rng = np.random.default_rng(n * 100 + n_in * 10 + n_out)
    layer = cr.Dense(n_in, n_out, init=init, rng=rng)
    layer.params["b"][:] = rng.normal(size=n_out)
    X = rng.normal(size=(n, n_in))
    R = rng.normal(size=(n, n_out))
    dX, grads = layer_grads(layer, X, R)
    f = lambda: probe_loss(layer, X, R)  # noqa: E731
    assert rel_error(dX, numeric_grad(f, X)) < 1e-7
    for name in ("W", "b"):
        assert rel_error(grads[name], numeric_grad(f, layer.params[name])) < 1e-7


def test_dense_gradients_match_the_formulas():
    # dW = X.T @ dY, db = dY.sum(0), dX = dY @ W.T, exactly as the docstring says.
    rng = np.random.default_rng(1)
    layer = cr.Dense(3, 2, rng=rng)
    X, dY = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    dX, grads = layer_grads(layer, X, dY)
    np.testing.assert_allclose(grads["W"], X.T @ dY, rtol=1e-14)
    np.testing.assert_allclose(grads["b"], dY.sum(axis=0), rtol=1e-14)
    np.testing.assert_allclose(dX, dY @ layer.params["W"].T, rtol=1e-14)


@pytest.mark.parametrize("make", ACTIVATIONS)
@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (4, 3), (7, 6)])
def test_activation_gradients(make, shape):
    rng = np.random.default_rng(sum(shape))
    layer = make()
    X = rng.normal(scale=2.0, size=shape)
    X[np.abs(X) < 1e-3] = 0.5  # keep away from the kinks of ReLU-like functions
    R = rng.normal(size=shape)
    dX, grads = layer_grads(layer, X, R)
    assert grads == {}
    numeric = numeric_grad(lambda: probe_loss(layer, X, R), X)
    assert rel_error(dX, numeric) < 1e-8, type(layer).__name__


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("n", [1, 6])
def test_sequential_gradients(depth, n):
    rng = np.random.default_rng(depth * 10 + n)
    sizes = [5, 4, 6, 3, 2][: depth + 1]
    acts = [cr.Tanh, cr.Sigmoid, cr.ELU, cr.LeakyReLU]
    layers = []
    for i in range(depth):
        layers.append(cr.Dense(sizes[i], sizes[i + 1], rng=rng))
        if i < depth - 1:
            layers.append(acts[i]())
    net = cr.Sequential(*layers)
    X = rng.normal(size=(n, sizes[0]))
    R = rng.normal(size=(n, sizes[depth]))
    dX, _ = layer_grads(net, X, R)
    f = lambda: probe_loss(net, X, R)  # noqa: E731
    assert rel_error(dX, numeric_grad(f, X)) < 1e-7
    for layer, name, param, grad in net.parameters():
        assert rel_error(grad, numeric_grad(f, param)) < 1e-7, (layer, name)


def test_nested_sequential_gradients():
    rng = np.random.default_rng(3)
    inner = cr.Sequential(cr.Dense(3, 4, rng=rng), cr.Tanh())
    net = cr.Sequential(inner, cr.Dense(4, 2, rng=rng))
    X, R = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    dX, _ = layer_grads(net, X, R)
    f = lambda: probe_loss(net, X, R)  # noqa: E731
    assert rel_error(dX, numeric_grad(f, X)) < 1e-7
    assert len(list(net.parameters())) == 4
    for _, _, param, grad in net.parameters():
        assert rel_error(grad, numeric_grad(f, param)) < 1e-7


def test_backward_accumulates_and_zero_grad_resets():
    rng = np.random.default_rng(0)
    net = cr.Sequential(cr.Dense(3, 4, rng=rng), cr.ReLU(), cr.Dense(4, 2, rng=rng))
    X = rng.normal(size=(5, 3))
    Y, backward = net.forward(X, training=True)
    net.zero_grad()
    backward(np.ones_like(Y))
    once = [g.copy() for _, _, _, g in net.parameters()]
    backward(np.ones_like(Y))
    for g1, (_, _, _, g2) in zip(once, net.parameters(), strict=True):
        np.testing.assert_allclose(g2, 2 * g1)
    net.zero_grad()
    assert all(not g.any() for _, _, _, g in net.parameters())


@pytest.mark.parametrize(
    "layer,x,expected",
    [
        (cr.ReLU(), 0.0, 0.0),  # PyTorch: ReLU'(0) = 0
        (cr.LeakyReLU(alpha=0.1), 0.0, 0.1),  # LeakyReLU'(0) = alpha
        (cr.ELU(alpha=0.7), 0.0, 0.7),  # ELU'(0) = alpha
        (cr.ReLU(), 2.0, 1.0),
        (cr.LeakyReLU(alpha=0.1), -3.0, 0.1),
        (cr.Sigmoid(), 0.0, 0.25),
        (cr.Tanh(), 0.0, 1.0),
    ],
)
def test_derivatives_at_kinks_and_known_points(layer, x, expected):
    Y, backward = layer.forward(np.array([[x]]), training=True)
    assert backward(np.ones_like(Y))[0, 0] == pytest.approx(expected, abs=1e-15)


def test_softmax_backward_equals_the_full_jacobian():
    # dX = Y * (dY - sum(dY * Y)) is J^T dY with J_ij = Y_i (delta_ij - Y_j).
    rng = np.random.default_rng(5)
    X, dY = rng.normal(size=(1, 4)), rng.normal(size=(1, 4))
    Y, backward = cr.Softmax().forward(X, training=True)
    y = Y[0]
    J = np.diag(y) - np.outer(y, y)
    np.testing.assert_allclose(backward(dY)[0], J.T @ dY[0], rtol=1e-13, atol=1e-15)
