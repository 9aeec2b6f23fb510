"""Losses: ``loss(Y, T, sample_weight=None) -> (value, dY)``.

``Y`` (n_samples, n_outputs) is the network's output and ``T`` the target. ``value`` is
the mean loss as PyTorch defines it (over all elements for MSE, MAE, Huber and binary
cross-entropy; over samples for cross-entropy) and ``dY = dL/dY`` is the gradient *of
that mean*: the ``1/n`` lives here, once, and layers never divide by the batch size.

With ``sample_weight`` w (n_samples,) the mean becomes a weighted mean,
``sum_i w_i * l_i / sum_i w_i`` (l_i the sample's mean loss over its outputs), and dY
is its gradient: row i is scaled by ``w_i / sum(w)`` instead of ``1 / n``. Only the
ratios of the weights matter: weights beyond sqrt of the dtype's largest (or below sqrt
of its smallest normal) number are divided by their largest first, so that the sums
cannot overflow.

Targets: a target of shape (n,) against an output (n, 1) is read as (n, 1), never
broadcast to (n, n). ``CrossEntropy`` also takes class indices (n,).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ._checks import lookup
from .layers.activations import sigmoid, sigmoid_from, softmax
from .layers.base import Formula as F
from .layers.base import Formulas

# PyTorch clamps log-probabilities at -100 in BCELoss so that log(0) never reaches the
# loss; we do the same for the probability (unfused) paths.
LOG_FLOOR = -100.0
# Smallest denominator in the unfused gradients (PyTorch's BCELoss uses 1e-12 too).
DENOM_FLOOR = 1e-12


def _check_output(Y, name: str) -> np.ndarray:
    Y = np.asarray(Y)
    if Y.dtype.kind != "f":
        raise TypeError(f"{name}: the output Y must be a float array, got dtype {Y.dtype}.")
    if Y.ndim != 2:
        raise ValueError(
            f"{name}: the output Y must be 2-D (n_samples, n_outputs), got shape {Y.shape}."
        )
    if Y.shape[0] == 0:
        raise ValueError(f"{name}: the output Y has 0 samples; a loss needs at least one.")
    return Y


def _check_probabilities(P: np.ndarray, name: str) -> None:
    """The unfused paths take probabilities: refuse values outside [0, 1] (e.g. logits).

    NaN passes (a diverged network's NaN loss is fit's to report), inf does not.
    """
    if (P < 0).any() or (P > 1).any():
        raise ValueError(
            f"{name}(from_logits=False) takes probabilities in [0, 1] (the output of a "
            f"Sigmoid/Softmax layer), but Y holds values from {np.nanmin(P):.4g} to "
            f"{np.nanmax(P):.4g}. Pass raw scores (logits) to {name}() with "
            "from_logits=True, or end the network with the Sigmoid/Softmax layer."
        )


def _check_from_logits(from_logits, name: str) -> bool:
    if not isinstance(from_logits, (bool, np.bool_)):
        raise TypeError(f"{name}: from_logits must be True or False, got {from_logits!r}.")
    return bool(from_logits)


def _check_finite_numeric(T, name: str) -> np.ndarray:
    try:
        T = np.asarray(T)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(
            f"{name}: the targets cannot be read as an array: their rows have different "
            "lengths. Pass one target (or one row of targets) per sample."
        ) from exc
    if T.dtype.kind not in "biuf":
        raise TypeError(
            f"{name}: targets must be numbers, got dtype {T.dtype}; encode labels as "
            "integers 0..k-1 first."
        )
    if T.dtype.kind == "f" and not np.isfinite(T).all():
        raise ValueError(f"{name}: the targets contain NaN or inf; clean or impute them first.")
    return T


def _match_shape(Y: np.ndarray, T: np.ndarray, name: str) -> np.ndarray:
    """T shaped like Y: (n,) is read as (n, 1) against a one-column output."""
    if T.ndim == 1 and Y.shape[1] == 1:
        T = T.reshape(-1, 1)
    if T.shape != Y.shape:
        hint = ""
        if T.ndim >= 1 and T.shape[0] != Y.shape[0]:
            hint = f" Y has {Y.shape[0]} samples but T has {T.shape[0]}."
        elif T.ndim == 1:
            hint = " A 1-D target needs a single-output network (Y of shape (n, 1))."
        raise ValueError(
            f"{name}: target shape {T.shape} does not match output shape {Y.shape}.{hint}"
        )
    return T.astype(Y.dtype, copy=False)


def check_sample_weight(sample_weight, n: int, dtype, where: str) -> np.ndarray | None:
    """The weights as an array of ``dtype``, divided by their largest if it is extreme.

    Used by every loss and by ``fit``. Every weighted quantity is a ratio
    ``sum_i w_i * l_i / sum_i w_i`` (the loss, its gradient, the metrics), which dividing
    all the weights by one number leaves unchanged. Weights whose largest lies outside
    [sqrt(tiny), sqrt(max)] of the dtype (above ~1e154 in float64, ~1e19 in float32; or
    below ~1e-154, ~1e-19) would overflow or underflow those sums, so they are divided by
    their largest first; any other weights are used exactly as given. Checked and
    rescaled in float64, then cast: 1e39 is a fine weight for a float32 loss once divided
    by the largest, but would be inf if cast first.
    """
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.dtype.kind not in "biuf":
        raise TypeError(f"{where}: sample_weight must be numeric, got dtype {w.dtype}.")
    w = w.astype(np.float64, copy=False).reshape(-1) if w.ndim <= 1 else w
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(
            f"{where}: sample_weight must have shape ({n},), one weight per sample; got "
            f"{np.shape(sample_weight)}."
        )
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"{where}: sample_weight must be finite and non-negative.")
    largest = w.max()  # not w.sum(), which overflows for weights such as 1e307
    if not largest > 0:
        raise ValueError(f"{where}: sample_weight sums to zero; at least one must be positive.")
    info = np.finfo(dtype)
    if not np.sqrt(info.tiny) <= largest <= np.sqrt(info.max):
        w = w / largest  # the same weighted mean, without overflow (w = 1e307) or underflow
    return w.astype(dtype, copy=False)


class Loss:
    """Base class: per-sample losses and their gradients, reduced to a (weighted) mean.

    Subclasses implement ``_loss_and_grad(Y, T) -> (l, g)`` with ``l`` the un-averaged
    losses (n, k) or (n,) and ``g`` their derivatives dl/dY (n, k); this class turns
    them into the mean and the gradient of the mean.
    """

    #: the formulas of a loss with none of its own (``{y}`` names the output it reads)
    formulas: ClassVar[Formulas] = Formulas(
        forward=(F("L", "L = loss({y}, T)", "L", "mean loss over the batch"),),
        backward=(F("d{y}", "d{y} = dL/d{y}", r"\partial {{{y}}}", "gradient of the mean loss"),),
    )

    #: whether the loss expects raw scores (logits) rather than probabilities
    from_logits: bool = False

    def __call__(self, Y, T, sample_weight=None) -> tuple[float, np.ndarray]:
        """Return ``(value, dY)`` for outputs ``Y`` (n, k) and targets ``T``.

        Parameters
        ----------
        Y : ndarray of shape (n_samples, n_outputs)
        T : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : ndarray of shape (n_samples,), optional

        Returns
        -------
        value : float
            The (weighted) mean loss.
        dY : ndarray of shape (n_samples, n_outputs), dtype of Y
            The gradient of ``value`` with respect to ``Y``.
        """
        name = type(self).__name__
        Y = _check_output(Y, name)
        T = self._check_target(Y, _check_finite_numeric(T, name))
        w = check_sample_weight(sample_weight, Y.shape[0], Y.dtype, name)
        return self._mean_and_grad(Y, T, w)

    def _check_all_targets(self, T, n_outputs: int, dtype) -> np.ndarray:
        """Check and convert all targets at once, as each call would for its batch.

        Returns T in the form ``_mean_and_grad`` takes (class indices as integers, a
        column per output, the given float dtype). A training loop calls it once and
        then ``_mean_and_grad`` for each batch of rows, skipping the per-call checks.
        """
        T = _check_finite_numeric(T, type(self).__name__)
        return self._check_target(np.broadcast_to(dtype.type(0), (T.shape[0], n_outputs)), T)

    def _mean_and_grad(
        self, Y: np.ndarray, T: np.ndarray, w: np.ndarray | None
    ) -> tuple[float, np.ndarray]:
        """``(value, dY)`` as ``__call__`` returns them, for inputs it (or, for all the
        targets at once, ``_check_all_targets``) has checked."""
        l, g = self._loss_and_grad(Y, T)
        per_sample = l.size // Y.shape[0]  # outputs averaged within each sample
        if w is None:
            value = l.sum() / l.size  # l.mean(), without its Python-level overhead
            g *= Y.dtype.type(1 / l.size)
        else:
            scale = w / (w.sum() * per_sample)
            value = (scale @ l.reshape(Y.shape[0], -1)).sum()
            g *= scale[:, None]
        return float(value), g

    def _check_target(self, Y: np.ndarray, T: np.ndarray) -> np.ndarray:
        return _match_shape(Y, T, type(self).__name__)

    def _loss_and_grad(self, Y: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    def get_formulas(self) -> Formulas:
        """The formulas of this loss as configured (``formulas`` unless an option, such
        as ``from_logits=False``, changes them)."""
        return self.formulas

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MeanSquaredError(Loss):
    """Mean squared error, ``L = mean((Y - T)**2)`` over all N = n * k elements.

    Notes
    -----
    ::

        Forward:  L = (1/N) * sum_ij (Y_ij - T_ij)^2
        Backward: dY = 2 * (Y - T) / N

    With a linear (Identity) output, dL/dZ = dY: the gradient at the output is the
    error itself, scaled. (scikit-learn reports half this value: half the mean over all
    N = n * k entries, (1/(2N)) sum_ij (Y_ij - T_ij)^2, with gradient (Y - T) / N.)
    """

    formulas = Formulas(
        forward=(
            F(
                "L",
                "L = mean(({y} - T)**2)",
                r"L = \frac{{1}}{{N}}\sum ({{{y}}} - T)^2",
                "mean over all N = n * k entries of the batch",
            ),
        ),
        backward=(
            F(
                "d{y}",
                "d{y} = 2 ({y} - T) / N",
                r"\partial {{{y}}} = \frac{{2}}{{N}}({{{y}}} - T)",
                "gradient of the mean loss; N = n * k, the number of entries",
            ),
        ),
    )

    def _loss_and_grad(self, Y, T):
        R = Y - T
        return R * R, 2 * R


class MeanAbsoluteError(Loss):
    """Mean absolute error, ``L = mean(|Y - T|)``.

    Notes
    -----
    ::

        Forward:  L = (1/N) * sum_ij |Y_ij - T_ij|
        Backward: dY = sign(Y - T) / N          (0 where Y == T, as in PyTorch)
    """

    formulas = Formulas(
        forward=(
            F(
                "L",
                "L = mean(|{y} - T|)",
                r"L = \frac{{1}}{{N}}\sum |{{{y}}} - T|",
                "mean over all N = n * k entries of the batch",
            ),
        ),
        backward=(
            F(
                "d{y}",
                "d{y} = sign({y} - T) / N",
                r"\partial {{{y}}} = \frac{{1}}{{N}}\mathrm{{sign}}({{{y}}} - T)",
                "gradient of the mean loss; N = n * k, the number of entries",
            ),
        ),
    )

    def _loss_and_grad(self, Y, T):
        R = Y - T
        return np.abs(R), np.sign(R)


class Huber(Loss):
    """Huber loss (PyTorch's ``huber_loss``): quadratic near zero, linear beyond delta.

    Parameters
    ----------
    delta : float, default 1.0
        Where the loss turns from quadratic to linear.

    Notes
    -----
    ::

        r = Y - T
        Forward:  l = 0.5 * r^2                     if |r| <= delta
                    = delta * (|r| - 0.5 * delta)   otherwise;     L = mean(l)
        Backward: dY = clip(r, -delta, delta) / N

    The code computes l = 0.5 * c^2 + delta * (|r| - |c|) with c = clip(r, -delta,
    delta): the same two pieces, without squaring a large r (which would overflow).
    Both pieces and their slopes meet at |r| = delta, so the gradient is continuous:
    it is the residual for small errors (like MSE) and capped at delta for outliers
    (like MAE, scaled).
    """

    formulas = Formulas(
        forward=(
            F(
                "L",
                "L = mean(huber({y} - T))",
                r"L = \frac{{1}}{{N}}\sum h_\delta({{{y}}} - T)",
                "mean over all N = n * k entries of the batch",
            ),
        ),
        backward=(
            F(
                "d{y}",
                "d{y} = clip({y} - T, -delta, delta) / N",
                r"\partial {{{y}}} = \frac{{1}}{{N}}\mathrm{{clip}}({{{y}}} - T, -\delta, \delta)",
                "gradient of the mean loss; N = n * k, the number of entries",
            ),
        ),
    )

    def __init__(self, delta: float = 1.0) -> None:
        number = isinstance(delta, (int, float, np.integer, np.floating))
        if isinstance(delta, bool) or not number or not (np.isfinite(delta) and delta > 0):
            raise ValueError(f"Huber: delta must be a positive number, got {delta!r}.")
        self.delta = float(delta)

    def _loss_and_grad(self, Y, T):
        R = Y - T
        A = np.abs(R)
        d = self.delta
        C = np.clip(R, -d, d)  # the gradient; squaring C, not R, never overflows
        l = 0.5 * C * C + d * (A - np.abs(C))  # 0.5 r^2 if |r| <= d, else d (|r| - d/2)
        return l, C

    def get_config(self) -> dict:
        return {"delta": self.delta}


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy for 0/1 (or soft) targets, one sigmoid per output column.

    Parameters
    ----------
    from_logits : bool, default True
        True: ``Y`` holds logits Z and the sigmoid is fused into the loss (stable and
        exact). False: ``Y`` holds probabilities P from a ``Sigmoid`` layer.

    Notes
    -----
    ::

        P = sigmoid(Z)
        Forward:  l = -(T * log(P) + (1 - T) * log(1 - P));   L = mean(l)

        from_logits=True (fused; stable for any Z):
                  l = max(Z, 0) - Z * T + log(1 + exp(-|Z|))
                  dZ = (P - T) / N
        from_logits=False (unfused; log clamped at -100 as PyTorch does):
                  dP = (P - T) / (P * (1 - P)) / N

    The fused form follows from log P = -log(1 + e^-Z) and log(1 - P) = -Z - log(1 +
    e^-Z); the sigmoid's derivative P(1 - P) cancels the denominator of dP, which is
    why Sigmoid -> BCE(from_logits=False) and BCE(from_logits=True) give the same
    gradient, but only the fused one survives P = 0 or 1 in floating point.
    """

    formulas = Formulas(
        forward=(
            F("P", "P = sigmoid({y})", r"P = \sigma({y})", "probability of class 1"),
            F(
                "L",
                "L = -mean(T log P + (1 - T) log(1 - P)), P = sigmoid({y})",
                r"L = -\frac{{1}}{{N}}\sum \left[T\log P + (1-T)\log(1-P)\right]",
                "mean over all N = n * k entries of the batch",
            ),
        ),
        backward=(
            F(
                "d{y}",
                "d{y} = (P - T) / N",
                r"\partial {{{y}}} = \frac{{1}}{{N}}(P - T)",
                "gradient of the mean loss; N = n * k, the number of entries",
            ),
        ),
    )
    #: the formulas of ``from_logits=False``: {y} holds the probabilities
    formulas_from_probabilities = Formulas(
        forward=(
            F(
                "L",
                "L = -mean(T log {y} + (1 - T) log(1 - {y}))",
                r"L = -\frac{{1}}{{N}}\sum \left[T\log {{{y}}} + (1-T)\log(1-{{{y}}})\right]",
                "mean over all N = n * k entries of the batch",
            ),
        ),
        backward=(
            F(
                "d{y}",
                "d{y} = ({y} - T) / ({y} (1 - {y})) / N",
                r"\partial {{{y}}} = \frac{{{{{y}}} - T}}{{N\,{{{y}}}(1 - {{{y}}})}}",
                "gradient of the mean loss; N = n * k, the number of entries",
            ),
        ),
    )

    def __init__(self, from_logits: bool = True) -> None:
        self.from_logits = _check_from_logits(from_logits, type(self).__name__)

    def _check_target(self, Y, T):
        T = _match_shape(Y, T, "BinaryCrossEntropy")
        if (T < 0).any() or (T > 1).any():
            raise ValueError(
                "BinaryCrossEntropy: targets must lie in [0, 1] (class labels 0/1); got "
                f"values from {T.min()} to {T.max()}. Map your labels to 0 and 1."
            )
        return T

    def _loss_and_grad(self, Y, T):
        if self.from_logits:
            E = np.exp(-np.abs(Y))  # in (0, 1]: never overflows; shared by l and P
            l = np.maximum(Y, 0) - Y * T + np.log1p(E)
            G = sigmoid_from(Y, E)  # P, then P - T in place
            G -= T
            return l, G
        P = Y
        _check_probabilities(P, "BinaryCrossEntropy")
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(P), LOG_FLOOR)
            log_q = np.maximum(np.log1p(-P), LOG_FLOOR)
        l = -(T * log_p + (1 - T) * log_q)
        return l, (P - T) / np.maximum(P * (1 - P), DENOM_FLOOR)

    def get_config(self) -> dict:
        return {"from_logits": self.from_logits}

    def get_formulas(self) -> Formulas:
        return self.formulas if self.from_logits else self.formulas_from_probabilities

    def _probabilities(self, Z: np.ndarray) -> np.ndarray:
        """P of the formulas from the logits Z (for ``explain``)."""
        return sigmoid(Z)


def log_softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise log(softmax(Z)) = Z - logsumexp(Z), stable for any Z."""
    M = Z.max(axis=1, keepdims=True)
    S = Z - M
    return S - np.log(np.exp(S).sum(axis=1, keepdims=True))


class CrossEntropy(Loss):
    """Categorical cross-entropy, averaged over samples.

    Targets are class indices (n,) in 0..k-1, or one-hot / probability rows (n, k).

    Parameters
    ----------
    from_logits : bool, default True
        True: ``Y`` holds logits Z and the softmax is fused into the loss. False: ``Y``
        holds probabilities P from a ``Softmax`` layer.

    Notes
    -----
    ::

        P = softmax(Z) row-wise;  l_i = -sum_j T_ij log P_ij;  L = (1/n) sum_i l_i

        from_logits=True (fused):  log P = Z - logsumexp(Z)   (stable)
                                   dZ = (P - T) / n
        from_logits=False:         dP = -(T / P) / n

    Why (P - T): dl/dZ_j = sum_i dl/dP_i * dP_i/dZ_j = sum_i (-T_i / P_i) P_i (delta_ij
    - P_j) = -T_j + P_j sum_i T_i = P_j - T_j, because each target row sums to 1. The
    shortcut holds for softmax + cross-entropy (and sigmoid + binary cross-entropy,
    identity + squared error up to the factor 2): in each pair the output activation is
    the inverse canonical link of the loss's distribution, and it needs the target rows
    to sum to 1: rows with a negative
    entry or a sum other than 1 (within rounding) are refused with a ValueError.
    """

    formulas = Formulas(
        forward=(
            F(
                "P",
                "P = softmax({y})",
                r"P = \mathrm{{softmax}}({y})",
                "class probabilities; rows sum to 1",
            ),
            F(
                "L",
                "L = -(1/n) sum_i log P[i, y_i], P = softmax({y})",
                r"L = -\frac{{1}}{{n}}\sum_i \log P_{{i, y_i}}",
                "mean loss over the batch",
            ),
        ),
        backward=(
            F(
                "d{y}",
                "d{y} = (P - T) / n",
                r"\partial {{{y}}} = \frac{{1}}{{n}}(P - T)",
                "gradient of the mean loss",
            ),
        ),
    )
    #: the formulas of ``from_logits=False``: {y} holds the probabilities
    formulas_from_probabilities = Formulas(
        forward=(
            F(
                "L",
                "L = -(1/n) sum_i log {y}[i, y_i]",
                r"L = -\frac{{1}}{{n}}\sum_i \log {{{y}}}_{{i, y_i}}",
                "mean loss over the batch",
            ),
        ),
        backward=(
            F(
                "d{y}",
                "d{y} = -T / {y} / n",
                r"\partial {{{y}}} = -\frac{{1}}{{n}}\frac{{T}}{{{{{y}}}}}",
                "gradient of the mean loss",
            ),
        ),
    )

    def __init__(self, from_logits: bool = True) -> None:
        self.from_logits = _check_from_logits(from_logits, type(self).__name__)

    def _check_target(self, Y, T):
        n, k = Y.shape
        if T.ndim == 1:
            if T.shape[0] != n:
                raise ValueError(
                    f"CrossEntropy: Y has {n} samples but the class indices have {T.shape[0]}."
                )
            if T.dtype.kind == "f":
                if (T != np.round(T)).any():
                    raise ValueError(
                        "CrossEntropy: 1-D targets are class indices and must be whole "
                        "numbers; for probabilities pass an (n, k) array."
                    )
            T = T.astype(np.intp, copy=False)
            bad = np.flatnonzero((T < 0) | (T >= k))
            if bad.size:
                i = bad[0]
                raise ValueError(
                    f"CrossEntropy: class index {T[i]} (sample {i}) is out of range for "
                    f"{k} classes; indices must lie in 0..{k - 1}. Does the last layer have "
                    "one output per class?"
                )
            return T
        if T.shape != Y.shape:
            raise ValueError(
                f"CrossEntropy: target shape {T.shape} does not match output shape {Y.shape}; "
                "pass class indices (n,) or one-hot rows (n, k)."
            )
        T = T.astype(Y.dtype, copy=False)
        # dZ = (P - T) / n is the gradient of the loss only when each row of T is a
        # distribution (entries >= 0 summing to 1): refuse any other row.
        tolerance = 8 * T.shape[1] * np.finfo(T.dtype).eps
        bad = np.flatnonzero((T < 0).any(axis=1) | (np.abs(T.sum(axis=1) - 1) > tolerance))
        if bad.size:
            i = bad[0]
            raise ValueError(
                "CrossEntropy: one-hot/probability targets must be non-negative and each "
                f"row must sum to 1, but {bad.size} of {n} rows are not distributions, "
                f"first row {i}: {T[i].tolist()} (sum "
                f"{T[i].sum():.6g}); bad rows {bad[:10].tolist()}"
                f"{' ...' if bad.size > 10 else ''}. Pass class indices (n,), one-hot rows, "
                "or normalise each row (T / T.sum(axis=1, keepdims=True)); for several "
                "labels per sample use BinaryCrossEntropy."
            )
        return T

    def _loss_and_grad(self, Y, T):
        n = Y.shape[0]
        rows = np.arange(n)
        if self.from_logits:
            log_P = log_softmax(Y)
            G = np.exp(log_P)  # P, then P - T in place
            if T.ndim == 1:
                l = -log_P[rows, T]
                G[rows, T] -= 1
            else:
                l = -(T * log_P).sum(axis=1)
                G -= T
            return l, G
        P = Y
        _check_probabilities(P, "CrossEntropy")
        with np.errstate(divide="ignore"):
            log_P = np.maximum(np.log(P), LOG_FLOOR)
        if T.ndim == 1:
            l = -log_P[rows, T]
            G = np.zeros_like(P)
            G[rows, T] = -1 / np.maximum(P[rows, T], DENOM_FLOOR)
        else:
            l = -(T * log_P).sum(axis=1)
            G = -T / np.maximum(P, DENOM_FLOOR)
        return l, G

    def get_config(self) -> dict:
        return {"from_logits": self.from_logits}

    def get_formulas(self) -> Formulas:
        return self.formulas if self.from_logits else self.formulas_from_probabilities

    def _probabilities(self, Z: np.ndarray) -> np.ndarray:
        """P of the formulas from the logits Z (for ``explain``)."""
        return softmax(Z)


class MulticlassHinge(Loss):
    """Multiclass SVM (hinge) loss of CS231n, on raw class scores.

    Targets are class indices (n,) in 0..k-1, or one-hot rows (n, k).

    Parameters
    ----------
    margin : float, default 1.0
        How far the true class's score must exceed every other score (> 0, finite).

    Notes
    -----
    ::

        s = Y (n, k) scores,  y_i the true class of sample i
        Forward:  M_ij = max(0, s_ij - s_iy_i + margin)   for j != y_i,  M_iy_i = 0
                  L = (1/n) sum_i sum_j M_ij
        Backward: dY_ij = [M_ij > 0] / n                  for j != y_i
                  dY_iy_i = -(number of j with M_ij > 0) / n

    Each violated margin pushes its own score down and the true score up. At the kink
    (s_ij - s_iy_i + margin = 0 exactly) the gradient is 0, as in PyTorch.

    This is C times ``torch.nn.MultiMarginLoss(margin=margin)`` (C = k, the number of
    classes), which divides each sample's sum by C:
    ``MulticlassHinge()(Y, y)[0] == k * MultiMarginLoss()(Y, y)``.
    """

    formulas = Formulas(
        forward=(
            F(
                "L",
                "L = (1/n) sum_i sum_(j != y_i) max(0, {y}[i, j] - {y}[i, y_i] + margin)",
                r"L = \frac{{1}}{{n}}\sum_i \sum_{{j \ne y_i}} "
                r"\max(0, {{{y}}}_{{ij}} - {{{y}}}_{{i y_i}} + \Delta)",
                "mean loss over the batch",
            ),
        ),
        backward=(
            F(
                "d{y}",
                "d{y} = (1/n) (each violated margin: +1 at j, -1 at y_i)",
                r"\partial {{{y}}}_{{ij}} = \frac{{1}}{{n}}[\text{{margin }} j \text{{ violated}}]",
                "gradient of the mean loss",
            ),
        ),
    )

    def __init__(self, margin: float = 1.0) -> None:
        number = isinstance(margin, (int, float, np.integer, np.floating))
        if isinstance(margin, bool) or not number or not (np.isfinite(margin) and margin > 0):
            raise ValueError(
                f"MulticlassHinge: margin must be a positive finite number (e.g. 1.0), got "
                f"{margin!r}."
            )
        self.margin = float(margin)

    def _check_target(self, Y, T):
        n, k = Y.shape
        if T.ndim == 2 and T.shape == Y.shape:
            one_hot = ((T == 0) | (T == 1)).all(axis=1) & (T.sum(axis=1) == 1)
            if not one_hot.all():
                i = int(np.flatnonzero(~one_hot)[0])
                raise ValueError(
                    f"MulticlassHinge: (n, k) targets must be one-hot rows; row {i} is "
                    f"{T[i].tolist()}. Pass class indices (n,) or one 1 per row."
                )
            return T.argmax(axis=1)
        if T.ndim != 1 or T.shape[0] != n:
            raise ValueError(
                f"MulticlassHinge: targets of shape {T.shape} do not suit scores of shape "
                f"{Y.shape}; pass class indices ({n},) or one-hot rows ({n}, {k})."
            )
        if T.dtype.kind == "f" and (T != np.round(T)).any():
            raise ValueError("MulticlassHinge: class indices must be whole numbers.")
        T = T.astype(np.intp, copy=False)
        bad = np.flatnonzero((T < 0) | (T >= k))
        if bad.size:
            i = bad[0]
            raise ValueError(
                f"MulticlassHinge: class index {T[i]} (sample {i}) is out of range for {k} "
                f"classes; indices must lie in 0..{k - 1}. Does the last layer have one "
                "output per class?"
            )
        return T

    def _loss_and_grad(self, Y, T):
        rows = np.arange(Y.shape[0])
        M = Y - Y[rows, T][:, None]
        M += Y.dtype.type(self.margin)
        M[rows, T] = 0  # the true class is not compared with itself
        G = (M > 0).astype(Y.dtype)  # 0 at the kink M == 0, as PyTorch
        np.maximum(M, 0, out=M)
        G[rows, T] = -G.sum(axis=1)
        return M.sum(axis=1), G

    def get_config(self) -> dict:
        return {"margin": self.margin}


LOSSES = {
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "huber": Huber,
    "bce": BinaryCrossEntropy,
    "binary_cross_entropy": BinaryCrossEntropy,
    "cross_entropy": CrossEntropy,
    "ce": CrossEntropy,
    "multiclass_hinge": MulticlassHinge,
}


def get_loss(loss: str | Loss) -> Loss:
    """A loss instance from a name (``"mse"``, ``"cross_entropy"``, ...) or an instance."""
    if isinstance(loss, Loss):
        return loss
    return lookup(LOSSES, loss, "loss")()
