"""Metrics: small functions of the network output ``Y`` and the targets ``T``.

Every metric has the signature ``metric(Y, T, sample_weight=None) -> float`` with ``Y``
the raw network output of shape (n_samples, n_outputs), as ``fit`` sees it (logits for
the fused losses). With ``sample_weight`` w each sample counts w_i times, as in
scikit-learn's ``sample_weight``. A target of shape (n,) against an output (n, 1) is read
as (n, 1).

=========  ================================================  ==========================
name       value                                             scikit-learn equivalent
=========  ================================================  ==========================
accuracy   fraction of correctly predicted labels            ``accuracy_score``
mse        mean of (Y - T)^2 over all elements               ``mean_squared_error``
mae        mean of |Y - T| over all elements                 ``mean_absolute_error``
r2         1 - SS_res / SS_tot per output, averaged          ``r2_score``
=========  ================================================  ==========================
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._checks import unknown_name
from .losses import BinaryCrossEntropy, CrossEntropy

Metric = Callable[..., float]


def _output(Y) -> np.ndarray:
    Y = np.asarray(Y)
    if Y.ndim == 1:
        Y = Y.reshape(-1, 1)
    if Y.ndim != 2 or Y.dtype.kind not in "biuf":
        raise ValueError(
            f"metrics take the network output Y of shape (n_samples, n_outputs), got an "
            f"array of shape {Y.shape} and dtype {Y.dtype}."
        )
    return Y


def _like(Y: np.ndarray, T, name: str) -> np.ndarray:
    T = np.asarray(T)
    if T.ndim == 1 and Y.shape[1] == 1:
        T = T.reshape(-1, 1)
    if T.shape != Y.shape:
        raise ValueError(f"{name}: target shape {T.shape} does not match output shape {Y.shape}.")
    return T


def _weights(sample_weight, n: int, name: str) -> np.ndarray | None:
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    if w.shape[0] != n:
        raise ValueError(f"{name}: sample_weight has {w.shape[0]} entries for {n} samples.")
    return w


def _mean(per_sample: np.ndarray, w: np.ndarray | None) -> float:
    if w is None:
        return float(np.mean(per_sample))
    return float(np.dot(w, per_sample) / w.sum())


def predict_labels(Y, *, from_logits: bool = True, multilabel: bool = False) -> np.ndarray:
    """Class labels read off the network output ``Y`` (n, k).

    Parameters
    ----------
    Y : ndarray of shape (n_samples, n_outputs)
    from_logits : bool, default True
        Whether a one-column (or multilabel) output holds logits (threshold 0) or
        probabilities (threshold 0.5). sigmoid(z) > 0.5 exactly when z > 0.
    multilabel : bool, default False
        Threshold every column independently (binary cross-entropy with k outputs).

    Returns
    -------
    ndarray of shape (n_samples,) of class indices, or (n_samples, k) of 0/1 labels
    when the output is thresholded.
    """
    Y = _output(Y)
    if Y.shape[1] == 1 or multilabel:
        return (Y > (0.0 if from_logits else 0.5)).astype(np.intp)
    # softmax is monotone in each row, so logits and probabilities share the argmax
    return Y.argmax(axis=1)


def accuracy(
    Y, T, sample_weight=None, *, from_logits: bool = True, multilabel: bool = False
) -> float:
    """Fraction of correctly predicted labels.

    Parameters
    ----------
    Y : ndarray of shape (n_samples, n_outputs)
        The network output.
    T : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        With several outputs: class indices (n,) or one-hot rows (n, k) (their argmax).
        With one output or ``multilabel``: 0/1 labels (soft targets count as > 0.5).
    sample_weight : ndarray of shape (n_samples,), optional
    from_logits, multilabel : bool
        How a thresholded output is read; see :func:`predict_labels`.

    Notes
    -----
    ::

        k > 1 outputs:        predicted class = argmax_j Y[i, j]
        1 output (binary):    predicted label = Y[i] > 0 (logits) or > 0.5 (probabilities)
        accuracy = sum_i w_i * [predicted_i == true_i] / sum_i w_i     (w_i = 1 by default)

    With ``multilabel`` each sample's score is the fraction of its k labels that are right.
    """
    Y = _output(Y)
    w = _weights(sample_weight, Y.shape[0], "accuracy")
    pred = predict_labels(Y, from_logits=from_logits, multilabel=multilabel)
    T = np.asarray(T)
    if pred.ndim == 2:
        T = _like(Y, T, "accuracy")
        correct = (pred == (T > 0.5)).mean(axis=1)
    else:
        if T.ndim == 2:
            T = _like(Y, T, "accuracy").argmax(axis=1)
        elif T.shape != (Y.shape[0],):
            raise ValueError(
                f"accuracy: {Y.shape[0]} outputs but targets of shape {T.shape}; pass class "
                "indices (n,) or one-hot rows (n, k)."
            )
        correct = pred == T
    return _mean(correct, w)


def mse(Y, T, sample_weight=None) -> float:
    """Mean squared error, ``mean((Y - T)^2)`` over all elements (weighted by sample)."""
    Y = _output(Y)
    R = Y - _like(Y, T, "mse")
    w = _weights(sample_weight, Y.shape[0], "mse")
    return _mean((R * R).mean(axis=1, dtype=np.float64), w)


def mae(Y, T, sample_weight=None) -> float:
    """Mean absolute error, ``mean(|Y - T|)`` over all elements (weighted by sample)."""
    Y = _output(Y)
    R = Y - _like(Y, T, "mae")
    w = _weights(sample_weight, Y.shape[0], "mae")
    return _mean(np.abs(R).mean(axis=1, dtype=np.float64), w)


def r2(Y, T, sample_weight=None) -> float:
    """Coefficient of determination R², averaged over the output columns.

    Notes
    -----
    ::

        per column j:  SS_res = sum_i w_i (T_ij - Y_ij)^2
                       SS_tot = sum_i w_i (T_ij - Tbar_j)^2,   Tbar_j = weighted mean of T_j
                       R2_j   = 1 - SS_res / SS_tot
        R2 = mean_j R2_j

    1 is a perfect fit; 0 is what always predicting the mean achieves; it is negative
    for worse. A constant column (SS_tot = 0) scores 1 if predicted exactly, else 0, as
    in scikit-learn's ``r2_score``.
    """
    Y = _output(Y).astype(np.float64)
    T = _like(Y, T, "r2").astype(np.float64)
    w = _weights(sample_weight, Y.shape[0], "r2")
    w = np.ones(Y.shape[0]) if w is None else w
    T_bar = (w @ T) / w.sum()
    ss_res = w @ (T - Y) ** 2
    ss_tot = w @ (T - T_bar) ** 2
    scores = np.where(ss_res == 0, 1.0, 0.0)
    nonconstant = ss_tot != 0
    scores[nonconstant] = 1 - ss_res[nonconstant] / ss_tot[nonconstant]
    return float(scores.mean())


METRICS: dict[str, Metric] = {
    "accuracy": accuracy,
    "mse": mse,
    "mae": mae,
    "r2": r2,
}
ALIASES = {
    "acc": "accuracy",
    "mean_squared_error": "mse",
    "mean_absolute_error": "mae",
    "r2_score": "r2",
}


def get_metric(metric: str | Metric, loss=None) -> tuple[str, Metric]:
    """``(name, function)`` for a metric name or a callable, bound to ``loss``.

    ``"accuracy"`` reads the output the way ``loss`` does: argmax for ``CrossEntropy``;
    each column thresholded at 0 for ``BinaryCrossEntropy()`` (logits) or at 0.5 for
    ``BinaryCrossEntropy(from_logits=False)``; for other losses argmax with several
    outputs and 0.5 with one. A callable is used as is (called ``f(Y, T,
    sample_weight=w)``) under its ``__name__``. Aliases: ``acc``, ``mean_squared_error``,
    ``mean_absolute_error``, ``r2_score``.
    """
    if callable(metric):
        return getattr(metric, "__name__", "metric"), metric
    name = ALIASES.get(metric, metric) if isinstance(metric, str) else metric
    if name not in METRICS:
        hint = " or a function f(Y, T, sample_weight=None) -> float"
        raise ValueError(unknown_name("metric", metric, METRICS, hint))
    if name != "accuracy":
        return name, METRICS[name]
    if isinstance(loss, BinaryCrossEntropy):
        from_logits, multilabel = bool(loss.from_logits), True
    elif isinstance(loss, CrossEntropy):
        from_logits, multilabel = bool(loss.from_logits), False
    else:
        from_logits, multilabel = False, False

    def bound_accuracy(Y, T, sample_weight=None) -> float:
        return accuracy(Y, T, sample_weight, from_logits=from_logits, multilabel=multilabel)

    return "accuracy", bound_accuracy
