"""Central-difference gradient checking, with a report a student can read.

For each parameter entry theta (and each entry of the input X) the numerical gradient is

    (L(theta + eps) - L(theta - eps)) / (2 * eps)

whose error is O(eps^2) (the even terms of the Taylor series cancel), against O(eps)
for a one-sided difference. It is compared with the analytic gradient from
``backward`` by the relative error ||a - n|| / (||a|| + ||n||) per array: about 1e-10
when backprop is right in float64, about 1 when it is wrong.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from numbers import Real

import numpy as np

from ._checks import as_array, as_rng
from .layers.base import Layer
from .losses import Loss

#: verdict thresholds on the relative error (the usual rule of thumb)
EXCELLENT, FINE, WRONG = 1e-7, 1e-5, 1e-3


def verdict(rel_error: float) -> str:
    """``"excellent"`` < 1e-7 <= ``"fine"`` < 1e-5 <= ``"suspicious"`` <= 1e-3 < ``"wrong"``."""
    if not np.isfinite(rel_error):
        return "wrong"
    if rel_error < EXCELLENT:
        return "excellent"
    if rel_error < FINE:
        return "fine"
    if rel_error <= WRONG:
        return "suspicious"
    return "wrong"


@dataclass
class GradientCheckEntry:
    """The comparison for one array (a parameter, or the input X)."""

    name: str
    shape: tuple
    rel_error: float
    max_abs_error: float
    worst_index: tuple
    analytic: np.ndarray = field(repr=False)
    numeric: np.ndarray = field(repr=False)

    @property
    def verdict(self) -> str:
        return verdict(self.rel_error)


@dataclass
class GradientCheckReport:
    """All comparisons of one ``gradient_check`` call.

    ``report.ok`` is True when every array is at worst "fine"; ``str(report)`` is a
    table; ``report.entries`` holds the numbers and both gradients.
    """

    entries: list[GradientCheckEntry]
    loss_value: float
    eps: float

    @property
    def max_rel_error(self) -> float:
        return max((e.rel_error for e in self.entries), default=0.0)

    @property
    def verdict(self) -> str:
        return verdict(self.max_rel_error)

    @property
    def ok(self) -> bool:
        return self.verdict in ("excellent", "fine")

    def __getitem__(self, name: str) -> GradientCheckEntry:
        for e in self.entries:
            if e.name == name:
                return e
        raise KeyError(f"no entry {name!r}; entries are {[e.name for e in self.entries]}")

    def __str__(self) -> str:
        head = ("array", "shape", "rel. error", "max abs error", "verdict")
        rows = [head] + [
            (e.name, str(e.shape), f"{e.rel_error:.2e}", f"{e.max_abs_error:.2e}", e.verdict)
            for e in self.entries
        ]
        widths = [max(len(r[c]) for r in rows) for c in range(len(head))]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
            for r in rows
        ]
        lines.insert(1, "-" * len(lines[0]))
        lines.append("")
        lines.append(
            f"loss = {self.loss_value:.6g}, eps = {self.eps:g}; overall: {self.verdict} "
            f"(max relative error {self.max_rel_error:.2e}; < 1e-7 excellent, < 1e-5 fine, "
            "> 1e-3 wrong)"
        )
        if not self.ok:
            bad = [e for e in self.entries if e.verdict in ("suspicious", "wrong")]
            worst = max(bad, key=lambda e: e.rel_error)
            lines.append(
                f"check the backward pass that produces {worst.name}: its worst entry is "
                f"{worst.worst_index} (analytic {worst.analytic[worst.worst_index]:.6g}, "
                f"numeric {worst.numeric[worst.worst_index]:.6g})"
            )
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        lines = ["| array | shape | rel. error | verdict |", "|---|---|---|---|"]
        lines += [
            f"| `{e.name}` | {e.shape} | {e.rel_error:.2e} | {e.verdict} |" for e in self.entries
        ]
        lines.append(f"\n**overall: {self.verdict}** (max relative error {self.max_rel_error:.2e})")
        return "\n".join(lines)


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / (||a|| + ||b||), 0 for two zero arrays: about 1e-10 when two gradients
    agree in float64, about 1 when they do not."""
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def central_differences(f, A: np.ndarray, eps: float) -> np.ndarray:
    """dF/dA of the scalar ``f()`` by central differences, entry by entry.

    ``A`` is an array that ``f`` reads; each entry is moved by +eps and -eps in place
    and put back, so ``A`` ends as it began. Returns an array shaped like ``A``.
    """
    numeric = np.zeros_like(A)
    flat, num = A.reshape(-1), numeric.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        num[i] = (plus - minus) / (2 * eps)
    return numeric


def _named_params(net: Layer) -> list[tuple[str, Layer, str]]:
    """``(label, layer, key)`` for every parameter, labelled like ``"layers[0].W"``."""
    if hasattr(net, "layers"):
        out = []
        for i, layer in enumerate(net.layers):
            out += [(f"layers[{i}].{lbl}", lyr, k) for lbl, lyr, k in _named_params(layer)]
        return out
    return [(k, net, k) for k in net.params]


def _check_inputs(net, loss, X, eps) -> np.ndarray:
    """gradient_check's inputs, checked (see its Raises); returns X as an array."""
    if not isinstance(net, Layer):
        raise TypeError(f"net must be a chainrule layer or Sequential, got {type(net).__name__}.")
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be a chainrule loss, got {type(loss).__name__}.")
    eps_ok = isinstance(eps, Real) and not isinstance(eps, bool) and math.isfinite(eps)
    if not (eps_ok and 0 < eps < 1):
        raise ValueError(f"eps must be a small positive number such as 1e-6, got {eps!r}.")
    X = as_array(X, "X", "gradient_check")
    if X.dtype.kind not in "biuf":
        raise TypeError(
            f"gradient_check: X has dtype {X.dtype}; pass a numeric array (encode text "
            "columns as numbers first)."
        )
    if X.ndim == 0 or X.shape[0] == 0:
        raise ValueError(
            f"gradient_check: X has shape {X.shape}, with no samples; pass at least one."
        )
    if not np.isfinite(X).all():
        raise ValueError(
            "gradient_check: X contains NaN or inf, so every difference would be NaN and "
            "the verdict meaningless; check the gradient on finite inputs."
        )
    for label, layer, key in _named_params(net):
        if not np.isfinite(layer.params[key]).all():
            raise ValueError(
                f"gradient_check: the network's parameter {label} contains NaN or inf; "
                "rebuild the network (or reload good weights) before checking it."
            )
    return X


def gradient_check(
    net: Layer,
    loss: Loss,
    X: np.ndarray,
    y: np.ndarray,
    eps: float = 1e-6,
    *,
    sample_weight: np.ndarray | None = None,
    training: bool = False,
    check_input: bool = True,
) -> GradientCheckReport:
    """Compare every analytic gradient of ``loss(net(X), y)`` with central differences.

    The check runs in float64 on a copy of ``net`` (float32 has too few digits for
    finite differences); the network passed in is left untouched.

    Parameters
    ----------
    net : Layer
        A layer or a ``Sequential``.
    loss : Loss
        The loss whose gradient is checked.
    X : ndarray of shape (n_samples, n_features)
        Finite numbers (any float or integer dtype: the check converts to float64).
    y : ndarray
        Targets as ``loss`` accepts them.
    eps : float, default 1e-6
        The step of the central differences.
    sample_weight : ndarray of shape (n_samples,), optional
    training : bool, default False
        Forward mode. Layers with randomness in training mode (dropout) must draw the
        same mask at every call for the check to be meaningful.
    check_input : bool, default True
        Also check dL/dX.

    Returns
    -------
    GradientCheckReport
        One entry per parameter (``"layers[0].W"``, ...) and one for ``"X"``.

    Raises
    ------
    ValueError
        If ``X`` is empty or holds NaN or inf, if a parameter of ``net`` does, or if
        ``eps`` is not a small positive number (a non-finite input would make every
        difference NaN and the verdict meaningless).
    TypeError
        If ``net`` or ``loss`` is not chainrule's, or ``X`` is not numeric.
    """
    X = _check_inputs(net, loss, X, eps)
    total_loss, value, targets, X, dX = _analytic(net, loss, X, y, sample_weight, training)
    if check_input:
        targets.append(("X", X, dX))

    entries = []
    for label, array, analytic in targets:
        numeric = central_differences(total_loss, array, eps)
        diff = np.abs(analytic - numeric)
        worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
        entries.append(
            GradientCheckEntry(
                name=label,
                shape=array.shape,
                rel_error=rel_error(analytic, numeric),
                max_abs_error=float(diff.max()) if diff.size else 0.0,
                worst_index=tuple(int(i) for i in worst),
                analytic=analytic,
                numeric=numeric,
            )
        )
    return GradientCheckReport(entries=entries, loss_value=value, eps=eps)


def _analytic(net, loss, X, y, sample_weight, training) -> tuple:
    """On a float64 copy of ``net`` and ``X``: ``(total_loss, value, targets, X, dX)``,
    where ``total_loss()`` recomputes the loss, ``value`` is it now, ``targets`` lists
    ``(label, parameter, its analytic gradient)`` and ``dX`` is dL/dX by backprop."""
    net = copy.deepcopy(net).astype(np.float64)
    X = np.array(X, dtype=np.float64)  # a copy we may perturb

    def total_loss() -> float:
        Y, _ = net.forward(X, training=training)
        return loss(Y, y, sample_weight)[0]

    net.zero_grad()
    Y, backward = net.forward(X, training=training)
    value, dY = loss(Y, y, sample_weight)
    dX = backward(dY)
    targets = [
        (label, layer.params[key], layer.grads[key].copy())
        for label, layer, key in _named_params(net)
    ]
    return total_loss, value, targets, X, dX


def directional_check(
    net: Layer,
    loss: Loss,
    X: np.ndarray,
    y: np.ndarray,
    eps: float = 1e-6,
    *,
    rng: np.random.Generator | int | None = 0,
    training: bool = False,
) -> GradientCheckReport:
    """A gradient check at the cost of two forward passes per parameter array.

    For each parameter array P (a copy of ``net`` in float64), a random unit direction
    V shaped like P: backprop's directional derivative ``sum(dP * V)`` against the
    central difference ``(L(P + eps V) - L(P - eps V)) / (2 eps)``. Where
    :func:`gradient_check` moves every entry (2 forward passes each), this moves each
    array once, so it suits any size of network; a wrong backward pass (a sign flipped,
    a factor missing) shows in its array's entry, as it does in ``gradient_check``.
    Differences below the rounding noise of the loss, ``1e-8 * (|L| + 1)``, count as
    agreement (a vanished gradient is not a wrong one).

    Parameters
    ----------
    net, loss, X, y, eps, training
        As for :func:`gradient_check`.
    rng : Generator, int or None, default 0
        Draws the directions.

    Returns
    -------
    GradientCheckReport
        One entry per parameter, whose ``analytic`` and ``numeric`` are 0-d arrays (the
        two directional derivatives).
    """
    X = _check_inputs(net, loss, X, eps)
    total_loss, value, targets, _, _ = _analytic(net, loss, X, y, None, training)
    gen = as_rng(rng)
    entries = []
    for label, array, analytic in targets:
        V = gen.normal(size=array.shape)
        V /= np.linalg.norm(V) or 1.0
        saved = array.copy()
        array += eps * V
        plus = total_loss()
        array[...] = saved - eps * V
        minus = total_loss()
        array[...] = saved
        a, n = np.array(float(np.vdot(analytic, V))), np.array((plus - minus) / (2 * eps))
        agree = abs(float(a - n)) <= 1e-8 * (abs(value) + 1)
        error = rel_error(a, n)
        error = 0.0 if agree and error >= FINE else error  # rounding noise, not a bug
        entries.append(GradientCheckEntry(label, array.shape, error, abs(float(a - n)), (), a, n))
    return GradientCheckReport(entries=entries, loss_value=value, eps=eps)
