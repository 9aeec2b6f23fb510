"""The estimators' losses in scikit-learn's definitions, built on chainrule's losses (private).

chainrule's losses average over all elements (MSE, binary cross-entropy) or over
samples (cross-entropy); scikit-learn's MLP reports and differentiates slightly
different quantities. An :class:`Objective` calls a chainrule loss for ``(value, dY)``
and rescales both, so that ``loss_`` and ``loss_curve_`` compare one to one with
scikit-learn's and the gradients are the ones its solvers follow. With n samples
(or sum(w) with sample weights) and k output columns::

    name             output    scikit-learn's value                  dL/dZ (Z: raw output)
    ---------------  --------  ------------------------------------  -------------------
    log_loss         softmax   (1/n) sum_i -log P[i, y_i]            (P - T) / n
    binary_log_loss  logistic  (1/n) sum_ij bce(P_ij, T_ij)          (P - T) / n
    squared_error    identity  (1/(2 n k)) sum_ij (Z_ij - T_ij)^2    (Z - T) / n
    poisson          exp       (1/n) sum_ij T log(T/mu) - T + mu     (mu - T) / n
    absolute_error   identity  (1/(n k)) sum_ij |Z_ij - T_ij|        sign(Z - T) / (n k)
    huber            identity  (1/(n k)) sum_ij huber(Z_ij - T_ij)   clip(Z - T) / (n k)

(mu = exp(Z).) The first four are scikit-learn's; the last two are chainrule's own,
with chainrule's means. Note that scikit-learn's squared error is *reported* as a mean
over the k outputs but *differentiated* as a sum over them (its gradient is that of
(1/2n) sum_ij (Z - T)^2); for k = 1 the two agree. We follow it exactly, so that
multi-output regressions train as in scikit-learn.
"""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

from ..losses import (
    BinaryCrossEntropy,
    CrossEntropy,
    Huber,
    Loss,
    MeanAbsoluteError,
    MeanSquaredError,
    _match_shape,
)


class PoissonLogLink(Loss):
    """Half Poisson deviance of a log-link output: ``Y`` holds Z = log(mu).

    Notes
    -----
    ::

        mu = exp(Z)
        Forward:  l = T * log(T / mu) - T + mu = xlogy(T, T) - T * Z - T + mu
                  (T log T taken as 0 at T = 0);  L = mean(l)
        Backward: dZ = (mu - T) / N

    since dl/dZ = -T + d mu/dZ = mu - T: like softmax with cross-entropy, the exp link
    and the Poisson deviance pair "canonically", which is why the exponential output
    activation is fused into this loss instead of being a layer. The targets must be
    non-negative (counts or rates).
    """

    def _check_target(self, Y, T):
        T = _match_shape(Y, T, "PoissonLogLink")
        if (T < 0).any():
            raise ValueError(
                "loss='poisson' needs non-negative targets (counts or rates); got a "
                f"minimum of {T.min()}. Use loss='squared_error' for signed targets."
            )
        return T

    def _loss_and_grad(self, Y, T):
        mu = np.exp(Y)
        l = xlogy(T, T) - T * Y - T + mu
        return l, mu - T


class Objective:
    """``(value, dY)`` in scikit-learn's definition, from a chainrule loss.

    Parameters
    ----------
    name : {"log_loss", "binary_log_loss", "squared_error", "poisson", "absolute_error", "huber"}
    n_outputs : int
        k, the number of output columns.
    huber_delta : float, default 1.0
        delta of the Huber loss.

    Notes
    -----
    The chainrule loss returns the mean over N = n * k elements (n for cross-entropy)
    and its gradient; the factors below turn them into the table of the module
    docstring::

        log_loss:          value,          dY            (already per sample)
        binary_log_loss:   k * value,      k * dY         (sum over outputs)
        poisson:           k * value,      k * dY
        squared_error:     value / 2,      (k / 2) * dY   (chainrule's MSE has no 1/2)
        absolute_error:    value,          dY
        huber:             value,          dY
    """

    def __init__(self, name: str, n_outputs: int, huber_delta: float = 1.0) -> None:
        k = float(n_outputs)
        losses = {
            "log_loss": (CrossEntropy(), 1.0, 1.0),
            "binary_log_loss": (BinaryCrossEntropy(), k, k),
            "poisson": (PoissonLogLink(), k, k),
            "squared_error": (MeanSquaredError(), 0.5, k / 2),
            "absolute_error": (MeanAbsoluteError(), 1.0, 1.0),
            "huber": (Huber(huber_delta), 1.0, 1.0),
        }
        self.name = name
        self.n_outputs = int(n_outputs)
        self.loss, self.value_scale, self.grad_scale = losses[name]

    def check_all_targets(self, T: np.ndarray, dtype) -> np.ndarray:
        """All the training targets, checked and converted once as each call would check
        its batch's; pass their rows with ``checked=True`` to skip the per-call checks."""
        return self.loss._check_all_targets(T, self.n_outputs, np.dtype(dtype))

    def __call__(
        self, Z: np.ndarray, T: np.ndarray, sample_weight=None, checked: bool = False
    ) -> tuple[float, np.ndarray]:
        """Return ``(value, dZ)`` for raw outputs ``Z`` (n, k) and encoded targets ``T``.

        Parameters
        ----------
        Z : ndarray of shape (n_samples, n_outputs)
            The network's raw output (logits, log-means or values).
        T : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Class indices for ``log_loss``; 0/1 indicators or real targets otherwise.
        sample_weight : ndarray of shape (n_samples,), optional
        checked : bool, default False
            True when ``T`` comes from ``check_all_targets`` and ``sample_weight`` is
            the estimator's checked weights (in Z's dtype, summing to more than 0).

        Returns
        -------
        value : float
        dZ : ndarray of shape (n_samples, n_outputs), dtype of Z
        """
        if checked:
            value, dZ = self.loss._mean_and_grad(Z, T, sample_weight)
        else:
            value, dZ = self.loss(Z, T, sample_weight)
        if self.grad_scale != 1.0:
            dZ *= Z.dtype.type(self.grad_scale)
        return value * self.value_scale, dZ
