"""scikit-learn's estimator checks, run on chainrule's MLPClassifier and MLPRegressor.

We run them the way scikit-learn runs them on its own MLP (``sklearn/tests/
test_common.py`` in 1.9): the same instances (``max_iter=100``), the same per-check
parameters for the sample-weight equivalence check (scikit-learn's
``PER_ESTIMATOR_CHECK_PARAMS``: ``solver="lbfgs"`` for the classifier; ``solver="sgd",
tol=1e-2, random_state=42`` for the regressor), and the extra checks scikit-learn runs
on every estimator besides ``parametrize_with_checks`` (parameter validation,
all-zero sample weights, pandas column names). scikit-learn marks no check of its MLP as
an expected failure, and neither do we: ``expected_failed_checks`` is empty.

``max_iter=100`` does not let every fit converge, so the ConvergenceWarning (an error
under this project's ``filterwarnings = error``) is filtered here, explicitly.
"""

from __future__ import annotations

import warnings

import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import (
    check_all_zero_sample_weights_error,
    check_dataframe_column_names_consistency,
    check_param_validation,
    parametrize_with_checks,
)

from chainrule import MLPClassifier, MLPRegressor

# scikit-learn's PER_ESTIMATOR_CHECK_PARAMS for its MLPs (sklearn/utils/_test_common/
# instance_generator.py): stochastic solvers cannot make repeated samples and integer
# weights equivalent in general, so that one check runs with these settings.
CHECK_PARAMS = {
    "MLPClassifier": {"check_sample_weight_equivalence_on_dense_data": {"solver": "lbfgs"}},
    "MLPRegressor": {
        "check_sample_weight_equivalence_on_dense_data": {
            "solver": "sgd",
            "tol": 1e-2,
            "random_state": 42,
        }
    },
}

EXPECTED_FAILED: dict[str, str] = {}  # scikit-learn's MLP has none; neither do we


def _check_name(check) -> str:
    func = getattr(check, "func", check)
    return func.__name__


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(
    [MLPClassifier(max_iter=100), MLPRegressor(max_iter=100)],
    expected_failed_checks=lambda est: EXPECTED_FAILED,
)
def test_sklearn_estimator_checks(estimator, check):
    params = CHECK_PARAMS[type(estimator).__name__].get(_check_name(check))
    if params:  # on a clone: the instance is shared by all the checks
        estimator = clone(estimator).set_params(**params)
    check(estimator)


@pytest.mark.parametrize("estimator", [MLPClassifier(max_iter=100), MLPRegressor(max_iter=100)])
def test_param_validation(estimator):
    # Every parameter (chainrule's extras included) has a constraint, and a bad value
    # raises InvalidParameterError naming the parameter and the allowed values.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check_param_validation(type(estimator).__name__, estimator)


@pytest.mark.parametrize("estimator", [MLPClassifier(max_iter=100), MLPRegressor(max_iter=100)])
def test_all_zero_sample_weights_error(estimator):
    check_all_zero_sample_weights_error(type(estimator).__name__, estimator)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "estimator",
    [
        MLPClassifier(max_iter=100),
        MLPRegressor(max_iter=100),
        MLPClassifier(early_stopping=True, max_iter=100, n_iter_no_change=1),
        MLPRegressor(early_stopping=True, max_iter=100, n_iter_no_change=1),
    ],
)
def test_pandas_column_names(estimator):
    pytest.importorskip("pandas")
    check_dataframe_column_names_consistency(type(estimator).__name__, estimator)
