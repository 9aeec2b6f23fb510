"""`chainrule train` fits with ONE call of the estimator's fit and the command's callbacks:
divergence judged on the estimator's own data loss, no per-epoch partial_fit."""

import contextlib
import io

import numpy as np
import pandas as pd
import pytest

from chainrule.callbacks import Callback
from chainrule.cli import _loop, main
from chainrule.estimators import MLPClassifier, MLPRegressor


def run(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def wide_small_table(tmp_path):
    """90 rows, 27 columns: 72 training rows, too few for a validation set."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 27))
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(27)])
    frame["y"] = np.where(X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.5, size=90) > 0, "yes", "no")
    frame.to_csv(tmp_path / "wide.csv", index=False)
    return tmp_path / "wide.csv"


def test_the_penalty_on_minibatches_is_no_false_divergence(wide_small_table, tmp_path):
    # The estimator adds the L2 term once per minibatch (5 of them here); the command
    # used to subtract it once, and saw a loss of 9.2 against the untrained 0.69.
    code, out, err = run("train", "--data", wide_small_table, "--alpha", "3", "--batch-size",
                         "16", "--no-progress", "--no-plots", "--out", tmp_path / "w")  # fmt: skip
    assert code == 0, err
    assert "trained 181 epochs (the training loss did not improve for 20 epochs)" in out
    assert (tmp_path / "w" / "model.npz").exists()


def test_a_truly_diverging_run_still_exits_2_with_the_message(wide_small_table, tmp_path):
    code, out, err = run("train", "--data", wide_small_table, "--alpha", "3", "--batch-size",
                         "16", "--lr", "100", "--no-progress", "--out", tmp_path / "w")  # fmt: skip
    assert code == 2, out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(
        "chainrule train: error: training diverged: the training loss rose from 0.6931 "
        "(untrained) to "
    )
    assert lines[0].endswith(
        "in epoch 1 with --lr 100. The features are already standardised, so lower the "
        "learning rate, e.g. --lr 10. Nothing was written."
    )
    assert not (tmp_path / "w").exists()


# --alpha auto: one fit per alpha; without a validation set (100 rows) 5 folds for each
# of 3 alphas, then one on all rows (issue 24; it was one fit with alpha 3)
@pytest.mark.parametrize("n, fits", [(100, 16), (700, 2)])
def test_the_command_calls_fit_once_per_candidate_and_never_partial_fit(
    monkeypatch, tmp_path, n, fits
):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    frame["y"] = np.where(frame["a"] > 0, "p", "n")
    frame.to_csv(tmp_path / "t.csv", index=False)
    calls = []
    fit = MLPClassifier.fit

    def counted_fit(self, *args, **kwargs):
        calls.append(kwargs.get("callbacks"))
        return fit(self, *args, **kwargs)

    def no_partial_fit(self, *args, **kwargs):
        raise AssertionError("partial_fit was called")

    monkeypatch.setattr(MLPClassifier, "fit", counted_fit)
    monkeypatch.setattr(MLPClassifier, "partial_fit", no_partial_fit)
    code, _, err = run("train", "--data", tmp_path / "t.csv", "--epochs", "5", "--hidden", "4",
                       "--no-progress", "--no-plots", "--out", tmp_path / "o")  # fmt: skip
    assert code == 0, err
    assert len(calls) == fits
    kinds = [type(cb).__name__ for cb in calls[0]]
    stopping = "ValidationLoss" if n == 700 else "LossStall"
    assert kinds == ["DivergenceCheck", stopping, "DataLossCurve"]


@pytest.mark.parametrize("alpha", [0.0, 3.0])
def test_data_loss_is_the_commands_loss_at_the_weights_of_the_epochs_start(alpha):
    """One batch per epoch: epoch 1's data_loss is the loss of the initial weights, as
    the command computes it (the validation loss), and the L2 term is all that
    separates it from the logged loss."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.where(X[:, 0] > 0, "p", "n")
    seen = {}

    class Probe(Callback):
        def on_train_begin(self, net, keys):
            seen["keys"] = list(keys)
            seen["start"] = _loop.data_loss(_loop.outputs(net, X), y, np.unique(y))
            seen["W2"] = sum(float(np.sum(W * W)) for W in est.coefs_)

        def on_epoch_end(self, epoch, logs):
            seen["logs"] = dict(logs)
            return True  # one epoch is enough

    est = MLPClassifier(hidden_layer_sizes=(5,), alpha=alpha, batch_size=60, random_state=0)
    est.fit(X, y, callbacks=[Probe()])
    logs = seen["logs"]
    assert "data_loss" in seen["keys"] and "data_loss" not in est.history_
    assert logs["data_loss"] == pytest.approx(seen["start"], rel=1e-12)
    assert logs["loss"] == pytest.approx(logs["data_loss"] + 0.5 * alpha * seen["W2"] / 60)


def test_a_callback_stops_the_one_fit_without_a_convergence_warning(recwarn):
    X = np.random.default_rng(0).normal(size=(40, 2))
    est = MLPRegressor(hidden_layer_sizes=(3,), max_iter=3, random_state=0)
    est.fit(X, X[:, 0], callbacks=[lambda epoch, logs: epoch == 3])
    assert len(est.history_) == 3 and est.history_.stopped_epoch == 3
    assert not [w for w in recwarn if "Maximum iterations" in str(w.message)]


def test_early_stopping_keeps_the_weights_of_the_lowest_validation_loss():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4))
    y = np.where(X[:, 0] + rng.normal(scale=1.5, size=600) > 0, "p", "n")  # noisy: overfits
    est = MLPClassifier(
        hidden_layer_sizes=(32,), alpha=0.0, batch_size=16, learning_rate_init=0.01, random_state=0
    )
    result = _loop.fit_epochs(est, X, y, epochs=200, patience=5, seed=0, validation_fraction=0.2)
    assert result.stop_reason == (
        "early stopping: the validation loss did not improve for 5 epochs"
    )
    assert result.best_epoch == int(np.argmin(result.val_loss)) + 1 < result.n_epochs
    assert len(result.val_loss) == result.n_epochs == len(est.history_)
    _, X_val, _, y_val = _loop._split(X, y, 0.2, 0, True)
    kept = _loop.data_loss(_loop.outputs(est.network_, X_val), y_val, np.unique(y))
    assert kept == min(result.val_loss)
    assert est.random_state == 0 and est.n_iter_no_change == 10  # as the user set them


def test_a_class_with_one_row_is_never_left_to_the_validation_side_alone():
    """The estimator learns the classes of the rows it fits; a class whose only row the
    split held out would have no output, so that row is fitted instead."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    y = np.array(["a", "b"] * 60, dtype="<U4")
    y[7] = "rare"
    from sklearn.model_selection import train_test_split

    assert "rare" in train_test_split(y, test_size=60, random_state=0)[1]  # seed 0 holds it out
    est = MLPClassifier(hidden_layer_sizes=(3,), random_state=0)
    result = _loop.fit_epochs(est, X, y, epochs=2, validation_fraction=0.5, seed=0)
    assert list(est.classes_) == ["a", "b", "rare"]
    assert result.n_val == 59 and len(est.history_) == 2
