"""`chainrule train` and `chainrule predict`, driven as a user drives them: in a
subprocess, on the bundled datasets and on CSV files, errors included."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

PNG = b"\x89PNG\r\n\x1a\n"


def run(*args, cwd=None):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-m", "chainrule", *map(str, args)],
        capture_output=True, text=True, timeout=300, cwd=cwd, env=env,
    )  # fmt: skip


def test_default_run_trains_iris_and_writes_everything(tmp_path):
    r = run("train", cwd=tmp_path)  # no arguments at all: the README's first command
    assert r.returncode == 0, r.stderr
    out = tmp_path / "chainrule-run"
    for words in ("iris: 150 rows", "split: 120 training rows, 30 test rows", "accuracy",
                  "f1_macro", "confusion matrix", "wrote 8 files to chainrule-run"):  # fmt: skip
        assert words in r.stdout, words
    assert "epoch" in r.stderr and "loss=" in r.stderr  # the progress bar
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "classification"
    assert metrics["metrics"]["test"]["accuracy"] >= 0.9
    assert np.array(metrics["metrics"]["test"]["confusion_matrix"]).sum() == 30
    history = pd.read_csv(out / "history.csv", index_col="epoch")
    assert {"loss", "grad_norm_dense_1", "grad_norm_dense_3"} <= set(history.columns)
    assert len(history) == metrics["epochs_run"]
    for name in ("loss", "gradient_norms", "confusion_matrix",
                 "decision_regions"):  # fmt: skip
        data = (out / f"{name}.png").read_bytes()
        assert data.startswith(PNG) and len(data) > 5000, name
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


@pytest.mark.parametrize(
    "data,task,metric,floor",
    [
        ("wine", "classification", "accuracy", 0.85),
        ("breast_cancer", "classification", "accuracy", 0.9),
        ("digits", "classification", "accuracy", 0.9),
        ("diabetes", "regression", "r2", 0.1),
        ("linnerud", "regression", "r2", None),  # 20 rows, 3 targets: it must run, not learn
    ],
)
def test_each_bundled_dataset(tmp_path, data, task, metric, floor):
    r = run("train", "--data", data, "--out", tmp_path / "run", "--no-progress", "--no-plots")
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert report["task"] == task
    value = report["metrics"]["test"][metric]
    assert np.isfinite(value) and (floor is None or value >= floor), value
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "checkpoint.npz", "history.csv", "metrics.json", "model.npz"
    ]  # fmt: skip


def messy_csv(path, n=120, seed=0):
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    city = rng.choice(["paris", "oslo", "lima"], size=n)
    x2 = rng.normal(size=n)
    label = np.where(x1 + (city == "oslo") * 1.5 - 0.5 > 0, "yes", "no")
    frame = pd.DataFrame({"x1": x1, "city": city, "x2": x2, "label": label})
    frame.loc[::7, "x2"] = np.nan  # missing numbers
    frame.loc[3::11, "city"] = None  # missing categories
    frame.to_csv(path, index=False)
    return frame


def test_csv_with_categories_and_missing_values_then_predict(tmp_path):
    frame = messy_csv(tmp_path / "train.csv")
    r = run("train", "--data", tmp_path / "train.csv", "--out", tmp_path / "run", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "one-hot" in r.stdout and "missing" in r.stdout  # what was done is printed
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["target"] == ["label"]

    new = frame.drop(columns="label").head(15)
    new.loc[0, "city"] = "tokyo"  # a category never seen in training
    new.to_csv(tmp_path / "new.csv", index=False)
    r = run("predict", tmp_path / "run" / "model.npz", tmp_path / "new.csv",
            "--out", tmp_path / "pred.csv")  # fmt: skip
    assert r.returncode == 0, r.stderr
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert list(pred.columns) == ["row", "predicted_label", "proba_no", "proba_yes"]
    assert len(pred) == 15 and set(pred["predicted_label"]) <= {"yes", "no"}
    np.testing.assert_allclose(pred[["proba_no", "proba_yes"]].sum(axis=1), 1.0)

    # With the target column present, predict also reports the score.
    r = run("predict", tmp_path / "run" / "model.npz", tmp_path / "train.csv",
            "--out", tmp_path / "pred2.csv")  # fmt: skip
    assert r.returncode == 0 and "accuracy" in r.stdout


def test_predict_matches_the_model_in_python(tmp_path):
    import chainrule as cr

    r = run("train", "--data", "diabetes", "--out", tmp_path / "run", "--no-progress",
            "--no-plots")  # fmt: skip
    assert r.returncode == 0, r.stderr
    from chainrule.datasets import load_dataset

    frame = load_dataset("diabetes").frame.head(20)
    frame.to_csv(tmp_path / "d.csv", index=False)
    r = run("predict", tmp_path / "run" / "model.npz", tmp_path / "d.csv",
            "--out", tmp_path / "p.csv")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "R^2" in r.stdout
    bundle = cr.load(tmp_path / "run" / "model.npz")
    expected = bundle.predict(pd.read_csv(tmp_path / "d.csv"))
    np.testing.assert_allclose(pd.read_csv(tmp_path / "p.csv")["predicted_target"], expected)


def test_errors_are_one_line_exit_2_and_write_nothing(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "keep.txt").write_text("from an earlier run")
    (tmp_path / "garbage.csv").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "one.csv").write_text("a,b\n1,x\n2,x\n3,x\n")
    messy_csv(tmp_path / "ok.csv")
    cases = [
        (["--data", "irises"], "unknown dataset 'irises'"),
        (["--data", tmp_path / "missing.csv"], "missing.csv"),
        (["--data", tmp_path / "ok.csv", "--target", "price"], "x1"),  # lists the columns
        (["--data", tmp_path / "garbage.csv"], "garbage.csv"),
        (["--data", tmp_path / "one.csv"], "a single class"),
        (
            ["--data", "diabetes", "--solver", "sgd", "--lr", "1e6", "--no-early-stopping"],
            "training diverged: the training loss rose from 0.5 (untrained) to inf in epoch 1 "
            "with --lr 1e+06",
        ),
        (["--epochs", "0"], "--epochs must be a positive integer"),
        (["--activation", "swish"], "unknown activation 'swish'"),
    ]
    for args, words in cases:
        r = run("train", *args, "--out", tmp_path / "run", "--no-progress")
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        err = r.stderr.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("chainrule train: error:"), r.stderr
        assert words in err[0], (words, err[0])
        assert "Traceback" not in r.stderr
        assert [p.name for p in (tmp_path / "run").iterdir()] == ["keep.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_predict_errors(tmp_path):
    import chainrule as cr

    cr.save(cr.Sequential(cr.Dense(2, 1, rng=0)), tmp_path / "net.npz")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    (tmp_path / "bad.npz").write_bytes(b"not a model")
    cases = [
        ([tmp_path / "net.npz", tmp_path / "x.csv"], "holds a Sequential, not a model"),
        ([tmp_path / "bad.npz", tmp_path / "x.csv"], "cannot load model file"),
        ([tmp_path / "nope.npz", tmp_path / "x.csv"], "nope.npz"),
    ]
    for args, words in cases:
        r = run("predict", *args, "--out", tmp_path / "p.csv")
        assert r.returncode == 2 and words in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "p.csv").exists()
