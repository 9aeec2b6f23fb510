"""Sanity checks to run before a long training run (the habits of careful practitioners).

* ``initial_loss``: the loss of an untrained network is predictable. With C classes
  and outputs near zero, softmax gives every class probability 1/C, so cross-entropy
  starts near ln C (ln 2 for a binary sigmoid). A much larger start means the
  initial weights are too large (confident and wrong).
* ``overfit_small_batch``: a healthy network and training loop can drive the loss on
  ~20 samples to nearly zero. If it cannot, something is broken (a gradient, the
  learning rate, an activation that kills the signal) before data size matters. The
  converse does not hold: a network whose hidden layer's backward pass is wrong (even
  sign-flipped) can still memorise 20 samples with the layers above it, so the check
  is paired with a gradient check (``gradcheck.directional_check``) and fails when the
  gradients are wrong, however far the loss fell.
* ``check_pairing``: warns, with the reason, when the output layer and the loss do not
  belong together (a probability output with squared error, a linear output with a
  probability loss, or a softmax applied twice), and shapes that train to nothing (a
  ``LayerNorm(1)``, a loss over classes on one output column).
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._checks import as_rng
from .gradcheck import GradientCheckReport, directional_check
from .layers.activations import Identity, Sigmoid, Softmax
from .layers.base import Layer
from .layers.dense import Dense
from .losses import (
    BinaryCrossEntropy,
    CrossEntropy,
    Huber,
    Loss,
    MeanAbsoluteError,
    MeanSquaredError,
    MulticlassHinge,
)


class PairingWarning(UserWarning):
    """The network's output layer and the loss do not belong together."""


def _last_layer(net: Layer) -> Layer:
    while hasattr(net, "layers") and net.layers:
        net = net.layers[-1]
    return net


def check_pairing(net: Layer, loss: Loss) -> str | None:
    """Warn (``PairingWarning``) when the output layer and ``loss`` are mismatched.

    Returns the reason, or None when the pairing is a sound one.
    """
    last = _last_layer(net)
    probs = isinstance(last, (Sigmoid, Softmax))
    linear = isinstance(last, (Dense, Identity))
    reason = None
    if probs and isinstance(loss, (MeanSquaredError, MeanAbsoluteError, Huber)):
        reason = (
            f"the network ends with {type(last).__name__} (probabilities) but the loss is "
            f"{type(loss).__name__}: where the output saturates its derivative is ~0, so "
            "the gradient vanishes whenever it saturates, also when the prediction is "
            "confidently wrong. Use "
            "cross-entropy on logits (drop the output activation) for classification, or a "
            "linear output for regression."
        )
    elif probs and isinstance(loss, (CrossEntropy, BinaryCrossEntropy)) and loss.from_logits:
        reason = (
            f"the network ends with {type(last).__name__} but {type(loss).__name__}() expects "
            "logits and applies the softmax/sigmoid itself, so it is applied twice. Remove "
            f"the {type(last).__name__} layer (best: fused and stable), or use "
            f"{type(loss).__name__}(from_logits=False)."
        )
    elif probs and isinstance(loss, MulticlassHinge):
        reason = (
            f"the network ends with {type(last).__name__} (probabilities in [0, 1]) but "
            "MulticlassHinge compares raw scores with a margin of its own: squashed into "
            f"[0, 1] no score can beat another by the margin. Remove the {type(last).__name__} "
            "layer."
        )
    elif linear and isinstance(loss, (CrossEntropy, BinaryCrossEntropy)) and not loss.from_logits:
        reason = (
            f"the network ends with a linear layer but {type(loss).__name__}(from_logits="
            "False) expects probabilities in [0, 1]. Use the default from_logits=True."
        )
    reasons = [r for r in (reason, *_degenerate(net, loss)) if r]
    for text in reasons:
        warnings.warn(text, PairingWarning, stacklevel=2)
    return " ".join(reasons) or None


def _layers(net: Layer) -> list[Layer]:
    """Every layer, containers opened, in order."""
    inner = getattr(net, "layers", None)
    return [net] if inner is None else [leaf for layer in inner for leaf in _layers(layer)]


def _degenerate(net: Layer, loss: Loss) -> list[str]:
    """Shapes that train silently to nothing: a LayerNorm over one feature (each row's
    output is beta), a loss over classes on one output column (always 0)."""
    from .layers.normalization import LayerNorm

    reasons = [
        f"layer {i} is LayerNorm(1): it normalises each row over its one feature, "
        "(x - x) / sqrt(0 + eps) = 0, so its output is beta whatever the input and nothing "
        "before it can learn. Normalise over more features, or remove it."
        for i, layer in enumerate(_layers(net))
        if isinstance(layer, LayerNorm) and layer.n_features == 1
    ]
    widths = [layer.n_out for layer in _layers(net) if isinstance(layer, Dense)]
    if widths and widths[-1] == 1 and isinstance(loss, (CrossEntropy, MulticlassHinge)):
        reasons.append(
            f"the network has one output column but {type(loss).__name__} compares classes: "
            "with one class the loss is always 0 and the weights never move. Give the last "
            "layer one output per class, or use BinaryCrossEntropy for two classes."
        )
    return reasons


@dataclass
class InitialLossReport:
    """The first loss, what to expect, and whether they agree."""

    value: float
    expected: float | None
    ok: bool
    message: str

    def __str__(self) -> str:
        return self.message


def initial_loss(net: Layer, loss: Loss, X: np.ndarray, y: np.ndarray) -> InitialLossReport:
    """Compare the untrained network's loss with what theory expects.

    For cross-entropy with C output classes the expectation is ln C (outputs near zero
    give uniform probabilities, whatever the class balance); for binary cross-entropy
    ln 2; for squared error, with outputs near zero, mean(y**2). The check passes when
    the value is within a factor 1.5 of that (cross-entropy) or 2 (squared error).

    Parameters
    ----------
    net : Layer
    loss : Loss
    X : ndarray of shape (n_samples, n_features)
    y : ndarray
        Targets as ``loss`` accepts them.

    Returns
    -------
    InitialLossReport
        ``.value``, ``.expected``, ``.ok`` and a readable ``.message``.
    """
    Y = net.forward(X, training=False)[0]
    value = loss(Y, y)[0]
    if isinstance(loss, CrossEntropy):
        k = Y.shape[1]
        expected, why, tol = math.log(k), f"ln {k} for {k} classes (uniform probabilities)", 1.5
    elif isinstance(loss, BinaryCrossEntropy):
        expected, why, tol = math.log(2), "ln 2 (probability 1/2 for each output)", 1.5
    elif isinstance(loss, MeanSquaredError):
        T = np.asarray(y, dtype=np.float64)
        expected, why, tol = float(np.mean(T**2)), "mean(y^2) for outputs near 0", 2.0
    else:
        return InitialLossReport(value, None, True, f"initial loss {value:.4g} (no reference)")
    ok = expected / tol <= value <= expected * tol if expected > 0 else value < 1e-12
    verdict = "as expected" if ok else "NOT as expected"
    message = f"initial loss {value:.4g}; expected about {expected:.4g}, {why}: {verdict}."
    if not ok and value > expected:
        message += (
            " The untrained network is confidently wrong: the initial weights may be too "
            "large (try init='glorot', or scale the inputs to unit variance)."
        )
    elif not ok:
        message += " The loss is suspiciously low before training: are the targets leaking in?"
    return InitialLossReport(value, expected, ok, message)


@dataclass
class OverfitReport:
    """The losses of a few hundred full-batch steps on a handful of samples, and the
    gradient check that goes with them (``gradients``; None when not asked for)."""

    losses: list[float] = field(repr=False)
    ok: bool
    message: str
    gradients: GradientCheckReport | None = field(default=None, repr=False)

    @property
    def initial(self) -> float:
        return self.losses[0]

    @property
    def final(self) -> float:
        return self.losses[-1]

    def __str__(self) -> str:
        return self.message


def overfit_small_batch(
    net: Layer,
    loss: Loss,
    X: np.ndarray,
    y: np.ndarray,
    *,
    n_samples: int = 20,
    steps: int = 500,
    lr: float = 1e-2,
    tol: float = 0.05,
    rng: np.random.Generator | int | None = 0,
    check_gradients: bool = True,
) -> OverfitReport:
    """Train a copy of ``net`` on ``n_samples`` samples and check the loss reaches ~0,
    and that its gradients are right.

    Full-batch Adam for ``steps`` steps. Passes when the final loss is below ``tol``
    times the initial loss (a healthy network memorises 20 samples easily) **and** the
    gradients agree with central differences (:func:`~chainrule.gradcheck.directional_check`
    on the same samples, before training: two forward passes per parameter array). A
    falling loss alone does not prove the backward pass right: with a hidden layer's
    gradient sign-flipped, the layers above it can still memorise the batch. ``net``
    itself is not changed.

    Parameters
    ----------
    net : Layer
    loss : Loss
    X : ndarray of shape (n_samples_total, n_features)
    y : ndarray
    n_samples : int, default 20
        How many samples (drawn at random with ``rng``) to memorise.
    steps : int, default 500
    lr : float, default 1e-2
    tol : float, default 0.05
    rng : Generator, int or None, default 0
    check_gradients : bool, default True
        Run the gradient check (``.gradients`` in the report). False: the loss only.

    Returns
    -------
    OverfitReport
        ``.losses`` per step, ``.ok``, a readable ``.message`` and ``.gradients``.
    """
    from .optimizers import Adam  # imported here: sanity checks are optional tooling

    y = np.asarray(y)
    n = len(X)
    idx = as_rng(rng).permutation(n)[: min(n_samples, n)]
    Xs, ys = X[idx], y[idx]
    gradients = directional_check(net, loss, Xs, ys, rng=0) if check_gradients else None
    net = copy.deepcopy(net)
    opt = Adam(lr=lr)
    losses = []
    for _ in range(steps):
        Y, backward = net.forward(Xs, training=True)
        value, dY = loss(Y, ys)
        losses.append(value)
        if not np.isfinite(value):
            break
        net.zero_grad()
        backward(dY)
        opt.step(net)
    losses.append(loss(net.forward(Xs, training=False)[0], ys)[0])
    fell = bool(np.isfinite(losses[-1]) and losses[-1] <= tol * losses[0])
    ok = fell and (gradients is None or gradients.ok)
    message = (
        f"loss on {len(idx)} samples went from {losses[0]:.4g} to {losses[-1]:.4g} in "
        f"{steps} full-batch Adam steps (lr={lr:g}): "
    )
    if gradients is not None and not gradients.ok:
        message += _wrong_gradients(gradients, fell)
    elif ok:
        checked = " and its gradients agree with central differences" if gradients else ""
        message += f"the network can learn (it memorises a small batch){checked}."
    else:
        message += (
            f"it did not fall below {tol:g} x the start. Something stops learning: check "
            "the gradients (gradient_check), the learning rate, and activations that "
            "saturate or die (sigmoid in deep stacks, ReLU with large negative biases)."
        )
    return OverfitReport(losses, ok, message, gradients)


def _wrong_gradients(gradients: GradientCheckReport, fell: bool) -> str:
    """overfit_small_batch's message when the gradient check fails."""
    worst = max(gradients.entries, key=lambda e: e.rel_error)
    wrong = ", ".join(e.name for e in gradients.entries if e.verdict not in ("excellent", "fine"))
    return (
        f"{'it memorised the batch, but ' if fell else ''}the gradients are wrong: along a "
        f"random direction, backprop gives {float(worst.analytic):.6g} for {worst.name} "
        f"and central differences {float(worst.numeric):.6g} (relative error "
        f"{worst.rel_error:.1e}; wrong: {wrong}). A falling loss does not prove the "
        "backward pass right (the layers above a wrong one still learn): the bug is in "
        "the backward pass of the first array named's layer or of a layer after it; "
        "gradient_check(net, loss, X[:5], y[:5]) shows every entry."
    )
