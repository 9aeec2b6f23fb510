"""chainrule.plotting: every figure carries the right artists, labels and numbers."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection, QuadMesh
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

import chainrule as cr
from chainrule import plotting

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
N_EPOCHS = 6


# ------------------------------------------------------------------ fixtures


def history_columns(validation: bool = True) -> dict[str, list[float]]:
    """Per-epoch values shaped like chainrule's History (layers 0, 2 and 10 have weights)."""
    e = np.arange(N_EPOCHS, dtype=float)
    columns = {"loss": list(1.0 / (1 + e)), "accuracy": list(0.5 + 0.05 * e)}
    if validation:
        columns["val_loss"] = list(1.2 / (1 + e))
        columns["val_accuracy"] = list(0.45 + 0.05 * e)
    columns["lr"] = [1e-3] * N_EPOCHS
    for i, scale in [(10, 1.0), (0, 1e-4), (2, 1e-2)]:
        columns[f"grad_norm_{i}"] = list(scale * np.exp(-e))
        columns[f"update_ratio_{i}"] = list(scale * 1e-2 * np.ones(N_EPOCHS))
    return columns


def history_frame(validation: bool = True) -> pd.DataFrame:
    index = pd.Index(np.arange(1, N_EPOCHS + 1), name="epoch")
    return pd.DataFrame(history_columns(validation), index=index)


class FakeHistory:
    """The part of chainrule.training.History that plotting relies on: to_frame()."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def to_frame(self) -> pd.DataFrame:
        return self._frame.copy()


class FakeEstimator:
    """A fitted scikit-learn-style MLP: loss_curve_, validation_scores_, maybe classes_."""

    def __init__(self, classifier: bool, validation_loss: bool = False) -> None:
        self.loss_curve_ = [0.9, 0.5, 0.3, 0.25]
        self.validation_scores_ = [0.6, 0.7, 0.8, 0.85]
        if validation_loss:
            self.validation_loss_curve_ = [1.0, 0.6, 0.4, 0.35]
        if classifier:
            self.classes_ = np.array([0, 1])

    def fit(self, X, y):  # pragma: no cover - never called
        return self

    def get_params(self, deep=True):  # pragma: no cover - never called
        return {}


def lines(ax) -> dict[str, Line2D]:
    return {line.get_label(): line for line in ax.get_lines()}


def only_axes(fig: Figure):
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    return fig.axes[0]


def assert_png(path) -> None:
    data = path.read_bytes()
    assert len(data) > 1000
    assert data.startswith(PNG_SIGNATURE)


# --------------------------------------------------------------- import cost


def test_import_chainrule_does_not_import_matplotlib():
    code = (
        "import sys, chainrule\n"
        "assert 'matplotlib' not in sys.modules, 'import chainrule imported matplotlib'\n"
        "import chainrule.plotting\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'plotting imported pyplot'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------ loss & metrics


@pytest.mark.parametrize(
    "make",
    [history_frame, history_columns, lambda: FakeHistory(history_frame())],
    ids=["DataFrame", "dict", "History-like"],
)
def test_plot_loss_draws_train_and_validation_per_epoch(make, tmp_path):
    fig = plotting.plot_loss(make())
    ax = only_axes(fig)
    drawn = lines(ax)
    assert sorted(drawn) == ["train", "validation"]
    expected = history_columns()
    np.testing.assert_allclose(drawn["train"].get_xdata(), np.arange(1, N_EPOCHS + 1))
    np.testing.assert_allclose(drawn["train"].get_ydata(), expected["loss"])
    np.testing.assert_allclose(drawn["validation"].get_ydata(), expected["val_loss"])
    assert ax.get_xlabel() == "epoch"
    assert ax.get_ylabel() == "loss"
    assert ax.get_title() == "Loss per epoch"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "validation"]
    path = plotting.save_figure(fig, tmp_path / "loss.png")
    assert_png(path)


def test_plot_loss_epoch_column_and_log_scale():
    frame = pd.DataFrame({"epoch": [3, 4, 5], "loss": [1.0, 0.1, 0.01]})
    ax = only_axes(plotting.plot_loss(frame, log=True))
    np.testing.assert_array_equal(lines(ax)["train"].get_xdata(), [3, 4, 5])
    assert ax.get_yscale() == "log"


def test_plot_loss_without_validation():
    # Default: plot what there is (train only); validation=True demands it.
    ax = only_axes(plotting.plot_loss(history_columns(validation=False)))
    assert list(lines(ax)) == ["train"]
    with pytest.raises(ValueError, match=r"no validation loss \('val_loss'\).*validation_split"):
        plotting.plot_loss(history_columns(validation=False), validation=True)
    # validation=False drops the validation curve that is there.
    ax = only_axes(plotting.plot_loss(history_frame(), validation=False))
    assert list(lines(ax)) == ["train"]


def test_plot_loss_from_estimator_loss_curve():
    est = FakeEstimator(classifier=True, validation_loss=True)
    drawn = lines(only_axes(plotting.plot_loss(est)))
    np.testing.assert_allclose(drawn["train"].get_ydata(), est.loss_curve_)
    np.testing.assert_allclose(drawn["validation"].get_ydata(), est.validation_loss_curve_)
    np.testing.assert_array_equal(drawn["train"].get_xdata(), [1, 2, 3, 4])
    # validation_scores_ is a score (accuracy for a classifier), never a loss.
    assert list(lines(only_axes(plotting.plot_loss(FakeEstimator(classifier=True))))) == ["train"]


def test_plot_metric_train_and_validation(tmp_path):
    fig = plotting.plot_metric(FakeHistory(history_frame()), "accuracy")
    ax = only_axes(fig)
    drawn = lines(ax)
    assert sorted(drawn) == ["train", "validation"]
    np.testing.assert_allclose(drawn["validation"].get_ydata(), history_columns()["val_accuracy"])
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == (
        "epoch",
        "accuracy",
        "Accuracy per epoch",
    )
    assert_png(plotting.save_figure(fig, tmp_path / "accuracy.png"))


def test_plot_metric_reads_validation_scores_of_estimators():
    ax = only_axes(plotting.plot_metric(FakeEstimator(classifier=True), "accuracy"))
    assert list(lines(ax)) == ["validation"]
    np.testing.assert_allclose(lines(ax)["validation"].get_ydata(), [0.6, 0.7, 0.8, 0.85])
    ax = only_axes(plotting.plot_metric(FakeEstimator(classifier=False), "r2"))
    assert ax.get_ylabel() == "R²"
    with pytest.raises(ValueError, match="Available: 'loss', 'r2'"):
        plotting.plot_metric(FakeEstimator(classifier=False), "accuracy")
    with pytest.raises(ValueError, match="only the validation metric"):
        plotting.plot_metric(FakeEstimator(classifier=True), "accuracy", validation=False)


def test_plot_metric_unknown_name_lists_the_available_ones():
    with pytest.raises(ValueError, match="no metric 'f1'") as info:
        plotting.plot_metric(history_frame(), "f1")
    message = str(info.value)
    assert "Available: 'loss', 'accuracy'." in message
    assert "lr" not in message and "grad_norm" not in message
    with pytest.raises(ValueError, match="without the 'val_' prefix"):
        plotting.plot_metric(history_frame(), "val_accuracy")


def test_history_input_errors():
    with pytest.raises(ValueError, match=r"lengths differ \('loss': 3, 'val_loss': 2\)"):
        plotting.plot_loss({"loss": [1, 2, 3], "val_loss": [1, 2]})
    with pytest.raises(TypeError, match=r"history must be a chainrule History.*got list"):
        plotting.plot_loss([1.0, 0.5])
    with pytest.raises(ValueError, match="history is empty"):
        plotting.plot_loss({"loss": []})
    with pytest.raises(ValueError, match="no loss_curve_: fit it first"):
        plotting.plot_loss(type("Unfitted", (), {"fit": None, "get_params": None})())


def test_draws_into_a_given_axes():
    fig = Figure()
    ax_left, ax_right = fig.subplots(1, 2)
    assert plotting.plot_loss(history_frame(), ax=ax_right) is fig
    assert plotting.plot_metric(history_frame(), "accuracy", ax=ax_left) is fig
    assert len(ax_right.get_lines()) == 2 and ax_right.get_ylabel() == "loss"
    assert ax_left.get_ylabel() == "accuracy"
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        plotting.plot_loss(history_frame(), ax=fig)


# ------------------------------------------------------------ gradient norms


def test_plot_gradient_norms_one_log_line_per_layer(tmp_path):
    fig = plotting.plot_gradient_norms(history_frame())
    ax = only_axes(fig)
    # Layers in net.layers order (10 after 2), whatever the column order.
    assert [line.get_label() for line in ax.get_lines()] == ["layer 0", "layer 2", "layer 10"]
    np.testing.assert_allclose(
        lines(ax)["layer 2"].get_ydata(), history_columns()["grad_norm_2"], rtol=1e-15
    )
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "epoch" and "gradient norm" in ax.get_ylabel()
    assert ax.get_title() == "Weight-gradient norm per layer"
    assert_png(plotting.save_figure(fig, tmp_path / "grads.png"))

    assert only_axes(plotting.plot_gradient_norms(history_frame(), log=False)).get_yscale() == (
        "linear"
    )


def test_plot_gradient_norms_with_update_ratio_panel():
    fig = plotting.plot_gradient_norms(FakeHistory(history_frame()), update_ratio=True)
    assert len(fig.axes) == 2
    norms, ratios = fig.axes
    assert [line.get_label() for line in ratios.get_lines()] == ["layer 0", "layer 2", "layer 10"]
    np.testing.assert_allclose(lines(ratios)["layer 0"].get_ydata(), 1e-6)
    assert norms.get_yscale() == ratios.get_yscale() == "log"
    assert ratios.get_title() == "Update ratio per layer" and ratios.get_xlabel() == "epoch"


def test_plot_gradient_norms_nested_labels_and_errors():
    frame = pd.DataFrame({"loss": [1.0, 0.5], "grad_norm_1.0": [1.0, 2.0], "grad_norm_0": [3, 4]})
    ax = only_axes(plotting.plot_gradient_norms(frame))
    assert [line.get_label() for line in ax.get_lines()] == ["layer 0", "layer 1.0"]
    with pytest.raises(ValueError, match=r"no per-layer gradient norms.*'loss'"):
        plotting.plot_gradient_norms({"loss": [1.0, 0.5]})
    with pytest.raises(ValueError, match="no update ratios"):
        plotting.plot_gradient_norms(frame, update_ratio=True)
    with pytest.raises(ValueError, match="a pair of Axes"):
        plotting.plot_gradient_norms(history_frame(), ax=Figure().add_subplot(), update_ratio=True)


def test_real_history_from_fit():
    # chainrule.training exists: check the real History against the expected columns.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] > 0).astype(int)
    net = cr.Sequential(cr.Dense(2, 4, rng=rng), cr.Tanh(), cr.Dense(4, 2, rng=rng))
    history = cr.fit(
        net,
        cr.CrossEntropy(),
        X,
        y,
        optimizer=cr.Adam(1e-2),
        epochs=3,
        validation_split=0.25,
        metrics=["accuracy"],
        rng=0,
    )
    assert sorted(lines(only_axes(plotting.plot_loss(history)))) == ["train", "validation"]
    assert sorted(lines(only_axes(plotting.plot_metric(history)))) == ["train", "validation"]
    ax = only_axes(plotting.plot_gradient_norms(history))
    assert [line.get_label() for line in ax.get_lines()] == ["layer 0", "layer 2"]


# ---------------------------------------------------------- decision regions


def region_image(fig: Figure) -> np.ndarray:
    ax = only_axes(fig)
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    edges = mesh.get_coordinates()  # (m + 1, m + 1, 2): the cells' corners
    Z = np.asarray(mesh.get_array()).reshape(edges.shape[0] - 1, edges.shape[1] - 1)
    # Row 0 is drawn at the bottom and cell centres sit on the grid points, so that
    # Z[r, c] is the class at (x0, x1) = (linspace(*xlim, m)[c], linspace(*ylim, m)[r]).
    (x_lo, x_hi), (y_lo, y_hi) = ax.get_xlim(), ax.get_ylim()
    dx, dy = (x_hi - x_lo) / (Z.shape[1] - 1) / 2, (y_hi - y_lo) / (Z.shape[0] - 1) / 2
    np.testing.assert_allclose(edges[0, [0, -1], 0], [x_lo - dx, x_hi + dx])
    np.testing.assert_allclose(edges[[0, -1], 0, 1], [y_lo - dy, y_hi + dy])
    return Z


def blobs_2d(rng):
    X = np.concatenate([rng.normal(-2, 0.5, (20, 2)), rng.normal(2, 0.5, (20, 2))])
    y = np.repeat([0, 1], 20)
    return X, y


def test_decision_regions_2d_single_logit_network(tmp_path):
    rng = np.random.default_rng(1)
    X, y = blobs_2d(rng)
    net = cr.Sequential(cr.Dense(2, 1, rng=0))
    net.layers[0].params["W"][...] = [[1.0], [0.0]]  # logit = x0: class 1 where x0 > 0
    net.layers[0].params["b"][...] = 0.0
    fig = plotting.plot_decision_regions(net, X, y, resolution=50)
    Z = region_image(fig)
    assert Z.shape == (50, 50)
    ax = fig.axes[0]
    x0 = np.linspace(*ax.get_xlim(), 50)
    # Every row of the image (a fixed x1) switches from class 0 to 1 at x0 = 0.
    np.testing.assert_array_equal(Z, np.broadcast_to((x0 > 0).astype(int), (50, 50)))
    assert ax.get_xlabel() == "feature 0" and ax.get_ylabel() == "feature 1"
    assert ax.get_title() == "Decision regions"
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert [s.get_label() for s in scatters] == ["0", "1"]
    np.testing.assert_allclose(scatters[1].get_offsets(), X[20:])
    assert_png(plotting.save_figure(fig, tmp_path / "regions.png"))


def test_decision_regions_multiclass_sigmoid_and_float32():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 2))
    y = rng.integers(0, 3, size=30)
    # Three logits (x0, x1, 0): argmax decides.
    net = cr.Sequential(cr.Dense(2, 3, rng=0))
    net.layers[0].params["W"][...] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    net.layers[0].params["b"][...] = 0.0
    fig = plotting.plot_decision_regions(net, X, y, resolution=40)
    ax = fig.axes[0]
    G0, G1 = np.meshgrid(np.linspace(*ax.get_xlim(), 40), np.linspace(*ax.get_ylim(), 40))
    expected = np.stack([G0, G1, np.zeros_like(G0)]).argmax(axis=0)
    np.testing.assert_array_equal(region_image(fig), expected)

    # A final Sigmoid gives probabilities: threshold 0.5, not 0. A float32 network is
    # fed a float32 grid although X is float64 (chainrule refuses mixed precisions).
    net = cr.Sequential(cr.Dense(2, 1, rng=0, dtype=np.float32), cr.Sigmoid())
    net.layers[0].params["W"][...] = [[1.0], [0.0]]
    net.layers[0].params["b"][...] = -1.0  # p > 0.5 where x0 > 1
    fig = plotting.plot_decision_regions(net, X, y % 2, resolution=40)
    x0 = np.linspace(*fig.axes[0].get_xlim(), 40)
    np.testing.assert_array_equal(region_image(fig)[0], (x0 > 1).astype(int))


def test_decision_regions_string_labels_and_estimator_and_callable():
    rng = np.random.default_rng(3)
    X, y = blobs_2d(rng)
    names = np.array(["cat", "dog"])[y]

    class Threshold:  # an estimator: predict returns labels of y's kind
        def predict(self, X):
            return np.where(X[:, 1] > 0, "dog", "cat")

    for model in (Threshold(), Threshold().predict):
        fig = plotting.plot_decision_regions(model, X, names, resolution=30)
        ax = fig.axes[0]
        x1 = np.linspace(*ax.get_ylim(), 30)
        np.testing.assert_array_equal(region_image(fig)[:, 0], (x1 > 0).astype(int))
        assert ax.get_legend().get_title().get_text() == "class"
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["cat", "dog"]

    # A network's output indices name the sorted classes of y.
    net = cr.Sequential(cr.Dense(2, 1, rng=0))
    net.layers[0].params["W"][...] = [[0.0], [1.0]]
    net.layers[0].params["b"][...] = 0.0
    fig = plotting.plot_decision_regions(net, X, names, resolution=30)
    x1 = np.linspace(*fig.axes[0].get_ylim(), 30)
    np.testing.assert_array_equal(region_image(fig)[:, 0], (x1 > 0).astype(int))


def test_decision_regions_4d_via_pca(tmp_path):
    rng = np.random.default_rng(4)
    # Points spread along direction v (first PC), a little noise in the others.
    v = np.array([1.0, 2.0, -1.0, 0.5]) / np.sqrt(6.25)
    X = rng.normal(size=(80, 1)) * 3 * v + 0.1 * rng.normal(size=(80, 4))
    y = (X @ v > 0).astype(int)
    seen_shapes = []

    def predict(X_grid):
        seen_shapes.append(X_grid.shape)
        return (X_grid @ v > 0).astype(int)

    fig = plotting.plot_decision_regions(predict, X, y, resolution=60)
    ax = fig.axes[0]
    assert all(shape[1] == 4 for shape in seen_shapes)  # the grid went back to 4-D
    # the grid, then the 80 rows themselves (each point is coloured by its own prediction)
    assert sum(shape[0] for shape in seen_shapes) == 60 * 60 + 80
    assert ax.get_xlabel().startswith("PC 1 (") and ax.get_ylabel().startswith("PC 2 (")
    assert "a plane slicing 4 features" in ax.get_title()
    Z = region_image(fig)
    # The model splits along PC 1 only: every row is the same step function of x.
    assert (Z == Z[:1]).all()
    assert set(np.unique(Z)) == {0, 1}
    assert np.count_nonzero(np.diff(Z[0])) == 1
    # The points are drawn at their PCA coordinates, on the side the model predicts.
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert sum(len(s.get_offsets()) for s in scatters) == 80
    assert_png(plotting.save_figure(fig, tmp_path / "regions_pca.png"))


def test_decision_regions_off_the_plane_colour_each_row_by_its_own_prediction():
    """Issue 24: with more than 2 features the plane is a slice; a row classified right
    may sit in the other class's region. Each point is drawn in the colour of the class
    predicted for its own row, and the rows predicted wrong get a cross."""
    from matplotlib.colors import to_rgba

    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 3)) * [3.0, 2.0, 0.3]  # feature 2 is off the PCA plane
    y = np.where(X[:, 2] > 0, "b", "a")  # the truth, and the model, use feature 2

    def model(X_rows):
        return np.where(X_rows[:, 2] > 0.1, "b", "a")

    fig = plotting.plot_decision_regions(model, X, y, points_name="test rows")
    ax = fig.axes[0]
    assert "a plane slicing 3 features" in ax.get_title()
    assert "test rows: colour = the class predicted for the row" in ax.get_title()
    scatters = {s.get_label(): s for s in ax.collections if isinstance(s, PathCollection)}
    predicted = model(X)
    wrong = int((predicted != y).sum())
    assert wrong > 0
    assert f"predicted wrong ({wrong} of 60)" in scatters
    assert len(scatters[f"predicted wrong ({wrong} of 60)"].get_offsets()) == wrong
    colours = plotting._class_colors(2)
    for j, c in enumerate(["a", "b"]):
        assert len(scatters[c].get_offsets()) == int((predicted == c).sum())
        assert tuple(scatters[c].get_facecolor()[0]) == to_rgba(colours[j])


def test_ten_classes_get_ten_distinguishable_colours():
    from matplotlib.colors import to_rgb

    rgb = np.array([to_rgb(c) for c in plotting._class_colors(10)])
    gaps = np.linalg.norm(rgb[:, None] - rgb[None], axis=-1)[np.triu_indices(10, 1)]
    assert gaps.min() > 0.15  # tab10: no two alike


def test_decision_regions_input_errors():
    X = np.zeros((5, 1))
    with pytest.raises(ValueError, match="n_features >= 2"):
        plotting.plot_decision_regions(lambda X: np.zeros(len(X)), X, np.zeros(5))
    with pytest.raises(ValueError, match="one label per row of X"):
        plotting.plot_decision_regions(lambda X: X[:, 0], np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="resolution must be an integer >= 2"):
        plotting.plot_decision_regions(
            lambda X: X[:, 0], np.zeros((5, 2)), np.zeros(5), resolution=1
        )
    with pytest.raises(TypeError, match="an object with predict"):
        plotting.plot_decision_regions(object(), np.zeros((5, 2)), np.zeros(5))


# ------------------------------------------------------------ classification


def cell_texts(ax) -> dict[tuple[int, int], str]:
    return {
        (round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts
    }


def test_confusion_matrix_counts_in_cells(tmp_path):
    y_true = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    y_pred = np.array([0, 0, 1, 1, 2, 2, 2, 2, 0])
    fig = plotting.plot_confusion_matrix(y_true, y_pred)
    ax = fig.axes[0]  # fig.axes[1] is the colour bar
    expected = np.array([[2, 1, 0], [0, 1, 1], [1, 0, 3]])
    texts = cell_texts(ax)
    assert len(texts) == 9
    for (i, j), text in texts.items():
        assert text == str(expected[i, j]), (i, j)
    np.testing.assert_array_equal(ax.images[0].get_array(), expected)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted label", "true label")
    assert ax.get_title() == "Confusion matrix, accuracy 66.7%"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2"]
    assert_png(plotting.save_figure(fig, tmp_path / "confusion.png"))

    fig = plotting.plot_confusion_matrix(y_true, y_pred, normalize=True)
    texts = cell_texts(fig.axes[0])
    assert texts[(0, 0)] == "0.67" and texts[(1, 2)] == "0.50" and texts[(2, 2)] == "0.75"
    np.testing.assert_allclose(fig.axes[0].images[0].get_array().sum(axis=1), 1.0)


def test_confusion_matrix_is_drawn_by_sklearn_without_a_pyplot_figure():
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    before = plt.get_fignums()
    fig = plotting.plot_confusion_matrix([0, 1, 1], [0, 1, 0])
    assert plt.get_fignums() == before  # drawn into chainrule's own figure
    assert isinstance(fig, plotting.ChainruleFigure)
    ref = ConfusionMatrixDisplay.from_predictions([0, 1, 1], [0, 1, 0], colorbar=False)
    assert [t.get_text() for t in fig.axes[0].texts] == [t.get_text() for t in ref.ax_.texts]
    plt.close(ref.figure_)


def test_confusion_matrix_labels_order_and_errors():
    y_true = ["b", "a", "b", "c"]
    y_pred = ["b", "b", "b", "a"]
    ax = plotting.plot_confusion_matrix(y_true, y_pred, labels=["b", "a"]).axes[0]
    # "c" is outside labels: its pair is not counted.
    assert cell_texts(ax) == {(0, 0): "2", (0, 1): "0", (1, 0): "1", (1, 1): "0"}
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "a"]
    with pytest.raises(ValueError, match="same length"):
        plotting.plot_confusion_matrix([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="normalize must be"):
        plotting.plot_confusion_matrix([0, 1], [0, 1], normalize="rows")


# ---------------------------------------------------------------- regression


def test_plot_predictions_identity_line_and_points(tmp_path):
    t = np.array([0.0, 1.0, 2.0, 3.0])
    p = np.array([0.5, 1.0, 1.5, 3.5])
    fig = plotting.plot_predictions(t, p)
    ax = only_axes(fig)
    (identity,) = ax.get_lines()
    assert identity.get_label() == "y = x"
    np.testing.assert_allclose(identity.get_xdata(), identity.get_ydata())
    (points,) = ax.collections
    np.testing.assert_allclose(points.get_offsets(), np.column_stack([t, p]))
    # R² = 1 - (0.25 + 0 + 0.25 + 0.25) / 5 = 0.85
    assert ax.get_title() == "Predicted vs actual (R² = 0.850)"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("actual", "predicted")
    assert_png(plotting.save_figure(fig, tmp_path / "predictions.png"))


def test_plot_predictions_multi_output_has_a_legend():
    rng = np.random.default_rng(5)
    T = rng.normal(size=(20, 2))
    ax = only_axes(plotting.plot_predictions(T, T + 0.1))
    assert len(ax.collections) == 2
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0].startswith("output 0 (R² = ") and legend[1].startswith("output 1 (R² = ")
    assert legend[2] == "y = x"
    np.testing.assert_allclose(
        ax.collections[1].get_offsets(), np.column_stack([T[:, 1], T[:, 1] + 0.1])
    )


def test_plot_residuals(tmp_path):
    t = np.array([0.0, 1.0, 2.0, 3.0])
    p = np.array([0.5, 1.0, 1.5, 3.5]).reshape(-1, 1)  # (n, 1) and (n,) are one target
    fig = plotting.plot_residuals(t, p)
    ax = only_axes(fig)
    (zero,) = ax.get_lines()
    np.testing.assert_array_equal(zero.get_ydata(), [0.0, 0.0])
    (points,) = ax.collections
    np.testing.assert_allclose(
        points.get_offsets(), [[0.5, -0.5], [1.0, 0.0], [1.5, 0.5], [3.5, -0.5]]
    )
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "residual (actual - predicted)"
    assert ax.get_title() == "Residuals vs predicted (RMSE = 0.433)"
    assert_png(plotting.save_figure(fig, tmp_path / "residuals.png"))

    ax = only_axes(plotting.plot_residuals(np.zeros((5, 3)), np.ones((5, 3))))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "output 0",
        "output 1",
        "output 2",
        "zero",
    ]
    with pytest.raises(ValueError, match="same shape"):
        plotting.plot_residuals(np.zeros(5), np.zeros(4))


# ------------------------------------------------------------------- saving


def test_save_figure_adds_suffix_and_creates_directories(tmp_path):
    fig = plotting.plot_loss({"loss": [1.0, 0.5]})
    path = plotting.save_figure(fig, tmp_path / "plots" / "nested" / "loss")
    assert path == tmp_path / "plots" / "nested" / "loss.png"
    assert_png(path)
    with pytest.raises(TypeError, match="matplotlib Figure"):
        plotting.save_figure("not a figure", tmp_path / "x.png")


def test_figures_render_themselves_for_notebooks():
    # Jupyter shows a returned figure through _repr_png_ without pyplot being imported.
    png = plotting.plot_loss({"loss": [1.0, 0.5]})._repr_png_()
    assert png.startswith(PNG_SIGNATURE)


def test_decision_regions_readable_on_many_points_with_outliers():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 6))
    X[:3] *= 200  # three extreme standardised rows
    y = (X[:, 0] + X[:, 1] > 0).astype(int)

    def predict(X_grid):
        return (X_grid[:, 0] + X_grid[:, 1] > 0).astype(int)

    fig = plotting.plot_decision_regions(predict, X, y, resolution=40, max_points=1000)
    ax = fig.axes[0]
    assert ax.get_title().splitlines() == [
        "Decision regions on a plane slicing 6 features: the first two",
        "principal components, through the mean (the other directions held there)",
        "points: colour = the class predicted for the row",
        "1000 of 5000 points shown; 3 outlying points outside the view",
    ]
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert sum(len(s.get_offsets()) for s in scatters) == 1000
    assert all(s.get_alpha() == 0.6 for s in scatters)
    # the view is set by the bulk of the data, not by the outliers (|P| up to ~500)
    assert max(abs(v) for v in (*ax.get_xlim(), *ax.get_ylim())) < 10


def test_gradient_norms_of_the_commands_history_are_named_by_dense_layer():
    columns = {f"grad_norm_dense_{k}": [1.0 / k, 0.5 / k] for k in (10, 2, 1)}
    fig = plotting.plot_gradient_norms({"loss": [1.0, 0.5], **columns})
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["dense_1", "dense_2", "dense_10"]
