"""float32 stays float32 everywhere; float64 stays float64; nothing upcasts silently."""

import numpy as np
import pytest

import chainrule as cr
from helpers import ACTIVATIONS

LOSSES = [
    (cr.MeanSquaredError(), "reg"),
    (cr.MeanAbsoluteError(), "reg"),
    (cr.Huber(), "reg"),
    (cr.BinaryCrossEntropy(), "bin"),
    (cr.BinaryCrossEntropy(from_logits=False), "binp"),
    (cr.CrossEntropy(), "idx"),
    (cr.CrossEntropy(from_logits=False), "idxp"),
    (cr.MulticlassHinge(), "idx"),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_network_keeps_its_dtype_end_to_end(dtype):
    rng = np.random.default_rng(0)
    net = cr.Sequential(
        cr.Dense(4, 5, rng=rng, dtype=dtype), cr.ELU(), cr.Dense(5, 3, rng=rng, dtype=dtype)
    )
    X = rng.normal(size=(6, 4)).astype(dtype)
    Y, backward = net.forward(X, training=True)
    _, dY = cr.CrossEntropy()(Y, np.array([0, 1, 2, 0, 1, 2]))
    dX = backward(dY)
    assert Y.dtype == dY.dtype == dX.dtype == dtype
    for _, _, p, g in net.parameters():
        assert p.dtype == g.dtype == dtype


@pytest.mark.parametrize("make", ACTIVATIONS)
def test_activations_keep_float32(make):
    X = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32)
    Y, backward = make().forward(X, training=True)
    assert Y.dtype == np.float32
    assert backward(np.ones_like(Y)).dtype == np.float32


@pytest.mark.parametrize("loss,kind", LOSSES, ids=lambda x: repr(x))
@pytest.mark.parametrize("weighted", [False, True])
def test_losses_keep_float32(loss, kind, weighted):
    rng = np.random.default_rng(2)
    Y = rng.normal(size=(5, 3)).astype(np.float32)
    if kind.endswith("p"):
        Y = np.exp(Y) / np.exp(Y).sum(1, keepdims=True) if kind == "idxp" else 1 / (1 + np.exp(-Y))
    T = {
        "reg": rng.normal(size=(5, 3)),  # float64 targets are cast to the output's dtype
        "bin": rng.integers(0, 2, size=(5, 3)),
        "binp": rng.integers(0, 2, size=(5, 3)),
        "idx": rng.integers(0, 3, size=5),
        "idxp": rng.integers(0, 3, size=5),
    }[kind]
    w = rng.uniform(size=5) if weighted else None  # float64 weights too
    value, dY = loss(Y.astype(np.float32), T, w)
    assert dY.dtype == np.float32
    assert isinstance(value, float)


def test_float32_matches_float64_closely():
    rng = np.random.default_rng(3)
    net64 = cr.Sequential(cr.Dense(4, 8, rng=rng), cr.Tanh(), cr.Dense(8, 2, rng=rng))
    import copy

    net32 = copy.deepcopy(net64).astype(np.float32)
    X = rng.normal(size=(10, 4))
    np.testing.assert_allclose(net32.predict(X.astype(np.float32)), net64.predict(X), rtol=1e-5)


def test_integer_inputs_are_converted_but_other_floats_refused():
    net = cr.Sequential(cr.Dense(2, 1, rng=0, dtype=np.float32))
    assert net.predict(np.array([[0, 1], [1, 0]])).dtype == np.float32
    with pytest.raises(TypeError, match=r"X is float64 but the parameters are float32.*astype"):
        net.predict(np.zeros((1, 2)))


def test_astype_converts_parameters_and_gradients():
    net = cr.Sequential(cr.Dense(2, 3, rng=0), cr.ReLU(), cr.Dense(3, 1, rng=0))
    assert net.dtype == np.float64
    net.astype(np.float32)
    assert net.dtype == np.float32
    assert all(p.dtype == g.dtype == np.float32 for _, _, p, g in net.parameters())
    with pytest.raises(TypeError, match=r"float32 or np\.float64"):
        net.astype(np.int32)
