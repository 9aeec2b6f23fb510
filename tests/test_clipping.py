"""Gradient clipping: chainrule.clipping against PyTorch, and fit's clip_norm/clip_value
against a training loop written by hand."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.clipping import clip_grad_norm, clip_grad_value, global_norm


def gradients(dtype, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(4, 3), (3,), (3, 2), (2,)]
    return [(scale * rng.normal(size=s)).astype(dtype) for s in shapes]


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 1e-6)])
@pytest.mark.parametrize("max_norm", [0.5, 3.0, 100.0])
def test_clip_grad_norm_equals_torch(dtype, rtol, max_norm):
    torch = pytest.importorskip("torch")
    grads = gradients(dtype, scale=2.0)
    params = [torch.zeros(g.shape, dtype=torch.from_numpy(g).dtype) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.from_numpy(g.copy())
    expected_total = torch.nn.utils.clip_grad_norm_(params, max_norm).item()
    total = clip_grad_norm(grads, max_norm)
    assert total == pytest.approx(expected_total, rel=rtol)
    for g, p in zip(grads, params, strict=True):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=rtol, atol=0)
    if max_norm < expected_total:  # clipped: the new global norm is just below max_norm
        assert global_norm(grads) == pytest.approx(max_norm * total / (total + 1e-6), rel=rtol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_clip_grad_value_equals_torch(dtype):
    torch = pytest.importorskip("torch")
    grads = gradients(dtype, scale=2.0, seed=1)
    params = [torch.zeros(g.shape, dtype=torch.from_numpy(g).dtype) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.from_numpy(g.copy())
    torch.nn.utils.clip_grad_value_(params, 0.7)
    assert clip_grad_value(grads, 0.7) is True
    for g, p in zip(grads, params, strict=True):
        np.testing.assert_array_equal(g, p.grad.numpy())
    assert clip_grad_value(grads, 0.7) is False  # nothing beyond the bound any more


def test_global_norm_survives_huge_gradients():
    # 1e200 squared overflows float64; the norm is still exact: sqrt(3^2 + 4^2) * 1e200
    grads = [np.array([3e200]), np.array([[4e200]])]
    assert global_norm(grads) == pytest.approx(5e200, rel=1e-15)
    total = clip_grad_norm(grads, 1.0)
    assert total == pytest.approx(5e200, rel=1e-15)
    np.testing.assert_allclose([grads[0][0], grads[1][0, 0]], [0.6, 0.8], rtol=1e-12)
    grads32 = [np.array([3e19, 4e19], dtype=np.float32)]  # overflows float32 squares
    assert global_norm(grads32) == pytest.approx(5e19, rel=1e-6)


def make_problem(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 3)).astype(dtype)
    y = (X @ np.array([3.0, -2.0, 1.0]) + 5.0).astype(dtype)  # large errors: big grads

    def net():
        r = np.random.default_rng(seed + 1)
        return cr.Sequential(
            cr.Dense(3, 8, rng=r, dtype=dtype), cr.Tanh(), cr.Dense(8, 1, rng=r, dtype=dtype)
        )

    return X, y, net


def hand_loop(net, X, y, opt, epochs, batch_size, clip):
    """The workflow written out, with clipping by hand between backward and step."""
    loss = cr.MeanSquaredError()
    fractions = []
    for _ in range(epochs):
        clipped = 0
        starts = range(0, len(X), batch_size)
        for start in starts:
            Xb, yb = X[start : start + batch_size], y[start : start + batch_size]
            Y, backward = net.forward(Xb, training=True)
            _, dY = loss(Y, yb)
            net.zero_grad()
            backward(dY)
            grads = [g for _, _, _, g in net.parameters()]
            if "norm" in clip:
                total = math.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads))
                scale = clip["norm"] / (total + 1e-6)
                if scale < 1:
                    clipped += 1
                    for g in grads:
                        g *= g.dtype.type(scale)
            else:
                c = clip["value"]
                clipped += any((np.abs(g) > c).any() for g in grads)
                for g in grads:
                    np.clip(g, -c, c, out=g)
            opt.step(net)
        fractions.append(clipped / len(starts))
    return fractions


@pytest.mark.parametrize("clip", [{"norm": 0.5}, {"value": 0.05}])
def test_fit_with_clipping_equals_a_hand_written_loop(clip):
    X, y, make_net = make_problem()
    net_fit, net_hand = make_net(), make_net()
    kwargs = {"clip_norm": clip["norm"]} if "norm" in clip else {"clip_value": clip["value"]}
    history = cr.fit(
        net_fit,
        "mse",
        X,
        y,
        optimizer=cr.SGD(0.05),
        epochs=5,
        batch_size=8,
        shuffle=False,
        **kwargs,
    )
    fractions = hand_loop(net_hand, X, y, cr.SGD(0.05), 5, 8, clip)
    for (_, _, p, _), (_, _, q, _) in zip(net_fit.parameters(), net_hand.parameters(), strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-14)
    assert history["clipped"] == pytest.approx(fractions)
    assert history["clipped"][0] == 1.0  # the large initial errors are clipped every step
    key = "clip_norm" if "norm" in clip else "clip_value"
    assert history.params[key] == clip.get("norm", clip.get("value"))


def test_clipping_changes_training_and_no_clipping_changes_nothing():
    X, y, make_net = make_problem()
    plain, huge, clipped = make_net(), make_net(), make_net()
    opts = dict(optimizer=cr.SGD(0.05), epochs=3, batch_size=8, rng=0)
    h_plain = cr.fit(plain, "mse", X, y, **opts)
    opts["optimizer"] = cr.SGD(0.05)
    h_huge = cr.fit(huge, "mse", X, y, clip_norm=1e12, **opts)  # never reached
    opts["optimizer"] = cr.SGD(0.05)
    h_clip = cr.fit(clipped, "mse", X, y, clip_norm=0.1, **opts)
    assert "clipped" not in h_plain
    assert h_huge["clipped"] == [0.0, 0.0, 0.0]
    assert h_huge["loss"] == h_plain["loss"]  # bit for bit: scale >= 1 is never applied
    assert h_clip["loss"] != h_plain["loss"]
    # the logged gradient norms are those before clipping, as without it (first step)
    assert h_clip["grad_norm_0"][0] > 0.1


def test_clipping_in_float32_stays_float32():
    X, y, make_net = make_problem(np.float32)
    net = make_net()
    history = cr.fit(net, "mse", X, y, optimizer=cr.Adam(0.01), epochs=2, clip_norm=0.5, rng=0)
    assert all(p.dtype == np.float32 for _, _, p, _ in net.parameters())
    assert all(math.isfinite(v) for v in history["loss"])


@pytest.mark.parametrize("name", ["clip_norm", "clip_value"])
@pytest.mark.parametrize("bad", [0, -1.0, math.inf, math.nan, True, "1"])
def test_bad_clip_arguments_are_refused_with_the_value(name, bad):
    X, y, make_net = make_problem()
    net = make_net()
    before = [p.copy() for _, _, p, _ in net.parameters()]
    with pytest.raises(ValueError) as info:
        cr.fit(net, "mse", X, y, optimizer=cr.SGD(0.1), epochs=1, **{name: bad})
    assert str(info.value) == (
        f"fit: {name} must be a positive finite number (e.g. {name}=1.0), got {bad!r}; "
        f"pass {name}=None for no clipping."
    )
    assert all(
        np.array_equal(a, p) for a, (_, _, p, _) in zip(before, net.parameters(), strict=True)
    )


def test_clip_norm_and_clip_value_together_are_refused():
    X, y, make_net = make_problem()
    with pytest.raises(ValueError, match=r"pass clip_norm or clip_value, not both \(got "):
        cr.fit(make_net(), "mse", X, y, optimizer=cr.SGD(0.1), epochs=1, clip_norm=1, clip_value=1)


def test_clip_value_clips_the_finite_entries_beside_a_nan_as_torch_does():
    """Review: g.max() is NaN with a NaN entry, which hid the entries to clip."""
    g = np.array([np.nan, 5.0, -7.0, 0.5])
    assert clip_grad_value([g], 1.0) is True
    np.testing.assert_array_equal(g[1:], [1.0, -1.0, 0.5])
    assert np.isnan(g[0])
    torch = pytest.importorskip("torch")
    t = torch.tensor([np.nan, 5.0, -7.0, 0.5], requires_grad=True)
    t.grad = torch.tensor([np.nan, 5.0, -7.0, 0.5])
    torch.nn.utils.clip_grad_value_([t], 1.0)
    np.testing.assert_array_equal(t.grad.numpy()[1:], g[1:])
