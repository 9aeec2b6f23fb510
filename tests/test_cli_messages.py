"""Every option works and every message is true: the command in a subprocess."""

import os
import subprocess
import sys

import pandas as pd

ENV = {**os.environ, "MPLBACKEND": "Agg"}


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "chainrule", *map(str, args)],
        capture_output=True, text=True, timeout=300, cwd=cwd, env=ENV,
    )  # fmt: skip


def test_debug_is_accepted_after_the_subcommand():
    r = run("train", "--data", "irises", "--debug")
    assert r.returncode == 1 and "Traceback" in r.stderr
    assert "DataError: unknown dataset 'irises'" in r.stderr
    r = run("train", "--data", "irises")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_task_solver_seed_have_help_text():
    out = run("train", "--help").stdout
    for words in ("text, or at most 20 distinct integers, is classification",
                  "lbfgs: full-batch", "seeds the split, the weights and the shuffling",
                  "relu (default), tanh, logistic (= sigmoid), identity"):  # fmt: skip
        assert words in " ".join(out.split()), words
    assert "seeds the data and weights" in run("gradcheck", "--help").stdout


def test_sigmoid_is_accepted_by_train_as_by_gradcheck(tmp_path):
    r = run("train", "--activation", "sigmoid", "--epochs", "2", "--out", tmp_path / "s",
            "--no-progress", "--no-plots")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "activation='logistic'" in r.stdout
    assert run("gradcheck", "--activation", "sigmoid").returncode == 0


def test_gradcheck_with_a_large_step_blames_the_step_not_backward():
    r = run("gradcheck", "--eps", "1e-2")
    assert r.returncode == 0, r.stdout
    assert "check the backward pass" not in r.stdout
    assert "the step --eps 0.01 is too large" in r.stdout
    assert "so the backward pass is right." in r.stdout


def test_predict_reads_a_bundled_name_and_survives_a_target_of_another_type(tmp_path):
    r = run("train", "--data", "wine", "--epochs", "5", "--out", tmp_path / "m", "--no-progress",
            "--no-plots")  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = run("predict", tmp_path / "m" / "model.npz", "wine", "--out", tmp_path / "p.csv")
    assert r.returncode == 0, r.stderr
    assert "178 predictions" in r.stdout and "the file has the target column: accuracy" in r.stdout
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame  # target as integers 0, 1, 2
    wine.to_csv(tmp_path / "w.csv", index=False)
    r = run("predict", tmp_path / "m" / "model.npz", tmp_path / "w.csv", "--out",
            tmp_path / "q.csv")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == (
        "note: the file's column 'target' holds none of the model's classes (class_0, "
        "class_1, class_2), so no accuracy is computed"
    )
    assert len(pd.read_csv(tmp_path / "q.csv")) == 178


def test_piping_into_head_still_trains_and_writes_everything(tmp_path):
    p = subprocess.Popen(
        [sys.executable, "-m", "chainrule", "train", "--out", str(tmp_path / "h"),
         "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=ENV,
    )  # fmt: skip
    first = p.stdout.readline()
    p.stdout.close()  # what `| head -1` does
    assert p.wait(timeout=300) == 0
    assert first.startswith(b"iris: 150 rows")
    assert {"model.npz", "metrics.json", "history.csv"} <= {
        f.name for f in (tmp_path / "h").iterdir()
    }


def test_errors_advise_only_what_the_command_has(tmp_path):
    # x repeats: a row number (0 to 20) would be left out as an identifier (issue 24)
    rows = "\n".join(f"{i % 5},{'a' if i % 2 else 'b'}" for i in range(20)) + "\n20,c\n"
    (tmp_path / "rare.csv").write_text("x,y\n" + rows)
    r = run("train", "--data", tmp_path / "rare.csv", "--out", tmp_path / "o")
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "chainrule train: error: class 'c' has a single row, too few for a stratified split; "
        "remove its rows or add rows of it (in Python, train_test_split_dataset(..., "
        "stratify=False) splits without stratifying)."
    )
