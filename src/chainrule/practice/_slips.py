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

from ..layers.activations import Identity, LeakyReLU, Sigmoid, Softmax, Tanh, softmax
from ..layers.base import Layer
from ..layers.normalization import normalize, normalize_backward, normalize_paths
from ..layers.sequential import Sequential


def _backward_at(layer: Layer, X: np.ndarray, dY: np.ndarray) -> np.ndarray:
    """The layer's own dX for the input ``X`` (its derivative evaluated at ``X``)."""
    return layer.forward(X, training=True)[1](dY)


def _derivative_text(layer: Layer) -> str:
    formula = getattr(layer.formulas, "derivative", None)
    return f" ({formula.render()[1]})" if formula is not None else ""


def _other_activations(layer: Layer) -> list[Layer]:
    """One layer of every other element-wise activation in the registry."""
    from ..layers.registry import ACTIVATIONS

    others = []
    for cls in dict.fromkeys(ACTIVATIONS.values()):
        if cls not in (type(layer), Identity, Softmax):
            others.append(cls())
    return others


def _activation_slips(layer: Layer) -> list[tuple[str, object]]:  # long: one list per activation
    """(what went wrong, dX as a function of X, Y, dY) for one activation layer: the
    derivative left out, the activation's value used for its derivative, the derivative
    at the wrong tensor, the derivative of another activation."""
    name = type(layer).__name__
    if isinstance(layer, Softmax):
        return [
            ("the softmax's Jacobian reduced to its diagonal P * (1 - P): every output "
             "depends on every input of its row, dX = P * (dY - sum(dY * P, axis=1))",
             lambda X, Y, dY: dY * Y * (1 - Y)),
            (f"the derivative of the {name} is missing: dX = dY * J, not dY", None),
        ]  # fmt: skip
    if isinstance(layer, Identity) or name not in _ELEMENTWISE:
        return []
    own = _derivative_text(layer)
    slips = [(f"the derivative of the {name} is missing: dZ = dA * {name}'(Z){own}, not dA",
              None)]  # fmt: skip
    if isinstance(layer, Sigmoid):
        slips += [
            ("sigmoid' evaluated at the wrong tensor: A * (1 - A) uses the OUTPUT A = "
             "sigmoid(Z), but you used the input Z in it", lambda X, Y, dY: dY * X * (1 - X)),
        ]  # fmt: skip
    if isinstance(layer, Tanh):
        slips += [
            ("tanh' evaluated at the wrong tensor: 1 - A**2 uses the OUTPUT A = tanh(Z), "
             "but you used the input Z", lambda X, Y, dY: dY * (1 - X**2)),
        ]  # fmt: skip
    if isinstance(layer, LeakyReLU):
        a = layer.alpha
        slips += [
            ("the leaky slope is missing: for Z < 0 the derivative is alpha, not 0",
             lambda X, Y, dY: dY * (X > 0)),
            (f"the slopes swapped: the derivative is 1 for Z > 0 and alpha = {a:g} for "
             "Z <= 0", lambda X, Y, dY: dY * np.where(X > 0, a, 1.0)),
        ]  # fmt: skip
    slips += [
        (f"{name}' evaluated at the wrong tensor: it takes the INPUT Z, but you gave it "
         f"the output A{own}", lambda X, Y, dY: _backward_at(layer, Y, dY)),
        (f"the activation's value A = {name}(Z) used where its derivative belongs: "
         f"dZ = dA * {name}'(Z){own}", lambda X, Y, dY: dY * Y),
    ]  # fmt: skip
    for other in _other_activations(layer):
        story = (f"the derivative of the wrong activation: {type(other).__name__}'"
                 f"{_derivative_text(other)} where the {name}'s belongs{own}")  # fmt: skip
        slips.append((story, lambda X, Y, dY, other=other: _backward_at(other, X, dY)))
    return slips


#: the activations whose derivative is element-wise (a student's slips replay on them)
_ELEMENTWISE = ("Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU", "Softplus")
#: activations with a kink at 0 (slope on the left, slope on the right)
_KINKS = {"ReLU": lambda layer: (0.0, 1.0), "LeakyReLU": lambda layer: (layer.alpha, 1.0),
          "ELU": lambda layer: (layer.alpha, 1.0)}  # fmt: skip


def kink_slopes(layer: Layer) -> tuple[float, float] | None:
    """The two one-sided slopes at 0 of an activation with a kink there, or None."""
    slopes = _KINKS.get(type(layer).__name__)
    return None if slopes is None or len(set(slopes(layer))) == 1 else slopes(layer)


def other_subgradient(layer: Layer):
    """dX as a function of (X, Y, dY) with the other one-sided slope at X == 0 (an
    equally right answer at a kink), or None when ``layer`` has no kink."""
    slopes = kink_slopes(layer)
    if slopes is None:
        return None

    def dX(X, Y, dY):
        own = _backward_at(layer, X, dY)
        at_kink = X == 0
        left, right = slopes
        used = own[at_kink]
        other = np.where(np.isclose(used, dY[at_kink] * left), dY[at_kink] * right,
                         dY[at_kink] * left)  # fmt: skip
        out = own.copy()
        out[at_kink] = other
        return out

    return dX


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
    slips += [(story, {"dX": dX}) for story, dX in getattr(layer, "replays", ())]
    if type(layer).__name__ == "BatchNorm":
        slips += _batchnorm_slips(layer, X, dY)
    if type(layer).__name__ == "Dropout" and layer.fixed_mask is not None:
        keep, p = layer.fixed_mask, layer.p
        slips += [
            ("the mask inverted: the kept units (mask True) pass the gradient, the dropped "
             "ones pass nothing: dX = dY * mask / (1 - p)", {"dX": dY * ~keep / (1 - p)}),
            ("the mask is missing: a dropped unit passes no gradient, dX = dY * mask / "
             "(1 - p)", {"dX": dY / (1 - p)}),
        ]  # fmt: skip
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


def jacobian_slips(loss, Y: np.ndarray, T: np.ndarray):
    """The softmax's Jacobian reduced to its diagonal, for a cross-entropy on logits."""
    if type(loss).__name__ != "CrossEntropy" or not getattr(loss, "from_logits", False):
        return []
    P = softmax(Y)
    return [("the softmax's Jacobian reduced to its diagonal P * (1 - P): each P_j depends "
             "on every Z_c of its row, and the full Jacobian gives (P - T) / n",
             {"dY": -T * (1 - P) / Y.shape[0]})]  # fmt: skip


def net_slips(net: Sequential, gradients_of) -> list[tuple[str, dict]]:
    """Each activation layer of ``net`` makes each of its slips in turn; a story names
    the layer by the student's l (layers with parameters, counted from 1: the ReLU
    after the second Dense is layer 2's), not by its index in ``net.layers``.

    ``gradients_of(net)`` runs forward, the loss and backward on a network and returns
    its gradients by name; it is called on a copy with one layer replaced.
    """
    slips, l = [], 0
    for i, layer in enumerate(net.layers):
        l += bool(layer.params)  # the student's l: layers with parameters, from 1
        for story, fn in _activation_slips(layer):
            wrong = copy.deepcopy(net)
            wrong.layers[i] = _Slipped(wrong.layers[i], fn)
            where = f"layer {l} ({type(layer).__name__})" if l else type(layer).__name__
            slips.append((f"{where}: {story}", gradients_of(wrong)))
    return slips


def net_subgradients(net: Sequential, gradients_of, X: np.ndarray) -> list[dict]:
    """The network's gradients with the other one-sided slope at every kink an input
    sits on exactly (equally right answers), or [] when no input sits on a kink."""
    wrong, A, changed = copy.deepcopy(net), X, False
    for i, layer in enumerate(net.layers):
        other = other_subgradient(layer)
        if other is not None and np.any(A == 0):
            wrong.layers[i], changed = _Slipped(wrong.layers[i], other), True
        A = layer.forward(A, training=True)[0]
    return [gradients_of(wrong)] if changed else []


def count_kinks(layers: list[Layer], X: np.ndarray, eps: float = 1e-6) -> int:
    """How many inputs of activations with a kink lie within ``eps`` of it (where
    central differences straddle it)."""
    count, A = 0, X
    for layer in layers:
        if kink_slopes(layer) is not None:
            count += int(np.sum(np.abs(A) < eps))
        A = layer.forward(A, training=True)[0]
    return count
