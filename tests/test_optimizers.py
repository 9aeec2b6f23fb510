"""Optimizers: hand-recomputed update formulas, PyTorch's optimizers, dtypes, state."""

import numpy as np
import pytest

import chainrule as cr

N_STEPS = 6


def make_net(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return cr.Sequential(
        cr.Dense(3, 4, rng=rng, dtype=dtype), cr.Tanh(), cr.Dense(4, 2, rng=rng, dtype=dtype)
    )


def fake_gradient(p, t, k):
    """A gradient that depends on the current parameter (so that errors would compound)
    plus a step-dependent term: g = 0.3 * p + c(t, k)."""
    c = np.random.default_rng(1000 * t + k).normal(size=p.shape)
    return 0.3 * p + c


def set_gradients(net, t):
    for k, (_, _, p, g) in enumerate(net.parameters()):
        g[...] = fake_gradient(p, t, k).astype(p.dtype)


def run_ours(opt, net, n_steps=N_STEPS):
    for t in range(1, n_steps + 1):
        set_gradients(net, t)
        opt.step(net)
    return [p.copy() for _, _, p, _ in net.parameters()]


# --------------------------------------------------------------------------- by hand
def reference(rule, params, n_steps=N_STEPS, states=None, **hp):
    """The update formulas recomputed plainly (no in-place tricks), textbook form.
    ``states``, if a list, receives each parameter's final state (``m``, ``v``, ...)."""
    params = [p.copy() for p in params]
    state = [{} for _ in params]
    if states is not None:
        states.extend(state)
    for t in range(1, n_steps + 1):
        for k, p in enumerate(params):
            g = fake_gradient(p, t, k)
            s = state[k]
            if rule == "sgd":
                mu, lr = hp.get("momentum", 0.0), hp["lr"]
                if mu == 0:
                    p -= lr * g
                    continue
                s["buf"] = g.copy() if t == 1 else mu * s["buf"] + g
                d = g + mu * s["buf"] if hp.get("nesterov") else s["buf"]
                p -= lr * d
            elif rule == "adam":
                b1, b2, eps, lr = hp["beta1"], hp["beta2"], hp["eps"], hp["lr"]
                s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
                s["v"] = b2 * s.get("v", 0) + (1 - b2) * g**2
                m_hat = s["m"] / (1 - b1**t)
                v_hat = s["v"] / (1 - b2**t)
                p -= lr * m_hat / (np.sqrt(v_hat) + eps)
            elif rule == "rmsprop":
                rho, eps, lr = hp["rho"], hp["eps"], hp["lr"]
                s["v"] = rho * s.get("v", 0) + (1 - rho) * g**2
                p -= lr * g / (np.sqrt(s["v"]) + eps)
    return params


CASES = [
    ("sgd", cr.SGD, {"lr": 0.1}),
    ("sgd", cr.SGD, {"lr": 0.05, "momentum": 0.9}),
    ("sgd", cr.SGD, {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    ("adam", cr.Adam, {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
    ("adam", cr.Adam, {"lr": 0.05, "beta1": 0.5, "beta2": 0.9, "eps": 1e-3}),
    ("rmsprop", cr.RMSProp, {"lr": 1e-3, "rho": 0.9, "eps": 1e-8}),
    ("rmsprop", cr.RMSProp, {"lr": 0.02, "rho": 0.5, "eps": 1e-2}),
]


@pytest.mark.parametrize(("rule", "cls", "hp"), CASES)
def test_steps_equal_the_recomputed_formula(rule, cls, hp):
    net = make_net()
    start = [p.copy() for _, _, p, _ in net.parameters()]
    ours = run_ours(cls(**hp), net)
    expected = reference(rule, start, **hp)
    for a, b, a0 in zip(ours, expected, start, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        assert np.abs(a - a0).max() > 1e-4  # every parameter moved


def test_adam_first_step_by_hand():
    # g = 0.5, beta1 = 0.9, beta2 = 0.999, lr = 0.1, eps = 1e-8:
    # m = 0.1 * 0.5 = 0.05, v = 0.001 * 0.25 = 0.00025
    # m_hat = 0.05 / 0.1 = 0.5, v_hat = 0.00025 / 0.001 = 0.25, sqrt(v_hat) = 0.5
    # step = 0.1 * 0.5 / (0.5 + 1e-8) = 0.09999999800000004; W = 1 - step
    layer = cr.Dense(1, 1, rng=0)
    layer.params["W"][...] = 1.0
    layer.grads["W"][...] = 0.5
    opt = cr.Adam(lr=0.1)
    opt.step(layer)
    assert layer.params["W"][0, 0] == pytest.approx(1 - 0.1 * 0.5 / (0.5 + 1e-8), abs=1e-15)
    # b had a zero gradient: m = v = 0, so it does not move
    assert layer.params["b"][0] == 0.0
    state = opt.state_of(layer.params["W"])
    assert state["t"] == 1
    assert state["m"][0, 0] == pytest.approx(0.05) and state["v"][0, 0] == pytest.approx(2.5e-4)


def test_sgd_momentum_buffer_starts_at_the_first_gradient():
    # PyTorch's convention: buf_1 = g_1 (not (1 - mu) g_1, not mu * 0 + g_1 with dampening)
    layer = cr.Dense(1, 1, rng=0)
    layer.params["W"][...] = 0.0
    opt = cr.SGD(lr=1.0, momentum=0.5)
    layer.grads["W"][...] = 2.0
    opt.step(layer)  # buf = 2, W = 0 - 2 = -2
    assert layer.params["W"][0, 0] == -2.0
    layer.grads["W"][...] = 1.0
    opt.step(layer)  # buf = 0.5 * 2 + 1 = 2, W = -2 - 2 = -4
    assert layer.params["W"][0, 0] == -4.0
    opt = cr.SGD(lr=1.0, momentum=0.5, nesterov=True)
    layer.params["W"][...] = 0.0
    layer.grads["W"][...] = 2.0
    opt.step(layer)  # buf = 2, d = 2 + 0.5 * 2 = 3
    assert layer.params["W"][0, 0] == -3.0


def test_rmsprop_first_step_by_hand():
    # v = 0.1 * g^2 = 0.1 * 4 = 0.4; step = lr * 2 / (sqrt(0.4) + eps)
    layer = cr.Dense(1, 1, rng=0)
    layer.params["W"][...] = 0.0
    layer.grads["W"][...] = 2.0
    cr.RMSProp(lr=0.01).step(layer)
    assert layer.params["W"][0, 0] == pytest.approx(-0.01 * 2 / (np.sqrt(0.4) + 1e-8), abs=1e-15)


# --------------------------------------------------------------------------- PyTorch
@pytest.mark.parametrize(("rule", "cls", "hp"), CASES)
def test_steps_equal_pytorch(rule, cls, hp):
    torch = pytest.importorskip("torch")
    net = make_net()
    start = [p.copy() for _, _, p, _ in net.parameters()]
    ours = run_ours(cls(**hp), net)

    tparams = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in start]
    if rule == "sgd":
        topt = torch.optim.SGD(
            tparams,
            lr=hp["lr"],
            momentum=hp.get("momentum", 0.0),
            dampening=0.0,
            nesterov=hp.get("nesterov", False),
        )
    elif rule == "adam":
        topt = torch.optim.Adam(
            tparams, lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"]
        )
    else:
        topt = torch.optim.RMSprop(
            tparams, lr=hp["lr"], alpha=hp["rho"], eps=hp["eps"], centered=False, momentum=0
        )
    for t in range(1, N_STEPS + 1):
        for k, tp in enumerate(tparams):
            tp.grad = torch.from_numpy(fake_gradient(tp.detach().numpy().copy(), t, k))
        topt.step()
    for a, tp in zip(ours, tparams, strict=True):
        np.testing.assert_allclose(a, tp.detach().numpy(), rtol=0, atol=1e-10)


def test_training_trajectory_equals_pytorch_with_real_gradients():
    """A whole small training run: our backprop + Adam against torch's autograd + Adam."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(16, 3))
    y = rng.integers(0, 2, size=16)
    net = make_net(seed=4)
    W1, b1, W2, b2 = (torch.tensor(p.copy(), requires_grad=True) for _, _, p, _ in net.parameters())
    opt, topt = cr.Adam(lr=0.05), torch.optim.Adam([W1, b1, W2, b2], lr=0.05)
    loss = cr.CrossEntropy()
    for _ in range(10):
        Y, backward = net.forward(X, training=True)
        _, dY = loss(Y, y)
        net.zero_grad()
        backward(dY)
        opt.step(net)
        topt.zero_grad()
        Z = torch.tanh(torch.from_numpy(X) @ W1 + b1) @ W2 + b2
        torch.nn.functional.cross_entropy(Z, torch.from_numpy(y)).backward()
        topt.step()
    for (_, _, p, _), tp in zip(net.parameters(), (W1, b1, W2, b2), strict=True):
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=0, atol=1e-10)


# --------------------------------------------------------------------------- mechanics
@pytest.mark.parametrize("cls", [cr.SGD, cr.Adam, cr.RMSProp])
def test_float32_stays_float32(cls):
    net = make_net(np.float32)
    opt = cls(lr=0.01, momentum=0.9) if cls is cr.SGD else cls(lr=0.01)
    start = [p.copy() for _, _, p, _ in net.parameters()]
    run_ours(opt, net)
    for (_, _, p, g), p0 in zip(net.parameters(), start, strict=True):
        assert p.dtype == np.float32 and g.dtype == np.float32
        assert not np.array_equal(p, p0)
        for key, value in opt.state_of(p).items():
            if key != "t":
                assert value.dtype == np.float32, key
    # and the float32 result follows the float64 formula to float32 accuracy
    net64 = make_net(np.float64)
    opt64 = cls(lr=0.01, momentum=0.9) if cls is cr.SGD else cls(lr=0.01)
    for a, b in zip([p for _, _, p, _ in net.parameters()], run_ours(opt64, net64), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls", [cr.SGD, cr.Adam, cr.RMSProp])
def test_updates_are_in_place_and_seen_by_backward_closures(cls):
    net = make_net()
    arrays = [p for _, _, p, _ in net.parameters()]
    dense = cr.Dense(3, 2, rng=1)
    W = dense.params["W"]
    W_before = W.copy()
    _, backward = dense.forward(np.ones((2, 3)), training=True)
    dense.grads["W"][...] = 1.0
    cls(lr=0.1).step(dense)
    set_gradients(net, 1)
    cls(lr=0.1).step(net)
    # the very same arrays were updated (no array was replaced) ...
    assert dense.params["W"] is W and not np.array_equal(W, W_before)
    assert all(a is p for a, (_, _, p, _) in zip(arrays, net.parameters(), strict=True))
    # ... so the closure from before the step computes dX = dY @ W.T with the new W
    dY = np.ones((2, 2))
    np.testing.assert_array_equal(backward(dY), dY @ W.T)


def test_step_on_a_single_layer_equals_step_on_a_sequential():
    a, b = cr.Dense(3, 2, rng=5), cr.Dense(3, 2, rng=5)
    for layer in (a, b):
        layer.grads["W"][...] = 1.5
        layer.grads["b"][...] = -0.5
    cr.Adam(0.1).step(a)
    cr.Adam(0.1).step(cr.Sequential(b))
    np.testing.assert_array_equal(a.params["W"], b.params["W"])
    np.testing.assert_array_equal(a.params["b"], b.params["b"])


def test_state_is_per_parameter_and_reset_state_forgets_it():
    net = make_net()
    opt = cr.Adam(0.01)
    run_ours(opt, net, n_steps=3)
    W = net.layers[0].params["W"]
    state = opt.state_of(W)
    assert state["t"] == 3 and state["m"].shape == W.shape and state["v"].shape == W.shape
    assert opt.state_of(np.zeros(3)) == {}
    opt.reset_state()
    assert opt.state_of(W) == {}
    opt.step(net)
    assert opt.state_of(W)["t"] == 1


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adam_shows_the_textbook_moments(dtype):
    # Adam keeps m / (1 - beta1) and v / (1 - beta2) internally; state_of shows m and v.
    hp = {"lr": 0.05, "beta1": 0.5, "beta2": 0.9, "eps": 1e-3}
    net = make_net(dtype)
    start = [p.astype(np.float64) for _, _, p, _ in net.parameters()]
    opt = cr.Adam(**hp)
    run_ours(opt, net)
    expected = []
    reference("adam", start, states=expected, **hp)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for (_, _, p, _), s in zip(net.parameters(), expected, strict=True):
        shown = opt.state_of(p)
        assert shown["t"] == N_STEPS and shown["m"].dtype == shown["v"].dtype == dtype
        np.testing.assert_allclose(shown["m"], s["m"], rtol=tol, atol=tol)
        np.testing.assert_allclose(shown["v"], s["v"], rtol=tol, atol=tol)


def test_adam_betas_are_fixed_at_construction():
    opt = cr.Adam(beta1=0.8)
    assert (opt.beta1, opt.beta2) == (0.8, 0.999)
    with pytest.raises(AttributeError, match="beta1"):
        opt.beta1 = 0.5


def test_no_momentum_sgd_keeps_no_buffer():
    net = make_net()
    opt = cr.SGD(0.1)
    run_ours(opt, net, n_steps=2)
    assert set(opt.state_of(net.layers[0].params["W"])) == {"t"}


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: cr.SGD(0.0), "lr"),
        (lambda: cr.SGD(-0.1), "lr"),
        (lambda: cr.SGD(float("nan")), "lr"),
        (lambda: cr.SGD(0.1, momentum=1.0), "momentum"),
        (lambda: cr.SGD(0.1, momentum=-0.1), "momentum"),
        (lambda: cr.SGD(0.1, nesterov=True), "nesterov"),
        (lambda: cr.Adam(beta1=1.0), "beta1"),
        (lambda: cr.Adam(beta2=-0.5), "beta2"),
        (lambda: cr.Adam(eps=-1e-8), "eps"),
        (lambda: cr.RMSProp(rho=1.5), "rho"),
    ],
)
def test_bad_hyperparameters_are_refused(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_step_refuses_what_is_not_a_network():
    with pytest.raises(TypeError, match="Sequential or layer"):
        cr.SGD(0.1).step([np.zeros(3)])


def test_lr_attribute_is_used_by_the_next_step():
    layer = cr.Dense(1, 1, rng=0)
    layer.params["W"][...] = 0.0
    layer.grads["W"][...] = 1.0
    opt = cr.SGD(0.1)
    opt.lr = 0.25
    opt.step(layer)
    assert layer.params["W"][0, 0] == -0.25
    assert opt.lr0 == 0.1
    assert repr(opt) == "SGD(lr=0.1, momentum=0.0, nesterov=False)"
