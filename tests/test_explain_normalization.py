"""explain() on batch norm and layer norm: mu, var, X_hat and the three backward paths,
checked against values computed here from the staged (textbook) derivation."""

import numpy as np
import pytest

import chainrule as cr
from helpers import numeric_grad


def network(rng):
    bn, ln = cr.BatchNorm(3), cr.LayerNorm(2)
    for layer in (bn, ln):
        layer.params["gamma"][:] = rng.uniform(0.5, 2, size=layer.n_features)
        layer.params["beta"][:] = rng.normal(size=layer.n_features)
    return cr.Sequential(cr.Dense(2, 3, rng=rng), bn, cr.ReLU(), cr.Dense(3, 2, rng=rng), ln)


def staged_paths(Z, dN, gamma, eps, axis):
    """The three paths, each from the staged derivation (dL/dvar and dL/dmu first)."""
    n = Z.shape[axis]
    mu = Z.mean(axis=axis, keepdims=True)
    var = ((Z - mu) ** 2).mean(axis=axis, keepdims=True)
    dX_hat = dN * gamma
    dvar = np.sum(dX_hat * (Z - mu), axis=axis, keepdims=True) * -0.5 * (var + eps) ** -1.5
    dmu = np.sum(-dX_hat / np.sqrt(var + eps), axis=axis, keepdims=True)
    dmu += dvar * np.mean(-2 * (Z - mu), axis=axis, keepdims=True)  # 0, kept for honesty
    direct = dX_hat / np.sqrt(var + eps)
    via_mu = np.broadcast_to(dmu / n, Z.shape)
    via_var = dvar * 2 * (Z - mu) / n
    return mu, var, (Z - mu) / np.sqrt(var + eps), dX_hat, direct, via_mu, via_var


def test_batch_norm_and_layer_norm_quantities_equal_the_staged_derivation():
    rng = np.random.default_rng(0)
    net = network(rng)
    X, y = rng.normal(size=(4, 2)), np.array([0, 1, 1, 0])
    running = net.layers[1].buffers["running_mean"].copy()
    e = cr.explain(net, cr.CrossEntropy(), X, y, lr=0.1)
    np.testing.assert_array_equal(net.layers[1].buffers["running_mean"], running)  # a copy ran

    dense1, bn, dense2, ln = net.layers[0], net.layers[1], net.layers[3], net.layers[4]
    Z1 = X @ dense1.params["W"] + dense1.params["b"]
    N1 = bn.forward(Z1, training=True)[0]
    Z2 = np.maximum(N1, 0) @ dense2.params["W"] + dense2.params["b"]
    N2 = ln.forward(Z2, training=True)[0]
    P = np.exp(N2) / np.exp(N2).sum(axis=1, keepdims=True)
    dN2 = (P - np.eye(2)[y]) / 4

    mu, var, Z_hat, dX_hat, direct, via_mu, via_var = staged_paths(
        Z2, dN2, ln.params["gamma"], ln.eps, axis=1
    )
    tol = {"rtol": 1e-10, "atol": 1e-13}
    np.testing.assert_allclose(e["mu2"], mu.ravel(), **tol)
    np.testing.assert_allclose(e["var2"], var.ravel(), **tol)
    np.testing.assert_allclose(e["Z2_hat"], Z_hat, **tol)
    np.testing.assert_allclose(e["N2"], N2, **tol)
    np.testing.assert_allclose(e["dgamma2"], (dN2 * Z_hat).sum(axis=0), **tol)
    np.testing.assert_allclose(e["dbeta2"], dN2.sum(axis=0), **tol)
    np.testing.assert_allclose(e["dZ2_hat"], dX_hat, **tol)
    np.testing.assert_allclose(e["dZ2_direct"], direct, **tol)
    np.testing.assert_allclose(e["dZ2_via_mu"], via_mu, **tol)
    np.testing.assert_allclose(e["dZ2_via_var"], via_var, **tol)
    dZ2 = direct + via_mu + via_var
    np.testing.assert_allclose(e["dZ2"], dZ2, **tol)

    # batch norm, two layers further down: its upstream gradient comes through ReLU
    dN1 = (dZ2 @ dense2.params["W"].T) * (N1 > 0)
    mu, var, Z_hat, dX_hat, direct, via_mu, via_var = staged_paths(
        Z1, dN1, bn.params["gamma"], bn.eps, axis=0
    )
    np.testing.assert_allclose(e["mu1"], mu.ravel(), **tol)
    np.testing.assert_allclose(e["var1"], var.ravel(), **tol)
    np.testing.assert_allclose(e["Z1_hat"], Z_hat, **tol)
    np.testing.assert_allclose(e["dZ1_direct"], direct, **tol)
    np.testing.assert_allclose(e["dZ1_via_mu"], via_mu, **tol)
    np.testing.assert_allclose(e["dZ1_via_var"], via_var, **tol)
    np.testing.assert_allclose(e["dZ1"], direct + via_mu + via_var, **tol)
    np.testing.assert_allclose(e["gamma1_new"], bn.params["gamma"] - 0.1 * e["dgamma1"])

    # and dZ1 is the true gradient: central differences through the whole network
    def loss_of_Z1():
        N = bn.forward(Z1, training=True)[0]
        out = ln.forward(np.maximum(N, 0) @ dense2.params["W"] + dense2.params["b"], True)[0]
        return cr.CrossEntropy()(out, y)[0]

    np.testing.assert_allclose(e["dZ1"], numeric_grad(loss_of_Z1, Z1), rtol=1e-6, atol=1e-9)


def test_trace_reads_well_in_text_and_markdown():
    rng = np.random.default_rng(1)
    net = cr.Sequential(cr.Dense(2, 3, rng=rng), cr.ReLU(), cr.BatchNorm(3, affine=False))
    e = cr.explain(net, cr.MeanSquaredError(), rng.normal(size=(3, 2)), rng.normal(size=(3, 3)))
    text = str(e)
    for line in (
        "mu1 = mean(A1, axis=0)",
        "var1 = mean((A1 - mu1)**2, axis=0)",
        "A1_hat = (A1 - mu1) / sqrt(var1 + 1e-05)",
        "N1 = A1_hat",
        "dA1_via_mu = -mean(dA1_hat, axis=0) / sqrt(var1 + 1e-05)",
        "dA1 = dA1_direct + dA1_via_mu + dA1_via_var",
    ):
        assert line in text
    assert "dgamma" not in text  # affine=False: nothing to learn
    md = e.to_markdown()
    assert r"\mu_{1} = \mathrm{mean}(A_{1})" in md
    assert r"\partial A_{1}^{(3)}" in md


@pytest.mark.parametrize("first", [cr.BatchNorm, cr.LayerNorm])
def test_normalising_the_input_and_two_in_a_row(first):
    rng = np.random.default_rng(2)
    net = cr.Sequential(first(2), cr.LayerNorm(2), cr.Dense(2, 2, rng=rng))
    e = cr.explain(net, cr.CrossEntropy(), rng.normal(size=(3, 2)), np.array([0, 1, 0]))
    names = [s.name for s in e.steps if s.phase == "forward"]
    # the input is named X (the lessons' name), its normalised form X_hat
    assert names[:8] == ["mu0", "var0", "X_hat", "N0", "mu0'", "var0'", "N0_hat", "N0'"]
    assert "dX" in [s.name for s in e.steps]


def test_integer_input_to_a_first_batch_norm():
    net = cr.Sequential(cr.BatchNorm(2), cr.Dense(2, 1, rng=0))
    e = cr.explain(net, cr.MeanSquaredError(), [[1, 2], [3, 5], [4, 4]], np.zeros(3))
    np.testing.assert_allclose(e["mu0"], [8 / 3, 11 / 3])
    assert e["X_hat"].dtype == np.float64


def test_the_loss_after_the_step_uses_the_batch_statistics_of_the_step():
    """With a tiny learning rate the loss after the step equals the loss before it
    (inference mode would use running statistics that have seen one batch)."""
    net = cr.Sequential(cr.Dense(3, 4, rng=0), cr.BatchNorm(4), cr.ReLU(), cr.Dense(4, 2, rng=1))
    X = np.random.default_rng(3).normal(size=(6, 3)) * 3 + 2
    e = cr.explain(net, cr.CrossEntropy(), X, np.array([0, 1, 1, 0, 1, 0]), lr=1e-12)
    assert abs(e.loss_after - e.loss_value) < 1e-9, (e.loss_value, e.loss_after)
