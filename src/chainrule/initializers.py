"""Weight initializers: functions of ``(rng, shape, dtype)`` returning a new array.

For a weight matrix W of shape (fan_in, fan_out):

=================  ============================================  =======================
name               distribution                                  keeps the variance of
=================  ============================================  =======================
glorot_uniform     U(-a, a),  a = sqrt(6 / (fan_in + fan_out))   forward and backward
glorot_normal      N(0, s^2), s = sqrt(2 / (fan_in + fan_out))   signals, for tanh and
                                                                 sigmoid (Glorot 2010)
he_uniform         U(-a, a),  a = sqrt(6 / fan_in)               the forward signal
he_normal          N(0, s^2), s = sqrt(2 / fan_in)               through ReLU (He 2015)
normal             N(0, std^2), std = 0.01 by default            (nothing: a baseline)
zeros              0                                             (biases only)
=================  ============================================  =======================

Why: with Var(W) = 2 / (fan_in + fan_out) the variance of the activations and of the
gradients stays about constant from layer to layer, so neither vanishes nor explodes.
ReLU zeroes half its inputs, which halves the variance; He's factor 2 / fan_in makes up
for it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._checks import as_float_dtype, lookup

Initializer = Callable[[np.random.Generator, tuple, np.dtype], np.ndarray]


def _fans(shape: tuple) -> tuple[int, int]:
    if len(shape) == 1:
        return shape[0], shape[0]
    return shape[0], shape[1]


def glorot_uniform(rng: np.random.Generator, shape: tuple, dtype=np.float64) -> np.ndarray:
    """U(-a, a) with a = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _fans(shape)
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=shape).astype(as_float_dtype(dtype), copy=False)


def glorot_uniform_logistic(rng: np.random.Generator, shape: tuple, dtype=np.float64) -> np.ndarray:
    """U(-a, a) with a = sqrt(2 / (fan_in + fan_out)): Glorot's range narrowed for the
    logistic (sigmoid), as scikit-learn's MLP draws the weights before a sigmoid."""
    fan_in, fan_out = _fans(shape)
    a = np.sqrt(2.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=shape).astype(as_float_dtype(dtype), copy=False)


def glorot_normal(rng: np.random.Generator, shape: tuple, dtype=np.float64) -> np.ndarray:
    """N(0, s^2) with s = sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    s = np.sqrt(2.0 / (fan_in + fan_out))
    return (s * rng.standard_normal(size=shape)).astype(as_float_dtype(dtype), copy=False)


def he_uniform(rng: np.random.Generator, shape: tuple, dtype=np.float64) -> np.ndarray:
    """U(-a, a) with a = sqrt(6 / fan_in) (He et al., 2015), for ReLU layers."""
    fan_in, _ = _fans(shape)
    a = np.sqrt(6.0 / fan_in)
    return rng.uniform(-a, a, size=shape).astype(as_float_dtype(dtype), copy=False)


def he_normal(rng: np.random.Generator, shape: tuple, dtype=np.float64) -> np.ndarray:
    """N(0, s^2) with s = sqrt(2 / fan_in), for ReLU layers."""
    fan_in, _ = _fans(shape)
    s = np.sqrt(2.0 / fan_in)
    return (s * rng.standard_normal(size=shape)).astype(as_float_dtype(dtype), copy=False)


def normal(
    rng: np.random.Generator, shape: tuple, dtype=np.float64, std: float = 0.01
) -> np.ndarray:
    """N(0, std^2): the classic small random start (std = 0.01)."""
    return (std * rng.standard_normal(size=shape)).astype(as_float_dtype(dtype), copy=False)


def zeros(rng: np.random.Generator | None, shape: tuple, dtype=np.float64) -> np.ndarray:
    """All zeros (the usual bias initializer; never for weights: symmetry stays unbroken)."""
    return np.zeros(shape, dtype=as_float_dtype(dtype))


INITIALIZERS: dict[str, Initializer] = {
    "glorot": glorot_uniform,
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "glorot_uniform_logistic": glorot_uniform_logistic,
    "xavier": glorot_uniform,
    "xavier_uniform": glorot_uniform,
    "xavier_normal": glorot_normal,
    "he": he_normal,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "normal": normal,
    "zeros": zeros,
}


def get_initializer(init: str | Initializer) -> Initializer:
    """Look up an initializer by name, or pass a callable ``(rng, shape, dtype)`` through."""
    if callable(init):
        return init
    return lookup(INITIALIZERS, init, "init", " or a callable init(rng, shape, dtype) -> array")
