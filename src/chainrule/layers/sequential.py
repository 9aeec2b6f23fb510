"""Composition: a chain of layers is itself a layer."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import numpy as np

from .._checks import as_float_dtype
from .base import Backward, Layer


class Sequential(Layer):
    """Layers applied one after the other: ``Y = f_L(... f_2(f_1(X)))``.

    Parameters
    ----------
    *layers : Layer
        The layers, first to last.

    Attributes
    ----------
    layers : list of Layer

    Notes
    -----
    ::

        Forward:  A_0 = X,  A_l = f_l(A_{l-1}) for l = 1..L,  Y = A_L
        Backward: dA_L = dY,  dA_{l-1} = backward_l(dA_l) for l = L..1,  dX = dA_0

    This loop *is* the chain rule: dL/dA_{l-1} = dL/dA_l * dA_l/dA_{l-1}, each factor
    applied by the layer that knows its own derivative. Every backward_l also adds its
    parameter gradients into its layer's ``grads`` on the way.

    ``backward(dY, need_dX=False)`` returns None and stops early: at the first layer
    with parameters (which skips its own dX if it can), since the layers below it have
    no gradients to fill and dX itself is not wanted. ``backward(dY, accumulate=False)``
    sets the gradients instead of adding to them: each layer that can write its own
    (``fast_backward``, used once in the network) does so, the others are zeroed first.
    ``fit`` trains with both.

    Memory layout: the constructor moves the parameters of all its layers into one
    contiguous buffer, and their gradients into another, laid out alike (each
    ``layer.params[name]`` becomes a view of it; the values do not change). An optimizer
    then updates every parameter with one vectorised operation per step of its formula
    instead of one per array. Hold parameter arrays through ``net.layers`` after building
    the network. Replacing an array later (``astype`` re-packs; a user's assignment does
    not) only means the optimizers fall back to updating array by array.
    """

    fast_backward = True

    def __init__(self, *layers: Layer) -> None:
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"Sequential takes layers, but argument {i} is a {type(layer).__name__}; "
                    "write e.g. Sequential(Dense(4, 8), ReLU(), Dense(8, 3))."
                )
        self.layers: list[Layer] = list(layers)
        self._check_chain()
        self._pack_parameters()

    def _pack_parameters(self) -> None:
        """Make every parameter (and gradient) a view of one flat buffer; see Notes.

        Done when all parameters share one dtype (otherwise nothing changes). The order
        is that of ``parameters()``; a layer that appears twice is packed once.
        """
        entries, seen = [], set()
        for layer, name, param, grad in self.parameters():
            if (id(layer), name) not in seen:
                seen.add((id(layer), name))
                entries.append((layer, name, param, grad))
        if not entries or len({param.dtype for _, _, param, _ in entries}) != 1:
            return
        size = sum(param.size for _, _, param, _ in entries)
        flat_params = np.empty(size, dtype=entries[0][2].dtype)
        flat_grads = np.empty_like(flat_params)
        start = 0
        for layer, name, param, grad in entries:
            stop = start + param.size
            layer.params[name] = flat_params[start:stop].reshape(param.shape)
            layer.params[name][...] = param
            layer.grads[name] = flat_grads[start:stop].reshape(param.shape)
            layer.grads[name][...] = grad
            start = stop

    def _check_chain(self) -> None:
        n = None
        for layer in self.layers:
            if n is None:
                n = getattr(layer, "n_in", None)
                if n is None:
                    continue
            n = layer.output_dim(n)

    def forward(self, X: np.ndarray, training: bool = False) -> tuple[np.ndarray, Backward]:
        layers = list(self.layers)
        backwards = []
        for layer in layers:
            X, backward = layer.forward(X, training)
            backwards.append(backward)

        def backward(
            dY: np.ndarray, need_dX: bool = True, accumulate: bool = True
        ) -> np.ndarray | None:
            start = 0
            if not need_dX:  # the layers below the first with parameters have no grads
                start = next((i for i, layer in enumerate(layers) if layer.n_params), len(layers))
            setters = set() if accumulate else _prepare_to_set(layers, start)
            for i in reversed(range(start, len(layers))):
                options = {}
                if i in setters:
                    options["accumulate"] = False
                if i == start and not need_dX and layers[i].fast_backward:
                    options["need_dX"] = False
                dY = backwards[i](dY, **options)
            return dY if need_dX else None

        return X, backward

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The network's output for ``X`` in inference mode (dropout off)."""
        return self.forward(X, training=False)[0]

    # Parameters of a composite are those of its layers.
    def parameters(self) -> Iterator[tuple[Layer, str, np.ndarray, np.ndarray]]:
        """Yield ``(layer, name, param, grad)`` for every trainable array, in order."""
        for layer in self.layers:
            if isinstance(layer, Sequential):
                yield from layer.parameters()
            else:
                for name, p in layer.params.items():
                    yield layer, name, p, layer.grads[name]

    def zero_grad(self) -> None:
        for layer in self.layers:
            layer.zero_grad()

    @property
    def n_params(self) -> int:
        return sum(layer.n_params for layer in self.layers)

    @property
    def n_buffers(self) -> int:
        return sum(layer.n_buffers for layer in self.layers)

    @property
    def dtype(self) -> np.dtype | None:
        for _, _, p, _ in self.parameters():
            return p.dtype
        return None

    def astype(self, dtype) -> Sequential:
        dtype = as_float_dtype(dtype)
        for layer in self.layers:
            layer.astype(dtype)
        self._pack_parameters()  # the layers made new arrays
        return self

    def output_dim(self, n_in: int) -> int:
        for layer in self.layers:
            n_in = layer.output_dim(n_in)
        return n_in

    def summary(self, n_features: int | None = None) -> str:
        """A table of the layers with their output shapes and parameter counts.

        A network with buffers (``BatchNorm``'s running statistics) gets a "buffers"
        column and a second total: the scalars it keeps but does not train.

        Parameters
        ----------
        n_features : int, optional
            Number of input features; inferred from the first ``Dense`` when omitted.
        """
        n = n_features if n_features is not None else getattr(self.layers[0], "n_in", None)
        with_buffers = self.n_buffers > 0
        rows = [("#", "layer", "output shape", "params") + (("buffers",) if with_buffers else ())]
        for i, layer in enumerate(self.layers):
            if n is not None:
                n = layer.output_dim(n)
            shape = f"(n, {n})" if n is not None else "?"
            row = (str(i), repr(layer), shape, f"{layer.n_params:,}")
            rows.append(row + ((f"{layer.n_buffers:,}",) if with_buffers else ()))
        widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
        lines = [
            "  ".join(
                cell.rjust(w) if c in (0, 3, 4) else cell.ljust(w)
                for c, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
            for row in rows
        ]
        rule = "-" * len(lines[0])
        totals = [f"total trainable parameters: {self.n_params:,}"]
        if with_buffers:
            totals.append(f"buffers (running statistics, not trained): {self.n_buffers:,}")
        return "\n".join([lines[0], rule, *lines[1:], rule, *totals])

    def __repr__(self) -> str:
        inner = ",\n".join(f"    {layer!r}" for layer in self.layers)
        return f"Sequential(\n{inner},\n)" if self.layers else "Sequential()"


def _layer_tree(layer: Layer) -> Iterator[Layer]:
    """The layer and, for a ``Sequential``, every layer inside it (each occurrence)."""
    yield layer
    if isinstance(layer, Sequential):
        for inner in layer.layers:
            yield from _layer_tree(inner)


def _prepare_to_set(layers: list[Layer], start: int) -> set[int]:
    """For ``backward(dY, accumulate=False)``: the positions (>= start) of the layers that
    will set their own gradients; zero the gradients of the others.

    A layer may set (overwrite) its gradients only if it can (``fast_backward``) and it,
    and every layer inside it, occurs once in the whole network: a shared layer's
    gradient is the sum over its occurrences, so it is zeroed and accumulated instead.
    """
    tree = [id(inner) for layer in layers for inner in _layer_tree(layer)]
    counts = Counter(tree) if len(set(tree)) < len(tree) else None  # None: nothing shared
    setters = set()
    for i in range(start, len(layers)):
        layer = layers[i]
        if layer.fast_backward and (
            counts is None or all(counts[id(inner)] == 1 for inner in _layer_tree(layer))
        ):
            setters.add(i)
        else:
            layer.zero_grad()  # all zeroing happens before any backward: twice is harmless
    return setters
