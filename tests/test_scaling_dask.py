"""A hyperparameter search over chainrule's estimators on a Dask cluster, through
joblib: the same scores as the same search run in one process (issue: many models at
once run on an existing distributed engine, not on one of chainrule's own)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold

import chainrule as cr
from helpers import loopback_dask_client

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")

GRID = {"hidden_layer_sizes": [(4,), (8,)], "learning_rate_init": [0.01, 0.03]}


def search() -> GridSearchCV:
    estimator = cr.MLPClassifier(max_iter=40, random_state=0)
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    return GridSearchCV(estimator, GRID, cv=cv, n_jobs=-1)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_grid_search_on_a_local_dask_cluster_equals_one_process():
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        local = search().set_params(n_jobs=1).fit(X, y)
    with loopback_dask_client(), joblib.parallel_backend("dask"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        remote = search().fit(X, y)
    n_fits = len(local.cv_results_["params"]) * 3
    assert n_fits == 12
    for key in ("mean_test_score", "std_test_score", "rank_test_score"):
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    for fold in range(3):
        key = f"split{fold}_test_score"
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(
        remote.best_estimator_.predict_proba(X), local.best_estimator_.predict_proba(X)
    )
