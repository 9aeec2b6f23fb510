"""The same seed gives bit-identical results, in float32 and float64: weights, histories
and predictions of ``fit`` and of the estimators, and the command's metrics, history,
model and predictions. A different seed gives different ones (so that the equalities
are not vacuous). Randomness comes only from explicit seeds, never NumPy's global state,
which the tests below advance between the two runs on purpose.
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
RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 4))
Y3 = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)


def disturb_global_state():
    """Advance NumPy's global generator: code that drew from it would now differ."""
    np.random.random(17)  # noqa: NPY002 - on purpose


def bits(arrays) -> list[bytes]:
    return [np.ascontiguousarray(a).tobytes() for a in arrays]


# ---------------------------------------------------------------------- fit
def fit_run(seed, dtype):
    disturb_global_state()
    rng = np.random.default_rng(seed)
    net = cr.Sequential(
        cr.Dense(4, 16, init="he", rng=rng, dtype=dtype),
        cr.ReLU(),
        cr.Dropout(0.3, rng=rng),
        cr.Dense(16, 3, rng=rng, dtype=dtype),
    )
    history = cr.fit(net, cr.CrossEntropy(), X.astype(dtype), Y3, optimizer=cr.Adam(0.01),
                     epochs=8, batch_size=16, validation_split=0.2, metrics=["accuracy"],
                     early_stopping=cr.EarlyStopping(patience=3), l2=1e-3, rng=seed)  # fmt: skip
    weights = [p for _, _, p, _ in net.parameters()]
    return weights, history, net.predict(X.astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_fit_is_bit_identical_for_the_same_seed(dtype):
    w1, h1, p1 = fit_run(7, dtype)
    w2, h2, p2 = fit_run(7, dtype)
    assert all(w.dtype == dtype for w in w1) and p1.dtype == dtype
    assert bits(w1) == bits(w2)
    assert h1.history == h2.history and h1.epochs == h2.epochs  # every logged float
    assert h1.stopped_epoch == h2.stopped_epoch
    assert bits([p1]) == bits([p2])
    w3, h3, _ = fit_run(8, dtype)
    assert bits(w3) != bits(w1) and h3.history != h1.history


# ---------------------------------------------------------------------- the estimators
ESTIMATOR_CASES = {
    "adam-dropout-early-stopping": {"solver": "adam", "dropout": 0.2, "early_stopping": True},
    "sgd-invscaling": {"solver": "sgd", "learning_rate": "invscaling", "momentum": 0.5},
    "lbfgs": {"solver": "lbfgs"},
}


def estimator_run(Estimator, params, seed, dtype):
    disturb_global_state()
    y = Y3 if Estimator is MLPClassifier else X @ np.array([1.0, -1.0, 0.5, 2.0])
    est = Estimator(hidden_layer_sizes=(8,), max_iter=15, random_state=seed, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X.astype(dtype), y)
    output = est.predict_proba(X) if Estimator is MLPClassifier else est.predict(X)
    return est, output


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(ESTIMATOR_CASES))
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_estimators_are_bit_identical_for_the_same_random_state(Estimator, case, dtype):
    params = ESTIMATOR_CASES[case]
    a, out_a = estimator_run(Estimator, params, 3, dtype)
    b, out_b = estimator_run(Estimator, params, 3, dtype)
    assert a.coefs_[0].dtype == dtype and out_a.dtype == dtype
    assert bits(a.coefs_ + a.intercepts_) == bits(b.coefs_ + b.intercepts_)
    assert a.n_iter_ == b.n_iter_ and a.loss_ == b.loss_
    assert getattr(a, "loss_curve_", None) == getattr(b, "loss_curve_", None)
    assert getattr(a, "validation_scores_", None) == getattr(b, "validation_scores_", None)
    assert a.history_.history == b.history_.history
    assert bits([out_a]) == bits([out_b])
    c, _ = estimator_run(Estimator, params, 4, dtype)
    assert bits(c.coefs_) != bits(a.coefs_)


# ---------------------------------------------------------------------- the command
def run(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def model_arrays(path) -> dict[str, bytes]:
    with np.load(path, allow_pickle=False) as f:
        return {name: f[name].tobytes() for name in f.files}


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_the_command_is_bit_identical_for_the_same_seed(tmp_path, task):
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"a": rng.normal(size=90), "b": rng.normal(size=90),
                          "kind": rng.choice(["x", "y", "z"], 90)})  # fmt: skip
    frame.loc[::9, "b"] = np.nan  # imputed
    frame["target"] = (
        np.where(frame["a"] > 0, "yes", "no") if task == "classification" else frame["a"] * 2
    )
    frame.to_csv(tmp_path / "data.csv", index=False)
    runs = []
    for name, seed in (("one", 1), ("two", 1), ("other", 2)):
        disturb_global_state()
        code, _, err = run("train", "--data", tmp_path / "data.csv", "--seed", seed,
                           "--out", tmp_path / name, "--epochs", "15", "--hidden", "8",
                           "--no-progress", "--no-plots")  # fmt: skip
        assert code == 0, err
        code, _, err = run("predict", tmp_path / name / "model.npz", tmp_path / "data.csv",
                           "--out", tmp_path / f"{name}.csv")  # fmt: skip
        assert code == 0, err
        report = json.loads((tmp_path / name / "metrics.json").read_text())
        del report["seconds"]  # the only thing that may differ: the wall-clock time
        del report["options"]["out"]
        runs.append(
            (
                report,
                (tmp_path / name / "history.csv").read_bytes(),
                model_arrays(tmp_path / name / "model.npz"),
                (tmp_path / f"{name}.csv").read_bytes(),
            )
        )
    one, two, other = runs
    assert one[0] == two[0]  # metrics.json
    assert one[1] == two[1]  # history.csv, every loss and gradient norm
    assert one[2] == two[2]  # the model file's arrays and header
    assert one[3] == two[3]  # the predictions
    assert other[2] != one[2] and other[0]["options"]["seed"] == 2
