"""One training step traced equation by equation, with the engine's own numbers.

``explain(net, loss, X, y)`` runs a forward pass, the loss, the backward pass and one
gradient-descent update on a *copy* of ``net``, recording at every layer the values
that the layers themselves computed (it wraps their backward closures; nothing is
recomputed by a second implementation). The result prints as plain text in a
terminal and renders as Markdown with LaTeX in Jupyter.

Naming, as in the lessons: the input is X. The l-th ``Dense`` layer has W_l, b_l and
produces Z_l; the activation after it produces A_l. The gradient of the loss with
respect to any quantity Q is written dQ (= dL/dQ). Everything a student needs to redo
the step by hand is printed: X and the initial parameters first, then the targets T
and (for a loss that takes logits) the probabilities P, and every dW entry [0, 0]
written out as its sum over the samples, with the numbers.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from ..layers.activations import (
    ELU,
    GELU,
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
    sigmoid,
    softmax,
)
from ..layers.base import Layer
from ..layers.dense import Dense
from ..layers.normalization import BatchNorm
from ..layers.sequential import Sequential, _layer_tree
from ..losses import (
    BinaryCrossEntropy,
    CrossEntropy,
    Huber,
    Loss,
    MeanAbsoluteError,
    MeanSquaredError,
    MulticlassHinge,
)
from ._norm import is_normalization
from ._norm import trace_forward as trace_norm_forward
from .step import Step

# Plain-text and LaTeX formulas for each layer type, with placeholders for the names:
# {i} input, {o} output, {l} the Dense layer's index.
_FORWARD = {
    Dense: (
        "{o} = {i} @ W{l} + b{l}",
        r"{o} = {i} W_{l} + b_{l}",
        "affine map: weights times input plus bias",
    ),
    Sigmoid: (
        "{o} = 1 / (1 + exp(-{i}))",
        r"{o} = \sigma({i}) = \frac{{1}}{{1 + e^{{-{i}}}}}",
        "logistic sigmoid, element-wise",
    ),
    Tanh: ("{o} = tanh({i})", r"{o} = \tanh({i})", "hyperbolic tangent, element-wise"),
    ReLU: ("{o} = max({i}, 0)", r"{o} = \max({i}, 0)", "rectified linear unit, element-wise"),
    LeakyReLU: (
        "{o} = where({i} > 0, {i}, alpha * {i})",
        r"{o} = \max({i}, \alpha {i})",
        "leaky ReLU, element-wise",
    ),
    ELU: (
        "{o} = where({i} > 0, {i}, alpha * (exp({i}) - 1))",
        r"{o} = \mathrm{{ELU}}({i})",
        "exponential linear unit, element-wise",
    ),
    GELU: ("{o} = {i} * Phi({i})", r"{o} = {i}\,\Phi({i})", "GELU: input times normal CDF"),
    Softplus: ("{o} = log(1 + exp({i}))", r"{o} = \log(1 + e^{{{i}}})", "softplus, element-wise"),
    Softmax: (
        "{o} = exp({i}) / sum(exp({i}), axis=1)",
        r"{o} = \mathrm{{softmax}}({i})",
        "softmax over each row",
    ),
    Identity: ("{o} = {i}", r"{o} = {i}", "identity (linear output)"),
}
_BACKWARD = {
    Sigmoid: (
        "d{i} = d{o} * {o} * (1 - {o})",
        r"\partial {i} = \partial {o} \odot {o} \odot (1 - {o})",
        "sigmoid' = sigmoid * (1 - sigmoid), read off the output",
    ),
    Tanh: (
        "d{i} = d{o} * (1 - {o}**2)",
        r"\partial {i} = \partial {o} \odot (1 - {o}^2)",
        "tanh' = 1 - tanh^2",
    ),
    ReLU: (
        "d{i} = d{o} * ({o} > 0)",
        r"\partial {i} = \partial {o} \odot [{o} > 0]",
        "gradient passes where the unit is active",
    ),
    LeakyReLU: (
        "d{i} = d{o} * where({i} > 0, 1, alpha)",
        r"\partial {i} = \partial {o} \odot (1 \text{{ or }} \alpha)",
        "slope 1 or alpha",
    ),
    ELU: (
        "d{i} = d{o} * where({i} > 0, 1, {o} + alpha)",
        r"\partial {i} = \partial {o} \odot (1 \text{{ or }} {o} + \alpha)",
        "ELU' = 1 or Y + alpha",
    ),
    GELU: (
        "d{i} = d{o} * (Phi({i}) + {i} * phi({i}))",
        r"\partial {i} = \partial {o} \odot (\Phi({i}) + {i}\,\varphi({i}))",
        "GELU' = Phi + X phi (product rule)",
    ),
    Softplus: (
        "d{i} = d{o} * sigmoid({i})",
        r"\partial {i} = \partial {o} \odot \sigma({i})",
        "softplus' = sigmoid",
    ),
    Softmax: (
        "d{i} = {o} * (d{o} - sum(d{o} * {o}, axis=1))",
        r"\partial {i} = {o} \odot (\partial {o} - \textstyle\sum_j \partial {{{o}}}_j {{{o}}}_j)",
        "softmax Jacobian applied row by row",
    ),
    Identity: (
        "d{i} = d{o}",
        r"\partial {i} = \partial {o}",
        "identity passes the gradient through",
    ),
}
_LOSS = {
    MeanSquaredError: (
        "L = mean((Y - T)**2)",
        r"L = \frac{1}{N}\sum (Y - T)^2",
        "dY = 2 (Y - T) / N",
        r"\partial Y = \frac{2}{N}(Y - T)",
    ),
    MeanAbsoluteError: (
        "L = mean(|Y - T|)",
        r"L = \frac{1}{N}\sum |Y - T|",
        "dY = sign(Y - T) / N",
        r"\partial Y = \frac{1}{N}\mathrm{sign}(Y - T)",
    ),
    Huber: (
        "L = mean(huber(Y - T))",
        r"L = \frac{1}{N}\sum h_\delta(Y - T)",
        "dY = clip(Y - T, -delta, delta) / N",
        r"\partial Y = \frac{1}{N}\mathrm{clip}(Y - T, -\delta, \delta)",
    ),
    BinaryCrossEntropy: (
        "L = -mean(T log P + (1 - T) log(1 - P)), P = sigmoid(Y)",
        r"L = -\frac{1}{N}\sum \left[T\log P + (1-T)\log(1-P)\right]",
        "dY = (P - T) / N",
        r"\partial Y = \frac{1}{N}(P - T)",
    ),
    CrossEntropy: (
        "L = -(1/n) sum_i log P[i, y_i], P = softmax(Y)",
        r"L = -\frac{1}{n}\sum_i \log P_{i, y_i}",
        "dY = (P - T) / n",
        r"\partial Y = \frac{1}{n}(P - T)",
    ),
    MulticlassHinge: (
        "L = (1/n) sum_i sum_(j != y_i) max(0, Y[i, j] - Y[i, y_i] + margin)",
        r"L = \frac{1}{n}\sum_i \sum_{j \ne y_i} \max(0, Y_{ij} - Y_{i y_i} + \Delta)",
        "dY = (1/n) (each violated margin: +1 at j, -1 at y_i)",
        r"\partial Y_{ij} = \frac{1}{n}[\text{margin } j \text{ violated}]",
    ),
}
_LOSS_PROBS = {
    BinaryCrossEntropy: (
        "L = -mean(T log Y + (1 - T) log(1 - Y))",
        r"L = -\frac{1}{N}\sum \left[T\log Y + (1-T)\log(1-Y)\right]",
        "dY = (Y - T) / (Y (1 - Y)) / N",
        r"\partial Y = \frac{Y - T}{N\,Y(1 - Y)}",
    ),
    CrossEntropy: (
        "L = -(1/n) sum_i log Y[i, y_i]",
        r"L = -\frac{1}{n}\sum_i \log Y_{i, y_i}",
        "dY = -T / Y / n",
        r"\partial Y = -\frac{1}{n}\frac{T}{Y}",
    ),
}


def _tex(name: str) -> str:
    """A symbol in LaTeX: "Z1" -> "Z_{1}", "A1'" -> "A'_{1}", "A0" -> "A_{0}"."""
    primes = "'" * name.count("'")
    base = name.rstrip("'")
    return f"{base[0]}{primes}_{{{base[1:]}}}" if base[1:].isdigit() else name


def _formulas(table, layer, **names):
    tex = {k: _tex(v) if isinstance(v, str) else v for k, v in names.items()}
    for cls in type(layer).__mro__:
        if cls in table:
            text, latex, words = table[cls]
            return text.format(**names), latex.format(**tex), words
    return (f"{names['o']} = f({names['i']})", rf"{tex['o']} = f({tex['i']})", "custom layer")


def _entry_by_hand(dW: str, A: str, dZ: str, A_value, dZ_value, terms: int = 4) -> str:
    """dW[0, 0] = sum_i A[i, 0] * dZ[i, 0], written out with the numbers (the first
    ``terms`` products, then "..." for the rest), and its value."""
    a, g = np.asarray(A_value)[:, 0], np.asarray(dZ_value)[:, 0]

    def num(v):
        return f"{v:.4g}" if v >= 0 else f"({v:.4g})"

    shown = [f"{num(x)}*{num(y)}" for x, y in zip(a[:terms], g[:terms], strict=True)]
    if a.size > terms:
        shown.append(f"... ({a.size - terms} more)")
    return f"{dW}[0, 0] = sum_i {A}[i, 0] * {dZ}[i, 0] = {' + '.join(shown)} = {float(a @ g):.6g}"


@dataclass
class Explanation:
    """The trace of one training step: ``steps`` in order, plus the loss value."""

    steps: list[Step]
    loss_value: float
    loss_after: float
    precision: int = 4
    max_rows: int = 4

    def __getitem__(self, name: str) -> np.ndarray:
        """The value of a symbol, e.g. ``explanation["dW1"]``."""
        for s in self.steps:
            if s.name == name:
                return s.value
        raise KeyError(f"no step named {name!r}; names are {[s.name for s in self.steps]}")

    def _fmt(self, value: np.ndarray, indent: str) -> str:
        value = np.asarray(value) + 0.0  # no "-0." in print
        if value.ndim == 2 and value.shape[0] > self.max_rows:
            shown = np.array2string(
                value[: self.max_rows], precision=self.precision, suppress_small=True
            )
            shown = shown[:-1] + f"\n ... ({value.shape[0] - self.max_rows} more rows)]"
        else:
            shown = np.array2string(value, precision=self.precision, suppress_small=True)
        return "\n".join(indent + line for line in shown.splitlines())

    def __str__(self) -> str:
        out, phase = [], None
        titles = {
            "start": "START: the input and the initial parameters",
            "forward": "FORWARD PASS",
            "loss": "LOSS",
            "backward": "BACKWARD PASS (chain rule, last layer first)",
            "update": "UPDATE (gradient descent)",
        }
        for s in self.steps:
            if s.phase != phase:
                phase = s.phase
                if out:
                    out.append("")
                out.append(titles[phase])
                out.append("=" * len(titles[phase]))
            out.append(f"{s.layer:<16} {s.text}    shape {s.shape}")
            out.append(f"{'':16} ({s.words})")
            out.append(self._fmt(s.value, " " * 17))
            if s.detail:
                out.append(f"{'':16} one entry by hand: {s.detail}")
        out.append("")
        out.append(f"loss before the step: {self.loss_value:.6g}; after: {self.loss_after:.6g}")
        return "\n".join(out)

    def to_markdown(self) -> str:
        """Markdown with LaTeX, for notebooks (also used by ``_repr_markdown_``)."""
        out, phase = [], None
        for s in self.steps:
            if s.phase != phase:
                phase = s.phase
                heading = "Start: input and initial parameters" if phase == "start" else phase
                out.append(f"\n### {heading[0].upper() + heading[1:]}\n")
            out.append(f"**{s.layer}**: ${s.latex}$ — {s.words}, shape `{s.shape}`\n")
            out.append("```\n" + self._fmt(s.value, "") + "\n```\n")
            if s.detail:
                out.append(f"One entry by hand: `{s.detail}`\n")
        out.append(
            f"\nLoss before the step: **{self.loss_value:.6g}**; after: **{self.loss_after:.6g}**"
        )
        return "\n".join(out)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


def explain(
    net: Layer,
    loss: Loss,
    X: np.ndarray,
    y: np.ndarray,
    *,
    lr: float = 0.1,
    precision: int = 4,
    max_rows: int = 4,
) -> Explanation:
    """Trace one step of training ``net`` on ``(X, y)``: forward, loss, backward, update.

    ``net`` itself is not changed: the step runs on a copy.

    Parameters
    ----------
    net : Sequential or Layer
    loss : Loss
    X : ndarray of shape (n_samples, n_features)
        Keep it small (a few samples): every intermediate array is printed.
    y : ndarray
        Targets as ``loss`` accepts them.
    lr : float, default 0.1
        Learning rate of the plain gradient-descent update W <- W - lr * dW.
    precision, max_rows : int
        How many decimals and rows to print of each array.

    Returns
    -------
    Explanation
        ``str()`` gives a plain-text trace; ``to_markdown()`` Markdown with LaTeX;
        ``explanation["dW1"]`` the numbers of one symbol.
    """
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be a chainrule loss, got {type(loss).__name__}.")
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}.")
    net = copy.deepcopy(net)
    layers = net.layers if isinstance(net, Sequential) else [net]
    steps: list[Step] = [
        Step("start", "input", "X", "X", "X", "the input, one sample per row", np.asarray(X))
    ]
    l = 0
    for layer in layers:
        l += isinstance(layer, Dense)
        label = f"Dense({layer.n_in}, {layer.n_out})" if isinstance(layer, Dense) else ""
        for key, value in layer.params.items():
            words = {"W": "initial weights", "b": "initial biases"}.get(key, "initial value")
            sym = f"{key}{l}"
            tex = f"{key}_{{{l}}}"
            steps.append(
                Step("start", label or type(layer).__name__, sym, sym, tex, words, value.copy())
            )

    # Forward, layer by layer, naming each output.
    A, name, l = X, "X", 0
    records = []  # (layer, label, input name, output name, l, backward)
    for layer in layers:
        if is_normalization(layer):  # batch/layer norm: its statistics traced too
            A, name = trace_norm_forward(layer, A, name, l, steps, records)
            continue
        if isinstance(layer, Dense):
            l += 1
            out = f"Z{l}"
            label = f"Dense({layer.n_in}, {layer.n_out})"
        else:
            # two activations in a row: A1, then A1'
            out = name + "'" if name.startswith(f"A{l}") and l > 0 else f"A{l}"
            label = type(layer).__name__
        A, backward = layer.forward(A, training=True)
        text, latex, words = _formulas(_FORWARD, layer, i=name, o=out, l=l)
        steps.append(Step("forward", label, out, text, latex, words, A.copy()))
        records.append((layer, label, name, out, l, backward))
        name = out

    table = _LOSS if loss.from_logits or type(loss) not in _LOSS_PROBS else _LOSS_PROBS
    value, dY = loss(A, y)
    ltext, llatex, gtext, glatex = next(
        (v for cls, v in table.items() if isinstance(loss, cls)),
        ("L = loss(Y, T)", "L", "dY = dL/dY", r"\partial Y"),
    )
    Y = name
    T = loss._check_target(A, np.asarray(y))
    if isinstance(loss, CrossEntropy) and T.ndim == 1:
        T = np.eye(A.shape[1], dtype=A.dtype)[T]  # class indices as one-hot rows
    steps.append(
        Step("loss", type(loss).__name__, "T", "T", "T", "the targets as the loss sees them", T)
    )
    if loss.from_logits and isinstance(loss, CrossEntropy):
        P = softmax(A)
        steps.append(
            Step(
                "loss", "CrossEntropy", "P", f"P = softmax({Y})",
                rf"P = \mathrm{{softmax}}({_tex(Y)})", "class probabilities; rows sum to 1", P,
            )
        )  # fmt: skip
    elif loss.from_logits and isinstance(loss, BinaryCrossEntropy):
        P = sigmoid(A)
        steps.append(
            Step(
                "loss", "BinaryCrossEntropy", "P", f"P = sigmoid({Y})",
                rf"P = \sigma({_tex(Y)})", "probability of class 1", P,
            )
        )  # fmt: skip
    steps.append(
        Step(
            "loss",
            type(loss).__name__,
            "L",
            ltext.replace("Y", Y),
            llatex.replace("Y", "{" + _tex(Y) + "}"),
            "mean loss over the batch",
            np.asarray(value),
        )
    )
    steps.append(
        Step(
            "loss",
            type(loss).__name__,
            f"d{Y}",
            gtext.replace("Y", Y),
            glatex.replace("Y", "{" + _tex(Y) + "}"),
            "gradient of the mean loss",
            dY.copy(),
        )
    )

    # Backward, in reverse, calling the layers' own closures one at a time.
    net.zero_grad()
    d = dY
    values = {s.name: s.value for s in steps if s.phase in ("start", "forward")}
    for layer, label, inp, out, l, backward in reversed(records):
        upstream, d = d, backward(d)
        if is_normalization(layer):
            continue  # its backward added its own steps (see _explain_norm)
        if isinstance(layer, Dense):
            steps.append(
                Step(
                    "backward",
                    label,
                    f"dW{l}",
                    f"dW{l} = {inp}.T @ d{out}",
                    rf"\partial W_{l} = {_tex(inp)}^\top \partial {_tex(out)}",
                    "input transposed times upstream gradient",
                    layer.grads["W"].copy(),
                    _entry_by_hand(f"dW{l}", inp, f"d{out}", values[inp], upstream),
                )
            )
            steps.append(
                Step(
                    "backward",
                    label,
                    f"db{l}",
                    f"db{l} = d{out}.sum(axis=0)",
                    rf"\partial b_{l} = \textstyle\sum_k \partial {_tex(out)}",
                    "bias gradient sums over the samples",
                    layer.grads["b"].copy(),
                )
            )
            steps.append(
                Step(
                    "backward",
                    label,
                    f"d{inp}",
                    f"d{inp} = d{out} @ W{l}.T",
                    rf"\partial {_tex(inp)} = \partial {_tex(out)} W_{l}^\top",
                    "upstream gradient times weights transposed",
                    d.copy(),
                )
            )
        else:
            text, latex, words = _formulas(_BACKWARD, layer, i=inp, o=out)
            steps.append(Step("backward", label, f"d{inp}", text, latex, words, d.copy()))

    # Update: plain gradient descent on every parameter.
    for layer, label, _, _, l, _ in records:
        for key in layer.params:
            sym = f"{key}{l}"
            layer.params[key] -= lr * layer.grads[key]
            steps.append(
                Step(
                    "update",
                    label,
                    f"{sym}_new",
                    f"{sym} <- {sym} - {lr:g} * d{sym}",
                    rf"{key}_{l} \leftarrow {key}_{l} - {lr:g}\,\partial {key}_{l}",
                    "step against the gradient",
                    layer.params[key].copy(),
                )
            )
    # the loss after the step, on the same batch: with batch norm in the batch statistics
    # the step was taken with (the running ones have seen one batch), else in inference
    batch_stats = any(isinstance(inner, BatchNorm) for inner in _layer_tree(net))
    after = loss(net.forward(X, training=batch_stats)[0], y)[0]
    return Explanation(steps, value, after, precision, max_rows)
