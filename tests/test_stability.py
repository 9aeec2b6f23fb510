"""Numerical stability at extreme inputs. pytest turns every warning into an error
(pyproject's filterwarnings), and np.errstate(all="raise") turns every floating-point
overflow, underflow-to-invalid or division by zero into an exception as well."""

import numpy as np
import pytest

import chainrule as cr

EXTREME = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e-300], [700.0, -745.0, 50.0]])


@pytest.mark.parametrize(
    "layer", [cr.Sigmoid(), cr.Tanh(), cr.ReLU(), cr.LeakyReLU(), cr.ELU(), cr.Softmax()]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_finite_at_extreme_inputs(layer, dtype):
    X = EXTREME.astype(dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        Y, backward = layer.forward(X, training=True)
        dX = backward(np.ones_like(Y))
    assert np.isfinite(Y).all() and np.isfinite(dX).all()
    assert Y.dtype == dtype and dX.dtype == dtype


def test_sigmoid_and_softmax_saturate_exactly():
    Y, _ = cr.Sigmoid().forward(np.array([[1e4, -1e4]]))
    np.testing.assert_array_equal(Y, [[1.0, 0.0]])
    P, _ = cr.Softmax().forward(np.array([[1e4, -1e4, 0.0]]))
    np.testing.assert_array_equal(P, [[1.0, 0.0, 0.0]])
    np.testing.assert_allclose(P.sum(axis=1), 1.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_losses_finite_at_extreme_logits(dtype):
    Z = EXTREME.astype(dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        v, dZ = cr.CrossEntropy()(Z, np.array([1, 0, 2]))
        assert np.isfinite(v) and np.isfinite(dZ).all()
        # Sample 0 and 1 are confidently wrong by 2e4: their loss is ~2e4 each.
        assert v > 1e4
        v, dZ = cr.BinaryCrossEntropy()(Z, (Z > 0).astype(dtype))
        # Every confident logit costs ~0; the two at z = 0 (and 1e-300) cost ln 2 each.
        assert v == pytest.approx(2 * np.log(2) / 9, rel=1e-5)
        assert np.isfinite(v) and np.isfinite(dZ).all()
        v, dZ = cr.BinaryCrossEntropy()(Z, (Z < 0).astype(dtype))
        assert np.isfinite(v) and np.isfinite(dZ).all()
    assert dZ.dtype == dtype


def test_cross_entropy_of_a_confidently_wrong_logit_is_exact():
    # -log softmax([1e4, -1e4])[1] = 2e4 exactly (log-sum-exp), not inf or nan.
    v, dZ = cr.CrossEntropy()(np.array([[1e4, -1e4]]), np.array([1]))
    assert v == pytest.approx(2e4, rel=1e-12)
    np.testing.assert_allclose(dZ, [[1.0, -1.0]])
    v, _ = cr.BinaryCrossEntropy()(np.array([[-1e4]]), np.array([1.0]))
    assert v == pytest.approx(1e4, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_probability_paths_never_take_log_of_zero(dtype):
    P = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        v, dP = cr.CrossEntropy(from_logits=False)(P, np.array([1, 1]))
        # Sample 0 puts probability 0 on its class: log clamped at -100, as PyTorch does.
        assert v == pytest.approx(50.0)
        assert np.isfinite(dP).all()
        S = np.array([[0.0], [1.0]], dtype=dtype)
        v, dS = cr.BinaryCrossEntropy(from_logits=False)(S, np.array([1.0, 0.0]))
        assert v == pytest.approx(100.0)
        assert np.isfinite(dS).all()


def test_network_on_huge_and_zero_inputs():
    rng = np.random.default_rng(0)
    net = cr.Sequential(cr.Dense(3, 4, rng=rng), cr.Tanh(), cr.Dense(4, 2, rng=rng))
    for X in (np.full((2, 3), 1e30), np.zeros((1, 3))):
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            Y, backward = net.forward(X, training=True)
            v, dY = cr.CrossEntropy()(Y, np.array([0, 1])[: len(X)])
            net.zero_grad()
            backward(dY)
        assert np.isfinite(Y).all() and np.isfinite(v)
        assert all(np.isfinite(g).all() for _, _, _, g in net.parameters())
