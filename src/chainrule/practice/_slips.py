"""Classic backprop slips, replayed on purpose (private; see ``check_backward``).

Each function returns ``[(story, arrays), ...]``: the gradients chainrule gets when it
makes that one slip itself, by name (``"dX"``, ``"dW1"``, ...), and the story a student
reads when their array equals one of them. A slip is a named variation of the layer's
own derivative: where the variation is "the right derivative at the wrong tensor", the
layer's own backward computes it, and a loss's stories quote the loss's own formulas.
"""

from __future__ import annotations

import copy

import numpy as np

from ..layers.activations import ELU, LeakyReLU, ReLU, Sigmoid, Tanh, softmax
from ..layers.base import Layer
from ..layers.normalization import normalize, normalize_backward, normalize_paths
from ..layers.sequential import Sequential


def _backward_at(layer: Layer, X: np.ndarray, dY: np.ndarray) -> np.ndarray:
    """The layer's own dX for the input ``X`` (its derivative evaluated at ``X``)."""
    return layer.forward(X, training=True)[1](dY)


def _activation_slips(layer: Layer) -> list[tuple[str, object]]:
    """(what went wrong, dX as a function of X, Y, dY) for one activation layer."""
    name = type(layer).__name__
    missing = (f"the derivative of the {name} is missing: dZ = dA * {name}'(Z), not dA", None)
    if isinstance(layer, Sigmoid):
        return [
            missing,
            ("sigmoid' evaluated at the wrong tensor: A * (1 - A) uses the OUTPUT A = "
             "sigmoid(Z), but you used the input Z in it", lambda X, Y, dY: dY * X * (1 - X)),
            ("sigmoid' evaluated at the wrong tensor: sigmoid(x) * (1 - sigmoid(x)) takes "
             "the INPUT Z, but you gave it the output A",
             lambda X, Y, dY: _backward_at(layer, Y, dY)),
        ]  # fmt: skip
    if isinstance(layer, Tanh):
        return [
            missing,
            ("tanh' evaluated at the wrong tensor: 1 - A**2 uses the OUTPUT A = tanh(Z), "
             "but you used the input Z", lambda X, Y, dY: dY * (1 - X**2)),
            ("tanh' evaluated at the wrong tensor: 1 - tanh(x)**2 takes the INPUT Z, but "
             "you gave it the output A", lambda X, Y, dY: _backward_at(layer, Y, dY)),
        ]  # fmt: skip
    if isinstance(layer, LeakyReLU):
        return [
            missing,
            ("the leaky slope is missing: for Z < 0 the derivative is alpha, not 0",
             lambda X, Y, dY: dY * (X > 0)),
        ]  # fmt: skip
    if isinstance(layer, (ReLU, ELU)):
        return [missing]
    return []


class _Slipped(Layer):
    """The forward pass of ``layer``, with a backward pass that makes one slip."""

    def __init__(self, layer: Layer, wrong_dX) -> None:
        super().__init__()
        self.layer, self.wrong_dX = layer, wrong_dX

    def forward(self, X, training=False):
        Y, _ = self.layer.forward(X, training)
        return Y, (lambda dY: dY) if self.wrong_dX is None else (lambda dY: self.wrong_dX(X, Y, dY))


def layer_slips(layer: Layer, X: np.ndarray, Y: np.ndarray, dY: np.ndarray):
    """Slips for one layer checked on its own (its dX, and for batch norm its dgamma)."""
    slips = [
        (story, {"dX": dY if fn is None else fn(X, Y, dY)})
        for story, fn in _activation_slips(layer)
    ]
    if type(layer).__name__ == "BatchNorm":
        slips += _batchnorm_slips(layer, X, dY)
    return slips


def _batchnorm_slips(layer: Layer, X: np.ndarray, dY: np.ndarray):
    """Batch norm's three paths, each left out in turn (training mode), from the layer's
    own ``normalize`` and ``normalize_paths``."""
    n = X.shape[0]
    Xhat, _, var, inv_std = normalize(X, 0, layer.eps)
    gamma = layer.params.get("gamma", np.ones(X.shape[1]))
    dXhat = dY * gamma
    direct, via_mu, via_var = normalize_paths(dXhat, Xhat, inv_std, 0)
    path = "dX = (1/sigma) * (dXhat - mean(dXhat) - Xhat * mean(dXhat * Xhat))"
    slips = [
        ("only the direct path x -> x_hat: the paths through the batch mean and variance "
         f"are missing ({path})", {"dX": direct}),
        ("the path through the batch mean mu is missing: subtract mean(dXhat) "
         f"({path})", {"dX": direct + via_var}),
        ("the path through the batch variance sigma^2 is missing: subtract "
         f"Xhat * mean(dXhat * Xhat) ({path})", {"dX": direct + via_mu}),
        ("dgamma uses the input X where it needs the normalised x_hat: dgamma = "
         "sum(dY * Xhat, axis=0)", {"dgamma": (dY * X).sum(axis=0)}),
    ]  # fmt: skip
    if n > 1:  # the usual formula, but with the unbiased variance (divided by n - 1)
        inv_std_u = 1 / np.sqrt(var * n / (n - 1) + layer.eps)
        Xhat_u = Xhat / inv_std * inv_std_u
        slips.append((
            "normalised with the unbiased variance (divided by n - 1): in training batch "
            "norm divides by n (the unbiased variance only goes into running_var)",
            {"dX": normalize_backward(dXhat, Xhat_u, inv_std_u, 0)},
        ))  # fmt: skip
    return slips


def loss_slips(loss, Y: np.ndarray, T: np.ndarray):
    """Slips in the gradient of a fused loss: logits for probabilities, the wrong axis."""
    name, n = type(loss).__name__, Y.shape[0]
    if not getattr(loss, "from_logits", False) or name not in (
        "CrossEntropy",
        "BinaryCrossEntropy",
    ):
        return []
    P_formula, _ = loss.formulas.forward  # P, then L
    dZ, P = loss.formulas.backward[0].render(y="Z")[1], P_formula.render(y="Z")[1]
    logits = f"the logits Z were used where the probabilities belong: {dZ}"
    if name == "CrossEntropy":
        return [
            (f"{logits} with {P}", {"dY": (Y - T) / n}),
            ("softmax taken over the wrong axis: each ROW (one sample) sums to 1, "
             "softmax(Z, axis=1)", {"dY": (softmax(Y.T).T - T) / n}),
        ]  # fmt: skip
    return [(f"{logits} (N = n*k) with {P}", {"dY": (Y - T) / Y.size})]


def net_slips(net: Sequential, gradients_of) -> list[tuple[str, dict]]:
    """Each activation layer of ``net`` makes each of its slips in turn.

    ``gradients_of(net)`` runs forward, the loss and backward on a network and returns
    its gradients by name; it is called on a copy with one layer replaced.
    """
    slips = []
    for i, layer in enumerate(net.layers):
        for story, fn in _activation_slips(layer):
            wrong = copy.deepcopy(net)
            wrong.layers[i] = _Slipped(wrong.layers[i], fn)
            slips.append((f"layer {i} ({type(layer).__name__}): {story}", gradients_of(wrong)))
    return slips
