"""Dropout: randomly silence units while training (inverted dropout)."""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

from .._checks import as_rng, check_gradient_shape
from .activations import _as_float_array
from .base import Backward, Formulas, Layer
from .base import Formula as F


class Dropout(Layer):
    """Zero each unit with probability ``p`` while training; the identity at inference.

    Parameters
    ----------
    p : float, default 0.5
        Probability of dropping a unit, in [0, 1).
    rng : numpy.random.Generator, int or None
        Source of the masks. The layer keeps one generator and draws a fresh mask at
        every training forward, so two layers built with the same seed draw the same
        sequence of masks.

    Attributes
    ----------
    fixed_mask : ndarray of bool, shape (n_samples, n_units), or None
        When set, training forwards use this keep-mask instead of drawing one (for
        gradient checks and worked examples: the layer is then deterministic). Its shape
        must equal the input's.

    Notes
    -----
    Inverted dropout: the kept units are scaled up at training time, so that nothing
    changes at inference::

        Forward (training):  M = keep / (1 - p)     keep[k, j] ~ Bernoulli(1 - p), M (n, d)
                             Y = X * M
        Forward (inference): Y = X
        Backward:            dX = dY * M            (the same mask: a dropped unit passes
                                                     no gradient)

    E[M] = (1 - p) * 1 / (1 - p) = 1, so E[Y] = X: the expected activation during
    training equals the activation at inference, and no rescaling is needed later.
    """

    formulas = Formulas(
        forward=(
            F(
                "{o}",
                "{o} = {i} * M",
                r"{o} = {i} \odot M",
                "inverted dropout: the kept units scaled by 1 / (1 - p)",
            ),
        ),
        backward=(
            F(
                "d{i}",
                "d{i} = d{o} * M",
                r"\partial {i} = \partial {o} \odot M",
                "the same mask: a dropped unit passes no gradient",
            ),
        ),
    )

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, Real) or not math.isfinite(p):
            raise ValueError(f"Dropout: p must be a number in [0, 1), got {p!r}.")
        if not 0 <= p < 1:
            raise ValueError(
                f"Dropout: p is the probability of dropping a unit and must lie in [0, 1), "
                f"got {p!r} (p = 1 would drop everything)."
            )
        self.p = float(p)
        self.rng = as_rng(rng)
        self.fixed_mask: np.ndarray | None = None

    def forward(self, X: np.ndarray, training: bool = False) -> tuple[np.ndarray, Backward]:
        X = _as_float_array(X, "Dropout")
        if not training or self.p == 0:

            def identity_backward(dY: np.ndarray) -> np.ndarray:
                return check_gradient_shape(dY, X.shape, "Dropout")

            return X, identity_backward

        if self.fixed_mask is not None:
            keep = np.asarray(self.fixed_mask, dtype=bool)
            if keep.shape != X.shape:
                raise ValueError(
                    f"Dropout: fixed_mask has shape {keep.shape} but the input has shape "
                    f"{X.shape}; set a mask of the input's shape or fixed_mask = None."
                )
        else:
            keep = self.rng.random(X.shape, dtype=X.dtype) >= self.p
        M = keep.astype(X.dtype)
        M *= X.dtype.type(1.0 / (1.0 - self.p))
        Y = X * M

        def backward(dY: np.ndarray) -> np.ndarray:
            dY = check_gradient_shape(dY, Y.shape, "Dropout")
            return dY * M

        return Y, backward

    def get_config(self) -> dict:
        return {"p": self.p}
