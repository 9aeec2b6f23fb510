"""The normalisation step of ``explain()``: batch norm and layer norm, traced.

Forward: the statistics mu and var (sigma^2), the standardised X_hat and the output
N = gamma * X_hat + beta. Backward: dbeta, dgamma, dX_hat and the three chain-rule
paths from the input to the loss (directly through X_hat, through mu, through var),
whose sum is the layer's dX. The output of a normalisation layer after the l-th Dense
layer is named N<l> (a prime is added when two follow each other).

The statistics come from ``normalize``, the function the layers themselves call, the
paths from ``normalize_paths``; the output, dX and the gradients are the layer's own.
"""

from __future__ import annotations

import numpy as np

from ..layers.normalization import _Normalization, normalize, normalize_paths
from .step import Step

__all__ = ["is_normalization", "trace_forward"]


def is_normalization(layer) -> bool:
    return isinstance(layer, _Normalization)


def trace_forward(layer, X, inp: str, l: int, steps: list, records: list):
    """Run ``layer`` on ``X`` (training), append its forward steps and its record.

    Returns ``(Y, out)``: the output and its name. The record's backward closure
    appends the backward steps when ``explain`` calls it. The formulas are the layer's
    own (``layer.get_formulas()``), filled in with the names of this trace.
    """
    out, taken = f"N{l}", {step.name for step in steps}
    while out in taken:  # two normalisations after the same Dense layer: N1, N1'
        out += "'"
    label = f"{type(layer).__name__}({layer.n_features})"
    names = {"i": inp, "o": out, "s": out[1:], "axis": layer.axis, "eps": f"{layer.eps:g}"}
    formulas = layer.get_formulas()

    def add(phase, formula, value):
        name, text, latex, words = formula.render(**names)
        steps.append(Step(phase, label, name, text, latex, words, np.array(value)))

    Y, layer_backward = layer.forward(X, training=True)
    X = layer._check_X(X)  # as the layer read it (a list or integers become floats)
    X_hat, mu, var, inv_std = normalize(X, layer.axis, layer.eps)
    for formula, value in zip(formulas.forward, (mu.ravel(), var.ravel(), X_hat, Y), strict=True):
        add("forward", formula, value)

    def backward(dY: np.ndarray) -> np.ndarray:
        dX = layer_backward(dY)  # the layer's own gradients and dX
        values = []
        if layer.affine:
            dX_hat = dY * layer.params["gamma"]
            values = [layer.grads["beta"], layer.grads["gamma"], dX_hat]
        else:
            dX_hat = dY
        direct, via_mu, via_var = normalize_paths(dX_hat, X_hat, inv_std, layer.axis)
        values += [direct, via_mu, via_var, dX]
        for formula, value in zip(formulas.backward, values, strict=True):
            add("backward", formula, value)
        return dX

    records.append((layer, label, inp, out, l, backward))
    return Y, out
