"""Every loss's dY against central differences, in float64, for both the fused (logits)
and unfused (probabilities) paths, every target format, and sample weights."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.layers.activations import sigmoid, softmax
from helpers import numeric_grad, rel_error

SHAPES = [(1, 1), (1, 3), (4, 1), (6, 3)]


def check(loss, Y, T, w=None, tol=1e-7):
    value, dY = loss(Y, T, w)
    numeric = numeric_grad(lambda: loss(Y, T, w)[0], Y)
    assert dY.shape == Y.shape
    assert rel_error(dY, numeric) < tol, (loss, rel_error(dY, numeric))
    return value, dY


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    "loss", [cr.MeanSquaredError(), cr.MeanAbsoluteError(), cr.Huber(), cr.Huber(delta=0.3)]
)
def test_regression_losses(loss, shape, weighted):
    rng = np.random.default_rng(shape[0] * 7 + shape[1])
    Y, T = rng.normal(size=shape), rng.normal(size=shape)
    w = rng.uniform(0.1, 2.0, size=shape[0]) if weighted else None
    check(loss, Y, T, w)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_logits_and_probabilities(shape, weighted):
    rng = np.random.default_rng(shape[0] * 5 + shape[1])
    Z = rng.normal(scale=2.0, size=shape)
    T = rng.integers(0, 2, size=shape).astype(float)
    w = rng.uniform(0.1, 2.0, size=shape[0]) if weighted else None
    v_logits, dZ = check(cr.BinaryCrossEntropy(), Z, T, w)
    P = sigmoid(Z)
    v_probs, dP = check(cr.BinaryCrossEntropy(from_logits=False), P, T, w)
    assert v_probs == pytest.approx(v_logits, rel=1e-12)
    # Through the sigmoid's backward the unfused gradient equals the fused one.
    _, backward = cr.Sigmoid().forward(Z, training=True)
    np.testing.assert_allclose(backward(dP), dZ, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("n,k", [(1, 2), (1, 4), (5, 3), (7, 5)])
@pytest.mark.parametrize("targets", ["indices", "onehot", "soft"])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_logits_and_probabilities(n, k, targets, weighted):
    rng = np.random.default_rng(n * 11 + k)
    # Moderate logits: the unfused path's -log P has a third derivative of 2 / P^3,
    # so central differences themselves lose accuracy where some P is tiny.
    Z = rng.normal(scale=1.0, size=(n, k))
    idx = rng.integers(0, k, size=n)
    T = {
        "indices": idx,
        "onehot": np.eye(k)[idx],
        "soft": rng.dirichlet(np.ones(k), size=n),
    }[targets]
    w = rng.uniform(0.1, 2.0, size=n) if weighted else None
    v_logits, dZ = check(cr.CrossEntropy(), Z, T, w, tol=1e-6)
    P = softmax(Z)
    v_probs, dP = check(cr.CrossEntropy(from_logits=False), P, T, w, tol=1e-6)
    assert v_probs == pytest.approx(v_logits, rel=1e-12)
    _, backward = cr.Softmax().forward(Z, training=True)
    np.testing.assert_allclose(backward(dP), dZ, rtol=1e-9, atol=1e-14)


def test_fused_gradient_is_p_minus_t_over_n():
    rng = np.random.default_rng(0)
    Z, y = rng.normal(size=(4, 3)), np.array([0, 2, 1, 2])
    _, dZ = cr.CrossEntropy()(Z, y)
    np.testing.assert_allclose(dZ, (softmax(Z) - np.eye(3)[y]) / 4, rtol=1e-14)
    t = np.array([1.0, 0.0, 1.0, 1.0])
    _, dZ = cr.BinaryCrossEntropy()(Z[:, :1], t)
    np.testing.assert_allclose(dZ, (sigmoid(Z[:, :1]) - t[:, None]) / 4, rtol=1e-14)


def test_means_follow_pytorch_definitions():
    Y = np.array([[1.0, 2.0], [3.0, 4.0]])
    T = np.zeros((2, 2))
    assert cr.MeanSquaredError()(Y, T)[0] == pytest.approx((1 + 4 + 9 + 16) / 4)
    assert cr.MeanAbsoluteError()(Y, T)[0] == pytest.approx((1 + 2 + 3 + 4) / 4)
    # Huber(1): 0.5 r^2 inside, |r| - 0.5 outside: (0.5 + 1.5 + 2.5 + 3.5) / 4
    assert cr.Huber()(Y, T)[0] == pytest.approx(2.0)
    # Cross-entropy is a mean over samples, not over the n * k entries.
    P = np.array([[0.25, 0.75], [0.5, 0.5]])
    expected = -(np.log(0.75) + np.log(0.5)) / 2
    assert cr.CrossEntropy(from_logits=False)(P, np.array([1, 0]))[0] == pytest.approx(expected)


def test_weighted_mean_with_equal_weights_is_the_mean():
    rng = np.random.default_rng(2)
    Y, T = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    v, d = cr.MeanSquaredError()(Y, T)
    vw, dw = cr.MeanSquaredError()(Y, T, np.full(5, 3.0))
    assert vw == pytest.approx(v, rel=1e-14)
    np.testing.assert_allclose(dw, d, rtol=1e-14)
    # Integer weights are sample repetition: weight 2 equals the sample twice.
    w = np.array([2, 1, 1, 1, 1])
    v2, _ = cr.MeanSquaredError()(Y, T, w)
    v_rep, _ = cr.MeanSquaredError()(np.vstack([Y[:1], Y]), np.vstack([T[:1], T]))
    assert v2 == pytest.approx(v_rep, rel=1e-14)


def test_one_dimensional_target_is_a_column_not_a_broadcast():
    Y = np.array([[1.0], [2.0], [3.0]])
    t = np.array([1.0, 2.0, 5.0])
    value, dY = cr.MeanSquaredError()(Y, t)
    assert value == pytest.approx(4.0 / 3)  # only the last sample is off, by 2
    assert dY.shape == (3, 1)
