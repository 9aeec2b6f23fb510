"""Plots and numbers a student can read correctly (issue 24, section 3): the loss plot
and the reported training loss are the data loss, as the validation loss is; titles
say "test set"; the gradient legend names layers with their sizes; a tiny table warns;
metrics.json is strict JSON. Labels are read back from the figure objects."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from chainrule import load
from chainrule.cli import main
from chainrule.cli import train as cli_train


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("iris") / "run"
    code = main(["train", "--data", "iris", "--out", str(out), "--no-progress",
                 "--epochs", "30", "--no-plots", "--alpha", "3"])  # fmt: skip
    assert code == 0
    return out


def test_the_loss_plot_is_the_data_loss_and_starts_near_ln_c(iris_run):
    history = pd.read_csv(iris_run / "history.csv", index_col="epoch")
    # the objective of epoch 1 holds --alpha 3's penalty; the data loss does not
    assert history["loss"].iloc[0] > 3.0
    assert abs(history["data_loss"].iloc[0] - math.log(3)) < 0.2
    fig = cli_train.loss_figure(history, None, "classification")
    ax = fig.axes[0]
    assert ax.get_ylabel() == "cross-entropy (data loss, without the L2 penalty)"
    (train,) = [line for line in ax.get_lines() if line.get_label() == "train"]
    np.testing.assert_allclose(train.get_ydata(), history["data_loss"].to_numpy())


def test_the_reported_training_loss_is_the_data_loss(iris_run, tmp_path, capsys):
    out = tmp_path / "again"
    main(["train", "--data", "iris", "--out", str(out), "--no-progress", "--epochs", "30",
          "--no-plots"])  # fmt: skip
    said = capsys.readouterr().out
    history = pd.read_csv(out / "history.csv", index_col="epoch")
    data, objective = history["data_loss"].iloc[-1], history["loss"].iloc[-1]
    assert (
        f"final training loss {data:.4f} (cross-entropy; the L2 penalty adds "
        f"{objective - data:.4f} to the objective)"
    ) in said


def test_gradient_legend_names_layers_with_their_sizes(iris_run):
    history = pd.read_csv(iris_run / "history.csv", index_col="epoch")
    est = load(iris_run / "model.npz").estimator
    fig = cli_train.gradient_figure(history, est)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["dense_1 (4 -> 64)", "dense_2 (64 -> 32)", "dense_3 (32 -> 3, output)"]


def test_test_set_plots_say_so(tmp_path):
    out = tmp_path / "r"
    assert main(["train", "--data", "iris", "--out", str(out), "--no-progress",
                 "--epochs", "5"]) == 0  # fmt: skip
    bundle = load(out / "model.npz")
    from chainrule.datasets.tables import load_table, train_test_split_dataset

    ds = load_table("iris")
    _, test = train_test_split_dataset(ds, test_size=0.2, rng=0)
    X_test = bundle.preprocessor.transform(test.X)
    y_test = test.y.to_numpy()
    pred = bundle.predict(test.X)
    history = pd.read_csv(out / "history.csv", index_col="epoch")
    figs = {}

    def keep(fig, path):
        figs[path.name] = fig
        return path

    import chainrule.plotting as plotting

    saved = plotting.save_figure
    plotting.save_figure = keep
    try:
        cli_train._write_plots(tmp_path, bundle, history, None, X_test, y_test, pred)
    finally:
        plotting.save_figure = saved
    assert figs["confusion_matrix.png"].axes[0].get_title().endswith("(test set, 30 rows)")
    regions = figs["decision_regions.png"].axes[0]
    assert "a plane slicing 4 features" in regions.get_title()
    assert "test set, 30 rows: colour = the class predicted for the row" in regions.get_title()
    assert regions.get_legend().get_title().get_text() == "predicted class"


def test_a_tiny_table_warns_and_metrics_json_is_strict(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=8)
    csv = tmp_path / "tiny.csv"
    pd.DataFrame({"a": x, "b": -x, "y": 2 * x + 1}).to_csv(csv, index=False)
    out = tmp_path / "r"
    code = main(["train", "--data", str(csv), "--out", str(out), "--no-progress", "--no-plots",
                 "--epochs", "3", "--test-size", "0.1"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    assert (
        "warning: only 8 rows, 1 of them for testing: the test scores measure almost nothing "
        "(each test row moves accuracy by 100%); use at least 20 rows and 5 test rows "
        "(--test-size) for a meaningful score"
    ) in err

    def refuse(constant):
        raise AssertionError(f"metrics.json holds {constant}")

    report = json.loads((out / "metrics.json").read_text(), parse_constant=refuse)
    assert report["metrics"]["test"]["r2"] is None  # R² of one row is undefined


def test_the_warning_rule():
    assert cli_train.small_table_warning(20, 5) is None
    assert cli_train.small_table_warning(19, 5).startswith("only 19 rows, 5 of them")
    assert cli_train.small_table_warning(24, 4).startswith("only 24 rows, 4 of them")
