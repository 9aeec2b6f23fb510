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

from ..layers.base import Layer
from ..layers.dense import Dense
from ..layers.normalization import BatchNorm
from ..layers.sequential import Sequential, _layer_tree
from ..losses import CrossEntropy, Loss
from ._norm import is_normalization
from ._norm import trace_forward as trace_norm_forward
from .step import Step


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

    ``net`` itself is not changed: the step runs on a copy. Every formula is the one
    its layer or loss carries (``get_formulas()``), filled in with the trace's names.

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
    steps = _start_steps(layers, X)
    A, name, records = _forward_steps(layers, X, steps)
    value, dY = _loss_steps(loss, A, y, name, steps)
    net.zero_grad()
    _backward_steps(records, dY, steps)
    _update_steps(records, lr, steps)
    # the loss after the step, on the same batch: with batch norm in the batch statistics
    # the step was taken with (the running ones have seen one batch), else in inference
    batch_stats = any(isinstance(inner, BatchNorm) for inner in _layer_tree(net))
    after = loss(net.forward(X, training=batch_stats)[0], y)[0]
    return Explanation(steps, value, after, precision, max_rows)


def _dense_label(layer: Layer) -> str:
    return f"Dense({layer.n_in}, {layer.n_out})" if isinstance(layer, Dense) else ""


def _start_steps(layers: list[Layer], X) -> list[Step]:
    """The input X and every initial parameter, named W1, b1, ... by the Dense index."""
    steps = [Step("start", "input", "X", "X", "X", "the input, one sample per row", np.asarray(X))]
    l = 0
    for layer in layers:
        l += isinstance(layer, Dense)
        label = _dense_label(layer) or type(layer).__name__
        for key, value in layer.params.items():
            words = {"W": "initial weights", "b": "initial biases"}.get(key, "initial value")
            sym, tex = f"{key}{l}", f"{key}_{{{l}}}"
            steps.append(Step("start", label, sym, sym, tex, words, value.copy()))
    return steps


def _forward_steps(layers: list[Layer], X, steps: list[Step]):
    """Run the layers in training mode, naming each output (Z_l after the l-th Dense
    layer, A_l after an activation, A_l' after a second one) and appending its step.

    Returns ``(Y, name of Y, records)`` with one record per layer: ``(layer, label,
    input name, output name, l, backward closure)``.
    """
    A, name, l = X, "X", 0
    records = []
    for layer in layers:
        if is_normalization(layer):  # batch/layer norm: its statistics traced too
            A, name = trace_norm_forward(layer, A, name, l, steps, records)
            continue
        if isinstance(layer, Dense):
            l += 1
            out = f"Z{l}"
        else:  # two activations in a row: A1, then A1'
            out = name + "'" if name.startswith(f"A{l}") and l > 0 else f"A{l}"
        label = _dense_label(layer) or type(layer).__name__
        A, backward = layer.forward(A, training=True)
        (formula,) = layer.get_formulas().forward
        _, text, latex, words = formula.render(i=name, o=out, l=l)
        steps.append(Step("forward", label, out, text, latex, words, A.copy()))
        records.append((layer, label, name, out, l, backward))
        name = out
    return A, name, records


def _loss_steps(loss: Loss, Y, y, name: str, steps: list[Step]):
    """The targets T, the loss's own forward formulas (its probabilities P when it fuses
    them, then L) and its gradient d<name>; returns ``(value, dY)``."""
    value, dY = loss(Y, y)
    T = loss._check_target(Y, np.asarray(y))
    if isinstance(loss, CrossEntropy) and T.ndim == 1:
        T = np.eye(Y.shape[1], dtype=Y.dtype)[T]  # class indices as one-hot rows
    label = type(loss).__name__
    steps.append(Step("loss", label, "T", "T", "T", "the targets as the loss sees them", T))
    formulas = loss.get_formulas()
    values = {"L": np.asarray(value), f"d{name}": dY.copy()}
    for phase_formulas in (formulas.forward, formulas.backward):
        for formula in phase_formulas:
            sym, text, latex, words = formula.render(y=name)
            value_of = values[sym] if sym in values else loss._probabilities(Y)
            steps.append(Step("loss", label, sym, text, latex, words, value_of))
    return value, dY


def _backward_steps(records: list, dY, steps: list[Step]) -> None:
    """Call the layers' own backward closures, last layer first, appending each
    gradient under its layer's backward formulas (dW, db and dX for ``Dense``)."""
    d = dY
    values = {s.name: s.value for s in steps if s.phase in ("start", "forward")}
    for layer, label, inp, out, l, backward in reversed(records):
        upstream, d = d, backward(d)
        if is_normalization(layer):
            continue  # its backward added its own steps (see _norm)
        grads = {f"d{key}{l}": G for key, G in layer.grads.items()}
        for formula in layer.get_formulas().backward:
            sym, text, latex, words = formula.render(i=inp, o=out, l=l)
            detail = ""
            if isinstance(layer, Dense) and sym == f"dW{l}":
                detail = _entry_by_hand(sym, inp, f"d{out}", values[inp], upstream)
            value = grads.get(sym, d)
            steps.append(Step("backward", label, sym, text, latex, words, value.copy(), detail))


def _update_steps(records: list, lr: float, steps: list[Step]) -> None:
    """Plain gradient descent on every parameter: P <- P - lr * dP."""
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
