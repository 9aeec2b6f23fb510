"""`chainrule train`'s defaults and the messages of a run, driven in a subprocess:
early stopping on the validation loss, the kept epoch, divergence, lbfgs, stale files."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

PNG = b"\x89PNG\r\n\x1a\n"


def run(*args, cwd=None):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-m", "chainrule", *map(str, args)],
        capture_output=True, text=True, timeout=300, cwd=cwd, env=env,
    )  # fmt: skip


def test_wine_is_not_frozen_by_a_tiny_validation_set(tmp_path):
    r = run("train", "--data", "wine", "--out", tmp_path / "w", "--no-progress", "--no-plots")
    assert r.returncode == 0, r.stderr
    assert (
        "early stopping off: 29 validation rows (0.2 of 142) are fewer than the 50 it needs "
        "(each side of the split); training up to --epochs"
    ) in r.stdout
    # issue 24: without a validation set alpha is chosen by 5-fold cross-validation
    assert (
        "alpha auto: no validation set, so 5-fold cross-validation on the 142 training rows "
        "(15 fits, then one on all rows); mean held-out loss per L2 penalty {3: 0.1921, "
        "1: 0.1092, 0.1: 0.0850}; kept 0.1"
    ) in r.stdout
    report = json.loads((tmp_path / "w" / "metrics.json").read_text())
    assert report["epochs_run"] == 200 and report["kept_epoch"] is None
    assert report["metrics"]["test"]["accuracy"] == 1.0  # as LogisticRegression on this split


def test_the_kept_epoch_is_reported_saved_and_marked(tmp_path):
    r = run("train", "--data", "breast_cancer", "--out", tmp_path / "b", "--no-progress")
    assert r.returncode == 0, r.stderr
    # a tie in validation accuracy keeps the stronger penalty
    assert (
        "alpha auto: validation accuracy per L2 penalty {1: 0.9890 (epoch 59), 0.1: 0.9890 "
        "(epoch 28)}; kept 1"
    ) in r.stdout
    assert (
        "trained 79 epochs (early stopping: the validation loss did not improve for 20 epochs)"
        in r.stdout
    )
    assert "kept the weights of epoch 59: the lowest validation loss, 0.0617 on 91 held-out" in (
        r.stdout
    )
    report = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert report["kept_epoch"] == 59 and report["epochs_run"] == 79 and report["alpha"] == 1.0
    assert report["metrics"]["test"]["accuracy"] == 111 / 114  # as LogisticRegression here
    history = pd.read_csv(tmp_path / "b" / "history.csv", index_col="epoch")
    assert len(history) == 79 and history["val_loss"].idxmin() == 59
    assert [c for c in history.columns if c.startswith("grad_norm")] == [
        "grad_norm_dense_1", "grad_norm_dense_2", "grad_norm_dense_3"]  # fmt: skip


def test_loss_png_marks_the_kept_epoch():
    from chainrule import plotting

    fig = plotting.plot_loss({"loss": [3, 2, 1, 0.5], "val_loss": [3, 2, 2.5, 2.7]}, mark_epoch=2)
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert labels == ["train", "validation", "weights kept: epoch 2"]
    assert list(fig.axes[0].lines[2].get_xdata()) == [2, 2]


def test_progress_bar_is_completed_after_early_stopping(tmp_path):
    r = run("train", "--data", "breast_cancer", "--alpha", "0.1", "--out", tmp_path / "b")
    assert r.returncode == 0, r.stderr
    last = r.stderr.replace("\r", "\n").strip().splitlines()[-1]
    assert last.startswith("100%") and "48/48" in last, last


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_divergence_exits_2_with_epoch_and_rate_and_writes_nothing(tmp_path, solver):
    r = run("train", "--lr", "100", "--solver", solver, "--out", tmp_path / "d", "--no-progress")
    assert r.returncode == 2, r.stdout
    err = r.stderr.strip().splitlines()
    assert len(err) == 1, r.stderr
    # sgd's loss is 2.5e30 in epoch 1; until issue 21 the command subtracted the L2 term
    # of the last weights (1e48) from it and noticed only the inf of epoch 3
    epoch = {"adam": 1, "sgd": 1}[solver]
    assert err[0].startswith(
        "chainrule train: error: training diverged: the training loss rose from 1.099 "
        "(untrained) to "
    )
    assert err[0].endswith(
        f"in epoch {epoch} with --lr 100. The features are already standardised, so lower "
        "the learning rate, e.g. --lr 10. Nothing was written."
    )
    assert not (tmp_path / "d").exists()


def test_lbfgs_trains_plots_and_reports_without_early_stopping(tmp_path):
    r = run("train", "--solver", "lbfgs", "--out", tmp_path / "l", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "early stopping" not in r.stdout.replace("no early stopping", "")
    assert "lbfgs iterations" in r.stdout and "lbfgs has no epochs and no early stopping" in (
        r.stdout
    )
    for name in ("loss", "gradient_norms", "confusion_matrix", "decision_regions"):
        assert (tmp_path / "l" / f"{name}.png").read_bytes().startswith(PNG), name


def test_stale_plots_of_an_earlier_run_are_removed(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "residuals.png").write_bytes(PNG)  # from an earlier regression run
    (out / "notes.txt").write_text("mine")  # not chainrule's: kept
    r = run("train", "--epochs", "3", "--out", out, "--no-progress")
    assert r.returncode == 0, r.stderr
    assert not (out / "residuals.png").exists()
    assert (out / "notes.txt").read_text() == "mine"


def test_regression_reports_rmse_beside_mse(tmp_path):
    r = run("train", "--data", "diabetes", "--out", tmp_path / "r", "--no-progress",
            "--no-plots")  # fmt: skip
    assert r.returncode == 0, r.stderr
    test = json.loads((tmp_path / "r" / "metrics.json").read_text())["metrics"]["test"]
    assert test["rmse"] == pytest.approx(test["mse"] ** 0.5, rel=1e-12)
    lines = r.stdout.splitlines()
    assert lines[lines.index(next(x for x in lines if x.startswith("mse "))) + 1].startswith("rmse")


def test_sgd_trains_plots_and_reports(tmp_path):
    r = run("train", "--solver", "sgd", "--lr", "0.05", "--data", "breast_cancer", "--out",
            tmp_path / "s", "--no-progress")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "solver='sgd'" in r.stdout and "kept the weights of epoch" in r.stdout
    report = json.loads((tmp_path / "s" / "metrics.json").read_text())
    assert report["metrics"]["test"]["accuracy"] >= 0.95
    for name in ("loss", "gradient_norms", "confusion_matrix", "decision_regions"):
        assert (tmp_path / "s" / f"{name}.png").read_bytes().startswith(PNG), name


def test_ctrl_c_during_an_epoch_stops_the_loop_not_just_the_epoch(monkeypatch):
    import numpy as np

    from chainrule.cli import _loop as _train_loop
    from chainrule.estimators import MLPClassifier
    from chainrule.estimators._training import EstimatorRun  # its batch's loss step

    X = np.random.default_rng(0).normal(size=(100, 3))
    y = (X[:, 0] > 0).astype(int)
    calls = []
    original = EstimatorRun.objective

    def interrupted_at_the_tenth_batch(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 10:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(EstimatorRun, "objective", interrupted_at_the_tenth_batch)
    est = MLPClassifier(hidden_layer_sizes=(4,), random_state=0)
    with pytest.raises(KeyboardInterrupt):
        _train_loop.fit_epochs(est, X, y, epochs=50, seed=0)
    assert len(calls) == 10  # nothing ran after the interrupt


def test_early_stopping_off_names_the_side_of_the_split_that_is_short(tmp_path):
    """Review: with most rows held out it is the training side that is short."""
    r = run("train", "--data", "iris", "--validation-fraction", "0.8", "--epochs", "3",
            "--out", tmp_path / "i", "--no-progress", "--no-plots")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert (
        "early stopping off: the 24 training rows left beside 96 validation rows are fewer "
        "than the 50 it needs (each side of the split)" in r.stdout
    )
