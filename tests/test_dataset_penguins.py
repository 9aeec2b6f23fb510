"""The bundled Palmer penguins table: messy as it ships, and `chainrule train` learns it."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from chainrule.datasets import BUNDLED_DATASETS, load_dataset

pytest.importorskip("palmerpenguins")


def test_penguins_loads_as_the_package_ships_it():
    ds = load_dataset("penguins")
    assert BUNDLED_DATASETS["penguins"][0] == "classification"
    assert (ds.n_samples, ds.target, ds.task) == (344, ["species"], "classification")
    assert ds.classes == ["Adelie", "Chinstrap", "Gentoo"]
    missing = ds.frame.isna().sum()
    assert (missing["sex"], missing["body_mass_g"]) == (11, 2)  # the gaps are kept
    regression = load_dataset("penguins", target="body_mass_g")
    assert regression.task == "regression" and regression.n_samples == 342
    assert regression.notes == ["dropped 2 rows whose target 'body_mass_g' is missing "
                                "(342 rows remain)"]  # fmt: skip


def test_chainrule_train_data_penguins(tmp_path):
    out = tmp_path / "run"
    args = ["train", "--data", "penguins", "--epochs", "40", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "chainrule", *args, "--no-progress", "--no-plots"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "MPLBACKEND": "Agg"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "penguins: 344 rows" in done.stdout
    report = json.loads((out / "metrics.json").read_text())
    assert report["target"] == ["species"] and report["n_train"] + report["n_test"] == 344
    assert report["metrics"]["test"]["accuracy"] >= 0.9
    assert np.array(report["metrics"]["test"]["confusion_matrix"]).sum() == report["n_test"]
