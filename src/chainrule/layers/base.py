"""The layer contract, stated once.

A layer maps X (n_samples, n_in) to Y (n_samples, n_out). Its ``forward(X, training)``
returns ``(Y, backward)``: ``backward`` is a closure born with the forward pass that it
differentiates, holding exactly what the chain rule needs and nothing more. Calling
``backward(dY)`` with dY = dL/dY (the shape of Y)

* **adds** dL/dparam into ``grads[name]`` for every parameter (so gradients of several
  batches or losses accumulate, as in PyTorch; ``zero_grad()`` resets them), and
* **returns** dX = dL/dX, which the previous layer receives as its dY.

Layers never divide by the batch size: the ``1/n`` of a mean lives in the loss, once.

A layer whose class sets ``fast_backward = True`` (``Dense``, ``Sequential``) also
accepts two keyword options that training loops use:

* ``backward(dY, need_dX=False)``: dX is not computed and None is returned. For the
  first layer of a network dX would be dL/d(data), which nobody reads; for ``Dense`` it
  saves one of the three matrix products.
* ``backward(dY, accumulate=False)``: the parameter gradients are *set* to this
  backward's gradients instead of added, exactly as if ``zero_grad()`` had come first.
  A training step starts from zero gradients anyway; writing dW = X.T @ dY straight
  into ``grads["W"]`` saves zeroing it, a temporary and an addition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

Backward = Callable[[np.ndarray], np.ndarray]


def tex_symbol(name: str) -> str:
    """A symbol in LaTeX: "Z1" -> "Z_{1}", "A1'" -> "A'_{1}"; other names unchanged."""
    primes = "'" * name.count("'")
    base = name.rstrip("'")
    return f"{base[0]}{primes}_{{{base[1:]}}}" if base[1:].isdigit() else name


@dataclass(frozen=True)
class Formula:
    """One equation of a layer or loss: the symbol it computes, in text, LaTeX and words.

    Each field is a ``str.format`` template over the names of one use: ``{i}`` the
    input, ``{o}`` the output, ``{l}`` the index of the ``Dense`` layer, ``{y}`` the
    output a loss reads (and a class's own names, such as ``{s}`` or ``{eps}``).
    Literal braces are doubled, as in any format string: ``\\frac{{1}}{{n}}``.
    """

    name: str  # the symbol computed, e.g. "{o}", "dW{l}", "d{i}", "L"
    text: str  # e.g. "{o} = {i} @ W{l} + b{l}"
    latex: str  # e.g. "{o} = {i} W_{l} + b_{l}"
    words: str  # e.g. "affine map: weights times input plus bias"

    def render(self, **names) -> tuple[str, str, str, str]:
        """``(name, text, latex, words)`` with ``names`` filled in; string names are
        written as LaTeX symbols (:func:`tex_symbol`) in ``latex``."""
        tex = {k: tex_symbol(v) if isinstance(v, str) and v else v for k, v in names.items()}
        return (
            self.name.format(**names),
            self.text.format(**names),
            self.latex.format(**tex),
            self.words.format(**names),
        )


@dataclass(frozen=True)
class Formulas:
    """What a layer or loss computes, as it is derived in its docstring.

    ``forward`` holds the equations of the forward pass in order (for a loss: the
    probabilities it fuses, then L); ``backward`` the gradients, one per parameter
    (``dW{l}``, ``db{l}``) and ``d{i}`` (for a loss ``d{y}``). ``derivative`` is an
    element-wise activation's own derivative f'(z), written with z its input and a its
    output (what a student writes on paper), or None.
    """

    forward: tuple[Formula, ...]
    backward: tuple[Formula, ...] = ()
    derivative: Formula | None = None


class Layer:
    """Base class: parameters, their gradients and the forward/backward contract.

    Attributes
    ----------
    params : dict[str, ndarray]
        The trainable arrays, by name (``"W"``, ``"b"``). Empty for activations.
    grads : dict[str, ndarray]
        dL/dparam for each entry of ``params``, same shapes and dtypes.
    buffers : dict[str, ndarray]
        State that is not a parameter, by name: ``BatchNorm``'s ``"running_mean"`` and
        ``"running_var"``. Empty for most layers. A training forward may update a buffer
        (in place); optimizers never touch buffers, and they have no gradients.
        ``save``/``load``, ``astype`` and ``summary()`` include them.
    """

    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]
    buffers: dict[str, np.ndarray]
    #: buffer name -> (the smallest value it may hold, what that value means): a loaded
    #: model file's buffers are checked against it (a negative variance gives NaN)
    buffer_domains: ClassVar[dict[str, tuple[float, str]]] = {}
    #: whether ``backward`` accepts ``need_dX`` and ``accumulate`` (see the module docstring)
    fast_backward: bool = False
    #: the forward and backward formulas, next to the derivation in the class docstring;
    #: a layer with none of its own is written as an unknown function f
    formulas: ClassVar[Formulas] = Formulas(
        forward=(Formula("{o}", "{o} = f({i})", "{o} = f({i})", "custom layer"),),
        backward=(Formula("d{i}", "{o} = f({i})", "{o} = f({i})", "custom layer"),),
    )

    def __init__(self) -> None:
        self.params = {}
        self.grads = {}
        self.buffers = {}

    def forward(self, X: np.ndarray, training: bool = False) -> tuple[np.ndarray, Backward]:
        """Return ``(Y, backward)``; see the module docstring for the contract."""
        raise NotImplementedError

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Inference: ``Y`` of ``forward(X, training=False)``."""
        return self.forward(X, training=False)[0]

    def zero_grad(self) -> None:
        """Set every gradient to zero, in place."""
        for g in self.grads.values():
            g.fill(0)

    @property
    def n_params(self) -> int:
        """The number of trainable scalars."""
        return int(sum(p.size for p in self.params.values()))

    def output_dim(self, n_in: int) -> int:
        """The number of output columns for ``n_in`` input columns (shape inference)."""
        return n_in

    @property
    def n_buffers(self) -> int:
        """The number of scalars held in buffers (state that is not trained)."""
        return int(sum(B.size for B in self.buffers.values()))

    def astype(self, dtype) -> Layer:
        """Convert parameters, gradients and buffers to ``dtype`` in place; return ``self``."""
        for name in self.params:
            self.params[name] = self.params[name].astype(dtype)
            self.grads[name] = np.zeros_like(self.params[name])
        for name in self.buffers:
            self.buffers[name] = self.buffers[name].astype(dtype)
        return self

    def get_config(self) -> dict:
        """The constructor arguments that rebuild this layer (for persistence)."""
        return {}

    def get_formulas(self) -> Formulas:
        """The formulas of this layer as configured (``formulas`` unless an option, such
        as a normalisation's ``affine``, changes them)."""
        return self.formulas

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def iter_buffers(layer: Layer) -> Iterator[tuple[Layer, str, np.ndarray]]:
    """Yield ``(layer, name, buffer)`` for ``layer`` and, for a network, every inner layer.

    Buffers change in place during training (``BatchNorm``'s running statistics), so
    the arrays yielded stay the layer's own until ``astype`` or ``load`` replaces them.
    """
    for name, B in layer.buffers.items():
        yield layer, name, B
    for inner in getattr(layer, "layers", ()):
        yield from iter_buffers(inner)
