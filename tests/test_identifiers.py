"""Identifier-like columns never drive predictions (issue 24, section 2): they are left
out by default (``--keep COL`` keeps one), printed as left out, and ``predict`` copies
them through as it copies ``--id``. The detection is ``datasets.identifier_reason``."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from chainrule.datasets import BUNDLED_DATASETS, DataError, load_table
from chainrule.datasets.tables import identifier_reason


def run(*args):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "chainrule", *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=env)  # fmt: skip


N = 100
RNG = np.random.default_rng(0)
RISE = "its 100 different integers rise with the rows' order"
CODES = "it holds 95 different integers in 100 rows, like codes"


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ([f"c{i}" for i in RNG.permutation(N)], "it has a different value in every row"),
        (np.arange(1, N + 1), "it numbers the rows (1 to 100)"),
        (RNG.permutation(N) + 500, "it numbers the rows (500 to 599)"),  # shuffled: still
        (np.cumsum(RNG.integers(1, 50, N)) * 1000, RISE),
        (np.arange(N, 0, -1) * 7, "its 100 different integers fall with the rows' order"),
        # an integer ID with duplicates (the issue: it got no note at all)
        (np.r_[RNG.permutation(N - 5), [1, 2, 3, 4, 5]] + 1000, CODES),
        # integers with gaps read as floats
        (np.r_[np.arange(1.0, N), np.nan], "it numbers the rows (1 to 99)"),
    ],
)
def test_identifiers_are_recognised(values, reason):
    assert identifier_reason(pd.Series(values)) == reason


@pytest.mark.parametrize(
    "values",
    [
        RNG.permutation(N) * 1000 + 7,  # unique incomes, spread wide, in any order
        RNG.normal(size=N),  # a measurement
        RNG.integers(1990, 2020, N),  # years: many repeats
        np.r_[RNG.normal(size=N - 1).round(1), 3.0],  # whole and fractional floats
        np.arange(1, 21),  # 20 rows: too few to tell
        [f"c{i % 50}" for i in range(N)],  # text that repeats: a category
        np.arange(N) % 2 == 0,  # booleans
    ],
)
def test_features_are_not_identifiers(values):
    assert identifier_reason(pd.Series(values)) is None


def test_no_bundled_dataset_loses_a_column():
    assert {name: load_table(name).identifiers for name in BUNDLED_DATASETS} == {
        name: [] for name in BUNDLED_DATASETS
    }


def _sorted_table(path, n=400):
    """A table sorted by its label, with a row-number column 'record' (the issue's leak)."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 2))
    y = np.where(x[:, 0] + 1.5 * rng.normal(size=n) > 0, "yes", "no")
    frame = pd.DataFrame({"x0": x[:, 0].round(4), "x1": x[:, 1].round(4), "y": y})
    frame = frame.sort_values("y", kind="stable").reset_index(drop=True)
    frame.insert(0, "record", np.arange(1, n + 1))
    frame.to_csv(path, index=False)
    return frame


def test_keep_unknown_or_named_twice_is_refused(tmp_path):
    _sorted_table(tmp_path / "s.csv")
    with pytest.raises(DataError, match=r"unknown column 'nope' in --drop/--id/--keep"):
        load_table(tmp_path / "s.csv", keep=["nope"])
    with pytest.raises(DataError) as info:
        load_table(tmp_path / "s.csv", keep=["record"], drop=["record"])
    assert str(info.value) == (
        "--keep record keeps a feature, but 'record' is also the target, --drop or --id; "
        "name it in one of them."
    )
    r = run("train", "--data", tmp_path / "s.csv", "--keep", "nope", "--out", tmp_path / "o")
    assert r.returncode == 2 and r.stderr.startswith(
        "chainrule train: error: unknown column 'nope' in --drop/--id/--keep; available columns:"
    )


@pytest.mark.slow
def test_a_row_number_on_a_table_sorted_by_label_drives_no_prediction(tmp_path):
    frame = _sorted_table(tmp_path / "s.csv")
    out = tmp_path / "run"
    r = run("train", "--data", tmp_path / "s.csv", "--out", out, "--no-progress", "--no-plots")
    assert r.returncode == 0, r.stderr
    assert (
        "note: left out 'record': it numbers the rows (1 to 400), like an identifier, so it "
        "carries no pattern to learn (predict copies it into its table); to use it as a "
        "feature, --keep record"
    ) in r.stdout
    assert "s.csv: 400 rows, 2 features" in r.stdout
    honest = json.loads((out / "metrics.json").read_text())["metrics"]["test"]["accuracy"]

    rows = frame.sample(60, random_state=0)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    shuffled = rows.assign(record=np.random.default_rng(2).permutation(rows["record"].to_numpy()))
    shuffled.to_csv(tmp_path / "shuffled.csv", index=False)
    tables = []
    for name in ("rows", "shuffled"):
        r = run("predict", out / "model.npz", tmp_path / f"{name}.csv", "--out",
                tmp_path / f"{name}-pred.csv")  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert "ignored" not in r.stdout  # 'record' is copied, not "not trained on"
        tables.append(pd.read_csv(tmp_path / f"{name}-pred.csv"))
    a, b = tables
    assert list(a.columns) == ["row", "record", "predicted_y", "proba_no", "proba_yes"]
    assert a["record"].tolist() == rows["record"].tolist()  # copied through, as --id is
    assert b["record"].tolist() == shuffled["record"].tolist()
    pd.testing.assert_frame_equal(a.drop(columns="record"), b.drop(columns="record"))

    r = run("train", "--data", tmp_path / "s.csv", "--keep", "record", "--out", tmp_path / "k",
            "--no-progress", "--no-plots")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "s.csv: 400 rows, 3 features" in r.stdout and "left out" not in r.stdout
    leaked = json.loads((tmp_path / "k" / "metrics.json").read_text())
    assert leaked["metrics"]["test"]["accuracy"] > honest  # the row number gives the label


def test_one_feature_left_beside_an_id_trains_and_plots(tmp_path):
    """With the ID left out one column remains: no decision-regions plane to draw, the
    other plots are written (the plot used to fail after training)."""
    import contextlib
    import io

    from chainrule.cli.train import TrainOptions, run_train

    x = np.random.default_rng(0).normal(size=60).round(3)
    pd.DataFrame({"id": [f"u{i}" for i in range(60)], "x": x, "y": np.where(x > 0, "p", "n")}
                 ).to_csv(tmp_path / "one.csv", index=False)  # fmt: skip
    opts = TrainOptions(data=str(tmp_path / "one.csv"), out=str(tmp_path / "o"), epochs=3,
                        alpha=1.0, progress=False)  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()):
        run_train(opts)
    pngs = sorted(p.name for p in (tmp_path / "o").glob("*.png"))
    assert pngs == ["confusion_matrix.png", "gradient_norms.png", "loss.png"]


def test_a_table_of_only_an_identifier_and_the_label_is_refused_naming_keep(tmp_path):
    pd.DataFrame({"n": np.arange(1, 31), "y": ["a", "b"] * 15}).to_csv(tmp_path / "n.csv",
                                                                       index=False)  # fmt: skip
    with pytest.raises(DataError) as info:
        load_table(tmp_path / "n.csv")
    assert str(info.value) == (
        "no feature columns are left after --drop/--id, dropping dates and leaving out "
        "identifiers; keep at least one (--keep COL keeps an identifier-like column)."
    )
    assert load_table(tmp_path / "n.csv", keep=["n"]).feature_names == ["n"]
