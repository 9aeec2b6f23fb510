"""AdamW, MulticlassHinge, GELU and Softplus: against PyTorch, central differences,
save/load, explain, and their edge cases."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from helpers import numeric_grad, rel_error


def torch_or_skip():
    return pytest.importorskip("torch")


# ------------------------------------------------------------------- AdamW
@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-10), (np.float32, 1e-5)])
@pytest.mark.parametrize("weight_decay", [1e-2, 0.3, 0.0])
def test_adamw_equals_torch_over_several_steps(dtype, rtol, weight_decay):
    torch = torch_or_skip()
    rng = np.random.default_rng(5)
    net = cr.Sequential(
        cr.Dense(3, 4, rng=rng, dtype=dtype), cr.Tanh(), cr.Dense(4, 2, rng=rng, dtype=dtype)
    )
    for _, _, p, _ in net.parameters():
        p[...] = rng.normal(size=p.shape)  # biases too: decay applies to them
    params = [torch.tensor(p.copy(), requires_grad=True) for _, _, p, _ in net.parameters()]
    opt = cr.AdamW(lr=0.05, weight_decay=weight_decay)
    ref = torch.optim.AdamW(params, lr=0.05, weight_decay=weight_decay)
    for _ in range(6):
        for (_, _, _, g), q in zip(net.parameters(), params, strict=True):
            g[...] = rng.normal(size=g.shape)
            q.grad = torch.tensor(g.copy())
        opt.step(net)
        ref.step()
    for (_, _, p, _), q in zip(net.parameters(), params, strict=True):
        assert p.dtype == dtype
        np.testing.assert_allclose(p, q.detach().numpy(), rtol=rtol, atol=rtol)


def test_adamw_without_decay_is_adam_and_decays_biases():
    rng = np.random.default_rng(1)
    W = rng.normal(size=(3, 2))
    layers = [cr.Dense(3, 2, rng=0) for _ in range(3)]
    for layer in layers:
        layer.params["W"][...] = W
        layer.params["b"][...] = 1.0
        layer.grads["W"][...] = 0.5
        layer.grads["b"][...] = 0.0  # a zero gradient: only the decay moves b
    cr.Adam(0.1).step(layers[0])
    cr.AdamW(0.1, weight_decay=0.0).step(layers[1])
    cr.AdamW(0.1, weight_decay=0.5).step(layers[2])
    np.testing.assert_array_equal(layers[0].params["W"], layers[1].params["W"])
    # b: 1 * (1 - lr * wd) = 0.95, then Adam's step on a zero gradient moves nothing
    np.testing.assert_allclose(layers[2].params["b"], 0.95, rtol=1e-15)


def test_adamw_arguments_and_repr():
    assert repr(cr.AdamW()) == (
        "AdamW(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08, weight_decay=0.01)"
    )
    with pytest.raises(ValueError, match=r"weight_decay must be >= 0, got -1"):
        cr.AdamW(weight_decay=-1)
    with pytest.raises(ValueError, match=r"weight_decay must be a finite number, got nan"):
        cr.AdamW(weight_decay=float("nan"))


def test_fit_with_adamw_trains():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    net = cr.Sequential(cr.Dense(2, 16, rng=1), cr.ReLU(), cr.Dense(16, 2, rng=2))
    history = cr.fit(
        net,
        cr.CrossEntropy(),
        X,
        y,
        optimizer=cr.AdamW(0.02),
        epochs=60,
        rng=0,
        metrics=["accuracy"],
    )
    assert history["accuracy"][-1] > 0.9


# ------------------------------------------------------------------- MulticlassHinge
def hinge_by_loops(S, y, margin=1.0):
    """CS231n's svm_loss_naive: two loops over samples and classes."""
    n, k = S.shape
    L, dS = 0.0, np.zeros_like(S)
    for i in range(n):
        for j in range(k):
            if j == y[i]:
                continue
            m = S[i, j] - S[i, y[i]] + margin
            if m > 0:
                L += m
                dS[i, j] += 1
                dS[i, y[i]] -= 1
    return L / n, dS / n


@pytest.mark.parametrize("n", [1, 2, 17])
@pytest.mark.parametrize("margin", [1.0, 0.3])
def test_hinge_equals_naive_loops_central_differences_and_torch(n, margin):
    torch = torch_or_skip()
    rng = np.random.default_rng(n)
    k = 4
    S, y = rng.normal(size=(n, k)), rng.integers(0, k, size=n)
    value, dS = cr.MulticlassHinge(margin)(S, y)
    L_ref, dS_ref = hinge_by_loops(S, y, margin)
    assert value == pytest.approx(L_ref, rel=1e-14)
    np.testing.assert_allclose(dS, dS_ref, rtol=1e-14)
    numeric = numeric_grad(lambda: cr.MulticlassHinge(margin)(S, y)[0], S)
    assert rel_error(dS, numeric) < 1e-7
    s = torch.tensor(S, requires_grad=True)
    torch_loss = torch.nn.MultiMarginLoss(margin=margin)(s, torch.tensor(y))
    (k * torch_loss).backward()  # ours is C = k times MultiMarginLoss
    assert value == pytest.approx(k * torch_loss.item(), rel=1e-14)
    assert rel_error(dS, s.grad.numpy()) < 1e-7


def test_hinge_subgradient_at_the_kink_matches_torch():
    torch = torch_or_skip()
    # margins exactly 0: s_j - s_y + 1 = 0 for j = 1 in row 0, and for both in row 1
    S = np.array([[1.0, 0.0, -5.0], [2.0, 1.0, 1.0]])
    y = np.array([0, 0])
    value, dS = cr.MulticlassHinge()(S, y)
    s = torch.tensor(S, requires_grad=True)
    (3 * torch.nn.MultiMarginLoss()(s, torch.tensor(y))).backward()
    assert value == 0.0
    np.testing.assert_array_equal(dS, s.grad.numpy())
    np.testing.assert_array_equal(dS, np.zeros_like(S))


def test_hinge_one_hot_targets_equal_indices_and_float32_stays_float32():
    rng = np.random.default_rng(3)
    S, y = rng.normal(size=(6, 3)).astype(np.float32), np.array([0, 2, 1, 1, 0, 2])
    v1, d1 = cr.MulticlassHinge()(S, y)
    v2, d2 = cr.MulticlassHinge()(S, np.eye(3)[y])
    assert v1 == v2 and d1.dtype == np.float32
    np.testing.assert_array_equal(d1, d2)
    w = rng.uniform(size=6)
    vw, _ = cr.MulticlassHinge()(S.astype(np.float64), y, w)
    per_sample = [
        cr.MulticlassHinge()(S[i : i + 1].astype(np.float64), y[i : i + 1])[0] for i in range(6)
    ]
    assert vw == pytest.approx(np.dot(w, per_sample) / w.sum(), rel=1e-12)


@pytest.mark.parametrize("targets", ["indices", "onehot"])
def test_weighted_hinge_against_central_differences(targets):
    rng = np.random.default_rng(8)
    S, y, w = rng.normal(size=(7, 5)), rng.integers(0, 5, size=7), rng.uniform(0.1, 2, 7)
    T = y if targets == "indices" else np.eye(5)[y]
    _, dS = cr.MulticlassHinge(0.5)(S, T, w)
    assert rel_error(dS, numeric_grad(lambda: cr.MulticlassHinge(0.5)(S, T, w)[0], S)) < 1e-7


def test_losses_take_extreme_sample_weights_as_their_ratios():
    rng = np.random.default_rng(9)
    S, y, w = rng.normal(size=(7, 5)), rng.integers(0, 5, size=7), rng.uniform(0.1, 2, 7)
    for loss in (cr.MulticlassHinge(), cr.CrossEntropy()):
        value, dS = loss(S, y, w)
        for factor in (1e307, 1e-300):
            big_value, big_dS = loss(S, y, w * factor)
            assert big_value == pytest.approx(value, rel=1e-12)
            np.testing.assert_allclose(big_dS, dS, rtol=1e-12)


def test_gradcheck_command_takes_the_new_activations():
    import subprocess
    import sys

    for name in ("gelu", "softplus"):
        out = subprocess.run(
            [sys.executable, "-m", "chainrule", "gradcheck", "--activation", name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "overall: excellent" in out, out


@pytest.mark.parametrize(
    "T, message",
    [
        (
            np.array([0, 3]),
            r"MulticlassHinge: class index 3 \(sample 1\) is out of range for 3 classes; "
            r"indices must lie in 0..2",
        ),
        (np.array([0.5, 1]), "MulticlassHinge: class indices must be whole numbers."),
        (np.array([[0.5, 0.5, 0.0], [1, 0, 0]]), "must be one-hot rows; row 0 is"),
        (np.array([0, 1, 2]), r"targets of shape \(3,\) do not suit scores of shape \(2, 3\)"),
    ],
)
def test_hinge_bad_targets(T, message):
    with pytest.raises(ValueError, match=message):
        cr.MulticlassHinge()(np.zeros((2, 3)), T)


@pytest.mark.parametrize("margin", [0, -1, float("inf"), True, "1"])
def test_hinge_bad_margin(margin):
    with pytest.raises(ValueError, match=r"margin must be a positive finite number \(e.g. 1.0\)"):
        cr.MulticlassHinge(margin)


def test_fit_with_hinge_learns_and_by_name():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2))
    y = np.digitize(X[:, 0], [-0.5, 0.5])
    net = cr.Sequential(cr.Dense(2, 3, rng=1))
    history = cr.fit(
        net, "multiclass_hinge", X, y, optimizer=cr.SGD(0.2), epochs=40, rng=0, metrics=["accuracy"]
    )
    assert history["accuracy"][-1] > 0.9
    assert repr(cr.losses.get_loss("multiclass_hinge")) == "MulticlassHinge(margin=1.0)"


# ------------------------------------------------------------------- GELU, Softplus
def torch_refs():
    torch = torch_or_skip()
    return {
        "GELU": torch.nn.functional.gelu,
        "Softplus": torch.nn.functional.softplus,
    }


@pytest.mark.parametrize("name", ["GELU", "Softplus"])
@pytest.mark.parametrize("n", [1, 2, 9])
def test_activation_equals_torch_and_central_differences(name, n):
    torch = torch_or_skip()
    rng = np.random.default_rng(n)
    X, R = 3 * rng.normal(size=(n, 4)), rng.normal(size=(n, 4))
    X[0, :3] = [0.0, 20.0, 20.5]  # 0, and either side of Softplus's threshold
    layer = getattr(cr, name)()
    Y, backward = layer.forward(X, training=True)
    dX = backward(R)
    x = torch.tensor(X, requires_grad=True)
    y = torch_refs()[name](x)
    (y * torch.tensor(R)).sum().backward()
    np.testing.assert_allclose(Y, y.detach().numpy(), rtol=1e-14, atol=1e-15)
    assert rel_error(dX, x.grad.numpy()) < 1e-7
    Xc = X.copy()
    Xc[0, 1:3] = [19.0, 22.0]  # central differences away from the threshold's jump
    dXc = layer.forward(Xc, training=True)[1](R)
    numeric = numeric_grad(lambda: float(np.sum(R * layer.forward(Xc)[0])), Xc)
    assert rel_error(dXc, numeric) < 1e-7


@pytest.mark.parametrize("name", ["GELU", "Softplus"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_is_stable_at_the_extremes(name, dtype):
    torch = torch_or_skip()
    X = np.array([[-1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            Y, backward = getattr(cr, name)().forward(X, training=True)
            dX = backward(np.ones_like(X))
    assert Y.dtype == dtype and dX.dtype == dtype
    assert np.isfinite(Y).all() and np.isfinite(dX).all()
    x = torch.tensor(X, requires_grad=True)
    torch_refs()[name](x).sum().backward()
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(Y, torch_refs()[name](torch.tensor(X)).numpy(), rtol=rtol)
    np.testing.assert_allclose(dX, x.grad.numpy(), rtol=rtol, atol=1e-30)


def test_new_layers_round_trip_through_save_and_load(tmp_path):
    rng = np.random.default_rng(0)
    net = cr.Sequential(
        cr.Dense(3, 4, rng=rng),
        cr.GELU(),
        cr.Dense(4, 4, rng=rng),
        cr.Softplus(),
        cr.Dense(4, 2, rng=rng),
    )
    cr.save(net, tmp_path / "net.npz")
    back = cr.load(tmp_path / "net.npz")
    assert [type(layer) for layer in back.layers] == [type(layer) for layer in net.layers]
    X = rng.normal(size=(5, 3))
    np.testing.assert_array_equal(back.forward(X)[0], net.forward(X)[0])


def test_explain_traces_the_new_activations_and_the_hinge():
    rng = np.random.default_rng(0)
    net = cr.Sequential(
        cr.Dense(3, 4, rng=rng),
        cr.GELU(),
        cr.Dense(4, 4, rng=rng),
        cr.Softplus(),
        cr.Dense(4, 3, rng=rng),
    )
    text = str(
        cr.explain(net, cr.MulticlassHinge(), rng.normal(size=(4, 3)), np.array([0, 1, 2, 1]))
    )
    for formula in [
        "A1 = Z1 * Phi(Z1)",
        "A2 = log(1 + exp(Z2))",
        "dZ1 = dA1 * (Phi(Z1) + Z1 * phi(Z1))",
        "dZ2 = dA2 * sigmoid(Z2)",
        "max(0, Z3[i, j] - Z3[i, y_i] + margin)",
    ]:
        assert formula in text


def test_the_numbers_in_the_gelu_and_softplus_docstrings():
    X = np.linspace(-3, 3, 600001)[None, :]
    Y = cr.GELU().forward(X)[0][0]
    i = np.argmin(Y)
    assert Y[i] == pytest.approx(-0.17, abs=0.005) and X[0, i] == pytest.approx(-0.75, abs=0.005)
    # above the threshold 20, log1p(exp(X)) - X = log1p(exp(-X)) < 2.1e-9
    assert 0 < np.log1p(np.exp(-20.0)) < 2.1e-9
