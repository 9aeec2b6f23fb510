"""The one MLP builder: ``Dense -> activation [-> Dropout]`` per hidden layer, then ``Dense``.

The estimators, the command (``chainrule gradcheck``, ``explain``), the playground (and
the code it exports) and the quiz all build their networks here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._checks import as_rng
from ..initializers import Initializer
from .activations import ELU, LeakyReLU, ReLU
from .base import Layer
from .dense import Dense
from .dropout import Dropout
from .registry import get_activation
from .sequential import Sequential

#: hidden activations whose Dense layer defaults to He's init (variance 2 / n_in); the
#: others, and the output layer, default to Glorot's
HE_ACTIVATIONS = (ReLU, LeakyReLU, ELU)


def build_mlp(
    sizes: Sequence[int] | None = None,
    activation: str | Sequence[str] = "relu",
    output: str | None = None,
    *,
    init: str | Initializer | None = None,
    dtype=np.float64,
    rng: np.random.Generator | int | None = None,
    dropout: float = 0.0,
    denses: Sequence[Dense] | None = None,
) -> Sequential:
    """A multi-layer perceptron from its spec.

    Parameters
    ----------
    sizes : sequence of int
        ``[n_in, *hidden, n_out]``: the input width, each hidden layer's width, the
        output width. Give this or ``denses``.
    activation : str or sequence of str, default "relu"
        The hidden activation's name (see ``chainrule.layers.registry.ACTIVATIONS``), or
        one name per hidden layer.
    output : str or None, default None
        An output activation appended after the last Dense (e.g. ``"softmax"``); None
        leaves the output linear (the losses fuse softmax and sigmoid themselves).
    init : str or callable, optional
        Every Dense layer's init. Default: ``"he"`` after ReLU, LeakyReLU and ELU,
        ``"glorot"`` after the other activations and for the output layer.
    dtype : np.float32 or np.float64, default np.float64
    rng : numpy.random.Generator, int or None
        Draws the weights, layer by layer, then Dropout's masks (the same generator).
    dropout : float, default 0.0
        When > 0, a ``Dropout(dropout)`` follows each hidden activation.
    denses : sequence of Dense, optional
        Dense layers already made (e.g. with scikit-learn's draws); used as they are,
        so ``init``, ``dtype`` and the weights' part of ``rng`` do not apply.

    Returns
    -------
    Sequential
        ``Dense(sizes[0], sizes[1]) -> act [-> Dropout] -> ... -> Dense(sizes[-2],
        sizes[-1]) [-> output]``; it maps X (n_samples, sizes[0]) to (n_samples, sizes[-1]).

    Raises
    ------
    ValueError
        Not exactly one of ``sizes`` and ``denses``, fewer than two sizes, an unknown
        activation name, or a list of activations of the wrong length.
    """
    if (sizes is None) == (denses is None):
        raise ValueError(
            "build_mlp takes exactly one of sizes (e.g. [4, 16, 3]) and denses (Dense layers)."
        )
    n_dense = len(sizes) - 1 if denses is None else len(denses)
    if n_dense < 1:
        raise ValueError(
            f"sizes must list the input and output widths at least, e.g. [4, 16, 3]; got "
            f"{list(sizes)}."
        )
    hidden = _hidden_activations(activation, n_dense - 1)
    out = None if output is None else get_activation(output)
    rng = as_rng(rng)
    layers: list[Layer] = []
    for i in range(n_dense):
        if denses is None:
            layer_init = init or (
                "he" if i < len(hidden) and issubclass(hidden[i], HE_ACTIVATIONS) else "glorot"
            )
            layers.append(Dense(sizes[i], sizes[i + 1], init=layer_init, rng=rng, dtype=dtype))
        else:
            layers.append(denses[i])
        if i < len(hidden):
            layers.append(hidden[i]())
            if dropout > 0:
                layers.append(Dropout(dropout, rng=rng))
    if out is not None:
        layers.append(out())
    return Sequential(*layers)


def _hidden_activations(activation, n_hidden: int) -> list[type[Layer]]:
    """One activation class per hidden layer, from one name or a list of names."""
    if isinstance(activation, str):
        return [get_activation(activation)] * n_hidden
    names = list(activation)
    if len(names) != n_hidden:
        raise ValueError(
            f"activation needs one name per hidden layer ({n_hidden}), got {len(names)}: "
            f"{names}; or give one name for all."
        )
    return [get_activation(name) for name in names]
