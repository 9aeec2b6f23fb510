"""Parity with scikit-learn's MLPClassifier and MLPRegressor on the data it ships.

Two levels:

* held-out scores: with the same hyper-parameters and ``random_state``, chainrule's
  estimator scores within 0.02 (accuracy) or 0.03 (R^2) of scikit-learn's, for each
  solver, in float64 and in float32 (iris, breast cancer, diabetes; X standardised on a
  fixed train/test split);
* the training itself: with adam or sgd in float64, the loss curve equals scikit-learn's
  to 1e-6 (in practice to ~1e-15), which needs the same initial weights, batch order,
  loss definition, update rules, schedules and stopping rules. Variants cover early
  stopping, sample weights, sparse input, multilabel and multi-output targets, the
  Poisson loss, every hidden activation, the learning-rate schedules, partial_fit and
  warm_start. L-BFGS is compared over its first iterations (later ones drift apart by
  rounding, as any two implementations of the same arithmetic would).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_iris,
    make_multilabel_classification,
)
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.preprocessing import StandardScaler

from chainrule import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

CURVE_TOL = 1e-6


def _split(loader, regression: bool):
    X, y = loader(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=None if regression else y
    )
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    if regression:  # diabetes targets are in the hundreds: standardise them too
        mean, std = y_tr.mean(), y_tr.std()
        y_tr, y_te = (y_tr - mean) / std, (y_te - mean) / std
    return X_tr, X_te, y_tr, y_te


DATASETS = {
    "iris": (load_iris, False),
    "breast_cancer": (load_breast_cancer, False),
    "diabetes": (load_diabetes, True),
}
_CACHE: dict[str, tuple] = {}


def dataset(name: str):
    if name not in _CACHE:
        loader, regression = DATASETS[name]
        _CACHE[name] = _split(loader, regression)
    return _CACHE[name]


def settings(name: str, solver: str) -> dict:
    if name == "diabetes":  # a small, regularised net: diabetes overfits easily
        kw = dict(hidden_layer_sizes=(16,), alpha=10.0, max_iter=200)
    else:
        kw = dict(hidden_layer_sizes=(32,), max_iter=300)
    if solver != "lbfgs":
        kw["learning_rate_init"] = 0.01 if solver == "adam" else 0.05
    return dict(kw, solver=solver, random_state=0)


def pair(name: str, **kw):
    regression = DATASETS[name][1]
    ours, theirs = (
        (MLPRegressor, SkMLPRegressor) if regression else (MLPClassifier, SkMLPClassifier)
    )
    return ours(**kw), theirs(**kw)


def assert_same_curve(a, b, tol=CURVE_TOL):
    assert a.n_iter_ == b.n_iter_
    assert len(a.loss_curve_) == len(b.loss_curve_)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=0, atol=tol)
    assert a.loss_ == pytest.approx(b.loss_, abs=tol)
    for W, V in zip(a.coefs_, b.coefs_, strict=True):
        np.testing.assert_allclose(W, V, rtol=0, atol=1e-6)


# ----------------------------------------------------------------- held-out scores
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("name", list(DATASETS))
def test_held_out_score_matches_sklearn(name, solver, dtype):
    X_tr, X_te, y_tr, y_te = dataset(name)
    X_tr, X_te = X_tr.astype(dtype), X_te.astype(dtype)
    ours, theirs = pair(name, **settings(name, solver))
    ours.fit(X_tr, y_tr)
    theirs.fit(X_tr, y_tr)
    tolerance = 0.03 if DATASETS[name][1] else 0.02
    ours_score, their_score = ours.score(X_te, y_te), theirs.score(X_te, y_te)
    assert abs(ours_score - their_score) <= tolerance, (ours_score, their_score)
    # and the fit is a real one, not two equally bad models
    assert ours_score > (0.3 if DATASETS[name][1] else 0.9)
    assert ours.coefs_[0].dtype == dtype  # float32 stays float32


# ----------------------------------------------------------------- loss curves
@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("name", list(DATASETS))
def test_loss_curve_matches_sklearn(name, solver):
    X_tr, _, y_tr, _ = dataset(name)
    ours, theirs = pair(name, **settings(name, solver))
    assert_same_curve(ours.fit(X_tr, y_tr), theirs.fit(X_tr, y_tr))
    assert ours.best_loss_ == pytest.approx(theirs.best_loss_, abs=CURVE_TOL)
    assert ours.t_ == theirs.t_


VARIANTS = {
    "tanh_no_nesterov": ("iris", dict(activation="tanh", solver="sgd", nesterovs_momentum=False)),
    "logistic_invscaling": (
        "iris",
        dict(
            activation="logistic", solver="sgd", learning_rate="invscaling", learning_rate_init=0.5
        ),
    ),
    "identity_batch_17_no_shuffle": (
        "iris",
        dict(activation="identity", batch_size=17, shuffle=False),
    ),
    "adaptive_lr": (
        "breast_cancer",
        dict(
            solver="sgd", learning_rate="adaptive", learning_rate_init=0.1, batch_size=50, tol=1e-3
        ),
    ),
    "early_stopping_binary": ("breast_cancer", dict(early_stopping=True, tol=1e-3)),
    "early_stopping_regression": ("diabetes", dict(early_stopping=True, alpha=3.0)),
    "poisson": ("diabetes", dict(loss="poisson", alpha=1.0)),
    "two_hidden_layers_sgd": ("diabetes", dict(hidden_layer_sizes=(12, 6), solver="sgd")),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_loss_curve_matches_sklearn_variants(variant):
    name, extra = VARIANTS[variant]
    X_tr, _, y_tr, _ = dataset(name)
    if extra.get("loss") == "poisson":
        y_tr = np.exp(y_tr)  # non-negative targets
    kw = dict(hidden_layer_sizes=(20,), random_state=3, max_iter=120, learning_rate_init=0.01)
    ours, theirs = pair(name, **{**kw, **extra})
    assert_same_curve(ours.fit(X_tr, y_tr), theirs.fit(X_tr, y_tr))
    if ours.early_stopping:
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, atol=1e-9)
        assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_)


def test_loss_curve_with_sample_weight_and_sparse_input():
    X_tr, _, y_tr, _ = dataset("breast_cancer")
    w = np.random.default_rng(0).integers(0, 4, size=len(y_tr)).astype(float)
    kw = dict(hidden_layer_sizes=(20,), random_state=0, max_iter=60, batch_size=64)
    for X in (X_tr, sp.csr_matrix(X_tr), sp.csc_matrix(X_tr)):
        ours = MLPClassifier(**kw).fit(X, y_tr, sample_weight=w)
        theirs = SkMLPClassifier(**kw).fit(X, y_tr, sample_weight=w)
        assert_same_curve(ours, theirs)


def test_loss_curve_multilabel_and_multioutput():
    X, Y = make_multilabel_classification(200, 8, n_classes=4, random_state=0)
    kw = dict(hidden_layer_sizes=(16,), random_state=0, max_iter=80, learning_rate_init=0.01)
    assert_same_curve(MLPClassifier(**kw).fit(X, Y), SkMLPClassifier(**kw).fit(X, Y))
    X_tr, _, y_tr, _ = dataset("diabetes")
    Y2 = np.c_[y_tr, y_tr**2 / 4, -y_tr]
    ours, theirs = MLPRegressor(**kw).fit(X_tr, Y2), SkMLPRegressor(**kw).fit(X_tr, Y2)
    assert_same_curve(ours, theirs)
    np.testing.assert_allclose(ours.predict(X_tr), theirs.predict(X_tr), atol=1e-8)


def test_partial_fit_and_warm_start_follow_sklearn():
    X_tr, _, y_tr, _ = dataset("iris")
    kw = dict(hidden_layer_sizes=(10,), random_state=0, learning_rate_init=0.02)
    ours, theirs = MLPClassifier(**kw), SkMLPClassifier(**kw)
    for i in range(5):
        rows = slice(20 * i, 20 * i + 40)
        ours.partial_fit(X_tr[rows], y_tr[rows], classes=[0, 1, 2])
        theirs.partial_fit(X_tr[rows], y_tr[rows], classes=[0, 1, 2])
    assert_same_curve(ours, theirs)

    kw = dict(kw, warm_start=True, max_iter=15, solver="sgd")
    ours, theirs = MLPClassifier(**kw), SkMLPClassifier(**kw)
    for _ in range(3):
        ours.fit(X_tr, y_tr)
        theirs.fit(X_tr, y_tr)
    assert len(ours.loss_curve_) == 45
    assert_same_curve(ours, theirs)


@pytest.mark.parametrize("name", list(DATASETS))
def test_lbfgs_first_iterations_match_sklearn(name):
    X_tr, _, y_tr, _ = dataset(name)
    kw = dict(settings(name, "lbfgs"), max_iter=10)
    ours, theirs = pair(name, **kw)
    ours.fit(X_tr, y_tr)
    theirs.fit(X_tr, y_tr)
    assert ours.n_iter_ == theirs.n_iter_ == 10
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-8)
    for W, V in zip(ours.coefs_, theirs.coefs_, strict=True):
        np.testing.assert_allclose(W, V, rtol=1e-6, atol=1e-9)
    assert not hasattr(ours, "loss_curve_")  # as scikit-learn: lbfgs keeps no curve
