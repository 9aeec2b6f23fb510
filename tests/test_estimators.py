"""MLPClassifier / MLPRegressor: the API, the math and the behaviour beyond parity.

(scikit-learn's own estimator checks are in test_estimator_checks.py, the comparisons
with scikit-learn's MLP in test_estimator_parity.py.)
"""

from __future__ import annotations

import inspect
import json
import math
import pickle
import subprocess
import sys
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_iris, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

import chainrule as cr
from chainrule import MLPClassifier, MLPRegressor
from chainrule.estimators._solvers import AdamRule, SGDRule
from helpers import numeric_grad, rel_error

no_convergence_warning = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
PAIRS = [(MLPClassifier, SkMLPClassifier), (MLPRegressor, SkMLPRegressor)]
EXTRAS = {
    MLPClassifier: {"dropout": 0.0, "progress": False, "class_weight": None},
    MLPRegressor: {"dropout": 0.0, "progress": False, "huber_delta": 1.0},
}


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def regression_data(n=120, k=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    W = rng.normal(size=(3, k))
    Y = np.tanh(X @ W) + 0.5 * X[:, :1]
    return X, (Y[:, 0] if k == 1 else Y)


# ----------------------------------------------------------------------------- API
@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
def test_signature_is_sklearns_plus_keyword_only_extras(ours, theirs):
    mine = list(inspect.signature(ours).parameters.values())
    ref = list(inspect.signature(theirs).parameters.values())
    # the same names, defaults and kinds, in the same order (positional calls work) ...
    assert [(p.name, p.default, p.kind) for p in mine[: len(ref)]] == [
        (p.name, p.default, p.kind) for p in ref
    ]
    # ... then chainrule's extras, keyword-only, whose defaults keep scikit-learn's behaviour
    extras = {p.name: p.default for p in mine[len(ref) :]}
    assert extras == EXTRAS[ours]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in mine[len(ref) :])
    assert set(ours().get_params()) == {p.name for p in mine}


def _fitted_attributes(est) -> set[str]:
    return {k for k in vars(est) if k.endswith("_") and not k.startswith("_")}


@no_convergence_warning
@pytest.mark.parametrize(
    "params",
    [{}, {"early_stopping": True}, {"solver": "lbfgs"}, {"solver": "sgd"}],
    ids=["adam", "early_stopping", "lbfgs", "sgd"],
)
@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
def test_fitted_attributes_are_sklearns_plus_extras(ours, theirs, params):
    X, y = regression_data(60)
    if ours is MLPClassifier:
        y = (y > 0).astype(int)
    kw = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0, **params)
    a, b = ours(**kw).fit(X, y), theirs(**kw).fit(X, y)
    extras = {"network_", "history_"}
    if a.solver != "lbfgs":
        extras.add("validation_loss_curve_")
    assert _fitted_attributes(a) == _fitted_attributes(b) | extras
    for name in _fitted_attributes(b):
        value, ref = getattr(a, name), getattr(b, name)
        assert type(value) is type(ref) or (np.isscalar(ref) and np.isscalar(value)), name


@no_convergence_warning
def test_network_is_the_model(iris):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(8, 5), max_iter=20, random_state=0).fit(X, y)
    net = clf.network_
    assert isinstance(net, cr.Sequential)
    assert [type(layer).__name__ for layer in net.layers] == [
        "Dense",
        "ReLU",
        "Dense",
        "ReLU",
        "Dense",
    ]
    denses = [layer for layer in net.layers if isinstance(layer, cr.Dense)]
    for dense, W, b in zip(denses, clf.coefs_, clf.intercepts_, strict=True):
        assert dense.params["W"] is W and dense.params["b"] is b  # the same arrays
    Z = net.predict(X)  # raw logits; softmax gives predict_proba
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(P / P.sum(axis=1, keepdims=True), clf.predict_proba(X))
    assert clf.n_layers_ == 4 and clf.n_outputs_ == 3 and clf.out_activation_ == "softmax"


@no_convergence_warning
def test_assigned_coefs_are_used(iris):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, y)
    clf.coefs_[-1] = np.zeros_like(clf.coefs_[-1])
    clf.intercepts_[-1] = np.array([0.0, 3.0, 0.0])
    assert (clf.predict(X) == 1).all()  # only the new intercept speaks
    assert clf.network_.layers[-1].params["W"] is clf.coefs_[-1]
    clf.coefs_[0] = np.zeros((5, 4))
    with pytest.raises(ValueError, match=r"coefs_\[0\] has shape \(5, 4\).*\(4, 4\)"):
        clf.predict(X)


# ----------------------------------------------------------------------------- math
def _prepared(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    rng = np.random.default_rng(1)
    for _, _, p, _ in est.network_.parameters():
        p[...] = rng.normal(scale=0.7, size=p.shape)
    return est


OBJECTIVES = {
    "softmax_log_loss": (MLPClassifier, 3, {}),
    "binary_log_loss": (MLPClassifier, 2, {}),
    "multilabel_log_loss": (MLPClassifier, "multilabel", {}),
    "squared_error": (MLPRegressor, 1, {"loss": "squared_error"}),
    "poisson": (MLPRegressor, 2, {"loss": "poisson"}),
    "absolute_error": (MLPRegressor, 2, {"loss": "absolute_error"}),
    "huber": (MLPRegressor, 2, {"loss": "huber", "huber_delta": 0.3}),
}


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
@pytest.mark.parametrize("case", list(OBJECTIVES))
def test_gradient_is_the_derivative_of_loss(case, weighted):
    # The gradient the solvers follow (chainrule's backward passes + the L2 term) is
    # the derivative of the loss reported in loss_, by central differences in float64.
    cls, k, extra = OBJECTIVES[case]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 3))
    if k == "multilabel":
        y = rng.integers(0, 2, size=(12, 3))
    elif cls is MLPClassifier:
        y = np.arange(12) % k
    else:
        y = rng.poisson(1.5, size=(12, k)).astype(float)
        y = y[:, 0] if k == 1 else y
    est = cls(hidden_layer_sizes=(4,), activation="tanh", alpha=0.3, max_iter=1, **extra)
    est = _prepared(est, X, y)
    _, Y = est._validate_input(X, y, incremental=False, reset=False)
    T = est._loss_targets(Y, X.dtype)
    sw = rng.uniform(0.2, 2.0, size=12) if weighted else None
    sw_sum = 12.0 if sw is None else float(sw.sum())
    objective = est._objective()

    def loss():
        return est._loss_and_grads(X, T, sw, sw_sum, objective)

    loss()
    for _, _, p, g in list(est.network_.parameters()):
        analytic = g.copy()
        numeric = numeric_grad(loss, p)
        loss()  # restore the grads of the unperturbed point
        assert rel_error(analytic, numeric) < 1e-7, case


def test_multioutput_squared_error_follows_sklearns_gradient():
    # scikit-learn reports (1/2nk) sum (Z - T)^2 but follows the gradient of
    # (1/2n) sum (Z - T)^2 (they agree for k = 1); we do the same, to train alike.
    X, Y = regression_data(20, k=2)
    est = _prepared(MLPRegressor(hidden_layer_sizes=(3,), activation="tanh", alpha=0.2), X, Y)
    T = Y.astype(np.float64)
    objective = est._objective()
    reported = est._loss_and_grads(X, T, None, 20.0, objective)
    Z = est.network_.predict(X)
    penalty = sum(float((W**2).sum()) for W in est.coefs_)
    assert reported == pytest.approx(((Z - T) ** 2).sum() / (2 * 20 * 2) + 0.1 * penalty / 20)

    def sum_form():
        Z = est.network_.predict(X)
        penalty = sum(float((W**2).sum()) for W in est.coefs_)
        return ((Z - T) ** 2).sum() / (2 * 20) + 0.1 * penalty / 20

    est._loss_and_grads(X, T, None, 20.0, objective)
    for _, _, p, g in list(est.network_.parameters()):
        analytic = g.copy()
        assert rel_error(analytic, numeric_grad(sum_form, p)) < 1e-7


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adam_step_by_hand(dtype):
    W = np.array([[0.5, -1.0]], dtype=dtype)
    g1, g2 = np.array([[0.2, -0.4]], dtype=dtype), np.array([[0.1, 0.3]], dtype=dtype)
    rule = AdamRule([W], learning_rate_init=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    W0, G1, G2 = (A.astype(np.float64) for A in (W, g1, g2))
    rule.step([W], [g1])
    # t=1: m = 0.1 g, v = 0.001 g^2, lr_1 = 0.1 * sqrt(1 - 0.999) / (1 - 0.9) = sqrt(0.001),
    # update = -lr_1 * 0.1 g / (sqrt(0.001) |g| + 1e-8) ~= -0.1 * sign(g)
    step1 = -math.sqrt(0.001) * 0.1 * G1 / (np.sqrt(0.001 * G1**2) + 1e-8)
    np.testing.assert_allclose(step1, -0.1 * np.sign(G1), rtol=1e-5)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(W, W0 + step1, rtol=tol)
    m = 0.9 * 0.1 * G1 + 0.1 * G2
    v = 0.999 * 0.001 * G1**2 + 0.001 * G2**2
    lr_2 = 0.1 * math.sqrt(1 - 0.999**2) / (1 - 0.9**2)
    rule.step([W], [g2])
    np.testing.assert_allclose(W, W0 + step1 - lr_2 * m / (np.sqrt(v) + 1e-8), rtol=tol)
    assert W.dtype == dtype and rule.ms[0].dtype == dtype and rule.vs[0].dtype == dtype


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_step_by_hand(nesterov):
    W = np.array([1.0, 2.0])
    g1, g2 = np.array([0.5, -1.0]), np.array([1.0, 1.0])
    rule = SGDRule([W], 0.1, "constant", momentum=0.9, nesterov=nesterov, power_t=0.5)
    rule.step([W], [g1])
    V1 = -0.1 * g1  # V = 0.9 * 0 - 0.1 g1 = [-0.05, 0.1]
    W1 = np.array([1.0, 2.0]) + (0.9 * V1 - 0.1 * g1 if nesterov else V1)
    np.testing.assert_allclose(W, W1)
    rule.step([W], [g2])
    V2 = 0.9 * V1 - 0.1 * g2  # [-0.145, -0.01]
    np.testing.assert_allclose(W, W1 + (0.9 * V2 - 0.1 * g2 if nesterov else V2))
    rule.lr_schedule = "invscaling"
    rule.iteration_ends(99)
    assert rule.learning_rate == pytest.approx(0.1 / 100**0.5)  # lr0 / (t + 1)^power_t


@pytest.mark.parametrize("activation", ["relu", "logistic"])
def test_initial_weights_are_sklearns_draws(activation):
    # lr = 1e-300 makes one SGD step a no-op: coefs_ are the initial weights.
    X, y = regression_data(30)
    kw = dict(
        hidden_layer_sizes=(6,),
        activation=activation,
        solver="sgd",
        momentum=0.0,
        learning_rate_init=1e-300,
        max_iter=1,
        random_state=7,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MLPRegressor(**kw).fit(X, y)
    rs = np.random.RandomState(7)
    factor = 2.0 if activation == "logistic" else 6.0
    for (fan_in, fan_out), W, b in zip([(3, 6), (6, 1)], est.coefs_, est.intercepts_, strict=True):
        bound = math.sqrt(factor / (fan_in + fan_out))  # Glorot: sqrt(6 / (fan_in + fan_out))
        np.testing.assert_array_equal(W, rs.uniform(-bound, bound, (fan_in, fan_out)))
        np.testing.assert_array_equal(b, rs.uniform(-bound, bound, fan_out))


def test_history_columns_grad_norms_and_update_ratios():
    X, y = regression_data(40)
    # Full batch, plain gradient descent, one epoch: W1 = W0 - lr * dW, so the logged
    # gradient norm is ||W0 - W1|| / lr and the update ratio ||W1 - W0|| / ||W0||.
    kw = dict(
        hidden_layer_sizes=(5,),
        solver="sgd",
        momentum=0.0,
        batch_size=40,
        shuffle=False,
        random_state=0,
        learning_rate_init=0.05,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = MLPRegressor(**dict(kw, learning_rate_init=1e-300, max_iter=1)).fit(X, y)
        est = MLPRegressor(**dict(kw, max_iter=1)).fit(X, y)
    frame = est.history_.to_frame()
    assert frame.index.name == "epoch" and list(frame.index) == [1]
    assert list(frame.columns) == [
        "loss",
        "lr",
        "grad_norm_0",
        "grad_norm_2",
        "update_ratio_0",
        "update_ratio_2",
    ]
    assert frame["loss"].tolist() == est.loss_curve_
    assert frame["lr"].iloc[0] == 0.05
    for i, (W0, W1) in zip([0, 2], zip(start.coefs_, est.coefs_, strict=True), strict=True):
        step = np.linalg.norm(W0 - W1)
        assert frame[f"grad_norm_{i}"].iloc[0] == pytest.approx(step / 0.05, rel=1e-9)
        assert frame[f"update_ratio_{i}"].iloc[0] == pytest.approx(
            step / np.linalg.norm(W0), rel=1e-9
        )


@no_convergence_warning
def test_history_with_early_stopping_and_lbfgs(iris):
    X, y = iris
    clf = MLPClassifier(
        hidden_layer_sizes=(6,),
        early_stopping=True,
        random_state=0,
        max_iter=15,
        learning_rate_init=0.01,
    ).fit(X, y)
    frame = clf.history_.to_frame()
    assert list(frame.columns[:4]) == ["loss", "val_loss", "val_accuracy", "lr"]
    assert frame["val_accuracy"].tolist() == clf.validation_scores_
    assert frame["val_loss"].tolist() == clf.validation_loss_curve_
    assert len(frame) == clf.n_iter_
    # the validation loss is the training objective on the held-out rows
    assert 0 < clf.validation_loss_curve_[-1] < clf.validation_loss_curve_[0]
    reg = MLPRegressor(hidden_layer_sizes=(6,), solver="lbfgs", max_iter=8, random_state=0)
    reg.fit(X[:, 1:], X[:, 0])
    frame = reg.history_.to_frame()
    assert len(frame) == reg.n_iter_ == 8
    assert frame["loss"].iloc[-1] == pytest.approx(reg.loss_)
    assert "lr" not in frame.columns and "grad_norm_0" in frame.columns


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"solver": "newton"}, r"'solver' parameter of MLPClassifier must be a str among"),
        ({"activation": "gelu"}, r"'activation' parameter .*'relu'"),
        ({"alpha": -1.0}, r"'alpha' parameter .*range \[0.0, inf\)"),
        ({"learning_rate": "cosine"}, r"'learning_rate' parameter .*'adaptive'"),
        ({"dropout": 1.0}, r"'dropout' parameter .*range \[0.0, 1.0\)"),
        ({"batch_size": 0}, r"'batch_size' parameter"),
    ],
)
def test_bad_parameters_name_the_parameter_and_the_allowed_values(iris, params, words):
    X, y = iris
    with pytest.raises(InvalidParameterError, match=words):
        MLPClassifier(**params).fit(X, y)


def test_other_input_errors(iris):
    X, y = iris
    with pytest.raises(ValueError, match="hidden_layer_sizes must be > 0"):
        MLPClassifier(hidden_layer_sizes=(4, 0)).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'loss' parameter of MLPRegressor"):
        MLPRegressor(loss="hinge").fit(X, X[:, 0])
    with pytest.raises(ValueError, match="loss='poisson' needs non-negative targets"):
        MLPRegressor(loss="poisson").fit(X, X[:, 0])
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        MLPClassifier().fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(3,\), expected \(150,\)"):
        MLPClassifier().fit(X, y, sample_weight=[1, 2, 3])
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            MLPClassifier(max_iter=2).fit(X, y).predict(X[:, :3])
    with pytest.raises(ValueError, match="validation set is too small"):
        MLPClassifier(early_stopping=True, validation_fraction=0.01).fit(X[:50], y[:50])


def test_convergence_warnings(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        MLPClassifier(max_iter=3, random_state=0).fit(X, y)
    with pytest.warns(ConvergenceWarning, match=r"lbfgs failed to converge after 3 iter"):
        MLPClassifier(solver="lbfgs", max_iter=3, random_state=0).fit(X, y)


# ----------------------------------------------------------------------------- labels
@no_convergence_warning
@pytest.mark.parametrize("kind", ["str", "object", "int", "binary_str"])
def test_labels_of_any_type(iris, kind):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])
    if kind == "binary_str":
        y_in = np.where(y == 0, "yes", "no")
    elif kind == "int":
        y_in = y * 10 - 5
    else:
        y_in = names[y].astype(object if kind == "object" else str)
    clf = MLPClassifier(
        hidden_layer_sizes=(10,), max_iter=200, random_state=0, learning_rate_init=0.02
    ).fit(X, y_in)
    assert clf.predict(X).dtype == clf.classes_.dtype
    assert set(clf.predict(X)) <= set(clf.classes_)
    assert clf.score(X, y_in) > 0.9
    P = clf.predict_proba(X)
    assert P.shape == (150, len(clf.classes_))
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_[P.argmax(axis=1)], clf.predict(X))
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(P))


def test_binary_probabilities_keep_their_precision():
    X = np.array([[-1.0], [1.0]] * 10)
    y = np.array([0, 1] * 10)
    clf = MLPClassifier(
        hidden_layer_sizes=(), solver="lbfgs", alpha=0.0, max_iter=15000, tol=1e-12, random_state=0
    ).fit(X * 40, y)
    P = clf.predict_proba(X * 40)
    # far past p = 1 - 1e-16, where scikit-learn's 1 - p is 0 and its log -inf
    assert 0 < P[1, 0] < 1e-16 and np.isfinite(clf.predict_log_proba(X * 40)).all()


@no_convergence_warning
def test_multilabel_uses_one_sigmoid_per_label():
    X, Y = make_multilabel_classification(80, 6, n_classes=3, random_state=0)
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=50, random_state=0).fit(X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 3
    P = clf.predict_proba(X)
    assert P.shape == (80, 3) and not np.allclose(P.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), (P > 0.5).astype(int))


# ----------------------------------------------------------------------------- weights
@no_convergence_warning
def test_zero_weight_batches_are_skipped():
    X, y = regression_data(60)
    w = np.r_[np.zeros(30), np.ones(30)]
    kw = dict(
        hidden_layer_sizes=(5,), batch_size=10, shuffle=False, max_iter=4, tol=0.0, random_state=0
    )
    weighted = MLPRegressor(**kw).fit(X, y, sample_weight=w)  # 3 batches of zeros: skipped
    subset = MLPRegressor(**kw).fit(X[30:], y[30:])
    # the updates are the same; the epoch loss averages over all 60 rows instead of 30
    for W, V in zip(weighted.coefs_, subset.coefs_, strict=True):
        np.testing.assert_allclose(W, V, rtol=1e-12)
    np.testing.assert_allclose(weighted.loss_curve_, np.array(subset.loss_curve_) / 2)


def test_integer_weights_equal_repeated_samples():
    X, y = regression_data(30)
    w = np.arange(30) % 3
    kw = dict(hidden_layer_sizes=(5,), solver="lbfgs", random_state=0, max_iter=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = MLPRegressor(**kw).fit(X, y, sample_weight=w)
        b = MLPRegressor(**kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-6)


# ----------------------------------------------------------------------------- sparse
@no_convergence_warning
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_input_equals_dense(iris, fmt):
    X, y = iris
    kw = dict(hidden_layer_sizes=(6,), max_iter=20, random_state=0)
    Xs = sp.csr_matrix(X) if fmt == "csr" else sp.csc_array(X)
    for solver in ("adam", "lbfgs"):
        a = MLPClassifier(solver=solver, **kw).fit(Xs, y)
        b = MLPClassifier(solver=solver, **kw).fit(X, y)
        np.testing.assert_allclose(a.predict_proba(Xs), b.predict_proba(X), rtol=1e-9)


@no_convergence_warning
def test_wide_sparse_input_is_never_densified():
    # 400 x 100,000 sparse; dense it would take 320 MB, and dX of the first layer for one
    # batch of 200 would take 160 MB. The whole fit must stay far below either.
    X = sp.random(400, 100_000, density=1e-4, format="csr", random_state=0)
    s = np.asarray(X.sum(axis=1)).ravel()
    y = (s > np.median(s)).astype(int)
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    tracemalloc.start()
    try:
        clf.fit(X, y)
        clf.predict_proba(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40e6, f"peak {peak / 1e6:.0f} MB"


# ----------------------------------------------------------------------------- float32
@no_convergence_warning
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_float32_stays_float32(iris, solver):
    X, y = iris
    X32 = X.astype(np.float32)
    clf = MLPClassifier(hidden_layer_sizes=(6,), solver=solver, max_iter=30, random_state=0)
    clf.fit(X32, y)
    params = [p for _, _, p, _ in clf.network_.parameters()]
    grads = [g for _, _, _, g in clf.network_.parameters()]
    assert all(a.dtype == np.float32 for a in (*clf.coefs_, *clf.intercepts_, *params, *grads))
    if solver != "lbfgs":
        state = getattr(clf._optimizer, "ms", None) or clf._optimizer.velocities
        assert all(s.dtype == np.float32 for s in state)
    assert clf.predict_proba(X32).dtype == np.float32
    assert clf.predict_proba(X).dtype == np.float32  # float64 input is cast to the model
    reg = MLPRegressor(hidden_layer_sizes=(6,), solver=solver, max_iter=30, random_state=0)
    assert reg.fit(X32[:, 1:], X[:, 0]).predict(X32[:, 1:]).dtype == np.float32
    assert reg.coefs_[0].dtype == np.float32


# ----------------------------------------------------------------------------- training modes
def test_partial_fit_rules(iris):
    X, y = iris
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MLPClassifier().partial_fit(X, y)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])
    for cls in (MLPClassifier, MLPRegressor):
        assert not hasattr(cls(solver="lbfgs"), "partial_fit")
        assert hasattr(cls(solver="sgd"), "partial_fit")
    clf = MLPClassifier(hidden_layer_sizes=(5,), random_state=0)
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])  # class 2 not seen yet
    assert list(clf.classes_) == [0, 1, 2] and clf.n_iter_ == 1 and clf.t_ == 100
    clf.partial_fit(X, y)
    assert clf.t_ == 250 and len(clf.loss_curve_) == 2
    with pytest.raises(ValueError, match="has classes not in"):
        clf.partial_fit(X, np.where(y == 2, 7, y))


@no_convergence_warning
def test_warm_start_continues_and_checks_the_architecture(iris):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=10, warm_start=True, random_state=0)
    clf.fit(X, y)
    first = clf.coefs_[0].copy()
    clf.fit(X, y)
    assert len(clf.loss_curve_) == 20 and clf.n_iter_ == 10 and len(clf.history_) == 20
    assert not np.array_equal(first, clf.coefs_[0])
    clf.set_params(hidden_layer_sizes=(7,))
    with pytest.raises(ValueError, match=r"layer sizes \[4, 5, 3\].*need \[4, 7, 3\]"):
        clf.fit(X, y)
    clf.set_params(warm_start=False)
    assert clf.fit(X, y).coefs_[0].shape == (4, 7)


@no_convergence_warning
def test_robust_regression_losses():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = X @ np.array([2.0, -1.0])
    y_noisy = y.copy()
    y_noisy[::10] += 30.0  # 10% gross outliers
    errors = {}
    for loss in ("squared_error", "absolute_error", "huber"):
        reg = MLPRegressor(
            loss=loss, hidden_layer_sizes=(8,), solver="lbfgs", max_iter=300, random_state=0
        )
        reg.fit(X, y_noisy)
        errors[loss] = np.median(np.abs(reg.predict(X) - y))
    assert errors["absolute_error"] < errors["squared_error"] / 3
    assert errors["huber"] < errors["squared_error"] / 3


@no_convergence_warning
def test_poisson_predicts_positive_rates():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = rng.poisson(np.exp(0.8 * X[:, 0]))
    reg = MLPRegressor(loss="poisson", hidden_layer_sizes=(8,), solver="lbfgs", random_state=0)
    reg.fit(X, y)
    assert reg.out_activation_ == "exp" and (reg.predict(X) > 0).all()
    grid = np.c_[np.linspace(-1, 1, 5), np.zeros(5)]
    np.testing.assert_allclose(np.log(reg.predict(grid)), 0.8 * grid[:, 0], atol=0.3)


@no_convergence_warning
def test_dropout(iris):
    X, y = iris
    kw = dict(hidden_layer_sizes=(16, 8), max_iter=40, random_state=0, learning_rate_init=0.01)
    plain = MLPClassifier(**kw).fit(X, y)
    dropped = MLPClassifier(dropout=0.3, **kw).fit(X, y)
    again = MLPClassifier(dropout=0.3, **kw).fit(X, y)
    kinds = [type(layer).__name__ for layer in dropped.network_.layers]
    assert kinds == ["Dense", "ReLU", "Dropout", "Dense", "ReLU", "Dropout", "Dense"]
    assert all(layer.p == 0.3 for layer in dropped.network_.layers if isinstance(layer, cr.Dropout))
    assert "Dropout" not in [type(layer).__name__ for layer in plain.network_.layers]
    # the same initial weights (dropout draws come after them), different training ...
    assert not np.allclose(dropped.coefs_[0], plain.coefs_[0])
    # ... reproducible with the same random_state, and off at prediction time
    np.testing.assert_array_equal(dropped.coefs_[0], again.coefs_[0])
    np.testing.assert_array_equal(dropped.predict_proba(X), dropped.predict_proba(X))
    assert dropped.score(X, y) > 0.8


def test_verbose_prints_sklearns_lines(iris, capsys):
    X, y = iris
    y = y == 1  # binary: the early-stopping split is then scikit-learn's, draw for draw
    kw = dict(
        hidden_layer_sizes=(5,),
        max_iter=4,
        random_state=0,
        early_stopping=True,
        n_iter_no_change=2,
        tol=0.5,
    )
    MLPClassifier(verbose=True, **kw).fit(X, y)
    ours = capsys.readouterr().out
    SkMLPClassifier(verbose=True, **kw).fit(X, y)
    theirs = capsys.readouterr().out
    assert ours == theirs
    assert ours.startswith("Iteration 1, loss = ") and "Validation score: " in ours
    assert "Stopping." in ours


@no_convergence_warning
def test_progress_bar(iris, capsys):
    X, y = iris
    MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, progress=True, random_state=0).fit(X, y)
    err = capsys.readouterr().err
    assert "MLPClassifier(adam)" in err and "3/3" in err and "loss=" in err


# ----------------------------------------------------------------------------- saving
@no_convergence_warning
def test_pickle_keeps_the_model_and_its_training_state(iris):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(6,), max_iter=10, random_state=0).fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    assert copy.coefs_[0] is copy.network_.layers[0].params["W"]  # still shared
    clf.partial_fit(X, y)
    copy.partial_fit(X, y)  # the optimizer state travelled too
    np.testing.assert_array_equal(copy.coefs_[0], clf.coefs_[0])


SAVE_CASES = {
    "str_labels": lambda X, y: (np.array(["a", "bb", "c"])[y], {}),
    "object_labels": lambda X, y: (np.array(["a", "bb", "c"], dtype=object)[y], {}),
    "int_labels": lambda X, y: (y * 3, {"solver": "lbfgs"}),
    "bool_labels": lambda X, y: (y > 0, {}),
    "multilabel": lambda X, y: (np.c_[y == 0, y == 1, y > 0].astype(int), {}),
    "float32": lambda X, y: (y, {"dropout": 0.2}),
}


@no_convergence_warning
@pytest.mark.parametrize("case", list(SAVE_CASES))
def test_save_load_classifier(iris, tmp_path, case):
    X, y = iris
    labels, extra = SAVE_CASES[case](X, y)
    if case == "float32":
        X = X.astype(np.float32)
    clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=20, random_state=0, **extra)
    clf.fit(X, labels)
    path = cr.save(clf, tmp_path / "clf")
    loaded = cr.load(path)
    assert type(loaded) is MLPClassifier and loaded.get_params() == clf.get_params()
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    assert loaded.classes_.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert (
        loaded.coefs_[0].dtype == X.dtype
        and loaded.coefs_[0] is loaded.network_.layers[0].params["W"]
    )
    assert getattr(loaded, "loss_curve_", None) == getattr(clf, "loss_curve_", None)
    assert loaded.n_iter_ == clf.n_iter_ and loaded.loss_ == clf.loss_
    # it trains on exactly as the original would (dropout masks aside: their generator
    # is not saved)
    for est in (clf, loaded):
        est.set_params(warm_start=True, max_iter=3).fit(X, labels)
    if case != "float32":
        np.testing.assert_array_equal(loaded.coefs_[0], clf.coefs_[0])
    with zipfile.ZipFile(path) as z:  # plain data: no pickle inside
        assert all(name.endswith(".npy") for name in z.namelist())


@no_convergence_warning
def test_save_load_regressor_with_feature_names(tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = regression_data(50, k=2)
    frame = pd.DataFrame(X, columns=["age", "dose", "weight"])
    reg = MLPRegressor(
        loss="poisson",
        hidden_layer_sizes=(4,),
        solver="lbfgs",
        max_iter=20,
        n_iter_no_change=np.inf,
        random_state=0,
    ).fit(frame, np.abs(y))
    loaded = cr.load(cr.save(reg, tmp_path / "reg.npz"))
    assert list(loaded.feature_names_in_) == ["age", "dose", "weight"]
    np.testing.assert_array_equal(loaded.predict(frame), reg.predict(frame))
    assert loaded.out_activation_ == "exp" and loaded.n_iter_no_change == np.inf


@no_convergence_warning
def test_load_refuses_an_inconsistent_estimator_file(iris, tmp_path):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X, y)
    path = cr.save(clf, tmp_path / "clf.npz")
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    header = json.loads(arrays["__spec__"].item())
    header["spec"]["params"]["hidden_layer_sizes"] = [6]  # the weights say 5
    arrays["__spec__"] = np.array(json.dumps(header))
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(cr.ModelFileError, match=r"layer sizes \[4, 5, 3\].*\[4, 6, 3\]"):
        cr.load(tmp_path / "bad.npz")


@no_convergence_warning
def test_a_fresh_process_loads_an_estimator(iris, tmp_path):
    # chainrule imports the estimators (and scikit-learn) lazily; load finds them anyway
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0).fit(X, y)
    path = cr.save(clf, tmp_path / "clf.npz")
    code = (
        "import sys, numpy as np, chainrule as cr; "
        f"m = cr.load({str(path)!r}); "
        "print(type(m).__name__, m.predict(np.asarray(" + repr(X[:3].tolist()) + ")))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "MLPClassifier"
    assert out.stdout.strip().endswith(str(clf.predict(X[:3])))


def test_save_needs_a_fitted_estimator(tmp_path):
    with pytest.raises(Exception, match="not fitted"):
        cr.save(MLPRegressor(), tmp_path / "x.npz")


# ----------------------------------------------------------------------------- sklearn tools
@no_convergence_warning
def test_pipeline(iris):
    X, y = iris
    clf = MLPClassifier(
        hidden_layer_sizes=(10,), max_iter=300, random_state=0, learning_rate_init=0.01
    )
    pipe = make_pipeline(StandardScaler(), clf)
    assert pipe.fit(X * 100, y).score(X * 100, y) > 0.95
    assert isinstance(pipe[-1].network_, cr.Sequential)


@no_convergence_warning
def test_grid_search(iris):
    X, y = iris
    grid = GridSearchCV(
        MLPClassifier(max_iter=60, random_state=0, learning_rate_init=0.02),
        {"hidden_layer_sizes": [(2,), (12,)], "alpha": [1e-4, 1.0]},
        cv=3,
    ).fit(X, y)
    assert grid.best_params_["hidden_layer_sizes"] == (12,)
    assert grid.best_score_ > 0.85
    assert set(grid.cv_results_["params"][0]) == {"hidden_layer_sizes", "alpha"}


@no_convergence_warning
def test_cross_val_score():
    X, y = regression_data(150)
    scores = cross_val_score(
        MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=200, random_state=0),
        X,
        y,
        cv=3,
    )
    assert scores.shape == (3,) and scores.min() > 0.9
