"""The learning-rate finder: ``lr_find(net, loss, X, y) -> LRFindResult``.

Leslie Smith's range test (Smith, "Cyclical Learning Rates for Training Neural
Networks", 2017): train for a short run whose rate grows geometrically, one rate per
batch, from ``start`` to ``end``, and record each batch's loss::

    lr_k = start * (end / start) ** (k / (steps - 1)),   k = 0 .. steps - 1
    s_k  = (beta * m_{k-1} + (1 - beta) * loss_k) / (1 - beta ** (k + 1))   (smoothed)
    stop when loss_k is not finite or s_k > 4 * min(s_0 .. s_k)             (exploded)
    slope_k = (s_{k+w} - s_{k-w}) / (log10 lr_{k+w} - log10 lr_{k-w}),   w = n / 20
    suggestion = lr_k of the most negative slope_k, k before argmin(s)

At small rates the loss barely moves; it then falls faster and faster, flattens at its
lowest, and blows up once the rate is too large. The steepest fall is where a rate is
large enough to make progress and still safe.

There is no second loop here: each batch is one call of THE loop, ``run_epochs(run,
None, max_batches=1)`` (the playground's ticks), with ``run.set_lr`` setting that
batch's rate and ``run.batch_loss`` giving its loss. The run trains COPIES: a deep copy
of the network (weights, buffers, dropout generators) and of the optimizer with its
state, or for an ``MLPClassifier``/``MLPRegressor`` a clone of the estimator with its
own solver, loss, L2 term and batch size. What was passed in is not touched.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from .._checks import as_rng
from ..losses import Loss
from ..optimizers import Adam, Optimizer
from ._checks import _check_arguments, _check_clipping, _check_loss
from .history import History, TrainingDivergedError
from .loop import TrainingRun, _prepare_data, run_epochs

EXPLODED = 4.0  # the run stops once the smoothed loss exceeds 4x its lowest
MIN_STEPS = 5  # fewer points give no slope worth the name
SLOPE_SPAN = 20  # the slope is taken across n / 20 points on each side


@dataclass
class LRFindResult:
    """The range test's curve and its suggestion.

    Attributes
    ----------
    rates : ndarray of shape (n_points,)
        The rate of each recorded batch, growing geometrically (``n_points <= steps``:
        the run stops when the loss explodes).
    losses : ndarray of shape (n_points,)
        Each batch's loss (L2 term included), as measured before its update.
    smoothed : ndarray of shape (n_points,)
        Their exponential moving average, bias-corrected (``smoothing``).
    suggestion : float or None
        The rate where ``smoothed`` falls fastest against log10(rate), inside the falling
        region (before its lowest point); None when the loss never fell.
    index : int or None
        The suggestion's position in ``rates``.
    stopped : str
        Why the run ended: "end reached", "the loss exploded" (> 4x its lowest,
        smoothed) or "the loss became non-finite".
    """

    rates: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggestion: float | None
    index: int | None
    stopped: str

    def plot(self, ax=None):
        """The smoothed loss (and the raw one, faint) against the rate, log x axis, with
        the suggestion marked (:func:`chainrule.plotting.plot_lr_find`). Returns the
        Figure; ``ax``: draw there instead of on a new figure."""
        from ..plotting import plot_lr_find

        return plot_lr_find(self, ax=ax)


def lr_find(
    net,
    loss: Loss | str | None,
    X: np.ndarray,
    y: np.ndarray,
    *,
    optimizer: Optimizer | None = None,
    start: float = 1e-7,
    end: float = 10.0,
    steps: int = 100,
    batch_size: int = 32,
    rng: np.random.Generator | int | None = None,
    l2: float = 0.0,
    sample_weight: np.ndarray | None = None,
    smoothing: float = 0.9,
    clip_norm: float | None = None,
    clip_value: float | None = None,
) -> LRFindResult:
    """Smith's learning-rate range test on copies of ``net`` and ``optimizer``.

    Parameters
    ----------
    net : Sequential or Layer, or MLPClassifier / MLPRegressor
        The network, left untouched (its weights, buffers and dropout generators are
        copied). An estimator (solver "adam" or "sgd") is cloned and initialised as its
        first ``fit`` would be; its own loss, solver, ``alpha``, ``batch_size`` and
        ``random_state`` are used, so ``loss``, ``optimizer``, ``batch_size``, ``rng``,
        ``l2`` and ``sample_weight`` must be left at their defaults.
    loss : Loss or str, or None for an estimator
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
    optimizer : Optimizer, optional
        The rule to find a rate for, e.g. ``SGD(0.1, momentum=0.9)`` (its ``lr`` is
        ignored; its state, if it has taken steps, is copied). Default ``Adam()``.
    start, end : float, default 1e-7 and 10
        The first and last rates, ``0 < start < end``.
    steps : int, default 100
        Batches in the run (at most; >= 5), one rate each. Epochs follow one another
        when the data has fewer batches.
    batch_size, rng, l2, sample_weight, clip_norm, clip_value
        As in :func:`~chainrule.fit`; ``rng`` draws the order of the batches.
    smoothing : float in [0, 1), default 0.9
        beta of the moving average of the losses.

    Returns
    -------
    LRFindResult
        ``rates``, ``losses``, ``smoothed`` of shape (n_points,), ``suggestion``, and
        ``plot(ax=None)`` (a matplotlib Figure).

    Raises
    ------
    ValueError
        For a bad ``start``, ``end``, ``steps`` or ``smoothing`` (before anything runs),
        and as ``fit`` does for bad data.

    Examples
    --------
    >>> result = cr.lr_find(net, cr.CrossEntropy(), X, y, optimizer=cr.SGD(0.1))
    >>> result.suggestion, result.plot()
    """
    rates = _check_range(start, end, steps, smoothing)
    if hasattr(net, "_range_test_run"):  # a scikit-learn style MLP estimator
        _check_estimator_call(loss, optimizer, batch_size, rng, l2, sample_weight)
        run = net._range_test_run(X, y)
    else:
        run = _network_run(net, loss, X, y, optimizer, batch_size, rng, l2, sample_weight,
                           (clip_norm, clip_value))  # fmt: skip
    losses, stopped = _range_test(run, rates, smoothing)
    return _result(rates[: len(losses)], np.array(losses, dtype=float), stopped, smoothing)


def _network_run(net, loss, X, y, optimizer, batch_size, rng, l2, sample_weight, clipping):
    """A TrainingRun of ``fit``'s steps on copies of ``net`` and ``optimizer``."""
    optimizer = Adam() if optimizer is None else optimizer
    _, batch_size = _check_arguments(net, optimizer, 1, batch_size, True, False, l2)
    if batch_size is None:
        raise ValueError("lr_find: batch_size must be an integer >= 1, got None.")
    loss = _check_loss(loss)
    clip_norm, clip_value = _check_clipping(*clipping)
    copied = copy.deepcopy(net)
    opt = copy.deepcopy(optimizer)
    opt.schedule = None  # the run sets the rate of every batch itself
    opt.load_state_dict(optimizer.state_dict(net), copied)  # the state, on the copy's arrays
    rng = as_rng(rng)
    data = _prepare_data(copied, loss, X, y, sample_weight, 0.0, None, batch_size, rng)
    run = TrainingRun(copied, loss, opt, data, (), float(l2), clip_norm, clip_value)
    run.rng, run.shuffle = rng, True
    run.history = History(run.settings(0))
    return run


def _range_test(run: TrainingRun, rates: np.ndarray, beta: float) -> tuple[list[float], str]:
    """One batch per rate through ``run_epochs``; the batches' losses and why it ended.

    A smaller last batch of an epoch is taken at the same rate as the next one and not
    recorded: its loss is not comparable (a mean over few rows, and the estimators
    divide the L2 term by the batch's size: a batch of 1 row weighs it 32 times)."""
    losses: list[float] = []
    mean, best = 0.0, math.inf
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        while len(losses) < len(rates):
            k = len(losses)
            run.set_lr(float(rates[k]))
            first = run.pos if run.pos < run.data.n else 0  # where this batch starts
            try:
                run_epochs(run, None, max_batches=1)
            except (TrainingDivergedError, ValueError) as exc:  # on the copy: stop there
                if not _diverged(exc):
                    raise
                return losses, "the loss became non-finite"
            value = run.batch_loss
            if not math.isfinite(value):
                return losses, "the loss became non-finite"
            if run.pos - first < run.data.batch_size:
                continue  # the epoch's smaller last batch
            losses.append(value)
            mean, smooth = _smooth(mean, value, beta, k)
            best = min(best, smooth)
            if smooth > EXPLODED * best:
                return losses, "the loss exploded"
    return losses, "end reached"


def _smooth(mean: float, value: float, beta: float, k: int) -> tuple[float, float]:
    """The moving average after point k (0-based) and its bias-corrected value."""
    mean = beta * mean + (1 - beta) * value
    return mean, mean / (1 - beta ** (k + 1))


def _diverged(exc: BaseException) -> bool:
    """A divergence: ``fit``'s error, or an estimator's ValueError caused by one."""
    return isinstance(exc, TrainingDivergedError) or isinstance(
        exc.__cause__, TrainingDivergedError
    )


def _result(rates: np.ndarray, losses: np.ndarray, stopped: str, beta: float) -> LRFindResult:
    """Smooth the losses and find the steepest fall before the lowest point."""
    n = len(losses)
    smoothed = np.empty(n)
    mean = 0.0
    for k, value in enumerate(losses):
        mean, smoothed[k] = _smooth(mean, value, beta, k)
    suggestion = index = None
    if n >= 3:
        lowest = int(np.argmin(smoothed))
        slope = _slope(smoothed, np.log10(rates), max(1, round(n / SLOPE_SPAN)))
        if lowest >= 1 and slope[:lowest].min() < 0:
            index = int(np.argmin(slope[:lowest]))
            suggestion = float(rates[index])
    return LRFindResult(rates, losses, smoothed, suggestion, index, stopped)


def _slope(s: np.ndarray, x: np.ndarray, w: int) -> np.ndarray:
    """ds/dx at each point, as the difference across ``w`` points on each side (clamped
    at the ends): neighbouring batches differ by noise more than by their rates."""
    k = np.arange(len(s))
    lo, hi = np.maximum(k - w, 0), np.minimum(k + w, len(s) - 1)
    return (s[hi] - s[lo]) / (x[hi] - x[lo])


def _check_range(start, end, steps, smoothing) -> np.ndarray:
    """The rates, after checking ``start``, ``end``, ``steps`` and ``smoothing``."""
    for name, value, example in (("start", start, "1e-7"), ("end", end, "10")):
        if (
            isinstance(value, bool)
            or not isinstance(value, Real)
            or not (math.isfinite(value) and value > 0)
        ):
            raise ValueError(
                f"lr_find: {name} must be a finite rate > 0 (e.g. {name}={example}), got {value!r}."
            )
    if not end > start:
        raise ValueError(
            f"lr_find: end must be larger than start (the rate grows from start to end), "
            f"got start={start!r}, end={end!r}; e.g. start=1e-7, end=10."
        )
    if isinstance(steps, bool) or not isinstance(steps, Integral) or steps < MIN_STEPS:
        raise ValueError(
            f"lr_find: steps must be an integer >= {MIN_STEPS} (the number of batches, one "
            f"rate each), got {steps!r}; e.g. steps=100."
        )
    if isinstance(smoothing, bool) or not isinstance(smoothing, Real) or not 0 <= smoothing < 1:
        raise ValueError(f"lr_find: smoothing must be in [0, 1), got {smoothing!r}; e.g. 0.9.")
    return start * (end / start) ** (np.arange(steps) / (steps - 1))


def _check_estimator_call(loss, optimizer, batch_size, rng, l2, sample_weight) -> None:
    """An estimator brings its own loss, solver, batch size, seed and L2 term."""
    given = {
        "loss": loss is not None,
        "optimizer": optimizer is not None,
        "batch_size": batch_size != 32,
        "rng": rng is not None,
        "l2": l2 != 0.0,
        "sample_weight": sample_weight is not None,
    }
    named = [name for name, was in given.items() if was]
    if named:
        raise ValueError(
            f"lr_find: an estimator uses its own loss, solver, batch_size, random_state and "
            f"alpha; do not pass {', '.join(named)}. Set them on the estimator instead, "
            "e.g. MLPClassifier(solver='sgd', batch_size=64, alpha=1e-4)."
        )
