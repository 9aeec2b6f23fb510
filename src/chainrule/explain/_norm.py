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

from ..layers.normalization import BatchNorm, _Normalization, normalize, normalize_paths
from .step import Step

__all__ = ["is_normalization", "trace_forward"]


def is_normalization(layer) -> bool:
    return isinstance(layer, _Normalization)


def _sub(name: str) -> str:
    """ "Z1" -> "Z_{1}", "A1'" -> "A'_{1}" (as explain's own symbols)."""
    primes = "'" * name.count("'")
    base = name.rstrip("'")
    return f"{base[0]}{primes}_{{{base[1:]}}}" if base[1:].isdigit() else name


def trace_forward(layer, X, inp: str, l: int, steps: list, records: list):
    """Run ``layer`` on ``X`` (training), append its forward steps and its record.

    Returns ``(Y, out)``: the output and its name. The record's backward closure
    appends the backward steps when ``explain`` calls it.
    """

    out, taken = f"N{l}", {step.name for step in steps}
    while out in taken:  # two normalisations after the same Dense layer: N1, N1'
        out += "'"
    s = out[1:]
    label = f"{type(layer).__name__}({layer.n_features})"
    batch = isinstance(layer, BatchNorm)
    axis = layer.axis
    over = "each feature over the batch" if batch else "each sample over its features"
    Y, layer_backward = layer.forward(X, training=True)
    X = layer._check_X(X)  # as the layer read it (a list or integers become floats)
    X_hat, mu, var, inv_std = normalize(X, axis, layer.eps)
    xh, t_in, t_xh = f"{inp}_hat", _sub(inp), rf"\hat{{{_sub(inp)}}}"

    def add(phase, name, text, latex, words, value):
        steps.append(Step(phase, label, name, text, latex, words, np.array(value)))

    eps = f"{layer.eps:g}"
    add(
        "forward",
        f"mu{s}",
        f"mu{s} = mean({inp}, axis={axis})",
        rf"\mu_{{{s}}} = \mathrm{{mean}}({t_in})",
        f"mean of {over}",
        mu.ravel(),
    )
    add(
        "forward",
        f"var{s}",
        f"var{s} = mean(({inp} - mu{s})**2, axis={axis})",
        rf"\sigma^2_{{{s}}} = \mathrm{{mean}}(({t_in} - \mu_{{{s}}})^2)",
        f"biased variance of {over}, divided by the count",
        var.ravel(),
    )
    add(
        "forward",
        xh,
        f"{xh} = ({inp} - mu{s}) / sqrt(var{s} + {eps})",
        rf"{t_xh} = ({t_in} - \mu_{{{s}}}) / \sqrt{{\sigma^2_{{{s}}} + \epsilon}}",
        "standardised: mean 0, variance 1",
        X_hat,
    )
    if layer.affine:
        text, latex = f"{out} = gamma{s} * {xh} + beta{s}", rf"{_sub(out)} = \gamma {t_xh} + \beta"
        words = "scale and shift, learned per feature"
    else:
        text, latex, words = f"{out} = {xh}", rf"{_sub(out)} = {t_xh}", "no scale, no shift"
    if batch:
        words += "; running_mean, running_var updated with momentum"
    add("forward", out, text, latex, words, Y)

    def backward(dY: np.ndarray) -> np.ndarray:
        dX = layer_backward(dY)  # the layer's own gradients and dX
        d_out, dxh = f"d{out}", f"d{xh}"
        if layer.affine:
            add(
                "backward",
                f"dbeta{s}",
                f"dbeta{s} = {d_out}.sum(axis=0)",
                rf"\partial\beta = \textstyle\sum_k \partial {_sub(out)}",
                "beta is added to every row",
                layer.grads["beta"],
            )
            add(
                "backward",
                f"dgamma{s}",
                f"dgamma{s} = ({d_out} * {xh}).sum(axis=0)",
                rf"\partial\gamma = \textstyle\sum_k \partial {_sub(out)} \odot {t_xh}",
                "gamma multiplies every row",
                layer.grads["gamma"],
            )
            dX_hat = dY * layer.params["gamma"]
            add(
                "backward",
                dxh,
                f"{dxh} = {d_out} * gamma{s}",
                rf"\partial {t_xh} = \partial {_sub(out)} \odot \gamma",
                "through the scale",
                dX_hat,
            )
        else:
            dX_hat = dY
        direct, via_mu, via_var = normalize_paths(dX_hat, X_hat, inv_std, axis)
        r = f"sqrt(var{s} + {eps})"
        r_tex = rf"\sqrt{{\sigma^2_{{{s}}} + \epsilon}}"
        t_d = rf"\partial {t_xh}"
        add(
            "backward",
            f"d{inp}_direct",
            f"d{inp}_direct = {dxh} / {r}",
            rf"\partial {t_in}^{{(1)}} = {t_d} / {r_tex}",
            f"path 1: {inp} -> {xh} directly",
            direct,
        )
        add(
            "backward",
            f"d{inp}_via_mu",
            f"d{inp}_via_mu = -mean({dxh}, axis={axis}) / {r}",
            rf"\partial {t_in}^{{(2)}} = -\mathrm{{mean}}({t_d}) / {r_tex}",
            f"path 2: {inp} -> mu{s} -> {xh}",
            via_mu,
        )
        add(
            "backward",
            f"d{inp}_via_var",
            f"d{inp}_via_var = -{xh} * mean({dxh} * {xh}, axis={axis}) / {r}",
            rf"\partial {t_in}^{{(3)}} = -{t_xh} \odot \mathrm{{mean}}({t_d} \odot {t_xh}) "
            rf"/ {r_tex}",
            f"path 3: {inp} -> var{s} -> {xh}",
            via_var,
        )
        add(
            "backward",
            f"d{inp}",
            f"d{inp} = d{inp}_direct + d{inp}_via_mu + d{inp}_via_var",
            rf"\partial {t_in} = \partial {t_in}^{{(1)}} + \partial {t_in}^{{(2)}} "
            rf"+ \partial {t_in}^{{(3)}}",
            "the three paths summed: the layer's compact closed form",
            dX,
        )
        return dX

    records.append((layer, label, inp, out, l, backward))
    return Y, out
