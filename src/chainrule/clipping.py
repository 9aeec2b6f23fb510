"""Gradient clipping: bound the step a single batch can take, as PyTorch does.

``fit(..., clip_norm=c)`` and ``fit(..., clip_value=c)`` call these after the backward
pass (and the L2 term) and before the optimizer's step::

    clip_norm:   total = sqrt(sum over every parameter of ||g||^2)     (one global norm)
                 scale = c / (total + 1e-6);   if scale < 1:  g *= scale  for every g
    clip_value:  g = clip(g, -c, c)                                      (element-wise)

They are ``torch.nn.utils.clip_grad_norm_`` and ``clip_grad_value_``. Clipping by the
global norm keeps the gradient's direction and shortens it; clipping by value changes
the direction (each element is capped on its own). Both act on the gradient of the whole
loss, biases included, because the optimizer steps along all of it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

#: Added to the norm before dividing, as in PyTorch (no division by zero at g = 0).
NORM_EPS = 1e-6


def global_norm(grads: Sequence[np.ndarray]) -> float:
    """``sqrt(sum_k ||g_k||^2)`` over the arrays, without overflow for huge gradients.

    The sum of squares is computed directly (one pass per array); only when it
    overflows (elements beyond ~1e154 in float64, ~1e19 in float32) are the arrays
    divided by their largest magnitude first: ``||g|| = m * ||g / m||``. NaN or inf in a
    gradient gives a NaN or inf norm.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        total = math.fsum(float(np.vdot(g, g)) for g in grads)
        if math.isfinite(total):
            return math.sqrt(total)
        m = max(float(np.max(np.abs(g))) for g in grads)
        if not math.isfinite(m) or m == 0:
            return m
        return m * math.sqrt(math.fsum(float(np.vdot(g / m, g / m)) for g in grads))


def clip_grad_norm(grads: Sequence[np.ndarray], clip_norm: float) -> float:
    """Scale every gradient in place so that their global norm is at most ``clip_norm``.

    Parameters
    ----------
    grads : sequence of ndarray
        The gradients of all the parameters (any shapes), modified in place.
    clip_norm : float
        The largest global L2 norm allowed (> 0).

    Returns
    -------
    float
        The global norm *before* clipping (as ``torch.nn.utils.clip_grad_norm_``
        returns it); the gradients were scaled when ``clip_norm / (norm + 1e-6) < 1``.

    Notes
    -----
    ::

        total = sqrt(sum_k sum_ij g_k[i, j]^2)
        scale = clip_norm / (total + 1e-6)
        g_k *= scale      for every k, only when scale < 1

    Afterwards the global norm is clip_norm * total / (total + 1e-6), just below
    clip_norm. The scalar is cast to each gradient's dtype: float32 stays float32.
    """
    total = global_norm(grads)
    scale = clip_norm / (total + NORM_EPS)
    if scale < 1:  # False for a NaN norm: fit reports the NaN loss or weights it leads to
        with np.errstate(invalid="ignore"):  # inf * 0 is NaN, as in PyTorch
            for g in grads:
                g *= g.dtype.type(scale)
    return total


def clip_grad_value(grads: Sequence[np.ndarray], clip_value: float) -> bool:
    """Clip every gradient element to ``[-clip_value, clip_value]`` in place.

    Parameters
    ----------
    grads : sequence of ndarray
        Modified in place.
    clip_value : float
        The largest magnitude allowed for an element (> 0).

    Returns
    -------
    bool
        Whether any element was beyond the bound (and so was changed).

    Notes
    -----
    ``g = clip(g, -c, c)``, which is ``torch.nn.utils.clip_grad_value_``; NaN stays NaN.
    """
    clipped = False
    for g in grads:  # nanmax/nanmin: a NaN entry does not hide the finite ones to clip
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN gradient
            beyond = g.size and (np.nanmax(g) > clip_value or np.nanmin(g) < -clip_value)
        if beyond:
            np.clip(g, -clip_value, clip_value, out=g)
            clipped = True
    return clipped
