"""Initializers draw from the documented distributions; summaries tell the truth."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import initializers as init


@pytest.mark.parametrize(
    "fn,expected_std",
    [
        (init.glorot_uniform, np.sqrt(2 / (300 + 200))),  # U(-a, a) has std a / sqrt(3)
        (init.glorot_normal, np.sqrt(2 / (300 + 200))),
        (init.he_uniform, np.sqrt(2 / 300)),
        (init.he_normal, np.sqrt(2 / 300)),
        (init.normal, 0.01),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_initializer_variance_and_dtype(fn, expected_std, dtype):
    W = fn(np.random.default_rng(0), (300, 200), dtype)
    assert W.shape == (300, 200) and W.dtype == dtype
    assert W.std() == pytest.approx(expected_std, rel=0.02)
    assert abs(W.mean()) < 0.05 * expected_std + 1e-3


def test_uniform_bounds():
    a = np.sqrt(6 / (30 + 20))
    W = init.glorot_uniform(np.random.default_rng(1), (30, 20))
    assert W.max() <= a and W.min() >= -a


def test_same_seed_same_weights_and_zeros_for_bias():
    d1, d2 = cr.Dense(5, 4, rng=7), cr.Dense(5, 4, rng=7)
    np.testing.assert_array_equal(d1.params["W"], d2.params["W"])
    assert not d1.params["b"].any()
    assert not np.array_equal(d1.params["W"], cr.Dense(5, 4, rng=8).params["W"])


def test_custom_initializer_callable():
    layer = cr.Dense(2, 3, init=lambda rng, shape, dtype: np.full(shape, 0.5, dtype))
    np.testing.assert_array_equal(layer.params["W"], np.full((2, 3), 0.5))


def test_summary_lists_layers_shapes_and_parameter_counts():
    net = cr.Sequential(cr.Dense(4, 16, rng=0), cr.ReLU(), cr.Dense(16, 3, rng=0))
    text = net.summary()
    lines = text.splitlines()
    assert "Dense(n_in=4, n_out=16" in lines[2] and "(n, 16)" in lines[2] and "80" in lines[2]
    assert "ReLU()" in lines[3] and "(n, 16)" in lines[3]
    assert "(n, 3)" in lines[4] and "51" in lines[4]
    assert lines[-1] == "total trainable parameters: 131"
    assert net.n_params == 4 * 16 + 16 + 16 * 3 + 3
    assert "LeakyReLU(alpha=0.2)" in repr(cr.Sequential(cr.LeakyReLU(0.2)))
