"""The command under hostile use: sizes a user types, Ctrl-C at any moment, pipes, --out
that is an input or cannot be written, out-of-range seeds, empty paths.

Ctrl-C is a real SIGINT: a subprocess runs ``chainrule train`` with one function patched
to send SIGINT to its own process at a chosen moment (while reading the CSV, in the
second epoch, while drawing the second plot, halfway through publishing the files), so
the interrupt lands at the same place every time, without sleeps that race.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import chainrule as cr
from chainrule.cli import _guards, main


def run(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def one_line_error(code: int, err: str, command: str = "train") -> str:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"chainrule {command}: error: "), err
    return lines[0]


def small_csv(folder: Path, n: int = 60) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    frame["y"] = np.where(frame["a"] > 0, "p", "n")
    frame.to_csv(folder / "small.csv", index=False)
    return folder / "small.csv"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


QUICK = ("--epochs", "3", "--hidden", "4", "--no-progress")


# ----------------------------------------------------------------------- sizes a user types
def test_huge_hidden_sizes_are_refused_with_the_figures(tmp_path):
    code, out, err = run("train", "--hidden", "100000,100000", *QUICK[:2], "--no-progress",
                         "--out", tmp_path / "run")  # fmt: skip
    line = one_line_error(code, err)
    assert "4 -> 100000 -> 100000 -> 3" in line and "GiB of memory" in line
    assert "available" in line and "--hidden 100000,100000" in line
    assert "training MLP" not in out and not (tmp_path / "run").exists()


def test_gradcheck_refuses_a_network_too_large_to_check():
    code, _, err = run("gradcheck", "--hidden", "100000,100000")
    line = one_line_error(code, err, "gradcheck")
    assert "10,000,800,003 parameters" in line and "at most 100,000" in line


@pytest.mark.parametrize("command", ["explain", "gradcheck"])
def test_a_huge_samples_count_is_refused_before_allocating(command):
    code, _, err = run(command, "--samples", str(10**10))
    line = one_line_error(code, err, command)
    assert "TiB of memory" in line and "is available" in line


def test_a_batch_size_larger_than_the_data_is_not_counted_against_memory(tmp_path):
    # A --batch-size above the number of rows is clipped to it, as in scikit-learn.
    code, _, err = run("train", "--batch-size", str(10**12), *QUICK, "--no-plots",
                       "--out", tmp_path / "run")  # fmt: skip
    assert code == 0, err


def test_ten_thousand_classes_are_refused_before_allocating_when_memory_is_short(
    tmp_path, monkeypatch
):
    n = 20_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=n), "label": [f"c{i % 10_000}" for i in range(n)]})
    frame.to_csv(tmp_path / "many.csv", index=False)
    monkeypatch.setattr(_guards, "available_memory", lambda: 2**30)  # a 1 GiB machine
    code, _, err = run("train", "--data", tmp_path / "many.csv", "--test-size", "0.5",
                       *QUICK, "--out", tmp_path / "run")  # fmt: skip
    line = one_line_error(code, err)
    assert "(10000 outputs) on 10,000 rows" in line and "1.0 GiB is available" in line
    assert "fewer distinct values" in line and not (tmp_path / "run").exists()


def test_many_classes_cap_what_is_printed_stored_and_plotted(tmp_path):
    n, k = 300, 150
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=n), "label": [f"c{i % k}" for i in range(n)]})
    frame.to_csv(tmp_path / "k.csv", index=False)
    code, out, err = run("train", "--data", tmp_path / "k.csv", "--test-size", "0.5",
                         *QUICK, "--out", tmp_path / "run")  # fmt: skip
    assert code == 0, err
    assert "no confusion matrix printed: 150 classes, at most 30 are shown" in out
    assert len(out) < 5000
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["metrics"]["test"]["confusion_matrix"] == (
        "not stored: 150 classes (at most 100)"
    )
    files = {p.name for p in (tmp_path / "run").iterdir()}
    assert "confusion_matrix.png" not in files and "decision_regions.png" not in files
    assert "loss.png" in files
    code, out, err = run("predict", tmp_path / "run" / "model.npz", tmp_path / "k.csv",
                         "--out", tmp_path / "p.csv")  # fmt: skip
    assert code == 0, err
    assert len(pd.read_csv(tmp_path / "p.csv").columns) == 1 + 1 + k  # row, label, probas
    assert len(out) < 3000 and "..." in out  # the preview shows 12 of the 152 columns


# ----------------------------------------------------------------------- seeds, paths
@pytest.mark.parametrize("seed", ["-1", str(2**32), str(10**20)])
@pytest.mark.parametrize("command", ["train", "explain", "gradcheck"])
def test_a_seed_out_of_range_names_the_valid_range(tmp_path, command, seed):
    extra = ("--out", tmp_path / "run", "--no-progress") if command == "train" else ()
    code, _, err = run(command, "--seed", seed, *extra)
    line = one_line_error(code, err, command)
    assert f"--seed must be a whole number from 0 to 4294967295 (2**32 - 1), got {seed}" in line


def test_the_largest_seed_works(tmp_path):
    code, _, err = run("train", "--seed", str(2**32 - 1), *QUICK, "--no-plots",
                       "--out", tmp_path / "run")  # fmt: skip
    assert code == 0, err


@pytest.mark.parametrize("path", ["", "  "])
def test_an_empty_path_to_save_or_load_is_named(tmp_path, path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"save: the path is empty \('.*'\); pass a file name"):
        cr.save(cr.Sequential(cr.Dense(2, 2, rng=0)), path)
    with pytest.raises(ValueError, match=r"load: the path is empty \('.*'\); pass a file name"):
        cr.load(path)
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------- --out and inputs
@pytest.fixture
def trained(tmp_path) -> tuple[Path, Path]:
    csv = small_csv(tmp_path)
    code, _, err = run("train", "--data", csv, *QUICK, "--no-plots", "--out", tmp_path / "run")
    assert code == 0, err
    return tmp_path / "run" / "model.npz", csv


def test_predict_refuses_an_out_that_is_the_model_or_the_data(trained):
    model, csv = trained
    before = model.read_bytes(), csv.read_bytes()
    for out, what in ((model, "model"), (csv, "data")):
        code, _, err = run("predict", model, csv, "--out", out)
        line = one_line_error(code, err, "predict")
        assert f"--out {out} is the {what} itself" in line and "Name another file" in line
    assert (model.read_bytes(), csv.read_bytes()) == before


def test_predict_scores_before_writing_and_a_target_of_another_type_is_a_note(trained, tmp_path):
    model, csv = trained
    frame = pd.read_csv(csv)
    frame["y"] = np.arange(len(frame))  # numbers where the model knows 'p' and 'n'
    frame.to_csv(tmp_path / "other.csv", index=False)
    code, out, err = run("predict", model, tmp_path / "other.csv", "--out", tmp_path / "p.csv")
    assert code == 0, err
    assert "note: the file's column 'y' holds none of the model's classes (n, p)" in out
    assert len(pd.read_csv(tmp_path / "p.csv")) == len(frame)


def test_write_failures_are_found_before_training_and_name_the_users_path(trained, tmp_path):
    model, csv = trained
    (tmp_path / "afile").write_text("x")
    cases = [
        (("train", "--data", csv, *QUICK, "--out", tmp_path / "afile" / "run"), "train"),
        (("train", "--data", csv, *QUICK, "--out", "/proc/chainrule-run"), "train"),
        (("predict", model, csv, "--out", tmp_path / "afile" / "p.csv"), "predict"),
        (("predict", model, csv, "--out", "/proc/p.csv"), "predict"),
    ]
    for args, command in cases:
        code, out, err = run(*args)
        line = one_line_error(code, err, command)
        assert f"--out {args[-1]}" in line, line
        assert "is a file" in line or "cannot write in the folder /proc" in line, line
        assert ".tmp" not in line and "partial" not in line
        assert out == ""  # found before any work: nothing read, nothing trained


@pytest.mark.parametrize("command", ["train", "predict"])
def test_a_pipe_is_refused_clearly_and_a_redirected_file_works(trained, tmp_path, command):
    model, csv = trained
    if command == "train":
        args = ["train", "--data", "/dev/stdin", *QUICK, "--no-plots", "--out", tmp_path / "r2"]
    else:
        args = ["predict", model, "/dev/stdin", "--out", tmp_path / "p.csv"]
    args = [sys.executable, "-m", "chainrule", *map(str, args)]
    piped = subprocess.run(args, input=csv.read_bytes(), capture_output=True, timeout=120)
    err = piped.stderr.decode()
    assert piped.returncode == 2, err
    assert len(err.strip().splitlines()) == 1
    assert "/dev/stdin is a pipe or a device, not a file" in err and "save it first" in err
    with open(csv, "rb") as stdin:  # `< small.csv`: /dev/stdin is then the file itself
        redirected = subprocess.run(args, stdin=stdin, capture_output=True, timeout=120)
    assert redirected.returncode == 0, redirected.stderr.decode()


# ----------------------------------------------------------------------- Ctrl-C
INTERRUPTER = r"""
import os, signal, sys
import pandas, chainrule.estimators._base, chainrule.plotting, chainrule.cli.train
import chainrule.cli._loop
from chainrule.cli import main

where, args = sys.argv[1], sys.argv[2:]
calls = {"n": 0}

def interrupting(original, at):
    def wrapper(*a, **k):
        calls["n"] += 1
        result = original(*a, **k)
        if calls["n"] == at:
            os.kill(os.getpid(), signal.SIGINT)  # delivered at the next bytecode
        return result
    return wrapper

if where == "reading":
    pandas.read_csv = interrupting(pandas.read_csv, 1)
elif where == "training":
    chainrule.estimators._base.BaseMLP._log_epoch = interrupting(
        chainrule.estimators._base.BaseMLP._log_epoch, 2
    )
elif where == "validating":  # in the command's own callback, inside the estimator's fit
    chainrule.cli._loop.ValidationLoss.on_epoch_end = interrupting(
        chainrule.cli._loop.ValidationLoss.on_epoch_end, 2
    )
elif where == "plotting":
    chainrule.plotting.save_figure = interrupting(chainrule.plotting.save_figure, 2)
elif where.startswith("publishing-"):  # os.replace call n: 1 saves model.npz, then the
    n = int(where.split("-")[1])        # files are swapped in pairs: old aside, new in
    chainrule.cli.train.os.replace = interrupting(os.replace, n)
sys.exit(main(args))
"""


@pytest.mark.parametrize(
    "where", ["reading", "training", "plotting", "publishing-2", "publishing-3", "publishing-4"]
)
def test_ctrl_c_at_any_moment_leaves_out_as_it_was(tmp_path, where):
    csv = small_csv(tmp_path, n=200)
    out = tmp_path / "run"
    base = ["train", "--data", str(csv), "--hidden", "4", "--no-progress", "--out", str(out)]
    code, _, err = run(*base, "--epochs", "3", "--seed", "1")
    assert code == 0, err
    before = snapshot(out)
    args = [*base, "--epochs", "20", "--no-early-stopping", "--seed", "2"]
    proc = subprocess.run([sys.executable, "-c", INTERRUPTER, where, *args],
                          capture_output=True, timeout=300)  # fmt: skip
    err = proc.stderr.decode()
    assert proc.returncode == 130, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == [
        "chainrule train: interrupted (Ctrl-C); nothing was written and existing files are "
        "as they were."
    ], err
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "small.csv"]  # no staging


@pytest.mark.parametrize(
    "where, options, env",
    [
        ("validating", (), {}),  # early stopping on: 64 validation rows
        ("training", ("--solver", "lbfgs"), {}),  # an lbfgs iteration, not an epoch
        ("training", (), {"PYTHONWARNINGS": "ignore"}),  # the user's filters ignore warnings
    ],
)
def test_ctrl_c_inside_the_one_fit_is_never_swallowed(tmp_path, where, options, env):
    """The estimator turns Ctrl-C into a TrainingInterrupted warning; the command makes
    that category an error for the whole fit, so no interrupt ends in a normal exit."""
    csv = small_csv(tmp_path, n=400)
    out = tmp_path / "run"
    args = ["train", "--data", csv, "--hidden", "4", "--no-progress", "--out", out,
            "--epochs", "20", *options]  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", INTERRUPTER, where, *map(str, args)],
                          capture_output=True, timeout=300, env={**os.environ, **env})  # fmt: skip
    err = proc.stderr.decode()
    assert proc.returncode == 130, err
    assert [line for line in err.splitlines() if line.strip()] == [
        "chainrule train: interrupted (Ctrl-C); nothing was written and existing files are "
        "as they were."
    ], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.csv"]  # no out, no staging


def test_ctrl_c_during_predict_leaves_the_old_predictions(trained, tmp_path):
    model, csv = trained
    (tmp_path / "p.csv").write_text("old\n")
    proc = subprocess.run(
        [sys.executable, "-c", INTERRUPTER, "reading",
         "predict", str(model), str(csv), "--out", str(tmp_path / "p.csv")],
        capture_output=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 130, proc.stderr.decode()
    assert (tmp_path / "p.csv").read_text() == "old\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".p.csv")]
    assert os.path.exists(model)


# ----------------------------------------------------------------------- concurrent runs
@pytest.mark.skipif(sys.platform == "win32", reason="the lock is POSIX flock")
def test_a_run_publishing_into_a_folder_another_run_holds_waits_its_turn(tmp_path):
    import fcntl
    import time

    csv = small_csv(tmp_path)
    out = tmp_path / "run"
    base = ["train", "--data", str(csv), *QUICK, "--no-plots", "--out", str(out)]
    code, _, err = run(*base, "--seed", "1")
    assert code == 0, err
    before = snapshot(out)
    lock = os.open(out, os.O_RDONLY)  # as a run publishing into `out` holds it
    fcntl.flock(lock, fcntl.LOCK_EX)
    args = [sys.executable, "-m", "chainrule", *base, "--seed", "2"]
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        try:
            deadline = time.monotonic() + 120
            while not list(tmp_path.glob(".run.partial-*/history.csv")):  # staged: waits
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
            time.sleep(0.5)
            assert snapshot(out) == before  # nothing interleaved while the folder is held
        finally:
            os.close(lock)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    after = snapshot(out)
    assert set(after) == set(before) and after["model.npz"] != before["model.npz"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "small.csv"]


def test_a_disk_failure_while_writing_names_the_users_out_not_the_staging_folder(
    tmp_path, monkeypatch
):
    csv = small_csv(tmp_path)

    def disk_full(obj, path):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(cr, "save", disk_full)
    code, _, err = run("train", "--data", csv, *QUICK, "--no-plots", "--out", tmp_path / "run")
    line = one_line_error(code, err)
    assert f"cannot write the run to --out {tmp_path / 'run'}: No space left on device" in line
    assert "partial" not in line and "nothing was written" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.csv"]


def test_a_category_column_too_large_for_a_model_file_is_refused_before_training(tmp_path):
    n = 60_000
    rng = np.random.default_rng(0)
    codes = [f"id-{i:08d}" for i in range(n - 1)] + ["id-00000000"]  # one repeat: not an ID
    frame = pd.DataFrame({"a": rng.normal(size=n), "code": codes})
    frame["y"] = np.where(frame["a"] > 0, "p", "n")
    frame.to_csv(tmp_path / "ids.csv", index=False)
    code, out, err = run("train", "--data", tmp_path / "ids.csv", *QUICK,
                         "--out", tmp_path / "run")  # fmt: skip
    line = one_line_error(code, err)
    # the CSV reader's cap on the one-hot matrix refuses it first, naming the column
    assert "the widest text columns are 'code' (59999 categories)" in line
    assert "drop them (--drop COL) or mark the ID (--id COL)" in line
    assert "training MLP" not in out and not (tmp_path / "run").exists()


def test_a_one_hot_encoding_too_large_for_memory_is_refused_before_it_is_built(
    tmp_path, monkeypatch
):
    n = 4000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=n), "code": [f"c{i % 3000}" for i in range(n)]})
    frame["y"] = np.where(frame["a"] > 0, "p", "n")
    frame.to_csv(tmp_path / "codes.csv", index=False)
    monkeypatch.setattr(_guards, "available_memory", lambda: 64 * 2**20)
    code, out, err = run("train", "--data", tmp_path / "codes.csv", *QUICK,
                         "--out", tmp_path / "run")  # fmt: skip
    line = one_line_error(code, err)
    # the 3,200 training rows hold 2,561 of the 3,000 codes (the split is random)
    assert "one-hot encoding 3,200 rows into 2,562 columns (column 'code' has 2,561 " in line
    assert "of memory, but 64.0 MiB is available" in line and "group rare categories" in line
    assert "training MLP" not in out and not (tmp_path / "run").exists()
