"""``chainrule train --resume DIR``: 20 epochs, then in a new process 20 more, equals 40
epochs bit for bit; a stopped run is not trained further; a missing, tampered or
conflicting resume is one line and exit status 2, with nothing written.

The command trains in float64 only (it has no dtype option), so there is no float32 case.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
import chainrule.cli._resume

ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
QUIET = ("--no-progress", "--no-plots")


def run(*args, cwd=None):
    r = subprocess.run(
        [sys.executable, "-m", "chainrule", "train", *map(str, args), *QUIET],
        capture_output=True, text=True, timeout=300, cwd=cwd, env=ENV,
    )  # fmt: skip
    return r.returncode, r.stdout, r.stderr


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def assert_same_run(a: Path, b: Path) -> None:
    with np.load(a / "model.npz", allow_pickle=False) as A, np.load(b / "model.npz") as B:
        assert sorted(A.files) == sorted(B.files)
        for name in A.files:
            assert A[name].dtype == B[name].dtype and np.array_equal(A[name], B[name]), name
    assert (a / "model.npz").read_bytes() == (b / "model.npz").read_bytes()
    assert (a / "history.csv").read_text() == (b / "history.csv").read_text()


CASES = [  # (data, options): a classification and a regression table, adam and sgd
    ("breast_cancer", ("--solver", "adam", "--alpha", "0.1")),
    ("breast_cancer", ("--solver", "sgd", "--alpha", "0.1", "--lr", "0.01")),  # momentum 0.9
    ("diabetes", ("--solver", "adam", "--alpha", "0.1", "--lr", "0.003")),
    ("diabetes", ("--solver", "sgd", "--alpha", "0.1", "--lr", "0.01")),
]


@pytest.mark.slow
@pytest.mark.parametrize("data,options", CASES)
def test_20_epochs_then_resume_to_40_equals_40_epochs(tmp_path, data, options):
    common = ("--data", data, "--hidden", "16", *options)
    code, out, err = run(*common, "--epochs", 20, "--out", tmp_path / "two")
    assert code == 0, err
    assert "train on with: chainrule train --resume" in out
    code, out, err = run("--resume", tmp_path / "two", "--epochs", 40)  # a new process
    assert code == 0, err
    assert "resuming from epoch 20" in out
    code, _, err = run(*common, "--epochs", 40, "--out", tmp_path / "one")
    assert code == 0, err
    assert_same_run(tmp_path / "two", tmp_path / "one")
    assert len((tmp_path / "one" / "history.csv").read_text().splitlines()) == 41


@pytest.mark.slow
def test_resume_stops_where_one_run_stops_and_a_stopped_run_goes_no_further(tmp_path):
    # one run of 60 epochs stops early at epoch 48 (validation loss), keeping epoch 28
    common = ("--data", "breast_cancer", "--hidden", "16", "--lr", "0.01", "--alpha", "0.0001")
    assert run(*common, "--epochs", 60, "--out", tmp_path / "one")[0] == 0
    assert run(*common, "--epochs", 30, "--out", tmp_path / "two")[0] == 0
    code, out, err = run("--resume", tmp_path / "two", "--epochs", 60)
    assert code == 0, err
    assert "trained 48 epochs (early stopping: the validation loss did not improve" in out
    assert "kept the weights of epoch 28" in out
    assert_same_run(tmp_path / "two", tmp_path / "one")
    before = files(tmp_path / "two")
    code, out, err = run("--resume", tmp_path / "two", "--epochs", 100)
    assert (code, err) == (0, "")
    assert out == (
        f"the run in {tmp_path / 'two'} stopped early after epoch 48 (its stopping rule); "
        "there is nothing more to train. Nothing was written.\n"
    )
    assert files(tmp_path / "two") == before


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """A 3-epoch sgd run on a small CSV (no validation set: LossStall's path)."""
    folder = tmp_path_factory.mktemp("small")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 2))
    rows = [f"{a:.6f},{b:.6f},{'yes' if a + b > 0 else 'no'}" for a, b in X]
    (folder / "t.csv").write_text("a,b,label\n" + "\n".join(rows) + "\n")
    code, _, err = run("--data", folder / "t.csv", "--solver", "sgd", "--epochs", 3,
                       "--hidden", "4", "--alpha", "0.1", "--out", folder / "run")  # fmt: skip
    assert code == 0, err
    return folder


def refused(tmp_path, folder: Path, *args) -> str:
    """Run a resume that must fail; check it wrote nothing; return its one line."""
    before = files(folder) if folder.is_dir() else None
    code, out, err = run("--resume", folder, *args, cwd=tmp_path)
    assert code == 2 and err.count("\n") == 1, err
    assert "wrote" not in out
    assert (files(folder) if folder.is_dir() else None) == before
    assert not (tmp_path / "chainrule-run").exists()
    return err.strip()


def test_resume_without_a_checkpoint_is_one_line(tmp_path, small_run):
    (tmp_path / "empty").mkdir()
    assert refused(tmp_path, tmp_path / "empty", "--epochs", 6) == (
        f"chainrule train: error: --resume {tmp_path / 'empty'}: the folder holds no "
        "checkpoint.npz (runs with --solver sgd or adam write one; lbfgs runs and runs of "
        "older versions do not)."
    )
    assert refused(tmp_path, tmp_path / "nowhere") == (
        f"chainrule train: error: --resume {tmp_path / 'nowhere'}: no such folder; name the "
        "--out of a run."
    )


def test_a_tampered_checkpoint_is_refused(tmp_path, small_run):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(small_run / "run", bad)
    data = bytearray((bad / "checkpoint.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: the zip's checksum fails
    (bad / "checkpoint.npz").write_bytes(bytes(data))
    assert "checkpoint.npz" in refused(tmp_path, bad, "--epochs", 6)

    checkpoint = cr.load(small_run / "run" / "checkpoint.npz")  # a valid file, a wrong state
    checkpoint.stopping[1]["curve"] = np.array([1.0, 2.0, np.nan, 4.0])[:2].astype(np.float32)
    cr.save(checkpoint, bad / "checkpoint.npz")
    line = refused(tmp_path, bad, "--epochs", 6)
    assert line.endswith("LossStall: the stored losses must be a 1-D float64 array.")

    checkpoint = cr.load(small_run / "run" / "checkpoint.npz")
    checkpoint.options["hidden"] = "4"  # save reads it back first, with load's checks
    with pytest.raises(ValueError, match="the checkpoint's option 'hidden' has a wrong type"):
        cr.save(checkpoint, bad / "other.npz")


def test_conflicting_options_or_changed_data_are_refused(tmp_path, small_run):
    folder = small_run / "run"
    assert refused(tmp_path, folder, "--epochs", 6, "--lr", "0.1") == (
        "chainrule train: error: --resume: --lr 0.1 differs from the run's 0.001; leave it out "
        "(the run's options are kept) or start a new run."
    )
    assert refused(tmp_path, folder, "--epochs", 2) == (
        f"chainrule train: error: --resume {folder}: the run has trained 3 epochs already; "
        "pass --epochs larger than 3 (the total, from the first epoch)."
    )
    csv = small_run / "t.csv"
    original = csv.read_text()
    try:
        csv.write_text(original.replace("0.", "0.1", 1))  # one value of a test row
        assert refused(tmp_path, folder, "--epochs", 6) == (
            "chainrule train: error: --resume: the test rows differ from the checkpointed "
            "run's (the data file changed); resume with the same data."
        )
    finally:
        csv.write_text(original)


def test_other_training_rows_or_another_stopping_rule_are_refused(small_run):
    from chainrule.cli._loop import EpochOrder, LossStall, ValidationLoss

    checkpoint = cr.load(small_run / "run" / "checkpoint.npz")
    X = np.zeros((checkpoint.data["n_rows"], 2))
    y = np.array(["no"] * len(X))
    with pytest.raises(ValueError) as caught:
        checkpoint.prepare(checkpoint.estimator, X, y, LossStall(20, 1e-4), EpochOrder(0, 0))
    assert str(caught.value) == (
        "--resume: the training rows differ from the checkpointed run's (the data file "
        "changed, or an option that shapes them); resume with the same data."
    )
    checkpoint.data["digest"] = chainrule.cli._resume.data_identity(X, y)["digest"]
    stopping = ValidationLoss(X, y, np.array(["no", "yes"]), 20, 1e-4)
    with pytest.raises(ValueError, match="the run stopped with LossStall, this one would use "):
        checkpoint.prepare(checkpoint.estimator, X, y, stopping, EpochOrder(0, 0))
