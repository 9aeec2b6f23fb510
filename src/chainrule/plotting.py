"""Matplotlib figures for training curves, gradients, decision regions and predictions.

Import it explicitly (``import chainrule`` never imports matplotlib)::

    from chainrule import plotting

    fig = plotting.plot_loss(history)          # a matplotlib.figure.Figure
    plotting.save_figure(fig, "loss.png")

Every function returns the ``matplotlib.figure.Figure`` it drew on, and takes ``ax=`` to
draw into an existing ``Axes`` instead (then the figure returned is that Axes' figure).

Figures are built with the object-oriented API (a ``matplotlib.figure.Figure``
created directly), not with ``pyplot``: nothing is registered in pyplot's global list
of open figures, so nothing leaks when a script makes hundreds of plots, no GUI backend
is needed (it works headless, on a server, in CI), and the backend of a Jupyter session
is never changed. Saving uses Agg through ``fig.savefig``. In a notebook a figure is
shown (once) when it is the value of a cell, whatever the backend, because the figures
made here (:class:`ChainruleFigure`, a ``Figure`` subclass) render themselves as PNG
for IPython; show one from inside a loop with ``IPython.display.display(fig)``. (With
``ax=`` from a ``pyplot`` figure, pyplot's own rules apply: end the line with ``;``.)

Training histories are read as a table with one row per epoch (see ``History`` in
:mod:`chainrule.training`): the index is named ``"epoch"`` (1-based); the columns are
``"loss"``, ``"val_loss"``, metrics by name (``"accuracy"``, ``"mse"``, ``"mae"``,
``"r2"``) with ``"val_<name>"``, ``"lr"``, and ``"grad_norm_<i>"``,
``"update_ratio_<i>"`` for each layer ``net.layers[i]`` that has weights (or
``"grad_norm_dense_<k>"``, the k-th Dense layer counted from 1, as ``chainrule train``
writes them in ``history.csv``).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = [
    "plot_confusion_matrix",
    "plot_decision_regions",
    "plot_gradient_norms",
    "plot_loss",
    "plot_lr_find",
    "plot_metric",
    "plot_predictions",
    "plot_residuals",
    "save_figure",
]

HistoryLike = Any  # History, DataFrame, dict of lists, or a fitted estimator

_FIGSIZE = (6.4, 4.4)
_SQUARE = (5.6, 5.0)
_TRAIN_STYLE = {"color": "C0", "linewidth": 1.8}
_VAL_STYLE = {"color": "C1", "linewidth": 1.8, "linestyle": "--"}

# Columns of a history that are not metrics (besides the val_ prefix).
# "2", "1.0" inside a nested Sequential, or "dense_1" (the command's names: Dense layers 1..)
_LAYER_LABEL = r"(?:\d+(?:\.\d+)*|dense_\d+)"
_NON_METRIC = re.compile(rf"^(lr|grad_norm_{_LAYER_LABEL}|update_ratio_{_LAYER_LABEL})$")
_PRETTY = {
    "loss": "loss",
    "accuracy": "accuracy",
    "mse": "MSE",
    "mae": "MAE",
    "r2": "R²",
    "lr": "learning rate",
}


# ------------------------------------------------------------------ helpers


class ChainruleFigure(Figure):
    """A ``matplotlib.figure.Figure`` that IPython displays as a PNG.

    A figure made without ``pyplot`` has no display hook of its own, and Jupyter's
    inline backend registers its PNG formatter only once pyplot has been activated; so
    this subclass adds ``_repr_png_``. When a formatter for figures is registered
    (inline backend active), IPython uses that instead: never two images.
    """

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """A fresh figure with one Axes, or the (root) figure that ``ax`` belongs to."""
    if ax is None:
        fig = ChainruleFigure(figsize=figsize, layout="constrained")
        return fig, fig.add_subplot()
    if not isinstance(ax, Axes):
        raise TypeError(
            f"ax must be a matplotlib Axes, got {type(ax).__name__}; create one with "
            "fig.add_subplot() or leave ax=None for a new figure."
        )
    return _root_figure(ax), ax


def _root_figure(ax: Axes) -> Figure:
    fig = ax.figure
    # A SubFigure's .figure is its root Figure; a Figure's .figure is itself.
    return getattr(fig, "figure", fig)


def _pretty(name: str) -> str:
    return _PRETTY.get(name, name)


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 150) -> Path:
    """Save ``fig`` to ``path`` and return the path written.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        A figure returned by one of the ``plot_*`` functions (or any figure).
    path : str or Path
        Where to write. The format follows the suffix (``.png``, ``.pdf``, ``.svg``);
        without a suffix ``.png`` is appended. Missing parent directories are created.
    dpi : int, default 150
        Resolution of raster formats.

    Returns
    -------
    Path
        The file written.
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"save_figure takes a matplotlib Figure, got {type(fig).__name__}.")
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(".png")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


# ------------------------------------------------------------ training history


def _as_frame(history: HistoryLike) -> pd.DataFrame:
    """Normalise a training history to a DataFrame indexed by a 1-based ``"epoch"``.

    Accepted: an object with ``to_frame()`` (chainrule's ``History``); a DataFrame; a
    mapping of column name to a sequence (one value per epoch); an object whose
    ``history`` attribute is such a mapping (Keras' ``History``); a fitted
    scikit-learn-style estimator with ``loss_curve_`` (and optionally
    ``validation_loss_curve_`` and ``validation_scores_``, the latter read as
    ``"val_accuracy"`` for a classifier, one with ``classes_``, and ``"val_r2"``
    otherwise; other per-epoch columns, such as gradient norms, are taken from its
    ``history_`` when that has the same number of epochs).
    """
    if isinstance(history, pd.DataFrame):
        frame = history.copy()
    elif callable(getattr(history, "to_frame", None)) and not isinstance(history, pd.Series):
        frame = history.to_frame()
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(
                f"{type(history).__name__}.to_frame() returned {type(frame).__name__}, "
                "not a pandas DataFrame."
            )
        frame = frame.copy()
    elif isinstance(history, Mapping):
        frame = _frame_from_mapping(history, "history")
    elif isinstance(getattr(history, "history", None), Mapping):
        frame = _frame_from_mapping(history.history, f"{type(history).__name__}.history")
    elif hasattr(history, "loss_curve_"):
        frame = _frame_from_estimator(history)
    elif hasattr(history, "fit") and hasattr(history, "get_params"):
        raise ValueError(
            f"{type(history).__name__} has no loss_curve_: fit it first (the 'lbfgs' "
            "solver records no per-epoch curve; use solver='adam' or 'sgd')."
        )
    else:
        raise TypeError(
            "history must be a chainrule History (from fit()), a pandas DataFrame, a dict "
            "of per-epoch lists such as {'loss': [...], 'val_loss': [...]}, or a fitted "
            f"estimator with loss_curve_; got {type(history).__name__}."
        )

    frame.columns = [str(c) for c in frame.columns]
    if frame.index.name != "epoch":
        if "epoch" in frame.columns:
            frame = frame.set_index("epoch")
        else:
            frame.index = pd.RangeIndex(1, len(frame) + 1, name="epoch")
    if len(frame) == 0:
        raise ValueError("history is empty (0 epochs): train for at least one epoch first.")
    return frame


def _frame_from_mapping(columns: Mapping, where: str) -> pd.DataFrame:
    lengths = {}
    for key, values in columns.items():
        try:
            lengths[str(key)] = len(values)
        except TypeError:
            raise TypeError(
                f"{where}[{key!r}] must be a sequence of per-epoch values, got "
                f"{type(values).__name__}."
            ) from None
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k!r}: {n}" for k, n in lengths.items())
        raise ValueError(
            f"{where}: every column needs one value per epoch, but the lengths differ "
            f"({shown}). Pad missing epochs with NaN."
        )
    return pd.DataFrame({str(k): np.asarray(v, dtype=float) for k, v in columns.items()})


def _frame_from_estimator(est) -> pd.DataFrame:
    name = type(est).__name__
    columns: dict[str, Sequence[float]] = {"loss": list(est.loss_curve_)}
    val_loss = getattr(est, "validation_loss_curve_", None)
    if val_loss is not None:
        columns["val_loss"] = list(val_loss)
    val_scores = getattr(est, "validation_scores_", None)
    if val_scores is not None and len(val_scores) > 0:
        metric = "accuracy" if hasattr(est, "classes_") else "r2"
        columns[f"val_{metric}"] = list(val_scores)
    frame = _frame_from_mapping(columns, name)
    extra = getattr(est, "history_", None)
    if callable(getattr(extra, "to_frame", None)):
        more = extra.to_frame()
        if isinstance(more, pd.DataFrame) and len(more) == len(frame):
            for column in more.columns:
                if column not in frame.columns:
                    frame[column] = np.asarray(more[column], dtype=float)
    return frame


def _has(frame: pd.DataFrame, column: str) -> bool:
    """True when ``column`` exists and holds at least one number."""
    return column in frame.columns and bool(frame[column].notna().any())


def _available_metrics(frame: pd.DataFrame) -> list[str]:
    names = []
    for column in frame.columns:
        name = column[4:] if column.startswith("val_") else column
        if not _NON_METRIC.match(name) and _has(frame, column) and name not in names:
            names.append(name)
    return names


def _plot_curves(
    frame: pd.DataFrame,
    name: str,
    ax: Axes | None,
    validation: bool | None,
    log: bool,
    what: str,
) -> Figure:
    """Draw ``name`` and ``val_<name>`` per epoch: the body of plot_loss and plot_metric."""
    has_train, has_val = _has(frame, name), _has(frame, f"val_{name}")
    if not has_train and not has_val:
        available = _available_metrics(frame)
        raise ValueError(
            f"history has no {what} {name!r}. Available: {', '.join(map(repr, available))}."
            if available
            else f"history has no {what} {name!r} (no metric columns at all)."
        )
    if validation is False and not has_train:
        raise ValueError(
            f"history has only the validation {what} ('val_{name}'), no training values; "
            "pass validation=None to plot it."
        )
    if validation and not has_val:
        raise ValueError(
            f"history has no validation {what} ('val_{name}'): train with validation data "
            "(fit(..., validation_split=0.1) or validation_data=(X_val, y_val); "
            "early_stopping=True for an estimator), or pass validation=False."
        )
    fig, ax = _new_axes(ax, _FIGSIZE)
    epochs = np.asarray(frame.index, dtype=float)
    if has_train:
        ax.plot(epochs, frame[name].to_numpy(float), label="train", **_TRAIN_STYLE)
    if has_val and validation is not False:
        values = frame[f"val_{name}"].to_numpy(float)
        # A validation value every few epochs only: markers keep isolated points visible.
        marker = "o" if np.isnan(values).any() else None
        ax.plot(epochs, values, label="validation", marker=marker, markersize=3, **_VAL_STYLE)
    ax.set_xlabel("epoch")
    ax.set_ylabel(_pretty(name))
    ax.set_title(f"{_pretty(name)[0].upper()}{_pretty(name)[1:]} per epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if log:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return fig


def plot_loss(
    history: HistoryLike,
    ax: Axes | None = None,
    *,
    validation: bool | None = None,
    log: bool = False,
    mark_epoch: int | None = None,
) -> Figure:
    """Training and validation loss per epoch.

    Parameters
    ----------
    history : History, DataFrame, dict of lists or fitted estimator
        One row per epoch (n_epochs rows): a chainrule ``History``; a DataFrame with
        column ``"loss"`` and optionally ``"val_loss"``, indexed by ``"epoch"``
        (otherwise epochs are numbered 1..n_epochs); a dict such as
        ``{"loss": [...], "val_loss": [...]}`` (lists of length n_epochs); or a fitted
        ``MLPClassifier``/``MLPRegressor`` (chainrule's or scikit-learn's), read from
        ``loss_curve_`` and ``validation_loss_curve_``.
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure.
    validation : bool or None, default None
        ``None`` draws the validation curve when the history has one; ``True`` requires
        it (ValueError if absent); ``False`` draws the training curve only.
    log : bool, default False
        Logarithmic loss axis (useful when the loss falls by orders of magnitude).
    mark_epoch : int, optional
        Draw a vertical line at this epoch, labelled "weights kept: epoch <k>" (the
        epoch early stopping restored).

    Returns
    -------
    matplotlib.figure.Figure
        Lines labelled ``"train"`` and ``"validation"``.

    Notes
    -----
    The two curves are measured differently: the training loss of an epoch is usually
    the mean over its minibatches while the weights were still changing (and with
    dropout on), the validation loss is computed once at the end of the epoch. A
    validation curve that turns upward while the training curve keeps falling is
    overfitting.
    """
    frame = _as_frame(history)
    fig = _plot_curves(frame, "loss", ax, validation, log, "loss")
    if mark_epoch is not None:
        axes = ax if ax is not None else fig.axes[0]
        axes.axvline(mark_epoch, color="0.35", linestyle=":", linewidth=1.4,
                     label=f"weights kept: epoch {mark_epoch}")  # fmt: skip
        axes.legend()
    return fig


def plot_metric(
    history: HistoryLike,
    name: str = "accuracy",
    ax: Axes | None = None,
    *,
    validation: bool | None = None,
    log: bool = False,
) -> Figure:
    """Training and validation values of one metric per epoch.

    Parameters
    ----------
    history : History, DataFrame, dict of lists or fitted estimator
        As in :func:`plot_loss`; the columns read are ``name`` and ``"val_<name>"``
        (n_epochs values each). Either may be missing (a scikit-learn estimator records
        only the validation score), not both.
    name : str, default "accuracy"
        The metric: ``"accuracy"``, ``"mse"``, ``"mae"``, ``"r2"`` or any column of the
        history (``"loss"`` too). An unknown name raises ValueError listing the
        available ones.
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure.
    validation : bool or None, default None
        As in :func:`plot_loss`.
    log : bool, default False
        Logarithmic value axis.

    Returns
    -------
    matplotlib.figure.Figure
        Lines labelled ``"train"`` and ``"validation"`` (those that exist).
    """
    frame = _as_frame(history)
    if not isinstance(name, str):
        raise TypeError(f"name must be a metric name such as 'accuracy', got {name!r}.")
    if name.startswith("val_"):
        raise ValueError(
            f"pass the metric's name without the 'val_' prefix (name={name[4:]!r}); "
            "the validation curve is drawn with the training curve."
        )
    return _plot_curves(frame, name, ax, validation, log, "metric")


def _layer_columns(frame: pd.DataFrame, prefix: str) -> list[tuple[str, str]]:
    """``[(label, "<prefix>_<label>"), ...]`` in layer order, only columns with numbers.

    ``label`` is the index ``i`` in ``net.layers``, or ``"i.j"`` inside a nested
    ``Sequential``; "10" sorts after "2".
    """
    pattern = re.compile(rf"^{prefix}_({_LAYER_LABEL})$")
    found = [
        (tuple(int(part) for part in re.findall(r"\d+", m.group(1))), m.group(1), column)
        for column in frame.columns
        if (m := pattern.match(column)) and _has(frame, column)
    ]
    return [(label, column) for _, label, column in sorted(found)]


def plot_gradient_norms(
    history: HistoryLike,
    ax: Axes | Sequence[Axes] | None = None,
    *,
    log: bool = True,
    update_ratio: bool = False,
) -> Figure:
    """Per-layer weight-gradient norms per epoch: vanishing and exploding gradients.

    Parameters
    ----------
    history : History, DataFrame or dict of lists
        Columns ``"grad_norm_<i>"`` (n_epochs values each), one for each layer
        ``net.layers[i]`` that has weights (``"<i>.<j>"`` inside a nested
        ``Sequential``), as recorded by chainrule's ``fit``; with ``update_ratio=True``
        also ``"update_ratio_<i>"``.
    ax : matplotlib Axes, or a pair of Axes with ``update_ratio=True``, optional
        Draw here instead of on a new figure.
    log : bool, default True
        Logarithmic axes, on which a factor of 10 is the same distance at any depth; a
        vanishing gradient shows as a line lying decades below the others. (Zeros, say
        of a frozen layer, cannot be drawn on a log axis and leave gaps.)
    update_ratio : bool, default False
        Add a second panel with each layer's update ratio.

    Returns
    -------
    matplotlib.figure.Figure
        One line per layer, labelled ``"layer <i>"`` (its index in ``net.layers``), in
        each panel.

    Notes
    -----
    chainrule's ``fit`` records, per epoch and per layer, ``grad_norm_<i>``: the
    Frobenius norm ||dW|| = sqrt(sum dW[a, b]^2) of the gradient the optimizer
    received, averaged over the epoch's batches; and ``update_ratio_<i>``:
    ||W_end - W_start|| / ||W_start||, how much of the weights that epoch changed.

    Backpropagation multiplies dY by one Jacobian per layer on its way down
    (dX = dY @ W.T, then the activation's derivative), so the gradient reaching an
    early layer carries the product of the factors of all the layers above it: factors
    below 1 make it shrink geometrically with depth (a sigmoid's derivative is at most
    0.25), factors above 1 make it grow. Lines fanning out by decades from the last
    layer down to layer 0 are vanishing gradients; a line shooting up, exploding ones.
    An update ratio far below the others means that layer has all but stopped learning.
    """
    frame = _as_frame(history)
    norms = _layer_columns(frame, "grad_norm")
    if not norms:
        raise ValueError(
            "history has no per-layer gradient norms (columns 'grad_norm_<i>'); "
            "chainrule's fit() records them for every layer with weights. Columns "
            f"present: {', '.join(map(repr, frame.columns))}."
        )
    ratios = _layer_columns(frame, "update_ratio")
    if update_ratio and not ratios:
        raise ValueError(
            "history has no update ratios (columns 'update_ratio_<i>'); pass "
            "update_ratio=False to plot the gradient norms only."
        )

    n_panels = 2 if update_ratio else 1
    if ax is None:
        fig = ChainruleFigure(figsize=(6.4, 4.2 * n_panels), layout="constrained")
        axes = list(fig.subplots(n_panels, 1, sharex=True, squeeze=False)[:, 0])
    else:
        axes = [ax] if isinstance(ax, Axes) else list(ax)
        if len(axes) != n_panels or not all(isinstance(a, Axes) for a in axes):
            raise ValueError(
                f"ax must be {'a pair of Axes' if update_ratio else 'one Axes'} with "
                f"update_ratio={update_ratio}, got {ax!r}."
            )
        fig = _root_figure(axes[0])

    epochs = np.asarray(frame.index, dtype=float)
    panels = [(axes[0], norms, "gradient norm ||dW||", "Weight-gradient norm per layer")]
    if update_ratio:
        panels.append(
            (axes[1], ratios, "||W_end - W_start|| / ||W_start||", "Update ratio per layer")
        )
    for p, (panel_ax, columns, ylabel, title) in enumerate(panels):
        for k, (label, column) in enumerate(columns):
            panel_ax.plot(
                epochs,
                frame[column].to_numpy(float),
                label=label if label.startswith("dense") else f"layer {label}",
                color=f"C{k % 10}",
            )
        if log:
            panel_ax.set_yscale("log")
        if ax is not None or p == len(panels) - 1:  # shared x axis: label it once
            panel_ax.set_xlabel("epoch")
        panel_ax.set_ylabel(ylabel)
        panel_ax.set_title(title)
        panel_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        panel_ax.grid(True, alpha=0.3)
        panel_ax.legend(fontsize="small", ncol=2 if len(columns) > 4 else 1)
    return fig


# ---------------------------------------------------------- decision regions


def _is_network(model) -> bool:
    from .layers.base import Layer

    return isinstance(model, Layer)


def _network_labels(model, Y: np.ndarray) -> np.ndarray:
    """Class indices from a chainrule network's raw output Y (n, k) or (n, 1)."""
    Y = np.asarray(Y)
    if Y.ndim == 2 and Y.shape[1] > 1:
        return Y.argmax(axis=1)
    Y = Y.reshape(-1)
    layers = getattr(model, "layers", None) or [model]
    # A final Sigmoid outputs probabilities (threshold 0.5); otherwise a logit (0).
    threshold = 0.5 if type(layers[-1]).__name__ == "Sigmoid" else 0.0
    return (threshold < Y).astype(np.int64)


def _predict_labels(model, X: np.ndarray) -> np.ndarray:
    """Predicted labels (n,) for X (n, n_features) from a network, estimator or callable."""
    if _is_network(model):
        return _network_labels(model, model.predict(X) if hasattr(model, "predict") else model(X))
    if hasattr(model, "predict"):
        out = model.predict(X)
    elif callable(model):
        out = model(X)
    else:
        raise TypeError(
            "model must be a chainrule network, an object with predict(X), or a function "
            f"X -> labels; got {type(model).__name__}."
        )
    out = np.asarray(out)
    if out.ndim == 2 and out.shape[1] > 1:
        return out.argmax(axis=1)  # scores or one-hot rows
    if out.size != X.shape[0]:
        raise ValueError(
            f"the model returned shape {out.shape} for {X.shape[0]} points; expected one "
            "label per point, (n,)."
        )
    return out.reshape(-1)


def _grid_dtype(model, X: np.ndarray) -> np.dtype:
    dtype = getattr(model, "dtype", None)
    try:
        dtype = np.dtype(dtype) if dtype is not None else None
    except TypeError:
        dtype = None
    if dtype is not None and dtype.kind == "f":
        return dtype
    return X.dtype if X.dtype.kind == "f" else np.dtype(np.float64)


def plot_decision_regions(
    model: Any | Callable[[np.ndarray], np.ndarray],
    X,
    y,
    ax: Axes | None = None,
    *,
    resolution: int = 200,
    batch_size: int = 8192,
    max_points: int = 2000,
    points_name: str = "points",
) -> Figure:
    """The class the model predicts at every point of the plane, with the data on top.

    Parameters
    ----------
    model : chainrule network, estimator with ``predict``, or callable
        A chainrule ``Sequential`` (its output is read as logits: argmax over columns
        for k > 1 outputs, ``> 0`` for one output, ``> 0.5`` after a final
        ``Sigmoid``); any object whose ``predict(X)`` returns labels (n,) (a fitted
        ``MLPClassifier``); or a function ``X -> labels`` (n,) or scores (n, k).
    X : array-like of shape (n_samples, n_features)
        The data, n_features >= 2. With more than 2 features the plane shown is that
        of the first two principal components (see Notes). A DataFrame's column names
        label the axes.
    y : array-like of shape (n_samples,)
        The true labels, drawn as the colours of the points. For a chainrule network
        (whose outputs are class indices) labels other than integers are taken in
        sorted order, as ``np.unique(y)`` (and ``LabelEncoder``) number them.
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure.
    resolution : int, default 200
        Grid points per axis (resolution**2 predictions).
    batch_size : int, default 8192
        Grid points predicted per call, to bound memory on wide networks.
    max_points : int, default 2000
        Draw at most this many points (a seeded random sample; the title says how many
        of how many), so 40 000 rows do not overplot into a blot.
    points_name : str, default "points"
        What the rows are, for the title (``chainrule train`` passes "test rows").

    Returns
    -------
    matplotlib.figure.Figure
        The regions as a ``QuadMesh`` drawn by scikit-learn's
        ``DecisionBoundaryDisplay`` (``ax.collections[0]``, one cell per grid point), the
        boundaries as contour lines, and one scatter per class, labelled with the class.
        With more than 2 features each point is drawn in the colour of the class the
        model predicts *for that row* (its own features, not its projection), and the
        rows predicted wrong get a black cross, a scatter labelled "predicted wrong".

    Notes
    -----
    With n_features > 2, X is projected on its first two principal components,
    ``P = (X - mean) @ V.T`` with V (2, n_features), and every grid point G (2,) of
    that plane is mapped back with ``inverse_transform``: ``X_grid = mean + G @ V``
    before the model predicts. The regions are therefore the model's decisions *on
    that plane* through the data's mean; a data point off the plane may lie on the
    "wrong" side of a drawn boundary and still be classified correctly, which is why
    the points are coloured by their own prediction there, and the title says how many
    features the plane slices.

    With 100 points or more the view is robust to outliers: the PCA is fitted on X
    clipped to each feature's 1st..99th percentiles (a few extreme standardised values
    would otherwise pick the components), and the axes span the 1st..99th percentiles of
    the projected points widened by a quarter of that span on each side (never beyond
    the data); the title counts the points left outside.
    """
    X, y, feature_names = _region_inputs(X, y, resolution, max_points)
    robust = X.shape[0] >= 100
    P, (xlabel, ylabel), title, to_input = _plane(X, feature_names, robust)
    lo, hi = _view_limits(P, robust)
    G0, G1 = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    grid = np.column_stack([G0.ravel(), G1.ravel()])
    grid = to_input(grid) if to_input is not None else grid
    grid = np.ascontiguousarray(grid, dtype=_grid_dtype(model, X))
    pred, _, all_classes = _grid_predictions(model, grid, batch_size, y)
    shown = y
    if X.shape[1] > 2:  # each row in the colour of its own prediction (see Notes)
        shown = _grid_predictions(model, np.ascontiguousarray(X, grid.dtype), batch_size, y)[0]
        all_classes = np.unique(np.concatenate([all_classes, shown]))
        title += f"\n{points_name}: colour = the class predicted for the row"
    Z = np.searchsorted(all_classes, pred).reshape(G0.shape)
    colors = _class_colors(len(all_classes))

    fig, ax = _new_axes(ax, _SQUARE)
    _draw_regions(ax, G0, G1, Z, colors)
    notes = _draw_points(ax, P, shown, np.unique(shown), all_classes, colors, max_points)
    if X.shape[1] > 2:
        sample = _sample(len(P), max_points)
        wrong = sample[shown[sample] != y[sample]]
        ax.scatter(P[wrong, 0], P[wrong, 1], marker="x", color="k", s=30, linewidths=1.2,
                   alpha=0.6 if len(sample) > 500 else 1.0,
                   label=f"predicted wrong ({int((shown != y).sum())} of {len(y)})")  # fmt: skip
    notes = [n.replace(" points ", f" {points_name} ") for n in notes]
    outside = int((((P < lo) | (P > hi)).any(axis=1)).sum())
    if outside:
        notes.append(f"{outside} outlying points outside the view")
    if notes:
        title += "\n" + "; ".join(notes)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    legend = "predicted class" if X.shape[1] > 2 else "class"
    ax.legend(title=legend, fontsize="small", loc="best", framealpha=0.8)
    return fig


def _region_inputs(X, y, resolution, max_points) -> tuple[np.ndarray, np.ndarray, list | None]:
    """plot_decision_regions' checked inputs: X (n, d >= 2), y (n,), and X's column
    names when it is a DataFrame."""
    feature_names = None
    if isinstance(X, pd.DataFrame):
        feature_names = [str(c) for c in X.columns]
    X = np.asarray(X)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    if X.ndim != 2 or X.shape[1] < 2:
        raise ValueError(
            "plot_decision_regions needs X of shape (n_samples, n_features) with "
            f"n_features >= 2, got shape {X.shape}."
        )
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"y must hold one label per row of X: X has {X.shape[0]} rows, y has shape "
            f"{y.shape}. Pass class labels (n_samples,), not one-hot rows."
        )
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be an integer >= 2, got {resolution!r}.")
    if X.dtype.kind not in "biuf":
        raise TypeError(f"X must be numeric, got dtype {X.dtype}.")
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 1:
        raise ValueError(f"max_points must be a positive integer, got {max_points!r}.")
    return X, y, feature_names


def _plane(X: np.ndarray, feature_names, robust: bool):
    """The plane the regions are drawn on: ``(P, (xlabel, ylabel), title, to_input)``,
    P (n, 2) the points on it, ``to_input`` mapping plane points back to inputs (None
    for two features; PCA's ``inverse_transform`` otherwise, see plot_decision_regions)."""
    n_features = X.shape[1]
    if n_features == 2:
        labels = feature_names or ("feature 0", "feature 1")
        return X.astype(float), tuple(labels), "Decision regions", None
    from sklearn.decomposition import PCA

    Xf = X.astype(float)
    if robust:  # clip each feature to its 1st..99th percentiles before fitting
        q_lo, q_hi = np.percentile(Xf, [1, 99], axis=0)
        Xf = np.clip(Xf, q_lo, q_hi)
    pca = PCA(n_components=2, svd_solver="full").fit(Xf)
    P = pca.transform(X.astype(float))
    share = pca.explained_variance_ratio_ * 100
    labels = tuple(f"PC {k + 1} ({share[k]:.0f}% of variance)" for k in range(2))
    title = (
        f"Decision regions on a plane slicing {n_features} features: the first two\n"
        "principal components, through the mean (the other directions held there)"
    )
    return P, labels, title, pca.inverse_transform


def _view_limits(P: np.ndarray, robust: bool) -> tuple[np.ndarray, np.ndarray]:
    """The view's corners ``lo, hi`` (2,): the points' range (robust: 1st..99th
    percentiles widened by a quarter, within the data's range), padded by 8%."""
    if robust:
        q_lo, q_hi = np.percentile(P, [1, 99], axis=0)
        width = q_hi - q_lo
        lo = np.maximum(P.min(axis=0), q_lo - 0.25 * width)
        hi = np.minimum(P.max(axis=0), q_hi + 0.25 * width)
    else:
        lo, hi = P.min(axis=0), P.max(axis=0)
    pad = np.where(hi > lo, 0.08 * (hi - lo), 1.0)
    return lo - pad, hi + pad


def _grid_predictions(model, grid: np.ndarray, batch_size: int, y: np.ndarray):
    """The labels the model predicts on the grid (in y's terms), y's classes, and the
    sorted union of both: ``(pred, classes, all_classes)``."""
    pred = np.concatenate(
        [_predict_labels(model, grid[s : s + batch_size]) for s in range(0, len(grid), batch_size)]
    )
    classes = np.unique(y)
    if _is_network(model) and classes.dtype.kind not in "biu":
        # The network's outputs are indices into the sorted classes.
        if pred.max(initial=0) >= len(classes):
            raise ValueError(
                f"the network predicts class index {pred.max()} but y has only "
                f"{len(classes)} classes: {classes.tolist()}."
            )
        pred = classes[pred]
    try:
        all_classes = np.unique(np.concatenate([classes, np.unique(pred)]))
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"the model's labels ({np.unique(pred)[:5].tolist()}) cannot be compared with "
            f"y's ({classes[:5].tolist()}); predict the same kind of labels as y."
        ) from exc
    return pred, classes, all_classes


def _draw_regions(ax, G0, G1, Z, colors) -> None:
    """The predicted class Z of each grid point (G0, G1) as a coloured cell, and the
    boundaries between classes as contour lines."""
    from sklearn.inspection import DecisionBoundaryDisplay

    k = len(colors)
    # scikit-learn's display draws the predicted classes on the grid: one cell per grid
    # point (shading="nearest": cell centres on the grid points), our colours per class
    display = DecisionBoundaryDisplay(
        xx0=G0, xx1=G1, n_classes=max(k, 2), response=Z, multiclass_colors=colors
    )
    extra = {"cmap": ListedColormap(colors)} if k <= 2 else {}
    display.plot(ax=ax, plot_method="pcolormesh", shading="nearest", vmin=-0.5,
                 vmax=k - 0.5, alpha=0.3, zorder=-1, **extra)  # fmt: skip
    levels = [v + 0.5 for v in range(k - 1) if Z.min() <= v + 0.5 <= Z.max()]
    if levels:
        ax.contour(G0, G1, Z, levels=levels, colors="k", linewidths=0.8, alpha=0.6)


def _draw_points(ax, P, y, classes, all_classes, colors, max_points: int) -> list[str]:
    """One scatter of the points P per class of y (at most ``max_points``, a seeded
    sample); returns the title's note on the sample, if any."""
    index_of = {c: j for j, c in enumerate(all_classes.tolist())}
    shown = _sample(len(P), max_points)
    many = len(shown) > 500
    for c in classes.tolist():
        mask = shown[y[shown] == c]
        ax.scatter(
            P[mask, 0],
            P[mask, 1],
            s=8 if many else 24,
            color=colors[index_of[c]],
            edgecolors="none" if many else "k",
            linewidths=0.4,
            alpha=0.6 if many else 1.0,
            label=str(c),
        )
    return [f"{len(shown)} of {len(P)} points shown"] if len(shown) < len(P) else []


def _sample(n: int, max_points: int) -> np.ndarray:
    """The rows drawn: all n, or a seeded sample of ``max_points`` (the same picture
    every time), sorted."""
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, max_points, replace=False))


def _class_colors(k: int) -> list:
    from matplotlib import colormaps

    if k <= 10:
        return [colormaps["tab10"](j) for j in range(k)]
    if k <= 20:
        return [colormaps["tab20"](j) for j in range(k)]
    return [colormaps["viridis"](j / (k - 1)) for j in range(k)]


# ------------------------------------------------------- classification results


def plot_confusion_matrix(
    y_true,
    y_pred,
    labels: Sequence | None = None,
    ax: Axes | None = None,
    *,
    normalize: bool | Literal["true", "pred", "all"] = False,
) -> Figure:
    """The confusion matrix as a heat map, with the value written in every cell.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted class labels.
    labels : sequence, optional
        The classes, in the order of the rows and columns; by default every label that
        occurs in either array, sorted. Pairs with a label outside ``labels`` are not
        counted.
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure.
    normalize : bool or {"true", "pred", "all"}, default False
        ``False`` writes counts. ``True`` or ``"true"`` divides each row by its total
        (the diagonal is then each class's recall), ``"pred"`` each column (precision),
        ``"all"`` everything by n_samples.

    Returns
    -------
    matplotlib.figure.Figure
        The matrix as an image, one text per cell, rows = true labels, columns =
        predicted labels.

    Notes
    -----
    ::

        C[i, j] = number of samples with y_true == labels[i] and y_pred == labels[j]

    so correct predictions lie on the diagonal. A row or column with no samples stays
    at 0 when normalised (no division by zero). Counted by scikit-learn's
    ``confusion_matrix`` and drawn by its ``ConfusionMatrixDisplay`` into this figure's
    Axes (which imports pyplot but registers no pyplot figure).
    """
    y_true, y_pred, labels, normalize = _confusion_inputs(y_true, y_pred, labels, normalize)
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

    k = len(labels)
    # scikit-learn counts (pairs with a label outside `labels` are left out) and draws
    C = confusion_matrix(y_true, y_pred, labels=labels)
    values = C.astype(float)
    if normalize:
        axis = {"true": 1, "pred": 0, "all": None}[normalize]
        total = values.sum(axis=axis, keepdims=axis is not None)
        values = np.divide(values, total, out=np.zeros_like(values), where=total > 0)

    fig, ax = _new_axes(ax, (max(4.8, 1.0 + 0.6 * k), max(4.2, 0.6 * k + 0.6)))
    display = ConfusionMatrixDisplay(values if normalize else C, display_labels=labels)
    display.plot(
        ax=ax,
        cmap="Blues",
        colorbar=True,
        values_format=".2f" if normalize else "d",
        text_kw={"fontsize": "medium" if k <= 10 else "x-small"},
    )
    display.im_.set_clim(0.0, max(float(values.max()), 1e-12))
    names = [str(c) for c in labels.tolist()]
    ax.set_xticks(
        range(k),
        names,
        rotation=45 if max(map(len, names)) > 3 else 0,
        ha="right" if max(map(len, names)) > 3 else "center",
    )
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    accuracy = np.trace(C) / C.sum() if C.sum() else math.nan
    suffix = {"true": " (rows sum to 1)", "pred": " (columns sum to 1)", "all": " (fractions)"}
    ax.set_title(
        f"Confusion matrix{suffix.get(normalize, '')}, accuracy {accuracy:.1%}"
        if C.sum()
        else "Confusion matrix"
    )
    return fig


def _confusion_inputs(y_true, y_pred, labels, normalize):
    """plot_confusion_matrix's checked inputs: y_true, y_pred (n,), the labels (k,)
    (default: every label that occurs, sorted), normalize as False or its axis name."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_pred.shape != y_true.shape:
        raise ValueError(
            "y_true and y_pred must be 1-D arrays of the same length (class labels, not "
            f"one-hot rows); got shapes {y_true.shape} and {y_pred.shape}."
        )
    if labels is None:
        labels = np.unique(np.concatenate([y_true, y_pred]))
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) == 0 or len(np.unique(labels)) != len(labels):
        raise ValueError(f"labels must be a non-empty sequence of distinct labels, got {labels}.")
    if normalize is True:
        normalize = "true"
    if normalize not in (False, "true", "pred", "all"):
        raise ValueError(
            f"normalize must be False, True, 'true', 'pred' or 'all', got {normalize!r}."
        )
    return y_true, y_pred, labels, normalize


# ---------------------------------------------------------- regression results


def _regression_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """Both as float arrays (n, k); (n,) and (n, 1) are the same target."""
    T, P = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    T = T.reshape(-1, 1) if T.ndim == 1 else T
    P = P.reshape(-1, 1) if P.ndim == 1 else P
    if T.ndim != 2 or T.shape != P.shape:
        raise ValueError(
            "y_true and y_pred must have the same shape, (n_samples,) or "
            f"(n_samples, n_outputs); got {np.shape(y_true)} and {np.shape(y_pred)}."
        )
    if len(T) == 0:
        raise ValueError("y_true and y_pred are empty; nothing to plot.")
    return T, P


def _r2(t: np.ndarray, p: np.ndarray) -> float:
    ss_tot = float(((t - t.mean()) ** 2).sum())
    return 1.0 - float(((t - p) ** 2).sum()) / ss_tot if ss_tot > 0 else math.nan


def _output_label(j: int, k: int, T: np.ndarray, P: np.ndarray) -> str | None:
    if k == 1:
        return None
    r2 = _r2(T[:, j], P[:, j])
    return f"output {j}" + ("" if math.isnan(r2) else f" (R² = {r2:.3f})")


def _scatter_outputs(ax: Axes, A: np.ndarray, B: np.ndarray, labels: list[str]) -> None:
    """One scatter per output column j of (A, B), coloured C0, C1, ... with ``labels``."""
    size = 18 if len(A) <= 1000 else 6
    for j, label in enumerate(labels):
        ax.scatter(A[:, j], B[:, j], s=size, alpha=0.6, color=f"C{j % 10}",
                   edgecolors="none", label=label)  # fmt: skip


def plot_predictions(y_true, y_pred, ax: Axes | None = None) -> Figure:
    """Predicted versus actual values, with the identity line ``predicted = actual``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets and predictions. Every output is drawn, in its own colour, with a
        legend naming it ``"output <j>"`` and its R².
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        One scatter per output and the identity line (a Line2D labelled ``"y = x"``).

    Notes
    -----
    A perfect model puts every point on the line. The title gives the coefficient of
    determination of a single output, R² = 1 - sum((t - p)^2) / sum((t - mean(t))^2).
    """
    T, P = _regression_pair(y_true, y_pred)
    k = T.shape[1]
    fig, ax = _new_axes(ax, _SQUARE)
    _scatter_outputs(ax, T, P, [_output_label(j, k, T, P) or "samples" for j in range(k)])
    finite = np.concatenate([T[np.isfinite(T)], P[np.isfinite(P)]])
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if hi == lo:
        lo, hi = lo - 1.0, hi + 1.0
    pad = 0.04 * (hi - lo)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.3", linestyle="--", label="y = x")
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("actual")
    ax.set_ylabel("predicted")
    r2 = _r2(T[:, 0], P[:, 0]) if k == 1 else math.nan
    ax.set_title("Predicted vs actual" + ("" if math.isnan(r2) else f" (R² = {r2:.3f})"))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", loc="upper left")
    return fig


def plot_residuals(y_true, y_pred, ax: Axes | None = None) -> Figure:
    """Residuals ``actual - predicted`` against the predicted value, with a zero line.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets and predictions; every output is drawn in its own colour with a legend.
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        One scatter per output and the horizontal zero line (a Line2D).

    Notes
    -----
    One output is drawn by scikit-learn's ``PredictionErrorDisplay``
    (``kind="residual_vs_predicted"``); several, one colour each, by hand.
    Residual r = t - p (positive: the model predicted too low). A good fit scatters
    evenly around 0 at every predicted value; a curve means a missed nonlinearity, a
    funnel that the error grows with the value.
    """
    T, P = _regression_pair(y_true, y_pred)
    R = T - P
    k = T.shape[1]
    fig, ax = _new_axes(ax, _FIGSIZE)
    if k == 1 and np.isfinite(R).all():  # one output: scikit-learn's display draws it
        from sklearn.metrics import PredictionErrorDisplay

        PredictionErrorDisplay(y_true=T[:, 0], y_pred=P[:, 0]).plot(
            ax=ax,
            kind="residual_vs_predicted",
            scatter_kwargs={"s": 18 if len(T) <= 1000 else 6, "alpha": 0.6, "color": "C0",
                            "edgecolors": "none", "label": "samples"},
            line_kwargs={"color": "0.3", "linestyle": "--", "linewidth": 1.2, "label": "zero"},
        )  # fmt: skip
    else:  # several outputs (the display draws one): one colour each
        _scatter_outputs(ax, P, R, [f"output {j}" for j in range(k)])
        ax.axhline(0.0, color="0.3", linestyle="--", linewidth=1.2, label="zero")
    ax.set_xlabel("predicted")
    ax.set_ylabel("residual (actual - predicted)")
    rms = float(np.sqrt(np.nanmean(R**2)))
    ax.set_title(f"Residuals vs predicted (RMSE = {rms:.3g})")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def plot_lr_find(result, ax: Axes | None = None) -> Figure:
    """The learning-rate range test of :func:`chainrule.lr_find`: the smoothed loss
    (and each batch's, faint) against the rate on a log axis, the suggestion marked.

    Parameters
    ----------
    result : LRFindResult
        What ``lr_find`` returned (``result.plot()`` calls this).
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure
        Lines labelled ``"batch loss"``, ``"smoothed"`` and ``"suggestion: lr = <lr>"``.
    """
    fig, ax = _new_axes(ax, (6.0, 4.0))
    ax.plot(result.rates, result.losses, color="0.75", lw=1, label="batch loss")
    ax.plot(result.rates, result.smoothed, color="C0", lw=2, label="smoothed")
    if result.suggestion is not None:
        k = result.index
        ax.plot([result.rates[k]], [result.smoothed[k]], "o", color="C3", ms=8,
                label=f"suggestion: lr = {result.suggestion:.3g}")  # fmt: skip
        ax.axvline(result.suggestion, color="C3", ls="--", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("training loss")
    ax.set_title(f"learning-rate range test ({result.stopped})")
    low, high = np.nanmin(result.losses), result.smoothed[0]
    if math.isfinite(low) and high > low:  # the explosion would squash the curve
        ax.set_ylim(low - 0.05 * (high - low), min(np.nanmax(result.losses), 2 * high))
    ax.legend()
    return fig
