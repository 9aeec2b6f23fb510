"""The fully connected (affine) layer."""

from __future__ import annotations

import numpy as np

from .._checks import as_float_dtype, as_rng, check_gradient_shape, check_input, check_positive_int
from ..initializers import Initializer, get_initializer
from .base import Backward, Formulas, Layer
from .base import Formula as F


class Dense(Layer):
    """Affine map ``Y = X @ W + b``.

    Parameters
    ----------
    n_in, n_out : int
        Number of input features and of output units.
    init : {"glorot", "he", "normal", ...} or callable, default "glorot"
        Initializer of ``W`` (see :mod:`chainrule.initializers`); a callable is called
        as ``init(rng, (n_in, n_out), dtype)``. ``b`` starts at zero.
    rng : numpy.random.Generator, int or None
        Source of randomness for ``W``.
    dtype : np.float32 or np.float64, default np.float64
        Precision of the parameters; inputs must match it.

    Attributes
    ----------
    params : {"W": ndarray of shape (n_in, n_out), "b": ndarray of shape (n_out,)}
    grads : same keys and shapes as ``params``

    Notes
    -----
    ::

        Forward:  Y = X @ W + b          X (n, n_in), W (n_in, n_out), b (n_out,), Y (n, n_out)
                  Y[k, j] = sum_i X[k, i] * W[i, j] + b[j]

        Backward: dW = X.T @ dY          dL/dW[i, j] = sum_k dL/dY[k, j] * X[k, i]
                  db = dY.sum(axis=0)    dL/db[j]    = sum_k dL/dY[k, j]   (b is broadcast
                                                       over the n rows, so its gradient
                                                       sums over them)
                  dX = dY @ W.T          dL/dX[k, i] = sum_j dL/dY[k, j] * W[i, j]

    Each line is the chain rule dL/dtheta = sum over Y entries of dL/dY * dY/dtheta,
    with dY[k, j]/dW[i, j] = X[k, i], dY[k, j]/db[j] = 1 and dY[k, j]/dX[k, i] = W[i, j].
    The shapes check the algebra: dW must be (n_in, n_out), and X.T @ dY is exactly that.

    ``backward(dY, need_dX=False)`` skips dX = dY @ W.T (and returns None): for the first
    layer of a network it is dL/d(data), which nobody reads, and it costs as much as
    each of the other two products. ``backward(dY, accumulate=False)`` writes dW and db
    into ``grads`` instead of adding them (as if after ``zero_grad()``), with no
    temporary: the training loops' form.
    """

    fast_backward = True
    formulas = Formulas(
        forward=(
            F(
                "{o}",
                "{o} = {i} @ W{l} + b{l}",
                r"{o} = {i} W_{l} + b_{l}",
                "affine map: weights times input plus bias",
            ),
        ),
        backward=(
            F(
                "dW{l}",
                "dW{l} = {i}.T @ d{o}",
                r"\partial W_{l} = {i}^\top \partial {o}",
                "input transposed times upstream gradient",
            ),
            F(
                "db{l}",
                "db{l} = d{o}.sum(axis=0)",
                r"\partial b_{l} = \textstyle\sum_k \partial {o}",
                "bias gradient sums over the samples",
            ),
            F(
                "d{i}",
                "d{i} = d{o} @ W{l}.T",
                r"\partial {i} = \partial {o} W_{l}^\top",
                "upstream gradient times weights transposed",
            ),
        ),
    )

    def __init__(
        self,
        n_in: int,
        n_out: int,
        *,
        init: str | Initializer = "glorot",
        rng: np.random.Generator | int | None = None,
        dtype=np.float64,
    ) -> None:
        super().__init__()
        self.n_in = check_positive_int(n_in, "n_in")
        self.n_out = check_positive_int(n_out, "n_out")
        self.init = init
        dtype = as_float_dtype(dtype)
        W = np.asarray(get_initializer(init)(as_rng(rng), (self.n_in, self.n_out), dtype))
        if W.shape != (self.n_in, self.n_out) or W.dtype != dtype:
            raise ValueError(
                f"init returned an array of shape {W.shape} and dtype {W.dtype}; expected "
                f"shape {(self.n_in, self.n_out)} and dtype {dtype}."
            )
        self.params = {"W": W, "b": np.zeros(self.n_out, dtype=dtype)}
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}

    @property
    def dtype(self) -> np.dtype:
        return self.params["W"].dtype

    def forward(self, X: np.ndarray, training: bool = False) -> tuple[np.ndarray, Backward]:
        X = check_input(X, self.dtype, "Dense")
        if X.shape[1] != self.n_in:
            raise ValueError(
                f"Dense({self.n_in}, {self.n_out}) expects X with {self.n_in} features "
                f"(shape (n_samples, {self.n_in})), got X of shape {X.shape}. Build the "
                f"layer as Dense({X.shape[1]}, {self.n_out}) or fix the data."
            )
        W, b = self.params["W"], self.params["b"]
        Y = X @ W
        Y += b

        def backward(
            dY: np.ndarray, need_dX: bool = True, accumulate: bool = True
        ) -> np.ndarray | None:
            # need_dX=False (fit and the estimators, for the first layer) skips dX = dY @ W.T,
            # which nobody reads there and which is dense even for sparse X.
            dY = check_gradient_shape(dY, Y.shape, "Dense")
            dW, db = self.grads["W"], self.grads["b"]
            # db = dY.sum(axis=0), written as the product 1^T dY: one matrix-vector
            # product, 3-4x faster than NumPy's column sums for these shapes
            ones = np.ones(dY.shape[0], dtype=dY.dtype)
            if accumulate:
                dW += X.T @ dY
                db += ones @ dY
            else:
                if isinstance(X, np.ndarray):
                    np.matmul(X.T, dY, out=dW)
                else:  # scipy.sparse X: its product makes its own array
                    dW[...] = X.T @ dY
                np.matmul(ones, dY, out=db)
            if not need_dX:
                return None
            if W.shape[1] == 1:  # one output: dY @ W.T is an outer product, which sums
                return dY * W.T  # nothing; broadcasting gives the same numbers, faster
            return dY @ W.T

        return Y, backward

    def output_dim(self, n_in: int) -> int:
        if n_in != self.n_in:
            raise ValueError(
                f"Dense({self.n_in}, {self.n_out}) follows a layer with {n_in} outputs; "
                f"the sizes must chain (use Dense({n_in}, {self.n_out}))."
            )
        return self.n_out

    def get_config(self) -> dict:
        init = self.init if isinstance(self.init, str) else getattr(self.init, "__name__", "custom")
        return {"n_in": self.n_in, "n_out": self.n_out, "init": init}
