"""Numerical extremes: logits of ±1e4 and ±1e30, inputs of 1e30, all-zero inputs,
constant features and a batch of one sample give finite values and gradients, without a
warning, in the layers and losses, through ``fit``, the estimators and the command.

pytest turns every warning into an error (pyproject's filterwarnings), and the engine's
own tests below also run under ``np.errstate(over=..., invalid=..., divide="raise")``,
so a NumPy overflow or 0/0 anywhere fails them. (Underflow to 0, e.g. exp(-1e30), is
the right answer and is allowed.) tests/test_stability.py covers the activations and
the fused losses at ±1e4 and ±745; this file adds 1e30, zeros, constants, one sample,
and the paths through fit, the estimators and the command.

One limit is arithmetic, not a bug: float32 holds numbers up to about 3.4e38, so the
squared error of an output of 1e30 is inf in float32; those cases use 1e18 there.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

import chainrule as cr
from chainrule import MLPClassifier, MLPRegressor
from chainrule.cli import main

DTYPES = [np.float32, np.float64]
RAISE = {"over": "raise", "invalid": "raise", "divide": "raise"}


def inputs(dtype) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 3))
    constant = X.copy()
    constant[:, 1] = 7.0
    return {
        "huge": (X * 1e30).astype(dtype),
        "zeros": np.zeros((6, 3), dtype),
        "constant-feature": constant.astype(dtype),
        "one-sample": X[:1].astype(dtype),
    }


LAYERS = {
    "dense": lambda dtype: cr.Dense(3, 3, rng=0, dtype=dtype),
    "sigmoid": lambda dtype: cr.Sigmoid(),
    "tanh": lambda dtype: cr.Tanh(),
    "relu": lambda dtype: cr.ReLU(),
    "leaky-relu": lambda dtype: cr.LeakyReLU(0.1),
    "elu": lambda dtype: cr.ELU(),
    "softmax": lambda dtype: cr.Softmax(),
    "dropout": lambda dtype: cr.Dropout(0.5, rng=0),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layer", list(LAYERS))
def test_every_layer_at_extreme_inputs(layer, dtype):
    for name, X in inputs(dtype).items():
        lyr = LAYERS[layer](dtype)
        with np.errstate(**RAISE):
            Y, backward = lyr.forward(X, training=True)
            dX = backward(np.ones_like(Y))
        assert Y.dtype == dtype and dX.dtype == dtype, name
        assert np.isfinite(Y).all() and np.isfinite(dX).all(), name
        for g in lyr.grads.values():
            assert np.isfinite(g).all() and g.dtype == dtype, name


def _targets(loss, Y):
    n, k = Y.shape
    if isinstance(loss, cr.CrossEntropy):
        return np.arange(n) % k
    if isinstance(loss, cr.BinaryCrossEntropy):
        return (np.arange(n * k).reshape(n, k) % 2).astype(float)
    return np.zeros((n, k))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "loss",
    [cr.CrossEntropy(), cr.BinaryCrossEntropy(), cr.MeanSquaredError(), cr.MeanAbsoluteError(),
     cr.Huber(0.5)],
    ids=repr,
)  # fmt: skip
@pytest.mark.parametrize("scale", [1e4, 1e30, 0.0])
def test_every_loss_at_extreme_outputs(loss, dtype, scale):
    if isinstance(loss, cr.MeanSquaredError) and dtype == np.float32 and scale == 1e30:
        scale = 1e18  # (1e30)^2 does not exist in float32: see the module docstring
    signs = np.array([[1.0, -1.0, 0.5], [-1.0, 1.0, -0.25], [1.0, 1.0, -1.0]])
    for Y in (signs * scale, signs[:1] * scale):  # three samples, and one
        Y = Y.astype(dtype)
        with np.errstate(**RAISE):
            value, dY = loss(Y, _targets(loss, Y))
        assert np.isfinite(value) and value >= 0
        assert np.isfinite(dY).all() and dY.dtype == dtype


def test_confident_logits_give_exact_losses_and_gradients():
    # A logit 2e30 ahead of the right class: loss 0, gradient 0; behind it: loss 2e30.
    Z = np.array([[1e30, -1e30], [-1e30, 1e30]])
    value, dZ = cr.CrossEntropy()(Z, np.array([0, 0]))
    assert value == pytest.approx(1e30)  # (0 + 2e30) / 2
    np.testing.assert_array_equal(dZ, [[0.0, 0.0], [-0.5, 0.5]])


# ---------------------------------------------------------------------- through fit
def classifier_net(dtype):
    rng = np.random.default_rng(1)
    return cr.Sequential(cr.Dense(3, 8, rng=rng, dtype=dtype), cr.Tanh(),
                         cr.Dense(8, 2, rng=rng, dtype=dtype))  # fmt: skip


@pytest.mark.parametrize("dtype", DTYPES)
def test_fit_at_extremes(dtype):
    rng = np.random.default_rng(2)
    for name, X in inputs(dtype).items():
        X = np.repeat(X, 5, axis=0) if X.shape[0] > 1 else X
        y = (np.arange(X.shape[0]) % 2).astype(int)
        for loss, opt in ((cr.CrossEntropy(), cr.Adam(0.01)), (cr.CrossEntropy(), cr.SGD(0.1))):
            net = classifier_net(dtype)
            history = cr.fit(net, loss, X, y, optimizer=opt, epochs=3, batch_size=4, rng=0)
            assert np.isfinite(history["loss"]).all(), name
            assert all(np.isfinite(p).all() and p.dtype == dtype for _, _, p, _ in net.parameters())
            assert np.isfinite(net.predict(X)).all()
    # Logits of ±1e4 from the start: the fused losses train on without NaN.
    net = classifier_net(dtype)
    net.layers[2].params["W"] *= dtype(1e4)
    X = rng.normal(size=(20, 3)).astype(dtype)
    history = cr.fit(net, cr.CrossEntropy(), X, X[:, 0] > 0, optimizer=cr.Adam(0.01),
                     epochs=3, rng=0)  # fmt: skip
    assert np.isfinite(history["loss"]).all() and np.abs(net.predict(X)).max() > 100


@pytest.mark.parametrize("dtype", DTYPES)
def test_fit_diverges_cleanly_on_inputs_of_1e30(dtype):
    # Plain SGD on unscaled inputs of 1e30 cannot work: it must say so, with finite
    # weights left behind, and never warn or return NaN.
    X = inputs(dtype)["huge"]
    net = cr.Sequential(cr.Dense(3, 4, rng=0, dtype=dtype), cr.ReLU(),
                        cr.Dense(4, 1, rng=1, dtype=dtype))  # fmt: skip
    start = [p.copy() for _, _, p, _ in net.parameters()]
    with pytest.raises(cr.TrainingDivergedError) as info:
        cr.fit(net, cr.MeanSquaredError(), X, np.ones(6), optimizer=cr.SGD(0.1), epochs=5,
               batch_size=None)  # fmt: skip
    err = info.value
    assert f"training diverged in epoch {err.epoch}" in str(err) and "lr=0.1" in str(err)
    assert all(np.isfinite(p).all() for _, _, p, _ in net.parameters())
    if err.epoch == 1:  # rolled back to the start
        for a, (_, _, b, _) in zip(start, net.parameters(), strict=True):
            np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------- the estimators
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("solver", ["adam", "lbfgs", "sgd"])
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_estimators_at_extremes(Estimator, solver, dtype):
    for name, X in inputs(dtype).items():
        X = np.repeat(X, 4, axis=0) if X.shape[0] > 1 else X
        y = np.arange(X.shape[0]) % 2
        est = Estimator(hidden_layer_sizes=(5,), solver=solver, max_iter=10, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            try:
                est.fit(X, y)
            except ValueError as exc:
                # Only inputs of 1e30 fail: with plain SGD, and in a float32 regressor,
                # whose squared error of outputs near 1e30 exceeds float32's range. It
                # says so, and leaves no half-fitted model.
                expected = solver == "sgd" or (Estimator is MLPRegressor and dtype == np.float32)
                assert name == "huge" and expected, (name, exc)
                assert "non-finite" in str(exc) and "the training loss" in str(exc)
                assert not hasattr(est, "coefs_")
                continue
        assert est.coefs_[0].dtype == dtype
        assert all(np.isfinite(W).all() for W in (*est.coefs_, *est.intercepts_)), name
        assert np.isfinite(est.loss_), name
        prediction = est.predict_proba(X) if Estimator is MLPClassifier else est.predict(X)
        assert np.isfinite(prediction).all(), name


# ---------------------------------------------------------------------- the command
def run(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_the_command_on_a_csv_with_a_constant_column_and_huge_values(tmp_path, task):
    rng = np.random.default_rng(4)
    n = 80
    frame = pd.DataFrame({"huge": rng.normal(size=n) * 1e30, "constant": 5.0,
                          "b": rng.normal(size=n)})  # fmt: skip
    frame["target"] = (
        np.where(frame["b"] > 0, "up", "down") if task == "classification" else frame["b"] * 3
    )
    frame.to_csv(tmp_path / "data.csv", index=False)
    code, _, err = run("train", "--data", tmp_path / "data.csv", "--out", tmp_path / "run",
                         "--epochs", "30", "--no-progress", "--no-plots")  # fmt: skip
    assert code == 0, err
    report = json.loads((tmp_path / "run" / "metrics.json").read_text())
    metric = "accuracy" if task == "classification" else "r2"
    for part in ("train", "test"):
        assert np.isfinite(report["metrics"][part][metric])
    assert report["metrics"]["test"][metric] > 0.7  # it learns from b despite the rest
    code, _, err = run("predict", tmp_path / "run" / "model.npz", tmp_path / "data.csv",
                         "--out", tmp_path / "p.csv")  # fmt: skip
    assert code == 0, err
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert len(predictions) == n and not predictions.isna().any().any()
