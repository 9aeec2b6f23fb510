"""MLPClassifier / MLPRegressor at the edges: scikit-learn's error wording, class_weight,
extreme sample weights, overflowing predictions, failed fits and threads.

(scikit-learn's own MLP tests run against the drop-ins in test_sklearn_mlp_suite.py.)
"""

from __future__ import annotations

import math
import re
import threading
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.class_weight import compute_class_weight

import chainrule as cr
from chainrule import MLPClassifier, MLPRegressor

quiet = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def failure(call):
    """``(type, message)`` of the exception ``call()`` raises (warnings silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            call()
        except Exception as exc:  # any error: the point is to compare them
            return type(exc), str(exc)
    raise AssertionError("no exception raised")


# --------------------------------------------------------- scikit-learn's error wording
X10 = np.random.RandomState(0).normal(size=(10, 2))
Y10 = np.arange(10) % 2
HUGE = np.finfo(np.float64).max * np.random.RandomState(0).uniform(size=(10, 2))

# (name, which class, constructor kwargs, the call on an estimator)
SAME_ERRORS = [
    ("hidden-size-zero", "clf", {"hidden_layer_sizes": [0]}, lambda e: e.fit(X10, Y10)),
    ("diverged", "reg", {}, lambda e: e.fit(HUGE, Y10)),
    (
        "partial-fit-early-stopping",
        "reg",
        {"early_stopping": True},
        lambda e: e.partial_fit(X10, Y10),
    ),
    (
        "warm-start-new-classes",
        "clf",
        {"warm_start": True, "max_iter": 2},
        lambda e: e.fit(X10, Y10).fit(X10, np.arange(10) % 3),
    ),
    (
        "partial-fit-unseen-class",
        "clf",
        {},
        lambda e: e.partial_fit(X10, Y10, classes=[0, 1]).partial_fit(X10, Y10 + 1),
    ),
    ("weights-2d", "clf", {}, lambda e: e.fit(X10, Y10, sample_weight=np.ones((10, 1)))),
    ("weights-shape", "clf", {}, lambda e: e.fit(X10, Y10, sample_weight=np.ones(3))),
    ("weights-nan", "clf", {}, lambda e: e.fit(X10, Y10, sample_weight=np.r_[np.nan, [1] * 9])),
    ("weights-inf", "reg", {}, lambda e: e.fit(X10, Y10, sample_weight=np.r_[np.inf, [1] * 9])),
    ("weights-zero", "reg", {}, lambda e: e.fit(X10, Y10, sample_weight=np.zeros(10))),
    ("weights-text", "clf", {}, lambda e: e.fit(X10, Y10, sample_weight=["a"] * 10)),
    (
        "validation-too-small",
        "reg",
        {"early_stopping": True, "validation_fraction": 0.1},
        lambda e: e.fit(X10, Y10),
    ),
    (
        "stratified-one-member",
        "clf",
        {"early_stopping": True},
        lambda e: e.fit(X10[:4], [0, 0, 0, 1]),
    ),
    ("predict-unfitted", "clf", {}, lambda e: e.predict(X10)),
    ("param-type", "reg", {"max_iter": "many"}, lambda e: e.fit(X10, Y10)),
]


@pytest.mark.parametrize(
    ("kind", "params", "call"), [c[1:] for c in SAME_ERRORS], ids=[c[0] for c in SAME_ERRORS]
)
def test_errors_begin_with_scikit_learns_exact_words(kind, params, call):
    ours = {"clf": MLPClassifier, "reg": MLPRegressor}[kind]
    theirs = {"clf": SkMLPClassifier, "reg": SkMLPRegressor}[kind]
    sk_type, sk_message = failure(lambda: call(theirs(**params)))
    cr_type, cr_message = failure(lambda: call(ours(**params)))
    assert issubclass(cr_type, sk_type)
    assert cr_message.startswith(sk_message), (sk_message, cr_message)


def test_partial_fit_of_lbfgs_gives_scikit_learns_reason():
    def reason(est):
        with pytest.raises(AttributeError) as info:
            est.partial_fit  # the attribute access is what raises
        return str(info.value.__cause__)

    sk_message = reason(SkMLPClassifier(solver="lbfgs"))
    cr_message = reason(MLPClassifier(solver="lbfgs"))
    assert cr_message == sk_message + " Use solver='sgd' or 'adam'."


def test_diverged_error_keeps_the_epoch_rate_and_fix_after_scikit_learns_words():
    X = np.random.default_rng(0).normal(size=(40, 3)) * 100
    est = MLPRegressor(solver="sgd", learning_rate_init=1e6, batch_size=10, random_state=0)
    _, message = failure(lambda: est.fit(X, X[:, 0]))
    assert message.startswith(
        "Solver produced non-finite parameter weights. The input data may contain large "
        "values and need to be preprocessed. Training diverged: the training loss became "
    )
    assert "in epoch 1 of this fit, with solver='sgd', learning_rate_init=1e+06." in message
    assert "Lower learning_rate_init (e.g. to 100000)" in message
    assert not hasattr(est, "coefs_")


# ------------------------------------------------- early stopping: split and divergence
def test_stratified_split_with_a_one_member_class_raises_scikit_learns_error():
    est = MLPClassifier(early_stopping=True)
    with pytest.raises(ValueError) as info:
        est.fit([[1, 2], [2, 3], [3, 4], [4, 5]], [0, 0, 0, 1])
    assert re.match(
        r"The least populated classes? in y ha(s|ve) only 1 member.*Classes with too few "
        r"members are: \['True'\]",
        str(info.value),
        flags=re.S,
    )
    assert "Set early_stopping=False, or add samples of the rare class." in str(info.value)
    assert not hasattr(est, "coefs_")


def test_multiclass_split_with_a_one_member_class_falls_back_to_a_random_split(iris):
    X, y = iris
    y = y.copy()
    y[0] = 3  # one sample of a fourth class: scikit-learn does not stratify multiclass
    est = MLPClassifier(early_stopping=True, max_iter=3, random_state=0)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        est.fit(X, y)
    assert len(est.validation_scores_) == 3


def diverging_regressor(**kw):
    X, y = load_iris(return_X_y=True)  # the data of scikit-learn's issue 29504
    params = dict(
        hidden_layer_sizes=100,
        activation="identity",
        solver="sgd",
        learning_rate_init=1,
        max_iter=20,
        early_stopping=True,
        random_state=0,
    )
    return MLPRegressor(**{**params, **kw}), X, y


def test_diverging_run_with_early_stopping_keeps_the_best_finite_model_and_warns():
    est, X, y = diverging_regressor()
    with pytest.warns(ConvergenceWarning) as record:
        est.fit(X, y)
    (warning,) = record
    message = str(warning.message)
    scores = est.validation_scores_
    assert np.isnan(scores[-1]) and isinstance(scores[-1], float)
    assert np.isnan(est.loss_curve_[-1]) and np.isnan(est.loss_)
    assert np.isfinite(est.loss_curve_[:-1]).all()
    assert est.n_iter_ == len(scores) == len(est.loss_curve_) == 6  # as docs/errors.md says
    assert est.best_validation_score_ == np.nanmax(scores) == scores[0]
    assert message.startswith(
        f"Training diverged: the training loss became nan in epoch {est.n_iter_}, with "
        "solver='sgd', learning_rate_init=1. early_stopping=True kept the weights with the "
        f"best validation score so far ({est.best_validation_score_:.6g})"
    )
    assert "Lower learning_rate_init (e.g. to 0.1)" in message
    # the kept weights are finite and score what early stopping recorded
    assert all(np.isfinite(W).all() for W in (*est.coefs_, *est.intercepts_))
    assert np.isfinite(est.predict(X)).all()
    assert est.history_.to_frame()["loss"].isna().iloc[-1]


def test_diverging_from_the_first_epoch_with_early_stopping_still_raises():
    # nothing finite was ever validated: keeping the random initial weights would be a lie
    est, X, y = diverging_regressor(learning_rate_init=1e3, batch_size=10)
    _, message = failure(lambda: est.fit(X, y))
    assert "Training diverged: the training loss became nan in epoch 1 of this fit" in message
    assert not hasattr(est, "coefs_")


# ------------------------------------------------------------------------ class_weight
def unbalanced(iris):
    X, y = iris
    keep = np.r_[0:50, 50:80, 100:110]  # 50, 30 and 10 samples
    return X[keep], y[keep]


@quiet
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_balanced_class_weight_equals_the_same_weights_by_hand(iris, solver):
    X, y = unbalanced(iris)
    params = dict(hidden_layer_sizes=(8,), max_iter=15, random_state=0, solver=solver)
    weighted = MLPClassifier(class_weight="balanced", **params).fit(X, y)
    by_class = compute_class_weight("balanced", classes=np.unique(y), y=y)
    np.testing.assert_allclose(by_class, [90 / 150, 90 / 90, 90 / 30])
    by_hand = MLPClassifier(**params).fit(X, y, sample_weight=by_class[y])
    assert weighted.loss_ == by_hand.loss_
    if solver != "lbfgs":
        assert weighted.loss_curve_ == by_hand.loss_curve_
    for A, B in zip(weighted.coefs_, by_hand.coefs_, strict=True):
        np.testing.assert_array_equal(A, B)


@quiet
def test_dict_class_weight_multiplies_into_sample_weight(iris):
    X, y = unbalanced(iris)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    sw = np.linspace(0.5, 2.0, y.size)
    params = dict(hidden_layer_sizes=(8,), max_iter=10, random_state=0, solver="sgd")
    weighted = MLPClassifier(class_weight={"virginica": 4.0, "setosa": 0.5}, **params)
    weighted.fit(X, labels, sample_weight=sw)
    by_hand = MLPClassifier(**params).fit(X, labels, sample_weight=sw * np.array([0.5, 1, 4])[y])
    assert weighted.loss_curve_ == by_hand.loss_curve_


@quiet
def test_class_weight_changes_what_is_learned(iris):
    X, y = unbalanced(iris)
    params = dict(hidden_layer_sizes=(8,), max_iter=30, random_state=0, solver="sgd")
    plain = MLPClassifier(**params).fit(X, y)
    heavy = MLPClassifier(class_weight={2: 20.0}, **params).fit(X, y)
    assert (heavy.predict(X) == 2).sum() > (plain.predict(X) == 2).sum()


@pytest.mark.parametrize(
    ("class_weight", "message"),
    [
        (
            {5: 1.0},
            "class_weight has a weight for 5, which is not a class of y (the classes are "
            "[0, 1, 2]). Use the labels of y as keys, e.g. class_weight={0: 2.0}.",
        ),
        (
            {"0": 1.0},
            "class_weight has a weight for '0', which is not a class of y (the classes are "
            "[0, 1, 2]). Use the labels of y as keys, e.g. class_weight={0: 2.0}.",
        ),
        (
            {1: -2.0},
            "class_weight[1] = -2.0 is not a valid weight: give each class a finite number "
            ">= 0, e.g. class_weight={1: 2.0}.",
        ),
        (
            {1: float("inf")},
            "class_weight[1] = inf is not a valid weight: give each class a finite number "
            ">= 0, e.g. class_weight={1: 2.0}.",
        ),
        (
            {1: "2"},
            "class_weight[1] = '2' is not a valid weight: give each class a finite number "
            ">= 0, e.g. class_weight={1: 2.0}.",
        ),
    ],
)
def test_bad_class_weight_names_the_value_and_the_fix(iris, class_weight, message):
    X, y = iris
    est = MLPClassifier(class_weight=class_weight, max_iter=2)
    with pytest.raises(ValueError) as info:
        est.fit(X, y)
    assert str(info.value) == message
    assert not hasattr(est, "coefs_")


def test_class_weight_all_zero_and_multilabel_and_balanced_partial_fit(iris):
    X, y = iris
    with pytest.raises(ValueError) as info:
        MLPClassifier(class_weight={0: 0, 1: 0, 2: 0}).fit(X, y)
    assert str(info.value) == (
        "Sample weights must contain at least one non-zero number. All are zero after "
        "multiplying by class_weight."
    )
    Y = np.c_[y == 0, y == 1].astype(int)
    with pytest.raises(ValueError) as info:
        MLPClassifier(class_weight="balanced").fit(X, Y)
    assert str(info.value) == (
        "class_weight='balanced' needs one class per sample, but y is multilabel. Pass "
        "per-sample weights through sample_weight instead."
    )
    est = MLPClassifier(class_weight="balanced", solver="sgd")
    with pytest.raises(ValueError, match=r"^class_weight='balanced' is not supported for "):
        est.partial_fit(X, y, classes=[0, 1, 2])
    assert not hasattr(est, "coefs_")


@quiet
def test_class_weight_is_a_keyword_only_parameter_that_survives_clone_and_save(iris, tmp_path):
    X, y = iris
    assert MLPClassifier().get_params()["class_weight"] is None
    with pytest.raises(TypeError):
        MLPClassifier((8,), "relu", "adam", *([None] * 24))  # no positional extras
    est = MLPClassifier(class_weight={0: 2.0, np.int64(2): 3}, max_iter=5, random_state=0)
    assert clone(est).get_params()["class_weight"] == {0: 2.0, 2: 3}
    est.fit(X, y)
    loaded = cr.load(cr.save(est, tmp_path / "m.npz"))
    assert loaded.class_weight == {0: 2.0, 2: 3.0}
    assert all(isinstance(k, int) for k in loaded.class_weight)
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    balanced = MLPClassifier(class_weight="balanced", max_iter=5, random_state=0).fit(X, y)
    assert cr.load(cr.save(balanced, tmp_path / "b.npz")).class_weight == "balanced"


@pytest.mark.parametrize(
    ("param", "value", "allowed"),
    [
        ("class_weight", "auto", "a str among {'balanced'}, an instance of 'dict' or None"),
        ("class_weight", [1.0, 2.0], "a str among {'balanced'}, an instance of 'dict' or None"),
        ("dropout", "0.5", "a float in the range [0.0, 1.0)"),
        ("progress", "yes", "an instance of 'bool' or an instance of 'numpy.bool'"),
    ],
)
def test_extras_of_the_wrong_type_name_the_argument_and_the_value(iris, param, value, allowed):
    X, y = iris
    with pytest.raises(InvalidParameterError) as info:
        MLPClassifier(**{param: value}).fit(X, y)
    assert str(info.value) == (
        f"The {param!r} parameter of MLPClassifier must be {allowed}. Got {value!r} instead."
    )


# -------------------------------------------------------------- extreme sample weights
@quiet
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scale", [1e307, 1e-310, 2.0**-1074])
def test_extreme_uniform_weights_train_as_unweighted_without_l2(iris, dtype, scale):
    # Uniform weights w: the data term's weighted mean ignores w, the L2 term is
    # alpha / sum(w). With alpha=0 a weight of 1e307 (whose sum overflows) or a
    # subnormal one must train exactly as no weights at all.
    # Only the weights' ratios enter: equal to the same weights of a normal size (the
    # mantissa of `scale`), bit for bit, and to no weights, to rounding.
    X, y = iris
    X = X.astype(dtype)
    params = dict(hidden_layer_sizes=(8,), max_iter=10, random_state=0, alpha=0.0)
    weighted = MLPClassifier(**params).fit(X, y, sample_weight=np.full(y.size, scale))
    normal = np.full(y.size, math.frexp(scale)[0])
    assert weighted.loss_curve_ == MLPClassifier(**params).fit(X, y, normal).loss_curve_
    plain = MLPClassifier(**params).fit(X, y)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(weighted.loss_curve_, plain.loss_curve_, rtol=rtol)


@quiet
def test_huge_weights_give_the_limit_of_scikit_learns_objective(iris):
    # sum(w) = 1.5e309 overflows: the L2 term alpha / sum(w) is ~1e-313, i.e. zero.
    X, y = iris
    params = dict(hidden_layer_sizes=(8,), max_iter=10, random_state=0)
    huge = MLPClassifier(**params).fit(X, y, sample_weight=np.full(y.size, 1e307))
    no_l2 = MLPClassifier(**params, alpha=0.0).fit(X, y)
    np.testing.assert_allclose(huge.loss_curve_, no_l2.loss_curve_, rtol=1e-12)
    # and weights of 1e300 (sum finite) are scikit-learn's to rounding
    sk = SkMLPClassifier(**params).fit(X, y, sample_weight=np.full(y.size, 1e300))
    ours = MLPClassifier(**params).fit(X, y, sample_weight=np.full(y.size, 1e300))
    np.testing.assert_allclose(ours.loss_curve_, sk.loss_curve_, rtol=1e-12)


def test_weights_whose_l2_term_overflows_are_refused(iris):
    X, y = iris
    est = MLPClassifier()
    with pytest.raises(ValueError) as info:
        est.fit(X, y, sample_weight=np.full(y.size, 1e-320))
    assert str(info.value) == (
        "sample_weight sums to 1.49998e-318, so the L2 term alpha / sum(sample_weight) = "
        "0.0001 / 1.49998e-318 overflows. Multiply the weights by a large constant (their "
        "ratios are what weighs the samples; alpha acts per unit of weight) or set alpha=0."
    )
    assert not hasattr(est, "coefs_")


def test_weights_spanning_more_than_float32_can_hold_are_refused(iris):
    X, y = iris
    sw = np.ones(y.size)
    sw[0], sw[3] = 1e30, 1e-30
    with pytest.raises(ValueError) as info:
        MLPClassifier().fit(X.astype(np.float32), y, sample_weight=sw)
    assert str(info.value) == (
        "sample_weight spans too many orders of magnitude for float32: the weight of "
        "sample 3 (1e-30) is below float32's smallest number relative to the largest "
        "weight (1e+30). Set such weights to 0, or clip the weights to a narrower range."
    )


# ------------------------------------------------------------- predictions that overflow
@quiet
def test_poisson_predict_never_returns_inf():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    y = rng.poisson(np.exp(0.5 * X[:, 0]))
    est = MLPRegressor(loss="poisson", hidden_layer_sizes=(), max_iter=50, random_state=0)
    est.fit(X, y)
    assert np.isfinite(est.predict(X)).all()
    far = np.array([[0.0, 0.0], [1e4, 1e4]])
    Z = far @ est.coefs_[0] + est.intercepts_[0]
    assert Z[1, 0] > 710  # exp overflows there
    with pytest.raises(ValueError) as info:
        est.predict(far)
    assert str(info.value) == (
        f"the predicted mean exp(Z) overflows float64 for 1 of 2 samples (the first is row "
        f"1, where Z = {Z[1, 0]:.4g} > log(max float64) = 709.8): their values are far "
        "outside the range seen in training. Scale X as the training data was scaled."
    )
    with pytest.raises(ValueError, match="the predicted mean exp"):
        est.score(far, [1.0, 1.0])


# ------------------------------------------------------------- a failed fit changes nothing
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_failed_fit_leaves_a_random_state_instance_unadvanced(method):
    X = np.random.default_rng(0).normal(size=(40, 3)) * 100
    random_state = np.random.RandomState(7)
    before = random_state.get_state()
    est = MLPRegressor(
        solver="sgd", learning_rate_init=1e6, batch_size=10, random_state=random_state
    )
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
        getattr(est, method)(X, X[:, 0])
    after = random_state.get_state()
    assert after[0] == before[0] and after[2:] == before[2:]
    np.testing.assert_array_equal(after[1], before[1])
    assert est.random_state is random_state and not hasattr(est, "coefs_")
    # a successful fit does advance it, as in scikit-learn
    est.set_params(learning_rate_init=1e-3, max_iter=1)
    with pytest.warns(ConvergenceWarning):
        est.fit(X / 100, X[:, 0] / 100)
    assert not np.array_equal(random_state.get_state()[1], before[1])


# ----------------------------------------------------------------------------- threads
def test_a_second_fit_of_one_estimator_from_another_thread_fails_clearly(iris, monkeypatch):
    X, y = iris
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    inside, release = threading.Event(), threading.Event()
    original = MLPClassifier._log_epoch

    def log_and_wait(self, logs, bar):  # holds the first fit inside its first epoch
        inside.set()
        release.wait(timeout=30)
        return original(self, logs, bar)

    monkeypatch.setattr(MLPClassifier, "_log_epoch", log_and_wait)
    outcome = {}

    def first_fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            outcome["first"] = est.fit(X, y)

    thread = threading.Thread(target=first_fit)
    thread.start()
    assert inside.wait(timeout=30)
    try:
        busy = (
            "this MLPClassifier is already being fitted (by another thread): estimators are "
            "not thread-safe, and two fits of one estimator would mix their weights. Give "
            "each thread its own estimator, e.g. sklearn.base.clone(est)."
        )
        with pytest.raises(RuntimeError) as info:
            est.fit(X, y)
        assert str(info.value) == busy
        with pytest.raises(RuntimeError, match="already being fitted"):
            est.partial_fit(X, y, classes=[0, 1, 2])
        with pytest.raises(RuntimeError, match=r"^this MLPClassifier is being fitted"):
            est.predict(X)
        clone(est).set_params(max_iter=1)  # another estimator is free to fit
    finally:
        release.set()
        thread.join(timeout=60)
    assert outcome["first"] is est and est.n_iter_ == 3
    assert len(est.history_) == 3  # the refused calls did not touch the running fit
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)  # free again once the first fit returned
    assert est.predict(X).shape == y.shape


def test_predicting_from_many_threads_at_once_is_safe(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=0).fit(X, y)
    expected = est.predict_proba(X)
    results = [None] * 4

    def predict(i):
        results[i] = [est.predict_proba(X) for _ in range(20)]

    threads = [threading.Thread(target=predict, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for per_thread in results:
        for P in per_thread:
            np.testing.assert_array_equal(P, expected)


def test_unfitted_predict_is_still_scikit_learns_error():
    with pytest.raises(NotFittedError, match="This MLPRegressor instance is not fitted yet"):
        MLPRegressor().predict(np.zeros((1, 2)))


@pytest.mark.parametrize(
    "activation, label", [("relu", "glorot_uniform"), ("logistic", "glorot_uniform_logistic")]
)
def test_a_fitted_network_names_the_distribution_its_weights_came_from(activation, label, tmp_path):
    """Issue 16: the fitted network printed Dense(..., init='zeros') for drawn weights."""
    X, y = load_iris(return_X_y=True)
    clf = cr.MLPClassifier(hidden_layer_sizes=(5,), activation=activation, max_iter=3,
                           random_state=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert f"Dense(n_in=4, n_out=5, init='{label}')" in repr(clf.network_)
    assert "zeros" not in repr(clf.network_)
    loaded = cr.load(cr.save(clf, tmp_path / "clf.npz"))
    assert repr(loaded.network_) == repr(clf.network_)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
