"""Dropout: inverted scaling, identity at inference, gradient with a fixed mask."""

import numpy as np
import pytest

import chainrule as cr


def test_inference_is_the_identity():
    X = np.random.default_rng(0).normal(size=(5, 4))
    layer = cr.Dropout(0.5, rng=0)
    Y, backward = layer.forward(X, training=False)
    assert Y is X or np.array_equal(Y, X)
    dY = np.arange(20.0).reshape(5, 4)
    np.testing.assert_array_equal(backward(dY), dY)
    np.testing.assert_array_equal(layer(X), X)


def test_training_drops_and_scales_the_kept_units():
    X = np.ones((200, 50))
    Y, backward = cr.Dropout(0.2, rng=0).forward(X, training=True)
    kept = Y != 0
    # kept units are scaled by 1 / (1 - p) = 1.25, dropped ones are exactly 0
    np.testing.assert_array_equal(Y[kept], 1.25)
    assert abs(kept.mean() - 0.8) < 0.01  # 10,000 Bernoulli(0.8) draws
    # backward uses the same mask: dX = dY * M
    dY = np.full_like(X, 2.0)
    np.testing.assert_array_equal(backward(dY), np.where(kept, 2.5, 0.0))


def test_expected_value_is_preserved():
    X = np.random.default_rng(1).normal(size=(4, 3))
    layer = cr.Dropout(0.6, rng=2)
    mean = np.mean([layer.forward(X, training=True)[0] for _ in range(20000)], axis=0)
    # E[Y] = X; each entry is an average of 20000 draws of X * M with sd(M) = 1.22
    np.testing.assert_allclose(mean, X, atol=0.05 * np.abs(X).max())


def test_same_seed_same_masks_and_a_new_mask_each_forward():
    X = np.ones((10, 10))
    a, b = cr.Dropout(0.5, rng=7), cr.Dropout(0.5, rng=7)
    Ya1, Yb1 = a.forward(X, training=True)[0], b.forward(X, training=True)[0]
    np.testing.assert_array_equal(Ya1, Yb1)
    Ya2 = a.forward(X, training=True)[0]
    assert not np.array_equal(Ya1, Ya2)


def test_gradient_check_with_a_fixed_mask():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 3))
    y = rng.integers(0, 2, size=6)
    drop = cr.Dropout(0.5, rng=0)
    drop.fixed_mask = rng.random((6, 5)) >= 0.5
    net = cr.Sequential(cr.Dense(3, 5, rng=1), cr.Tanh(), drop, cr.Dense(5, 2, rng=2))
    report = cr.gradient_check(net, cr.CrossEntropy(), X, y, training=True)
    assert report.max_rel_error < 1e-7, str(report)
    # the mask really acts: with it, the training output differs from inference
    assert not np.allclose(net.forward(X, training=True)[0], net.predict(X))
    # and the analytic gradient of the dropped units' incoming weights is zero where a
    # hidden unit is dropped for every sample
    Y, backward = net.forward(X, training=True)
    net.zero_grad()
    backward(cr.CrossEntropy()(Y, y)[1])
    always_dropped = ~drop.fixed_mask.any(axis=0)
    assert np.all(net.layers[0].grads["W"][:, always_dropped] == 0)


def test_dropout_gradient_by_central_differences_on_the_layer_alone():
    X = np.random.default_rng(3).normal(size=(4, 6))
    layer = cr.Dropout(0.3)
    layer.fixed_mask = np.random.default_rng(4).random((4, 6)) >= 0.3
    dY = np.random.default_rng(5).normal(size=(4, 6))
    _, backward = layer.forward(X, training=True)
    dX = backward(dY)
    eps = 1e-6
    numeric = np.zeros_like(X)
    for idx in np.ndindex(X.shape):
        Xp, Xm = X.copy(), X.copy()
        Xp[idx] += eps
        Xm[idx] -= eps
        f = lambda Z: (layer.forward(Z, training=True)[0] * dY).sum()  # noqa: E731
        numeric[idx] = (f(Xp) - f(Xm)) / (2 * eps)
    np.testing.assert_allclose(dX, numeric, rtol=1e-8, atol=1e-9)


def test_float32_stays_float32():
    X = np.ones((3, 4), dtype=np.float32)
    Y, backward = cr.Dropout(0.5, rng=0).forward(X, training=True)
    assert Y.dtype == np.float32
    assert backward(np.ones_like(Y)).dtype == np.float32
    assert set(np.unique(Y)) <= {np.float32(0), np.float32(2)}


def test_p_zero_is_the_identity_even_in_training():
    X = np.random.default_rng(0).normal(size=(3, 3))
    np.testing.assert_array_equal(cr.Dropout(0.0).forward(X, training=True)[0], X)


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5, float("nan"), "0.5", True])
def test_invalid_p_is_refused(p):
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        cr.Dropout(p)


def test_fixed_mask_of_the_wrong_shape_is_refused():
    layer = cr.Dropout(0.5)
    layer.fixed_mask = np.ones((2, 2), dtype=bool)
    with pytest.raises(ValueError, match="fixed_mask"):
        layer.forward(np.ones((3, 2)), training=True)


def test_in_a_network_summary_and_config():
    net = cr.Sequential(cr.Dense(4, 8, rng=0), cr.ReLU(), cr.Dropout(0.25), cr.Dense(8, 1, rng=1))
    assert "Dropout(p=0.25)" in net.summary()
    assert net.layers[2].get_config() == {"p": 0.25}
    assert net.layers[2].n_params == 0
