"""Successive halving over chainrule's estimators (scikit-learn's HalvingGridSearchCV and
HalvingRandomSearchCV with resource="max_iter": epochs are the budget), in one process
and on a loopback Dask cluster through joblib, with equal results (issue 26, section 2)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingGridSearchCV, HalvingRandomSearchCV, StratifiedKFold

import chainrule as cr
from helpers import loopback_dask_client

GRID = {"hidden_layer_sizes": [(4,), (8,), (16,)], "learning_rate_init": [0.003, 0.01, 0.03]}


def _data():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


def _searches():
    est = cr.MLPClassifier(random_state=0, n_iter_no_change=1000)  # epochs set by halving
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    common = dict(resource="max_iter", min_resources=5, max_resources=45, factor=3, cv=cv)
    return {
        "grid": HalvingGridSearchCV(est, GRID, **common),
        "random": HalvingRandomSearchCV(est, GRID, n_candidates=9, random_state=0, **common),
    }


def _fit(search, n_jobs):
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return search.set_params(n_jobs=n_jobs).fit(X, y)


@pytest.mark.parametrize("kind", ["grid", "random"])
def test_halving_spends_epochs_on_the_promising_candidates(kind):
    search = _fit(_searches()[kind], 1)
    assert search.n_resources_ == [5, 15, 45]  # epochs per round, times factor 3
    assert search.n_candidates_ == [9, 3, 1]  # a third survive each round
    results = search.cv_results_
    assert list(np.bincount(results["iter"])) == [9, 3, 1]
    assert sorted(set(results["n_resources"])) == [5, 15, 45]
    assert search.best_estimator_.max_iter == 45
    assert search.best_estimator_.n_iter_ == 45  # trained its 45 epochs
    assert search.best_score_ > 0.9


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_halving_on_a_local_dask_cluster_equals_one_process():
    pytest.importorskip("distributed")
    joblib = pytest.importorskip("joblib")
    local = {kind: _fit(search, 1) for kind, search in _searches().items()}
    with loopback_dask_client(), joblib.parallel_backend("dask"):  # 2 workers on 127.0.0.1
        remote = {kind: _fit(search, -1) for kind, search in _searches().items()}
    X, _ = _data()
    for kind in ("grid", "random"):
        a, b = local[kind], remote[kind]
        assert a.n_resources_ == b.n_resources_ and a.n_candidates_ == b.n_candidates_
        for key in ("mean_test_score", "std_test_score", "rank_test_score", "n_resources"):
            np.testing.assert_array_equal(b.cv_results_[key], a.cv_results_[key])
        assert [str(p) for p in b.cv_results_["params"]] == [
            str(p) for p in a.cv_results_["params"]
        ]
        assert b.best_params_ == a.best_params_
        np.testing.assert_array_equal(
            b.best_estimator_.predict_proba(X), a.best_estimator_.predict_proba(X)
        )
