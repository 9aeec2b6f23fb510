"""Values and gradients compared with PyTorch (when installed), float64, to 1e-7."""

import numpy as np
import pytest

import chainrule as cr
from helpers import rel_error

torch = pytest.importorskip("torch")
F = torch.nn.functional
TOL = 1e-7


def t(a, requires_grad=False):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=requires_grad)


ACTIVATIONS = [
    (cr.Identity(), lambda x: x),
    (cr.Sigmoid(), torch.sigmoid),
    (cr.Tanh(), torch.tanh),
    (cr.ReLU(), F.relu),
    (cr.LeakyReLU(), F.leaky_relu),  # both default to 0.01
    (cr.LeakyReLU(0.3), lambda x: F.leaky_relu(x, 0.3)),
    (cr.ELU(), F.elu),
    (cr.ELU(0.4), lambda x: F.elu(x, alpha=0.4)),
    (cr.GELU(), F.gelu),  # the exact erf form is PyTorch's default
    (cr.Softplus(), F.softplus),  # beta 1, threshold 20
    (cr.Softmax(), lambda x: torch.softmax(x, dim=1)),
]


@pytest.mark.parametrize("layer,ref", ACTIVATIONS, ids=lambda a: repr(a))
@pytest.mark.parametrize("with_zeros", [False, True])
def test_activations_against_torch(layer, ref, with_zeros):
    rng = np.random.default_rng(11)
    X, R = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    if with_zeros:  # the kinks: gradients at exactly 0 must follow PyTorch
        X[:, 0] = 0.0
    Y, backward = layer.forward(X, training=True)
    x = t(X, True)
    y = ref(x)
    (y * t(R)).sum().backward()
    np.testing.assert_allclose(Y, y.detach().numpy(), rtol=1e-12, atol=1e-15)
    assert rel_error(backward(R), x.grad.numpy()) < TOL


def test_dense_against_torch():
    rng = np.random.default_rng(12)
    layer = cr.Dense(5, 3, rng=rng)
    layer.params["b"][:] = rng.normal(size=3)
    X, R = rng.normal(size=(4, 5)), rng.normal(size=(4, 3))
    layer.zero_grad()
    Y, backward = layer.forward(X, training=True)
    dX = backward(R)
    x, W, b = t(X, True), t(layer.params["W"], True), t(layer.params["b"], True)
    y = F.linear(x, W.T, b)
    (y * t(R)).sum().backward()
    np.testing.assert_allclose(Y, y.detach().numpy(), rtol=1e-13)
    assert rel_error(dX, x.grad.numpy()) < TOL
    assert rel_error(layer.grads["W"], W.grad.numpy()) < TOL
    assert rel_error(layer.grads["b"], b.grad.numpy()) < TOL


def _loss_cases(rng):
    Y = rng.normal(scale=3.0, size=(6, 3))
    T = rng.normal(scale=3.0, size=(6, 3))
    T[0, 0] = Y[0, 0]  # a zero residual: MAE's gradient is 0 there, as in PyTorch
    t01 = rng.integers(0, 2, size=(6, 3)).astype(float)
    idx = np.array([0, 2, 1, 1, 2, 0])
    soft = rng.dirichlet(np.ones(3), size=6)
    P = np.exp(Y) / np.exp(Y).sum(1, keepdims=True)
    S = 1 / (1 + np.exp(-Y))
    col, tcol = Y[:, :1], t01[:, 0]  # (n, 1) output with an (n,) target
    return [
        (cr.MeanSquaredError(), Y, T, lambda y: F.mse_loss(y, t(T))),
        (cr.MeanAbsoluteError(), Y, T, lambda y: F.l1_loss(y, t(T))),
        (cr.Huber(), Y, T, lambda y: F.huber_loss(y, t(T))),
        (cr.Huber(2.5), Y, T, lambda y: F.huber_loss(y, t(T), delta=2.5)),
        (cr.BinaryCrossEntropy(), Y, t01, lambda z: F.binary_cross_entropy_with_logits(z, t(t01))),
        (
            cr.BinaryCrossEntropy(),
            col,
            tcol,
            lambda z: F.binary_cross_entropy_with_logits(z, t(tcol).reshape(-1, 1)),
        ),
        (
            cr.BinaryCrossEntropy(from_logits=False),
            S,
            t01,
            lambda p: F.binary_cross_entropy(p, t(t01)),
        ),
        (cr.CrossEntropy(), Y, idx, lambda z: F.cross_entropy(z, torch.tensor(idx))),
        (cr.CrossEntropy(), Y, soft, lambda z: F.cross_entropy(z, t(soft))),
        (
            cr.CrossEntropy(from_logits=False),
            P,
            idx,
            lambda p: F.nll_loss(torch.log(p), torch.tensor(idx)),
        ),
    ]


@pytest.mark.parametrize("case", range(10))
def test_losses_against_torch(case):
    loss, Y, T, ref = _loss_cases(np.random.default_rng(13))[case]
    value, dY = loss(Y, T)
    y = t(Y, True)
    expected = ref(y)
    expected.backward()
    assert value == pytest.approx(expected.item(), rel=1e-12), repr(loss)
    assert rel_error(dY, y.grad.numpy()) < TOL, repr(loss)


def test_extreme_logits_match_torch():
    Z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]])
    idx = np.array([1, 0])
    value, dZ = cr.CrossEntropy()(Z, idx)
    z = t(Z, True)
    ref = F.cross_entropy(z, torch.tensor(idx))
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(dZ, z.grad.numpy(), rtol=1e-12, atol=1e-300)


def test_network_against_torch():
    rng = np.random.default_rng(14)
    net = cr.Sequential(
        cr.Dense(3, 8, rng=rng), cr.ReLU(), cr.Dense(8, 4, rng=rng), cr.Sigmoid(),
        cr.Dense(4, 2, rng=rng),
    )  # fmt: skip
    X, T = rng.normal(size=(9, 3)), rng.normal(size=(9, 2))
    net.zero_grad()
    Y, backward = net.forward(X, training=True)
    value, dY = cr.MeanSquaredError()(Y, T)
    dX = backward(dY)

    x = t(X, True)
    ps = [t(p, True) for _, _, p, _ in net.parameters()]
    W1, b1, W2, b2, W3, b3 = ps
    y = F.linear(torch.sigmoid(F.linear(F.relu(F.linear(x, W1.T, b1)), W2.T, b2)), W3.T, b3)
    ref = F.mse_loss(y, t(T))
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=1e-12)
    assert rel_error(dX, x.grad.numpy()) < TOL
    for (_, _, _, g), p in zip(net.parameters(), ps, strict=True):
        assert rel_error(g, p.grad.numpy()) < TOL
