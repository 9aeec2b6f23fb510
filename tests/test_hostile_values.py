"""Values at the edge of float64 in the data path: columns of 1e160 .. 1.7e308 are truly
standardised (their variance would overflow: the statistics are computed on the column
divided by an exact power of two), and a regression target whose squared errors would
overflow is refused with that reason, before training."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pandas as pd
import pytest

from chainrule.cli import main
from chainrule.datasets import Preprocessor, TargetScaler

RNG = np.random.default_rng(0)
HUGE = [1e160, 1e201, 1e300, 1.7e308]


def run(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("big", HUGE)
def test_a_huge_column_is_standardised_without_overflow(big):
    # pytest turns the overflow RuntimeWarning that np.var would give into an error.
    X = pd.DataFrame({"a": RNG.uniform(-1, 1, size=50) * big, "b": RNG.normal(size=50)})
    X.loc[3, "a"] = np.nan  # imputed with the median, in the column's own units
    pre = Preprocessor().fit(X)
    Z = pre.transform(X)
    assert np.isfinite(Z).all()
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1, rtol=1e-12)
    assert pre.median_[0] == np.nanmedian(X["a"])  # scaled back exactly
    restored = Preprocessor.from_state(*pre.to_state())
    np.testing.assert_array_equal(restored.transform(X), Z)


def test_moderate_columns_are_not_rescaled_and_match_scikit_learn_to_the_bit():
    X = pd.DataFrame({"a": RNG.normal(size=40) * 1e150, "b": RNG.normal(size=40)})
    pre = Preprocessor().fit(X)
    np.testing.assert_array_equal(pre.transform(X), pre.sklearn_transform(X))


@pytest.mark.parametrize("big", HUGE[:3])
def test_the_target_scaler_is_overflow_safe(big):
    y = RNG.uniform(-1, 1, size=(30, 2)) * big
    scaler = TargetScaler().fit(y)
    T = scaler.transform(y)
    np.testing.assert_allclose(T.std(axis=0), 1, rtol=1e-12)
    np.testing.assert_allclose(scaler.inverse_transform(T), y, rtol=1e-12)


def _csv(tmp_path, feature_scale=1.0, target=None, seed=0):
    n, rng = 80, np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n) * feature_scale})
    frame["y"] = (frame["a"] > 0).astype(int) if target is None else frame["a"] * target
    frame.to_csv(tmp_path / "data.csv", index=False)
    return tmp_path / "data.csv"


@pytest.mark.parametrize("big", [1e160, 1e201])
def test_the_command_trains_on_a_column_of_huge_values(tmp_path, big):
    # The same data with column 'b' multiplied by 1e160 or 1e201 trains to the same test
    # accuracy: standardised, 'b' is the same column (up to rounding).
    accuracies = []
    for scale in (1.0, big):
        csv = _csv(tmp_path, feature_scale=scale, seed=3)
        code, out, err = run("train", "--data", csv, "--epochs", "30", "--hidden", "8",
                             "--no-progress", "--no-plots", "--out", tmp_path / "run")  # fmt: skip
        assert code == 0, err
        assert "contains NaN" not in out + err
        accuracies.append(float(out.split("accuracy")[1].split()[1]))
    assert accuracies[0] == accuracies[1]


def test_the_command_refuses_a_target_whose_squared_errors_overflow(tmp_path):
    csv = _csv(tmp_path, target=1e200)
    code, out, err = run("train", "--data", csv, "--epochs", "3", "--no-progress",
                         "--out", tmp_path / "run")  # fmt: skip
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "the target 'y' reaches" in err and "exceed float64's largest number" in err
    assert "Express it in larger units" in err and "infinity" not in err
    assert "training MLP" not in out and not (tmp_path / "run").exists()


def test_predict_on_huge_finite_values_scores_without_overflow(tmp_path):
    """A target of 1e300 in predict's file gave a RuntimeWarning and "R^2 -inf"; a
    feature of 1.7e308 overflowed when standardised (issue 25)."""
    import warnings

    from sklearn.metrics import r2_score

    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    pd.DataFrame({"x": x, "y": 2 * x + 1}).to_csv(tmp_path / "d.csv", index=False)
    code, _, err = run("train", "--data", tmp_path / "d.csv", "--target", "y", "--epochs", "3",
                       "--no-progress", "--no-plots", "--out", tmp_path / "run")  # fmt: skip
    assert code == 0, err
    truth = np.array([1e300, -1e300, 3.0])
    pd.DataFrame({"x": [1.0, 2.0, 1.0], "y": truth}).to_csv(tmp_path / "h.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning
        code, out, err = run("predict", tmp_path / "run" / "model.npz", tmp_path / "h.csv",
                             "--out", tmp_path / "p.csv")  # fmt: skip
    assert code == 0, err
    pred = pd.read_csv(tmp_path / "p.csv")["predicted_y"].to_numpy()
    expected = r2_score(truth / 2.0**997, pred / 2.0**997)  # R^2 does not change with scale
    assert f"the file has the target column: R^2 {expected:.4f}" in out
    pd.DataFrame({"x": [1.7e308, 1.0], "y": [1.0, 2.0]}).to_csv(tmp_path / "f.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code, out, err = run("predict", tmp_path / "run" / "model.npz", tmp_path / "f.csv",
                             "--out", tmp_path / "p2.csv")  # fmt: skip
    assert code == 2 and not (tmp_path / "p2.csv").exists()
    assert err.startswith(
        "chainrule predict: error: column 'x' holds 1.7e+308 (row 0), which is beyond "
        "float64 once standardised: the training data had mean "
    )
    assert err.endswith("cannot be predicted; check that row.\n")
